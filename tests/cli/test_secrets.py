"""Credentials in the URLs of the settings reach neither stdout, stderr nor the database,
and a bad URL is a configuration error (exit 3) in one line that names its setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env
from plugins.services import free_port
from sqlalchemy import create_engine, text

SECRETS = ("FEED-PW-7", "FEED-TOKEN-9", "TSA-PW-3", "TSA-KEY-5", "DB-PW-1", "S3-SK-2")


def assert_nowhere(cli: Cli, *outputs: str) -> None:
    """None of SECRETS in the outputs nor anywhere in the SQLite files' bytes (the audit
    log, job runs, feed cursors, the write-ahead log not yet checkpointed)."""
    stored = b"".join(path.read_bytes() for path in cli.home.glob("hramba.db*"))
    for secret in SECRETS:
        assert all(secret not in output for output in outputs), secret
        assert secret.encode() not in stored, secret


def one_line(text_: str) -> str:
    lines = text_.strip().splitlines()
    assert len(lines) == 1, text_
    return lines[0]


@pytest.mark.parametrize("url", [
    "http://feeduser:FEED-PW-7@127.0.0.1:{port}/feed?token=FEED-TOKEN-9",
    "http://127.0.0.1:{port}/feed?token=FEED-TOKEN-9",
])
def test_a_feed_url_s_credentials_are_not_printed_nor_recorded(cli: Cli, url: str) -> None:
    feed = Cli(cli.home, cli.env | {"HRAMBA_FEED_URL": url.format(port=free_port())})
    result = feed("ingest", "feed", "--once", check=False)
    assert result.code in (3, 75), result.err  # refused, or nobody listens: not a bug
    assert one_line(result.err).startswith("hramba: error: feed")
    verbose = feed("--verbose", "ingest", "feed", "--once", check=False)
    run = feed("scheduler", "run-job", "feed", "--json", check=False)
    jobs = feed("scheduler", "jobs", "--json")
    audit = feed("audit", "log", "--json")
    assert_nowhere(cli, result.out, result.err, verbose.out, verbose.err, run.out, run.err,
                   jobs.out, audit.out, audit.err)


def test_ls_needs_no_tsa_and_the_tsa_url_s_credentials_stay_out(cli: Cli) -> None:
    tsa = {"HRAMBA_TSA_URL": f"https://tsauser:TSA-PW-3@127.0.0.1:{free_port()}/tsa"
                             "?apikey=TSA-KEY-5",
           "HRAMBA_TSA_TRUST_ANCHORS": str(cli.home / "absent.pem")}
    (cli.home / "tsa" / "dev-ca.pem").unlink()  # nor the development TSA's files
    listed = Cli(cli.home, cli.env | tsa)("ls")  # records the changed settings
    events = Cli(cli.home, cli.env | tsa)("audit", "log", "--json").json()["events"]
    changed = next(e for e in reversed(events) if e["action"] == "config.changed")
    assert changed["details"]["tsa"]["url"].startswith("https://tsauser:***@127.0.0.1:")
    assert_nowhere(cli, listed.out, listed.err)


@pytest.mark.parametrize(("env", "setting"), [
    ({"HRAMBA_DATABASE_URL": "postgresql+psycopg://u:DB-PW-1@127.0.0.1:notaport/db"},
     "database.url"),
    ({"HRAMBA_DATABASE_URL": "foo://x"}, "database.url"),
    ({"HRAMBA_STORAGE_KIND": "s3", "HRAMBA_STORAGE_ENDPOINT": "http://ak:S3-SK-2@127.0.0.1:9000",
      "HRAMBA_STORAGE_ACCESS_KEY": "ak", "HRAMBA_STORAGE_SECRET_KEY": "S3-SK-2"},
     "storage.endpoint"),
])
def test_a_bad_url_setting_is_exit_3_in_one_line(cli: Cli, env: dict[str, str],
                                                 setting: str) -> None:
    for args in (["ls"], ["init"]):
        result = Cli(cli.home, cli.env | env)(*args, check=False)
        assert result.code == 3, result.err
        assert one_line(result.err).startswith(f"hramba: error: {setting}")
        assert "Traceback" not in result.err
        assert_nowhere(cli, result.out, result.err)


@pytest.mark.pg
def test_a_database_password_in_the_query_is_not_recorded(
        pg_database_env: dict[str, str], tmp_path: Path) -> None:
    url = pg_database_env["HRAMBA_DATABASE_URL"] + "?password=DB-PW-1"
    cli = Cli(tmp_path / "home", clean_env() | pg_database_env | {"HRAMBA_DATABASE_URL": url})
    ready = cli("init")
    assert "password=***" in ready.out
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            recorded = "\n".join(connection.execute(text(
                "SELECT action || ' ' || details::text FROM audit_events")).scalars())
    finally:
        engine.dispose()
    assert "config.changed" in recorded
    assert_nowhere(cli, ready.out, ready.err, recorded)
