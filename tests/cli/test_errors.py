"""Errors a user can act on: one line that names the thing, the documented exit code, the
traceback only with --verbose, and words a person would write."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env
from plugins.postgres import ADMIN_URL
from plugins.services import free_port

from hramba.cli.errors import BUG, exit_code, message

INVOICE = b"<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'/>\n"


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_missing_input_path_is_one_line_and_exit_4(tmp_path: Path) -> None:
    auditor = Cli(tmp_path / "none", clean_env())
    result = auditor("verify-evidence", "--er", "nothere.ers", "--trust", "x.pem", "a.xml",
                     check=False)
    assert result.code == 4
    assert one_line(result.err) == "hramba: error: nothere.ers: No such file or directory"
    unreadable = tmp_path / "locked.ers"
    unreadable.write_bytes(b"x")
    unreadable.chmod(0)
    if not unreadable.exists() or unreadable.stat().st_uid == 0:
        unreadable.chmod(0o644)
        unreadable = tmp_path  # root reads anything: a folder where a file belongs
    refused = auditor("verify-evidence", "--er", str(unreadable), "--trust", "x.pem", "a.xml",
                      check=False)
    assert refused.code == 4
    assert str(unreadable) in one_line(refused.err)


def test_verbose_shows_the_traceback(cli: Cli) -> None:
    plain = cli("show", "0" * 32, check=False)
    assert (plain.code, "Traceback" in plain.err) == (4, False)
    verbose = cli("--verbose", "show", "0" * 32, check=False)
    assert verbose.code == 4
    assert "Traceback (most recent call last)" in verbose.err
    assert verbose.err.rstrip().endswith(f"hramba: error: unit {'0' * 32} does not exist")


def test_a_bug_is_exit_70_and_asks_for_verbose() -> None:
    bug = KeyError("retain_until")
    assert exit_code(bug) == BUG == 70
    assert "--verbose" in message(bug)
    assert exit_code(FileNotFoundError(2, "No such file or directory", "x")) == 4
    assert exit_code(OSError(28, "No space left on device")) == BUG  # not the user's input


def test_a_bad_feed_url_is_a_configuration_error_when_read(cli: Cli) -> None:
    for url in ("ftp://feed.example", "not a url", "http://", "http://127.0.0.1:x/"):
        bad = Cli(cli.home, cli.env | {"HRAMBA_FEED_URL": url})("ls", check=False)
        assert bad.code == 3, url
        assert "feed.url" in one_line(bad.err)


@pytest.mark.parametrize("args", [
    ["ls"], ["fixity"], ["retention", "plan"], ["ingest", "dir", "{inbox}"],
    ["hold", "add", "--reason", "r"],
    ["dispose", "propose", "--instruction", "I-1"],
    ["migrate", "sftp", "start", "--host", "127.0.0.1", "--port", "{port}", "--user", "u",
     "--key", "{inbox}/a.xml", "--known-hosts", "{inbox}/a.xml", "--remote-path", "/x"],
])
def test_an_unknown_tenant_is_exit_4_in_every_command(cli: Cli, tmp_path: Path,
                                                      args: list[str]) -> None:
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.xml").write_bytes(INVOICE)
    filled = [a.format(inbox=tmp_path / "inbox", port=free_port()) for a in args]
    result = cli(*filled, "--tenant", "nope", check=False)
    assert result.code == 4, result.err
    assert one_line(result.err) == "hramba: error: tenant nope is not registered (hramba " \
                                   "tenant add)"


def test_a_database_that_does_not_exist_is_exit_3_a_server_down_is_75(
        pg_template: str, tmp_path: Path) -> None:
    base = ADMIN_URL.rsplit("/", 1)[0]
    missing = Cli(tmp_path / "h", clean_env() | {
        "HRAMBA_DATABASE_URL": f"{base}/hramba_absent_{uuid.uuid4().hex[:8]}"})
    result = missing("ls", check=False)
    assert result.code == 3
    assert "does not exist" in one_line(result.err)
    down = Cli(tmp_path / "h", clean_env() | {
        "HRAMBA_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"})
    assert down("ls", check=False).code == 75


def test_commands_that_need_only_the_database_work_with_s3_down(
        pg_database_env: dict[str, str], s3_env: dict[str, str], tmp_path: Path) -> None:
    env = clean_env() | pg_database_env | s3_env
    cli = Cli(tmp_path / "home", env)
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.xml").write_bytes(INVOICE)
    cli("ingest", "dir", str(tmp_path / "inbox"), "--tenant", "OBCINA1")
    unit_id = cli("ls", "--json").json()[0]["unit_id"]
    down = Cli(cli.home, env | {"HRAMBA_STORAGE_ENDPOINT": f"127.0.0.1:{free_port()}"})
    for args in (["ls"], ["show", unit_id], ["tenant", "list"], ["retention", "plan"],
                 ["hold", "ls"], ["dispose", "ls"], ["quarantine", "ls"]):
        assert down(*args, check=False).code == 0, args
    needs_storage = down("get", unit_id, "--out", str(tmp_path / "out"), check=False)
    assert needs_storage.code == 75
    assert "storage" in one_line(needs_storage.err).lower()


def test_messages_count_in_words_and_name_things_once(cli: Cli, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.xml").write_bytes(INVOICE)
    (inbox / "broken.xml").write_bytes(b"<Invoice")
    ingested = cli("ingest", "dir", str(inbox), "--tenant", "OBCINA1", check=False)
    line = next(x for x in ingested.out.splitlines() if x.startswith("quarantined"))
    assert line.count("HRB-I010") == 1
    assert line.count("broken.xml") == 1
    sealed = cli("seal").out
    assert sealed.startswith("sealed 1 unit in 1 batch (1 TSA request, ")
    (inbox / "a.xml").unlink()
    (inbox / "broken.xml").unlink()
    (inbox / "nobody.xml").write_bytes(INVOICE.replace(b"/>", b"><!-- no buyer --></Invoice>"))
    routed = cli("ingest", "dir", str(inbox), "--json", check=False).json()
    reason = routed["results"][0]["reason"]
    assert routed["results"][0]["codes"] == ["HRB-I026"]
    assert "None" not in reason
    assert "names no party's tax number" in reason
    listed = cli("ls").out
    assert " UTC " in listed


def test_production_never_seals_with_the_development_tsa_by_accident(
        pg_database_env: dict[str, str], tmp_path: Path) -> None:
    env = clean_env() | pg_database_env | {"HRAMBA_TSA_DEVELOPMENT": "false"}
    cli = Cli(tmp_path / "home", env)
    assert "tsa       none: set tsa.url" in cli("init").out
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.xml").write_bytes(INVOICE)
    cli("ingest", "dir", str(tmp_path / "inbox"), "--tenant", "OBCINA1")
    listed = cli("ls", check=False)  # reading needs no TSA
    assert (listed.code, len(listed.out.splitlines())) == (0, 1), listed.err
    refused = cli("seal", check=False)
    assert refused.code == 3
    assert "tsa.development" in one_line(refused.err)
    allowed = Cli(cli.home, env | {"HRAMBA_TSA_DEVELOPMENT": "true"})
    assert "development TSA" in allowed("init").out
    assert "(NOT qualified)" in allowed("init").out
    assert allowed("seal", "--json").json()["sealed"] == 1
    embedded = Cli(tmp_path / "embedded", clean_env())("init").out
    assert "development TSA" in embedded
