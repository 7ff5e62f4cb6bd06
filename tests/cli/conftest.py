"""The CLI on the embedded default, in a fresh data directory with one tenant."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI on the embedded default in a fresh data directory, with one tenant."""
    cli = Cli(tmp_path / "home", clean_env())
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer",
        "--address", "Trg svobode 1, 1000 Ljubljana", "--responsible", "Ana Župan")
    return cli
