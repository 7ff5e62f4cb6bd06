"""Quarantine: rejected input is kept, with its reason, for an archivist to decide on.

    <home>/quarantine/<id>/original     the bytes as received (when they could be read)
    <home>/quarantine/<id>/reason.json  where it came from, code, reason, when

Each item is also a row (hramba quarantine ls). An archivist releases it, which archives
what intake reads of the original (its parts and metadata; the bytes as received, as one
document, where intake cannot read it) as one unit carrying the finding, or discards it,
which deletes the bytes and keeps the record. Both are audited, in the principal's name.
An item resolves itself when a later intake archives the same source (corrected, or now
routable) or the same content; the same content refused again for the same reason is the
item it already is, not a new one.

An item is its tenant's (the one intake routed it to): an archivist limited to some
tenants sees and decides only theirs, and never an item intake could not route.
"""

from __future__ import annotations

import errno
import io
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, RejectedInput, ServiceUnavailable
from hramba.core.types import Hashed, hash_stream
from hramba.db.engine import transaction
from hramba.db.models import Quarantined, Tenant
from hramba.domain.access import Action
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.locks import advisory_key

HELD, RELEASED, DISCARDED, RESOLVED = "held", "released", "discarded", "resolved"
UNROUTED = 0  # the tenant id of an item without one: no tenant has it (ids start at 1)
# The quarantine's own disk failing (copyfile names the input even then): retry later.
DISK_TROUBLE = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


def quarantine(archive: Archive, *, source: str, code: str, reason: str,
               tenant: str | None, path: Path | None = None,
               data: bytes | None = None) -> str:
    """Keep the input (from `path` or `data`; neither when it cannot be read) and why; the
    id of the held item of the same content (or unreadable source) and code, if any."""
    access.authorize(archive, Action.INGEST)  # intake's own step: whoever ingests
    hashed = _digest(path, data)
    size, sha256 = (hashed.size, hashed.sha256.hex) if hashed else (None, None)
    now = archive.clock.now()
    qid = uuid.uuid4().hex
    folder = archive.home / "quarantine" / qid
    record = {"id": qid, "source": source, "code": code, "reason": reason, "tenant": tenant,
              "at": now.isoformat(), "size": size, "sha256": sha256}
    try:
        # One transaction from the look for an earlier item to the new row: two runs that
        # refuse the same input at once make one item (the second waits, then finds it).
        with transaction(archive.db) as session:
            _one_at_a_time(session, sha256 or source)
            earlier = _earlier(session, code, tenant, sha256, source)
            if earlier is not None:
                audit.record(session, archive, "input.quarantined", earlier, tenant=tenant,
                             details={"source": source, "code": code, "reason": reason,
                                      "again": True})
                return earlier
            _keep(folder, record, path, data)
            session.add(Quarantined(id=qid, tenant=tenant, source=source, code=code,
                                    reason=reason, received_at=now, size=size,
                                    sha256=sha256, status=HELD))
            audit.record(session, archive, "input.quarantined", qid, tenant=tenant,
                         details={"source": source, "code": code, "reason": reason})
    except BaseException:
        # Nothing half-made: a folder without its row (disk full, database down, an
        # interrupt) would be an item nobody can list or decide on.
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return qid


def _one_at_a_time(session: Session, identity: str) -> None:
    """PostgreSQL: serialise quarantining of one input until this transaction ends
    (SQLite's transactions take the write lock at their start: serial anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        name = identity.encode("utf-8", "surrogateescape").hex()  # a name not UTF-8 too
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": advisory_key(f"quarantine/{name}")})


def _earlier(session: Session, code: str, tenant: str | None, sha256: str | None,
             source: str) -> str | None:
    """The held item of the same content (or unreadable source) and code, if any."""
    same = (Quarantined.sha256 == sha256) if sha256 else (Quarantined.source == source)
    return session.scalar(select(Quarantined.id).where(
        Quarantined.status == HELD, Quarantined.code == code,
        Quarantined.tenant.is_(None) if tenant is None else Quarantined.tenant == tenant,
        same).limit(1))


def _keep(folder: Path, record: dict[str, Any], path: Path | None,
          data: bytes | None) -> None:
    """The bytes (as far as they can be read) and the reason, before the row; a full or
    failing disk is an outage of the quarantine (retry later), not a bug."""
    try:
        folder.mkdir(parents=True)
        original = folder / "original"
        if path is not None:
            shutil.copyfile(path, original, follow_symlinks=False)
        elif data is not None:
            original.write_bytes(data)
        (folder / "reason.json").write_text(json.dumps(record, indent=1), "utf-8")
    except OSError as exc:
        if exc.errno not in DISK_TROUBLE and path is not None and exc.filename == str(path):
            raise  # the input itself went away or cannot be read: the caller's matter
        raise ServiceUnavailable(f"quarantine {folder.parent}: cannot keep "
                                 f"{record['source']}: {exc.strerror}") from exc


def _digest(path: Path | None, data: bytes | None) -> Hashed | None:
    if path is not None:
        try:
            with path.open("rb") as stream:
                return hash_stream(stream)
        except OSError:  # unreadable (HRB-I003): kept without bytes
            return None
    return hash_stream(io.BytesIO(data)) if data is not None else None


def resolve(archive: Archive, archived: dict[str, str], contents: dict[str, str]) -> int:
    """Close the held items a later intake made good: by source (a corrected or now
    routable file where the refused one was) or by the input's SHA-256, each with the
    unit that holds it now (`archived`: source -> unit id, `contents`: sha256 -> unit
    id). How many were closed."""
    if not archived and not contents:
        return 0
    with transaction(archive.db) as session:
        items = session.scalars(select(Quarantined).where(
            Quarantined.status == HELD, or_(Quarantined.source.in_(archived),
                                            Quarantined.sha256.in_(contents)))).all()
        now = archive.clock.now()
        for item in items:
            unit_id = archived.get(item.source) or contents[str(item.sha256)]
            item.status, item.decided_by, item.decided_at = RESOLVED, archive.actor, now
            item.decision, item.unit_id = f"archived by a later intake as unit {unit_id}", unit_id
            audit.record(session, archive, "quarantine.resolved", item.id, tenant=item.tenant,
                         details={"decision": item.decision, "unit_id": unit_id})
        return len(items)


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
    """Archive the quarantined input as intake reads it, with its metadata (else its
    bytes as received, as one document), as one unit carrying the finding (into `tenant`
    when intake could not route it). Content already archived is not archived twice: the
    item then names the unit that holds it."""
    from hramba.services.ingest import archive_released  # intake quarantines: it imports us

    item = _held(archive, qid)
    if tenant is not None:
        tenant = access.tenant(archive, tenant, Action.QUARANTINE).code
    tenant = tenant or item.tenant
    if tenant is None:
        raise RejectedInput(f"quarantine {qid} has no tenant: give --tenant")
    original = archive.home / "quarantine" / qid / "original"
    if not original.is_file():
        raise NotFound(f"quarantine {qid} kept no bytes (they could not be read)")
    outcome = archive_released(archive, original, Path(item.source).name or "original",
                               tenant, (item.code, item.reason), qid)
    done = "archived" if outcome.outcome == "archived" else "already archived"
    _decide(archive, qid, RELEASED, f"{done} as unit {outcome.unit_id}", outcome.unit_id)
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


