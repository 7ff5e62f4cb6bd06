"""The long services report their work through the Progress port: a total that matches
what they then do, and advances that add up to it (the CLI's bar is only as good as that)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from plugins.sftp import SftpServer

from hramba.services import disposal
from hramba.services.context import Archive
from hramba.services.corpus import write_corpus
from hramba.services.fixity import run_fixity
from hramba.services.ingest import ingest_directory
from hramba.services.migrate import stage_and_import
from hramba.services.renewal import renew
from hramba.services.seal import count_pending, seal

from .principals import approve
from .test_migrate import export, remote

BUYER = ("Občina Primer", "SI21423512")


@dataclass
class Recording:
    """A Progress that remembers what it was told."""

    totals: list[int | None] = field(default_factory=list)
    advances: list[int] = field(default_factory=list)

    def total(self, n: int | None) -> None:
        self.totals.append(n)

    def advance(self, n: int = 1) -> None:
        assert self.totals, "advanced before any total"
        self.advances.append(n)

    @property
    def done(self) -> int:
        return sum(self.advances)


def ingested(archive: Archive, tmp_path: Path, count: int = 3) -> Recording:
    folder = tmp_path / "in"
    list(write_corpus(folder, count, BUYER))
    (folder / "empty.xml").write_bytes(b"")  # quarantined: a file all the same
    progress = Recording()
    results = list(ingest_directory(archive, folder, "OBCINA1", progress=progress))
    assert len(results) == count + 1
    return progress


def test_ingest_counts_every_file_the_walk_finds(archive: Archive, tmp_path: Path) -> None:
    progress = ingested(archive, tmp_path)
    assert progress.totals == [4]
    assert progress.done == 4


def test_seal_fixity_renew_and_disposal_count_what_they_go_through(
        archive: Archive, tmp_path: Path) -> None:
    ingested(archive, tmp_path)
    sealing = Recording()
    pending = count_pending(archive)
    assert seal(archive, progress=sealing).sealed == pending == 3
    assert (sealing.totals, sealing.done) == ([3], 3)

    checking = Recording()
    report = run_fixity(archive, "OBCINA1", progress=checking)
    assert report.ok, report.as_dict()
    assert checking.totals == [report.counts["objects checked"]]  # files, manifests, records
    assert checking.done == report.counts["objects checked"] > 3

    renewing = Recording()
    assert renew(archive, progress=renewing).checked == 3
    assert (renewing.totals, renewing.done) == ([3], 3)

    proposal = disposal.propose(archive, "OBCINA1", instruction="N-1",
                                as_of=datetime(2037, 1, 1, tzinfo=UTC))
    approve(archive, proposal["id"])
    disposing = Recording()
    executed = disposal.execute(archive, proposal["id"], progress=disposing)
    assert {u["state"] for u in executed["units"]} == {"retained"}  # not yet due
    assert (disposing.totals, disposing.done) == ([3], 3)


def test_silent_by_default(archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    list(write_corpus(folder, 2, BUYER))
    assert len(list(ingest_directory(archive, folder, "OBCINA1"))) == 2
    assert seal(archive).sealed == 2
    assert run_fixity(archive).ok


def test_migration_counts_the_files_it_transfers(archive: Archive,
                                                 sftp_server: SftpServer) -> None:
    path, _ = export(sftp_server)
    progress = Recording()
    current = stage_and_import(archive, "OBCINA1", remote(sftp_server, path), parallel=3,
                               progress=progress)
    transferred = current["expected"] - current["missing"]  # the lost file never arrives
    assert (progress.totals, progress.done) == ([transferred], transferred)
    again = Recording()
    stage_and_import(archive, "OBCINA1", remote(sftp_server, path), progress=again)
    assert (again.totals, again.done) == ([0], 0)  # nothing left to transfer
