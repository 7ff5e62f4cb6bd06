"""Docs that tests check: every command and option, setting and finding code is documented."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from hramba.cli.main import app
from hramba.config import SCHEMA, env_name
from hramba.core.findings import CHECKS, CODES
from hramba.domain.access import RULES, Role

DOCS = Path(__file__).resolve().parents[1] / "docs"


def commands(group: Any, prefix: str = "hramba") -> list[tuple[str, Any]]:
    """Every leaf command of the (vendored) click tree, with its full path."""
    found = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        found += commands(command, path) if hasattr(command, "commands") else [(path, command)]
    return found


def test_every_command_and_option_is_in_cli_md() -> None:
    text = (DOCS / "cli.md").read_text()
    sections = dict(re.findall(r"^## `(hramba [^`]+)`\n(.*?)(?=^## |\Z)", text, re.M | re.S))
    for path, command in commands(typer.main.get_command(app)):
        assert path in sections, f"{path} is not documented in docs/cli.md"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in sections[path], f"{path} {opt} is not documented"


def test_the_rule_book_in_cli_md_is_the_one_in_code() -> None:
    roles = list(Role)
    rows = [f"| {action.value} | " + " | ".join("x" if r in allowed else "" for r in roles)
            + " |" for action, allowed in RULES.items()]
    table = "\n".join(["| action | " + " | ".join(r.value for r in roles) + " |",
                       "| --- |" + " :-: |" * len(roles), *rows])
    assert table in (DOCS / "cli.md").read_text()


def test_every_setting_is_in_configuration_md() -> None:
    text = (DOCS / "configuration.md").read_text()
    for key in SCHEMA:
        assert f"`{key}`" in text, key
        assert f"`{env_name(key)}`" in text, key


def test_every_finding_code_is_in_findings_md() -> None:
    text = (DOCS / "findings.md").read_text()
    for code, (severity, title) in CODES.items():
        assert f"| {code} | {severity.value} | {title} |" in text, code


def test_every_verification_step_is_in_findings_md() -> None:
    text = (DOCS / "findings.md").read_text()
    for code, title in CHECKS.items():
        assert f"| {code} | {title} |" in text, code
