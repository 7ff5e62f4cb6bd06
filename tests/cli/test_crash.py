"""A crash at any point leaves nothing half-archived, and re-running the same ingest is safe."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest
from plugins.cli import Cli

from hramba.core.types import FixedClock
from hramba.services import archive as archive_service
from hramba.services.context import Archive
from hramba.services.corpus import write_corpus
from hramba.services.fixity import run_fixity
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.units import list_units

BUYER = ("Občina Primer", "SI21423512")


def unit_count(home: Path) -> int:
    with sqlite3.connect(home / "hramba.db", timeout=30) as conn:
        return int(conn.execute("SELECT count(*) FROM units").fetchone()[0])


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_archives_each_file_once(cli: Cli,
                                                                tmp_path: Path) -> None:
    paths = list(write_corpus(tmp_path / "corpus", 300, BUYER))
    proc = cli.popen("ingest", "dir", str(tmp_path / "corpus"), "--tenant", "OBCINA1")
    deadline = time.monotonic() + 60
    while unit_count(cli.home) < 40 and time.monotonic() < deadline:
        assert proc.poll() is None, "ingest finished before it could be killed"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed_at = unit_count(cli.home)
    assert 0 < killed_at < len(paths)
    summary = cli("ingest", "dir", str(tmp_path / "corpus"), "--tenant", "OBCINA1",
                  "--json").json()
    assert summary["duplicates"] + summary["archived"] == len(paths)
    assert summary["duplicates"] >= killed_at
    assert unit_count(cli.home) == len(paths)
    assert cli("fixity").code == 0
    assert cli("audit", "verify").code == 0


def test_crash_between_objects_and_row_leaves_no_orphan_after_rerun(
        archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_corpus_list = list(write_corpus(tmp_path / "c", 3, BUYER))
    real_record = archive_service.audit.record_all
    calls = {"n": 0}

    def crash_on_second(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("power cut after the objects, before the commit")
        return real_record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(archive_service.audit, "record_all", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        list(ingest_directory(archive, tmp_path / "c", "OBCINA1", batch_size=1))
    assert len(list_units(archive)) == 1
    orphans = run_fixity(archive)
    assert {f.code for f in orphans.findings} == {"HRB-F003"}  # stored, not yet recorded
    monkeypatch.setattr(archive_service.audit, "record_all", real_record)
    assert isinstance(archive.clock, FixedClock)
    summary = summarise(list(ingest_directory(archive, tmp_path / "c", "OBCINA1")))
    assert (summary["archived"], summary["duplicates"]) == (2, 1)
    assert len(list_units(archive)) == len(write_corpus_list)
    assert run_fixity(archive).ok
