"""Ingest a directory: each regular file becomes one unit (format-aware intake: #4)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hramba.core.errors import NotFound, RejectedInput
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.quarantine import quarantine
from ingest.directory import Candidate, walk


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


def ingest_directory(archive: Archive, root: Path, tenant: str) -> Iterator[IngestResult]:
    """Archive every file under `root` for `tenant`, one result per file, in order."""
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory")
    for candidate in walk(root):
        yield _ingest_one(archive, candidate, tenant)


def _ingest_one(archive: Archive, candidate: Candidate, tenant: str) -> IngestResult:
    def reject(code: str, reason: str, copy: bool = True) -> IngestResult:
        qid = quarantine(archive, candidate.path, code, reason, tenant=tenant, copy=copy)
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
        outcome = archive_unit(archive, tenant, [incoming], source=f"dir:{candidate.relative}",
                               metadata={"source_path": candidate.relative})
    except PermissionError as exc:
        return reject("HRB-I003", f"unreadable: {exc.strerror}", copy=False)
    except RejectedInput as exc:
        return reject("HRB-I004", str(exc))
    return IngestResult(candidate.relative, outcome.outcome, outcome.unit_id, outcome.codes)
