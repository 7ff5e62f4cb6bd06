"""Two writers at once, on SQLite and on PostgreSQL (issue #16): two `hramba ingest dir`
of the same files archive each once, with a clean fixity sweep after; the same document
keys with other content are archived once and the rest refused (HRB-I025); a second
`hramba seal` while one runs does nothing and says so (exit 0)."""

from __future__ import annotations

import json
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from plugins.cli import HRAMBA, Cli, clean_env

from hramba.config import Settings, load_settings
from hramba.core.types import FixedClock
from hramba.domain.access import Action
from hramba.services import access
from hramba.services import ingest as ingest_service
from hramba.services.context import Archive
from hramba.services.corpus import invoice, write_corpus
from hramba.services.ingest import summarise
from hramba.services.locks import exclusive
from hramba.wiring import connect

BUYER = ("Občina Primer", "SI21423512")
FILES = 300


@pytest.fixture(params=["sqlite", "postgresql"])
def two_clis(request: pytest.FixtureRequest, tmp_path: Path) -> Cli:
    """One archive (its home shared by both processes), on the database of the param."""
    env = clean_env()
    if request.param == "postgresql":
        env |= request.getfixturevalue("pg_database_env")
    cli = Cli(tmp_path / "home", env)
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    return cli


def run_both(cli: Cli, first: Path, second: Path) -> list[dict[str, int]]:
    """`ingest dir` of each folder, both started before either ends; their summaries."""
    procs = [subprocess.Popen([HRAMBA, "--home", str(cli.home), "ingest", "dir", str(folder),
                               "--tenant", "OBCINA1", "--json"], env=cli.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for folder in (first, second)]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=280)
        assert proc.returncode in (0, 1), err  # 1: something quarantined, as it may be
        summaries.append(json.loads(out))
    return summaries


def test_the_same_files_twice_at_once_are_archived_once(two_clis: Cli,
                                                        tmp_path: Path) -> None:
    list(write_corpus(tmp_path / "corpus", FILES, BUYER))
    a, b = run_both(two_clis, tmp_path / "corpus", tmp_path / "corpus")
    assert a["archived"] + b["archived"] == FILES
    assert a["duplicates"] + b["duplicates"] == FILES
    assert a["quarantined"] == b["quarantined"] == 0
    ls = two_clis("ls", "--json").json()
    assert len(ls) == FILES
    assert two_clis("fixity").code == 0  # no stored manifest differs from its digest
    assert two_clis("audit", "verify").code == 0


def test_the_same_document_keys_with_other_content_are_archived_once(
        two_clis: Cli, tmp_path: Path) -> None:
    for folder, size in (("one", (3_000, 4_000)), ("two", (6_000, 8_000))):
        (tmp_path / folder).mkdir()
        for n in range(1, FILES + 1):  # the same seed: the same seller, number, date
            (tmp_path / folder / f"racun-{n}.xml").write_bytes(
                invoice(n, random.Random(n), BUYER, *size))
    a, b = run_both(two_clis, tmp_path / "one", tmp_path / "two")
    assert a["archived"] + b["archived"] == FILES
    assert a["quarantined"] + b["quarantined"] == FILES
    assert len(two_clis("ls", "--json").json()) == FILES
    held = two_clis("quarantine", "ls", "--json").json()
    assert len(held) == FILES
    assert {item["code"] for item in held} == {"HRB-I025"}


def test_a_conflict_is_refused_however_close_the_two_writers_come(
        archive: Archive, profile_settings: Settings, clock: FixedClock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two writers whose conflict checks both run before either commits (a pause after the
    check widens the window that two processes may hit by chance): the claims make the
    second wait for the first's commit, then refuse its documents."""
    folders = []
    for name, size in (("one", (3_000, 4_000)), ("two", (6_000, 8_000))):
        folders.append(tmp_path / name)
        folders[-1].mkdir()
        for n in range(1, 11):
            (folders[-1] / f"racun-{n}.xml").write_bytes(invoice(n, random.Random(n), BUYER,
                                                                 *size))
    checked = ingest_service._conflicts

    def slow_conflicts(*args: Any) -> Any:
        found = checked(*args)
        time.sleep(0.5)  # the other writer checks meanwhile, unless it waits for a claim
        return found

    monkeypatch.setattr(ingest_service, "_conflicts", slow_conflicts)
    start, summaries = threading.Barrier(2), []

    def ingest(folder: Path) -> None:
        other = connect(profile_settings, clock)  # a process of its own: engine, sessions
        try:
            other.principal = archive.principal
            start.wait(30)
            summaries.append(summarise(list(ingest_service.ingest_directory(
                other, folder, "OBCINA1"))))
        finally:
            other.close()

    threads = [threading.Thread(target=ingest, args=(f,)) for f in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted((s["archived"], s["quarantined"]) for s in summaries) == [(0, 10), (10, 0)]


def test_a_second_seal_while_one_runs_does_nothing_and_says_so(two_clis: Cli,
                                                               tmp_path: Path) -> None:
    list(write_corpus(tmp_path / "corpus", 3, BUYER))
    two_clis("ingest", "dir", str(tmp_path / "corpus"), "--tenant", "OBCINA1")
    archive = connect(load_settings(home=str(two_clis.home), environ=two_clis.env))
    try:
        with exclusive(archive, "seal") as held:  # a seal running elsewhere
            assert held
            second = two_clis("seal")
            assert "another process is sealing now" in second.out
            assert "3 pending" in second.out
        assert two_clis("seal", "--json").json()["sealed"] == 3
    finally:
        archive.close()


def test_two_inbox_feed_runs_over_one_folder_archive_each_file_once(
        two_clis: Cli, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in write_corpus(tmp_path / "corpus", FILES, BUYER):
        path.rename(inbox / path.name)  # the inbox's files are at its top
    env = two_clis.env | {"HRAMBA_FEED_INBOX": str(inbox)}
    procs = [subprocess.Popen([HRAMBA, "--home", str(two_clis.home), "ingest", "feed",
                               "--once", "--json"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _out, err = proc.communicate(timeout=280)
        assert proc.returncode == 0, err
    assert len(two_clis("ls", "--json").json()) == FILES
    assert sorted(p.name for p in inbox.iterdir()) == ["done"]
    assert len(list((inbox / "done").iterdir())) == FILES
    assert two_clis("fixity").code == 0


def test_a_second_renewal_sweep_or_stage_while_one_runs_does_not_run(
        archive: Archive, tmp_path: Path) -> None:
    from hramba.core.errors import Conflict
    from hramba.services import retention
    from hramba.services.migrate import Medium, _stage_lock, stage
    from hramba.services.renewal import renew

    usb = tmp_path / "usb"
    list(write_corpus(usb, 2, BUYER))
    tenant = access.tenant(archive, "OBCINA1", Action.MIGRATE)
    for name, call, refused in (
            ("renewal", lambda: renew(archive).already_running, True),
            ("retention", lambda: retention.sweep(archive), {"already running": True}),
            (_stage_lock(tenant, Medium(usb)), lambda: stage(archive, "OBCINA1", Medium(usb)),
             None)):
        with exclusive(archive, name) as held:  # the same, running elsewhere
            assert held
            if refused is None:
                with pytest.raises(Conflict, match="another run stages"):
                    call()
            else:
                assert call() == refused
        assert call() != refused or refused is None  # and once it is done, it runs
    assert stage(archive, "OBCINA1", Medium(usb))["staged"] == 2
