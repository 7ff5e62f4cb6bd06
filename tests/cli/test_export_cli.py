"""`hramba export` (issue #12): a budget user requests and builds an export at once, lists,
shows and downloads it, and gets a link to it (file:// on the embedded default, a presigned
URL on S3); criteria that match nothing exit 4 with one line and make no export; an
unknown export exits 4. On both profiles."""

from __future__ import annotations

import hashlib
import json
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from plugins.cli import Cli, clean_env

INVOICE = b"<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'><!-- %d --></Invoice>\n"


@pytest.fixture(params=["sqlite-localfs", "postgres-s3"])
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """The CLI as the admin of a fresh archive with one tenant, on each profile."""
    env = clean_env()
    if request.param == "postgres-s3":
        env |= request.getfixturevalue("pg_database_env") | request.getfixturevalue("s3_env")
    cli = Cli(tmp_path / "home", env)
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    return cli


@pytest.fixture
def budget_user(cli: Cli, tmp_path: Path) -> Cli:
    """Three units of OBCINA1, and the CLI as OBCINA1's budget user."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in range(3):
        (inbox / f"invoice{n}.xml").write_bytes(INVOICE % n)
    cli("ingest", "dir", str(inbox), "--tenant", "OBCINA1")
    cli("user", "add", "bu", "--name", "Občina Primer", "--role", "budget-user",
        "--tenant", "OBCINA1")
    token = cli("user", "token", "bu").out.strip()
    return Cli(cli.home, cli.env | {"HRAMBA_TOKEN": token})


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_request_list_show_download_and_link(cli: Cli, budget_user: Cli,
                                             tmp_path: Path) -> None:
    units = {u["unit_id"] for u in cli("ls", "--json").json()}
    made = budget_user("export", "request", "--tenant", "OBCINA1", "--reason", "audit 2026",
                       "--now", "--json").json()
    export_id = made["export_id"]
    assert (made["state"], made["matched"], made["units"]) == ("ready", 3, 3)

    listed = budget_user("export", "ls").out.splitlines()
    assert len(listed) == 1
    assert listed[0].split()[:3] == [str(export_id), "OBCINA1", "ready"]
    shown = budget_user("export", "show", str(export_id), "--json").json()
    assert shown == made
    assert (shown["requested_by"], shown["reason"]) == ("bu", "audit 2026")

    out = tmp_path / "out"
    budget_user("export", "download", str(export_id), "--out", str(out))
    package = out / f"export-{export_id}.zip"
    assert hashlib.sha256(package.read_bytes()).hexdigest() == shown["sha256"]
    with zipfile.ZipFile(package) as zipped:
        assert zipped.testzip() is None
        rows = json.loads(zipped.read(f"export-{export_id}/metadata.json"))["units"]
    assert {row["unit_id"] for row in rows} == units

    link = budget_user("export", "link", str(export_id))
    assert link.err.startswith("valid until ")
    assert fetched(link.out.strip(), "HRAMBA_STORAGE_KIND" in cli.env) == package.read_bytes()


def fetched(url: str, on_s3: bool) -> bytes:
    """What the link gives someone without the archive's credentials."""
    if not on_s3:
        assert url.startswith("file://"), url
        return Path(unquote(urlparse(url).path)).read_bytes()
    assert url.startswith("http://"), url
    assert "X-Amz-Signature=" in url, url
    with urllib.request.urlopen(url, timeout=30) as response:
        return bytes(response.read())


def test_nothing_to_export_and_an_unknown_export_exit_4_in_one_line(
        budget_user: Cli, tmp_path: Path) -> None:
    nothing = budget_user("export", "request", "--tenant", "OBCINA1", "--number", "nobody's",
                          "--reason", "audit 2026", "--now", check=False)
    assert nothing.code == 4
    assert one_line(nothing.err) == (
        "hramba: error: no unit of OBCINA1 meets the criteria: nothing to export")
    assert nothing.out == ""
    assert budget_user("export", "ls", "--json").json() == []  # no empty export either
    for command in (("download", "999", "--out", str(tmp_path / "out")), ("show", "999"),
                    ("link", "999")):
        result = budget_user("export", *command, check=False)
        assert result.code == 4, command
        assert one_line(result.err) == "hramba: error: export 999 does not exist", command
    assert not (tmp_path / "out").exists()
