"""Quarantine: rejected input is kept, with its reason, for an archivist to look at.

    <home>/quarantine/<id>/original     the bytes as received (when they could be read)
    <home>/quarantine/<id>/reason.json  where it came from, code, reason, when
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

from hramba.db.engine import transaction
from hramba.services import audit
from hramba.services.context import Archive


def quarantine(archive: Archive, path: Path, code: str, reason: str, *,
               tenant: str | None, copy: bool) -> str:
    """Keep `path` (or only its name, when `copy` is False) with the reason; audit it."""
    qid = uuid.uuid4().hex
    folder = archive.home / "quarantine" / qid
    folder.mkdir(parents=True)
    if copy:
        shutil.copyfile(path, folder / "original", follow_symlinks=False)
    record = {"id": qid, "source": str(path), "code": code, "reason": reason,
              "tenant": tenant, "at": archive.clock.now().isoformat(), "copied": copy}
    (folder / "reason.json").write_text(json.dumps(record, indent=1), "utf-8")
    with transaction(archive.db) as session:
        audit.record(session, archive, "input.quarantined", qid, tenant=tenant,
                     details={"source": str(path), "code": code, "reason": reason})
    return qid
