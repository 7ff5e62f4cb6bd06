"""Ingest a directory: each regular file becomes one unit (format-aware intake: #4)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hramba.core.errors import NotFound, RejectedInput
from hramba.services.archive import (
    IncomingFile,
    Measured,
    TenantRef,
    UnitInput,
    archive_measured,
    measure,
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

    Files are hashed and checked one by one, then archived `batch_size` units at a time
    (one commit per batch), so a crash loses at most a batch of rows, which a re-run adopts.
    """
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory")
    ref = tenant_ref(archive, tenant)
    pending: list[IngestResult | tuple[str, Measured]] = []
    for candidate in walk(root):
        pending.append(_measure_one(archive, candidate, ref))
        if sum(isinstance(p, tuple) for p in pending) >= batch_size:
            yield from _archive_batch(archive, pending)
            pending = []
    yield from _archive_batch(archive, pending)


def _archive_batch(archive: Archive, pending: list[IngestResult | tuple[str, Measured]]
                   ) -> Iterator[IngestResult]:
    measured = [m for _, m in (p for p in pending if isinstance(p, tuple))]
    outcomes = iter(archive_measured(archive, measured) if measured else [])
    for item in pending:
        if isinstance(item, IngestResult):
            yield item
        else:
            outcome = next(outcomes)
            yield IngestResult(item[0], outcome.outcome, outcome.unit_id, outcome.codes)


def _measure_one(archive: Archive, candidate: Candidate,
                 tenant: TenantRef) -> IngestResult | tuple[str, Measured]:
    def reject(code: str, reason: str, copy: bool = True) -> IngestResult:
        qid = quarantine(archive, source=str(candidate.path), code=code, reason=reason,
                         tenant=tenant.code, path=candidate.path if copy else None)
        return IngestResult(candidate.relative, "quarantined", None, [code],
                            f"{reason} (quarantine {qid})")

    if not candidate.regular:
        return reject("HRB-I002", "not a regular file (links are never followed)", copy=False)
    if candidate.size == 0:
        return reject("HRB-I001", "empty file")
    path = candidate.path
    incoming = IncomingFile(path.name, "document", "application/octet-stream",
                            lambda: path.open("rb"))
    unit = UnitInput(tenant, [incoming], {"source_path": candidate.relative},
                     source=f"dir:{candidate.relative}")
    try:
        return candidate.relative, measure(unit)
    except PermissionError as exc:
        return reject("HRB-I003", f"unreadable: {exc.strerror}", copy=False)
    except RejectedInput as exc:
        return reject("HRB-I004", str(exc))
