"""File names a Linux file system allows and text does not (issue #16): bytes that are not
UTF-8, which Python holds as lone surrogates. Such a file is quarantined (HRB-I005) under
its name with those bytes as \\xNN, and every other file of the run goes on."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env

from hramba.services.context import Archive
from hramba.services.corpus import invoice
from hramba.services.feed import FeedReport, pull_inbox
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.quarantine import list_quarantine, release
from hramba.services.units import show_unit

BUYER = ("Občina Primer", "SI21423512")  # the archive fixture's tenant OBCINA1
BAD_NAME = b"inv\xff\xfe.xml"
SHOWN = "inv\\xff\\xfe.xml"  # as the item, the result and the CLI show it


def folder_with_a_bad_name(tmp_path: Path) -> Path:
    """good.xml, and an invoice as good under a name that is not UTF-8."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "good.xml").write_bytes(invoice(1, random.Random(1), BUYER, 5_000, 6_000))
    fd = os.open(os.fsencode(folder) + b"/" + BAD_NAME, os.O_WRONLY | os.O_CREAT, 0o644)
    with os.fdopen(fd, "wb") as bad:
        bad.write(invoice(2, random.Random(2), BUYER, 5_000, 6_000))
    return folder


def test_a_name_that_is_not_utf8_is_quarantined_and_the_rest_archived(
        archive: Archive, tmp_path: Path) -> None:
    folder = folder_with_a_bad_name(tmp_path)
    first = list(ingest_directory(archive, folder))
    assert [(r.path, r.outcome, r.codes) for r in first] == [
        ("good.xml", "archived", []), (SHOWN, "quarantined", ["HRB-I005"])]
    json.dumps(summarise(first), ensure_ascii=False).encode()  # printable as it is
    (item,) = list_quarantine(archive)
    assert item["source"] == f"{folder}/{SHOWN}"
    assert (item["code"], item["tenant"]) == ("HRB-I005", None)
    assert item["sha256"] is not None  # its bytes are kept, for a release
    again = list(ingest_directory(archive, folder))
    assert [(r.outcome, r.codes) for r in again] == [("duplicate", []),
                                                      ("quarantined", ["HRB-I005"])]
    assert item["id"] in str(again[1].reason)
    assert [q["id"] for q in list_quarantine(archive)] == [item["id"]]
    released = show_unit(archive, release(archive, item["id"], "OBCINA1"))
    assert released["metadata"]["source_path"] == SHOWN


def test_a_folder_whose_name_is_not_utf8_quarantines_what_is_in_it(
        archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    os.makedirs(os.fsencode(folder) + b"/sub\xff")
    nested = os.fsdecode(os.fsencode(folder) + b"/sub\xff/good.xml")
    Path(nested).write_bytes(invoice(3, random.Random(3), BUYER, 5_000, 6_000))
    (result,) = ingest_directory(archive, folder, "OBCINA1")
    assert (result.path, result.codes) == ("sub\\xff/good.xml", ["HRB-I005"])


def test_the_inbox_moves_such_a_file_to_its_quarantine_and_goes_on(
        archive: Archive, tmp_path: Path) -> None:
    inbox = folder_with_a_bad_name(tmp_path)
    report = FeedReport()
    pull_inbox(archive, inbox, report)
    assert (report.as_dict()["archived"], report.as_dict()["quarantined"]) == (1, 1)
    assert [r["path"] for r in report.as_dict()["results"]] == ["good.xml", SHOWN]
    assert os.listdir(os.fsencode(inbox / "quarantine")) == [BAD_NAME]
    assert os.listdir(inbox / "done") == ["good.xml"]
    again = FeedReport()
    pull_inbox(archive, inbox, again)
    assert again.results == []
    assert len(list_quarantine(archive)) == 1


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """The CLI in a fresh data directory, writing to a strict UTF-8 stdout (a UTF-8
    locale's: the C locale's would let lone surrogates through as raw bytes)."""
    cli = Cli(tmp_path / "home", {**clean_env(), "PYTHONIOENCODING": "utf-8:strict"})
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", BUYER[0],
        "--address", "Trg svobode 1, 1000 Ljubljana", "--responsible", "Ana Župan")
    return cli


def test_ingest_dir_prints_such_a_name_escaped(cli: Cli, tmp_path: Path) -> None:
    folder = folder_with_a_bad_name(tmp_path)
    text = cli("ingest", "dir", str(folder), check=False)
    assert text.code == 1, text.err  # something was quarantined, nothing crashed
    assert f"quarantined {SHOWN}: HRB-I005 " in text.out
    assert "1 archived, 0 duplicates, 1 quarantined" in text.out
    again = cli("ingest", "dir", str(folder), "--json", check=False)
    assert again.code == 1, again.err
    assert [(r["path"], r["outcome"]) for r in again.json()["results"]] == [
        ("good.xml", "duplicate"), (SHOWN, "quarantined")]
