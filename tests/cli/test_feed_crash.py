"""Killing `hramba ingest feed` mid-way and running it again archives each package once."""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from plugins.cli import Cli
from plugins.feedserver import FeedServer

from hramba.services.corpus import ujp_package

BUYER = ("Občina Primer", "SI21423512")


@pytest.mark.slow
def test_sigkill_mid_feed_then_rerun_archives_each_package_once(
        cli: Cli, feed_server: FeedServer) -> None:
    feed_server.items = [(f"package-{i:05d}.zip", ujp_package(i, random.Random(i), BUYER))
                         for i in range(1, 301)]
    env = cli.env | {"HRAMBA_FEED_URL": feed_server.url}
    feeder = Cli(cli.home, env)
    proc = feeder.popen("ingest", "feed", "--once")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if _count(cli.home) >= 100:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the feed finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed_at = _count(cli.home)
    assert 0 < killed_at < 300
    summary = feeder("ingest", "feed", "--once", "--json").json()
    assert summary["archived"] + summary["duplicates"] <= 300
    assert _count(cli.home) == 300
    assert cli("fixity").code == 0
    assert cli("audit", "verify").code == 0


def _count(home: Path) -> int:
    with sqlite3.connect(home / "hramba.db", timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM units").fetchone()[0])
