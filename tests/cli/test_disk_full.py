"""A full disk (issue #16): the quarantine copy and `fixity`'s audit event exit 75 with
one line, and leave no quarantine folder without its row. The home is a small tmpfs of
its own (the tests run as root); where nothing can be mounted the test skips, under CI
it fails."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env
from plugins.services import missing

SIZE = "12m"  # room for an archive and its database, not for the big input below


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of SIZE at tmp_path/disk, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs",
                              str(disk)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        missing(f"cannot mount a tmpfs for the disk-full tests: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.fixture
def full_cli(small_disk: Path) -> Cli:
    cli = Cli(small_disk / "home", clean_env())
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    return cli


def fill(disk: Path, leave: int = 0) -> None:
    """Take all the free space of `disk` but `leave` bytes."""
    stats = os.statvfs(disk)
    free = stats.f_bavail * stats.f_frsize - leave
    with (disk / "ballast").open("wb") as out:
        out.write(b"\0" * max(free, 0))


def quarantine_state(home: Path) -> tuple[list[str], int]:
    folders = sorted(p.name for p in (home / "quarantine").glob("*")) if (
        home / "quarantine").exists() else []
    with sqlite3.connect(home / "hramba.db") as conn:
        rows = int(conn.execute("SELECT count(*) FROM quarantine").fetchone()[0])
    return folders, rows


def test_a_quarantine_copy_on_a_full_disk_exits_75_and_leaves_no_folder(
        full_cli: Cli, small_disk: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "big.exe").write_bytes(b"MZ" + os.urandom(1 << 20))  # refused: not an invoice
    fill(small_disk, leave=256 << 10)  # the database still has room; the copy has not
    result = full_cli("ingest", "dir", str(inbox), "--tenant", "OBCINA1", check=False)
    assert result.code == 75, result.err
    assert "Traceback" not in result.err
    assert "quarantine" in result.err
    assert "No space left" in result.err
    assert quarantine_state(full_cli.home) == ([], 0)
    (small_disk / "ballast").unlink()
    again = full_cli("ingest", "dir", str(inbox), "--tenant", "OBCINA1", "--json",
                     check=False)
    assert (again.code, again.json()["quarantined"]) == (1, 1)  # 1: problems reported
    folders, rows = quarantine_state(full_cli.home)
    assert (len(folders), rows) == (1, 1)


def test_fixity_on_a_full_disk_exits_75_cleanly(full_cli: Cli, small_disk: Path,
                                                tmp_path: Path) -> None:
    fill(small_disk)
    result = full_cli("fixity", check=False)
    assert result.code == 75, result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    assert "database" in result.err
    (small_disk / "ballast").unlink()
    assert full_cli("fixity").code == 0
    assert full_cli("audit", "verify").code == 0
