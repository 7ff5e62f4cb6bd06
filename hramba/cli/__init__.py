"""The `hramba` command: one Typer sub-app per command group; thin commands."""
