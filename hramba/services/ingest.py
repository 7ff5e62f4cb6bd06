"""Ingest a directory: each regular file becomes one unit (format-aware intake: #4)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hramba.core.errors import NotFound, RejectedInput
from hramba.services.archive import (
    IncomingFile,
    Outcome,
    Prepared,
    TenantRef,
    commit_units,
    prepare_unit,
    tenant_ref,
)
from hramba.services.context import Archive
from hramba.services.quarantine import quarantine
from ingest.directory import Candidate, walk

BATCH = 100


@dataclass
class IngestResult:
    path: str
    outcome: str  # archived | duplicate | quarantined
    unit_id: str | None = None
    codes: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "outcome": self.outcome, "unit_id": self.unit_id,
                "codes": self.codes, "reason": self.reason}


def summarise(results: list[IngestResult]) -> dict[str, Any]:
    counts = {o: sum(r.outcome == o for r in results)
              for o in ("archived", "duplicate", "quarantined")}
    return {"results": [r.as_dict() for r in results], "archived": counts["archived"],
            "duplicates": counts["duplicate"], "quarantined": counts["quarantined"]}


def ingest_directory(archive: Archive, root: Path, tenant: str,
                     batch_size: int = BATCH) -> Iterator[IngestResult]:
    """Archive every file under `root` for `tenant`, one result per file, in order.

    Objects are stored file by file; rows are committed `batch_size` units at a time
    (the commit point), so a crash loses at most a batch of rows, which a re-run adopts.
    """
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory")
    ref = tenant_ref(archive, tenant)
    pending: list[IngestResult | tuple[str, Prepared]] = []
    for candidate in walk(root):
        pending.append(_prepare_one(archive, candidate, ref))
        if sum(isinstance(p, tuple) for p in pending) >= batch_size:
            yield from _commit(archive, pending)
            pending = []
    yield from _commit(archive, pending)


def _commit(archive: Archive, pending: list[IngestResult | tuple[str, Prepared]]
            ) -> Iterator[IngestResult]:
    prepared = [p for p in pending if isinstance(p, tuple)]
    outcomes = iter(commit_units(archive, [p for _, p in prepared]) if prepared else [])
    for item in pending:
        if isinstance(item, IngestResult):
            yield item
        else:
            outcome = next(outcomes)
            yield IngestResult(item[0], outcome.outcome, outcome.unit_id, outcome.codes)


def _prepare_one(archive: Archive, candidate: Candidate,
                 tenant: TenantRef) -> IngestResult | tuple[str, Prepared]:
    def reject(code: str, reason: str, copy: bool = True) -> IngestResult:
        qid = quarantine(archive, candidate.path, code, reason, tenant=tenant.code, copy=copy)
        return IngestResult(candidate.relative, "quarantined", None, [code],
                            f"{reason} (quarantine {qid})")

    if not candidate.regular:
        return reject("HRB-I002", "not a regular file (links are never followed)", copy=False)
    if candidate.size == 0:
        return reject("HRB-I001", "empty file")
    path = candidate.path
    incoming = IncomingFile(path.name, "document", "application/octet-stream",
                            lambda: path.open("rb"))
    try:
        prepared = prepare_unit(archive, tenant, [incoming], source=f"dir:{candidate.relative}",
                                metadata={"source_path": candidate.relative})
    except PermissionError as exc:
        return reject("HRB-I003", f"unreadable: {exc.strerror}", copy=False)
    except RejectedInput as exc:
        return reject("HRB-I004", str(exc))
    if isinstance(prepared, Outcome):
        return IngestResult(candidate.relative, prepared.outcome, prepared.unit_id)
    return candidate.relative, prepared
