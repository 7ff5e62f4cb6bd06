"""`python -m hramba` runs the CLI, as the `hramba` console script does."""

from hramba.cli.main import run

run()
