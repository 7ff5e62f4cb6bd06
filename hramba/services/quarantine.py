"""Quarantine: rejected input is kept, with its reason, for an archivist to decide on.

    <home>/quarantine/<id>/original     the bytes as received (when they could be read)
    <home>/quarantine/<id>/reason.json  where it came from, code, reason, when

Each item is also a row (hramba quarantine ls). An archivist releases it, which archives
the original bytes as received, as one unit carrying the finding, or discards it, which
deletes the bytes and keeps the record. Both are audited, in the principal's name.

An item is its tenant's (the one intake routed it to): an archivist limited to some
tenants sees and decides only theirs, and never an item intake could not route.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hramba.core.errors import Conflict, NotFound, RejectedInput
from hramba.core.types import hash_stream
from hramba.db.engine import transaction
from hramba.db.models import Quarantined, Tenant
from hramba.domain.access import Action
from hramba.services import access, audit
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive

HELD, RELEASED, DISCARDED = "held", "released", "discarded"
UNROUTED = 0  # the tenant id of an item without one: no tenant has it (ids start at 1)


def quarantine(archive: Archive, *, source: str, code: str, reason: str,
               tenant: str | None, path: Path | None = None,
               data: bytes | None = None) -> str:
    """Keep the input (from `path` or `data`; neither when it cannot be read) and why."""
    access.authorize(archive, Action.INGEST)  # intake's own step: whoever ingests
    qid = uuid.uuid4().hex
    folder = archive.home / "quarantine" / qid
    folder.mkdir(parents=True)
    original = folder / "original"
    if path is not None:
        shutil.copyfile(path, original, follow_symlinks=False)
    elif data is not None:
        original.write_bytes(data)
    size = sha256 = None
    if original.exists():
        with original.open("rb") as stream:
            hashed = hash_stream(stream)
        size, sha256 = hashed.size, hashed.sha256.hex
    now = archive.clock.now()
    record = {"id": qid, "source": source, "code": code, "reason": reason, "tenant": tenant,
              "at": now.isoformat(), "size": size, "sha256": sha256}
    (folder / "reason.json").write_text(json.dumps(record, indent=1), "utf-8")
    with transaction(archive.db) as session:
        session.add(Quarantined(id=qid, tenant=tenant, source=source, code=code,
                                reason=reason, received_at=now, size=size, sha256=sha256,
                                status=HELD))
        audit.record(session, archive, "input.quarantined", qid, tenant=tenant,
                     details={"source": source, "code": code, "reason": reason})
    return qid


def list_quarantine(archive: Archive, status: str | None = HELD) -> list[dict[str, Any]]:
    """The items of the tenants the principal serves (held ones unless `status` is None)."""
    access.authorize(archive, Action.QUARANTINE)
    query = access.scoped(select(Quarantined).outerjoin(Tenant, Tenant.code == Quarantined.tenant)
                          .order_by(Quarantined.received_at, Quarantined.id),
                          archive, Tenant.id)
    if status:
        query = query.where(Quarantined.status == status)
    with transaction(archive.db) as session:
        return [_describe(q) for q in session.scalars(query)]


def release(archive: Archive, qid: str, tenant: str | None = None) -> str:
    """Archive the quarantined bytes as received, as one unit with the finding (into
    `tenant` when intake could not route it)."""
    item = _held(archive, qid)
    if tenant is not None:
        tenant = access.tenant(archive, tenant, Action.QUARANTINE).code
    tenant = tenant or item.tenant
    if tenant is None:
        raise RejectedInput(f"quarantine {qid} has no tenant: give --tenant")
    original = archive.home / "quarantine" / qid / "original"
    if not original.is_file():
        raise NotFound(f"quarantine {qid} kept no bytes (they could not be read)")
    name = Path(item.source).name or "original"
    outcome = archive_unit(archive, tenant, [IncomingFile(
        name, "document", "application/octet-stream", lambda: original.open("rb"))],
        metadata={"released_from_quarantine": qid, "source": item.source},
        source=f"quarantine:{qid}", findings=[(item.code, item.reason)])
    _decide(archive, qid, RELEASED, f"archived as unit {outcome.unit_id}", outcome.unit_id)
    return outcome.unit_id


def discard(archive: Archive, qid: str, reason: str) -> None:
    """Delete the quarantined bytes; the record of what was refused and why stays."""
    _held(archive, qid)
    (archive.home / "quarantine" / qid / "original").unlink(missing_ok=True)
    _decide(archive, qid, DISCARDED, reason, None)


def _held(archive: Archive, qid: str) -> Quarantined:
    """A held item the principal may decide on; one of a tenant outside its scope is
    NotFound, as an unknown one."""
    access.authorize(archive, Action.QUARANTINE)
    with transaction(archive.db) as session:
        found = session.execute(select(Quarantined, Tenant.id).outerjoin(
            Tenant, Tenant.code == Quarantined.tenant).where(Quarantined.id == qid)).first()
    if found is None:
        raise NotFound(f"quarantine {qid} does not exist")
    item, tenant_id = found
    access.check_tenant(archive, UNROUTED if tenant_id is None else tenant_id,
                        item.tenant or "-", Action.QUARANTINE, qid, f"quarantine {qid}")
    if item.status != HELD:
        raise Conflict(f"quarantine {qid} was {item.status} already")
    return item


def _decide(archive: Archive, qid: str, status: str, decision: str,
            unit_id: str | None) -> None:
    with transaction(archive.db) as session:
        item = session.get_one(Quarantined, qid)
        item.status, item.decided_by, item.decision = status, archive.actor, decision
        item.decided_at, item.unit_id = archive.clock.now(), unit_id
        audit.record(session, archive, f"quarantine.{status}", qid, tenant=item.tenant,
                     details={"decision": decision, "unit_id": unit_id})


def _describe(q: Quarantined) -> dict[str, Any]:
    return {"id": q.id, "tenant": q.tenant, "source": q.source, "code": q.code,
            "reason": q.reason, "received_at": q.received_at.isoformat(), "size": q.size,
            "sha256": q.sha256, "status": q.status, "decided_by": q.decided_by,
            "decision": q.decision, "unit_id": q.unit_id}


