"""Outages fail fast (issue #16 point 4): a database or S3 server that stops answering
mid-ingest (as under SIGSTOP: connections open, nothing answered) is reported within 30 s
with the default timeouts, exit 75 naming the service, no traceback; once it answers
again a re-run completes and fixity is clean."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from plugins.cli import HRAMBA, Cli, clean_env
from plugins.stall import FreezingProxy
from sqlalchemy import make_url

from hramba.services.corpus import write_corpus

BUYER = ("Občina Primer", "SI21423512")
FILES = 400
BOUND = 30  # seconds, issue #16: "a stopped S3 or PostgreSQL reported within 30 s"


def archive_cli(tmp_path: Path, env: dict[str, str]) -> Cli:
    cli = Cli(tmp_path / "home", clean_env() | env)
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    list(write_corpus(tmp_path / "in", FILES, BUYER))
    return cli


def ingest_frozen_midway(cli: Cli, proxy: FreezingProxy, folder: Path) -> tuple[int, str, float]:
    """Start `ingest dir`, freeze the proxy once the ingest is talking through it; the exit
    code, stderr and the seconds from the freeze to the exit."""
    proc = subprocess.Popen([HRAMBA, "--home", str(cli.home), "ingest", "dir", str(folder),
                             "--tenant", "OBCINA1"], env=cli.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    before, started = proxy.forwarded, time.monotonic()
    while proxy.forwarded < before + 200_000 and time.monotonic() - started < 20:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest ended before the server stopped"
    proxy.freeze()
    frozen = time.monotonic()
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, err, time.monotonic() - frozen


def assert_recovers(cli: Cli, proxy: FreezingProxy) -> None:
    proxy.thaw()
    cli("ingest", "dir", str(cli.home.parent / "in"), "--tenant", "OBCINA1")
    assert len(cli("ls", "--json").json()) == FILES
    assert cli("fixity").code == 0


def test_a_database_that_stops_answering_is_reported_within_30_s(
        tmp_path: Path, pg_database_env: dict[str, str],
        freezing_proxy: type[FreezingProxy]) -> None:
    url = make_url(pg_database_env["HRAMBA_DATABASE_URL"])
    proxy = freezing_proxy((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    cli = archive_cli(tmp_path, pg_database_env | {"HRAMBA_DATABASE_URL": through})
    code, err, seconds = ingest_frozen_midway(cli, proxy, tmp_path / "in")
    assert code == 75, err
    assert seconds <= BOUND, (seconds, err)
    assert "hramba: error: database:" in err
    assert "Traceback" not in err
    assert_recovers(cli, proxy)


def test_a_storage_server_that_stops_answering_is_reported_within_30_s(
        tmp_path: Path, s3_env: dict[str, str],
        freezing_proxy: type[FreezingProxy]) -> None:
    host, _, port = s3_env["HRAMBA_STORAGE_ENDPOINT"].rpartition(":")
    proxy = freezing_proxy((host, int(port)))
    cli = archive_cli(tmp_path, s3_env | {"HRAMBA_STORAGE_ENDPOINT": proxy.endpoint})
    code, err, seconds = ingest_frozen_midway(cli, proxy, tmp_path / "in")
    assert code == 75, err
    assert seconds <= BOUND, (seconds, err)
    assert "hramba: error: storage:" in err
    assert "Traceback" not in err
    assert_recovers(cli, proxy)
