"""Killing `hramba migrate sftp start` half-way and running it again completes it, once."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from plugins.cli import Cli
from plugins.sftp import SftpServer

from hramba.services.corpus import invoice

BUYER = ("Občina Primer", "SI21423512")
FILES = 400


def _count(home: Path) -> int:
    with sqlite3.connect(home / "hramba.db", timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM units").fetchone()[0])


@pytest.mark.slow
def test_sigkill_mid_migration_then_rerun_completes_without_duplicates(
        cli: Cli, sftp_server: SftpServer) -> None:
    name = f"export-{uuid.uuid4().hex[:8]}"
    for i in range(FILES):
        path = sftp_server.root / name / f"{i // 100:02d}" / f"racun-{i:04d}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(invoice(i, random.Random(i), BUYER, 3_000, 6_000))
    args = ["migrate", "sftp", "start", "--tenant", "OBCINA1", "--host", sftp_server.host,
            "--port", str(sftp_server.port), "--user", sftp_server.username,
            "--key", str(sftp_server.client_key), "--known-hosts",
            str(sftp_server.known_hosts), "--remote-path", name, "--json"]
    proc = cli.popen(*args)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and _count(cli.home) < 100:
        time.sleep(0.02)
    assert proc.poll() is None, "the migration finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert 0 < _count(cli.home) < FILES
    done = cli(*args).json()
    assert (done["expected"], done["archived"] + done["duplicate"]) == (FILES, FILES)
    assert done["pending"] == 0
    assert _count(cli.home) == FILES
    assert cli("fixity").code == 0
