"""Seal: timestamp every unit not yet sealed, in batches, one TSA request per batch.

Each batch is an RFC 4998 hash tree over its units (a unit is a data group: the SHA-256 of
each of its files, manifest included) plus one leaf for the current head of the audit
log, so the audit trail inherits the timestamp. The token is validated before it is
accepted; then the batch, one Evidence Record per unit and a `batch.sealed` audit event
are committed together, and the records are copied next to their units in storage.
A TSA that is down leaves the units pending; the next run seals them.

With nothing to seal, a run still anchors the audit head when events came after the last
anchored one more than a day ago (or when asked to): a batch of no units whose only leaf
is the head, so the scheduler's seal job timestamps the log at least daily. After a run
that anchored, the head (its own events included) is kept as a WORM object, which
`audit verify` holds the log to (hramba.services.audit).
"""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from hramba.core.errors import (
    ConfigurationError,
    IntegrityViolation,
    NotFound,
    ServiceUnavailable,
)
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import Digest, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Batch, Disposal, Evidence, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.hashtree import Leaf, Tree, build_tree
from hramba.domain.retention import storage_lock
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.locks import exclusive
from hramba.trust.certs import to_pem
from hramba.trust.ers import Revocation, archive_time_stamp, evidence_record
from hramba.trust.report import Status
from hramba.trust.tokens import TokenReport, check_token, fetch_revocation
from storage.keys import evidence_key

AUDIT_LEAF = "audit-head"
# With nothing to seal, the audit head is anchored once its last anchor is this old.
ANCHOR_EVERY = timedelta(days=1)


@dataclass
class SealReport:
    batches: int = 0
    sealed: int = 0
    certificates: int = 0
    tsa_requests: int = 0
    pending: int = 0
    seconds: float = 0.0
    error: str | None = None
    audit_head: int | None = None  # the event stored as the audit head, if the run anchored
    already_running: bool = False  # another process seals now: this run did nothing

    def as_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "sealed": self.sealed,
                "certificates": self.certificates,
                "tsa_requests": self.tsa_requests, "pending": self.pending,
                "seconds": round(self.seconds, 3), "error": self.error,
                "audit_head": self.audit_head, "already_running": self.already_running}


@dataclass(frozen=True)
class _Pending:
    unit_id: str
    tenant: str
    members: tuple[bytes, ...]


def seal(archive: Archive, batch_size: int | None = None, *, anchor: bool = False,
         progress: Progress = NO_PROGRESS) -> SealReport:
    """Seal all pending units; a TSA outage stops the run and leaves the rest pending.
    With nothing pending, anchor the audit head when it is due, or at once with `anchor`.
    `progress` counts units as their Evidence Records are stored (most of the time).
    One sealing at a time, whoever runs it (the scheduler's job, `hramba seal`, on any
    host): a second finds the lock held and does nothing (`already_running`)."""
    access.authorize(archive, Action.SEAL)
    with exclusive(archive, "seal") as held:
        if not held:
            return SealReport(pending=count_pending(archive), already_running=True)
        with audit.violations_audited(archive, "seal"):
            return _seal(archive, batch_size, anchor, progress)


def _seal(archive: Archive, batch_size: int | None, anchor: bool,
          progress: Progress) -> SealReport:
    started, report = time.perf_counter(), SealReport()
    store_evidence(archive)
    size = batch_size or archive.sealing.batch_size
    progress.total(count_pending(archive))
    last_batch = None
    while True:
        batch, certificates = _pending(archive, size), _pending_certificates(archive)
        nothing_to_seal = not batch and not certificates
        if nothing_to_seal and (report.batches or not _anchor_due(archive, anchor)):
            break
        report.tsa_requests += 1
        try:
            last_batch = _seal_batch(archive, batch, certificates, progress)
        except ServiceUnavailable as exc:
            report.error = str(exc)
            break
        report.batches += 1
        report.sealed += len(batch)
        report.certificates += len(certificates)
    if last_batch is not None:
        report.audit_head = audit.store_head(archive, last_batch).seq
    report.pending = count_pending(archive)
    report.seconds = time.perf_counter() - started
    return report


def _anchor_due(archive: Archive, forced: bool) -> bool:
    """Events came after the newest anchored one, and that anchor is a day old (or
    `forced`); never anchored at all counts as due."""
    with transaction(archive.db) as session:
        head = session.scalar(select(func.max(AuditEvent.seq))) or 0
        last = session.execute(select(Batch.audit_seq, Batch.sealed_at)
                               .order_by(Batch.audit_seq.desc()).limit(1)).first()
    if last is None:
        return head > 0
    anchored_seq, anchored_at = last
    return head > anchored_seq and (forced or
                                    archive.clock.now() - anchored_at >= ANCHOR_EVERY)


def count_pending(archive: Archive) -> int:
    with transaction(archive.db) as session:
        return int(session.scalar(select(func.count()).select_from(Unit).where(
            Unit.sealed_at.is_(None))) or 0)


def _pending(archive: Archive, size: int) -> list[_Pending]:
    with transaction(archive.db) as session:
        units = session.execute(
            select(Unit.id, Tenant.code).join(Tenant).where(Unit.sealed_at.is_(None))
            .order_by(Unit.received_at, Unit.id).limit(size)).all()
        members: dict[str, list[bytes]] = {uid: [] for uid, _ in units}
        for unit_id, sha256 in session.execute(select(File.unit_id, File.sha256).where(
                File.unit_id.in_(members))):
            members[unit_id].append(bytes.fromhex(sha256))
    return [_Pending(uid, code, tuple(members[uid])) for uid, code in units]


@dataclass(frozen=True)
class Stamped:
    """A hash tree over some leaves and the audit head, timestamped and validated."""

    tree: Tree
    token: bytes
    checked: TokenReport
    crls: list[bytes]
    ocsps: list[bytes]
    audit_seq: int
    audit_hash: str

    @property
    def revocation(self) -> Revocation:
        return Revocation(tuple(self.crls), tuple(self.ocsps))


def timestamp_leaves(archive: Archive, leaves: list[Leaf],
                     algorithm: str | None = None) -> Stamped:
    """One TSA request over `leaves` plus the audit head; refuse a token that fails any
    check, and fetch the revocation data for its certificates while it is fresh."""
    algorithm = algorithm or archive.sealing.algorithm
    with transaction(archive.db) as session:
        head_seq, head_hash = session.execute(select(AuditEvent.seq, AuditEvent.hash)
                                              .order_by(AuditEvent.seq.desc()).limit(1)).one()
    tree = build_tree([*leaves, Leaf(AUDIT_LEAF, (bytes.fromhex(head_hash),))], algorithm)
    token = archive.sealing.timestamper.timestamp(tree.root, algorithm)
    trust = archive.sealing.trust
    # A first look before the revocation data is fetched, then the whole check with it: a
    # TSA certificate revoked before the token was made is refused, not merely recorded.
    checked = _accepted(archive, check_token(token, tree.root,
                                             replace(trust, require_revocation=False)))
    crls, ocsps = fetch_revocation(checked, trust)
    _accepted(archive, check_token(token, tree.root, trust.with_revocation(
        crls, ocsps, "fetched at sealing")))
    return Stamped(tree, token, checked, crls, ocsps, head_seq, head_hash)


def _accepted(archive: Archive, checked: TokenReport) -> TokenReport:
    """The token if every check passed. A failed check refuses it (exit 7, audited); an
    unqualified token not accepted by the settings is a configuration matter (exit 3);
    revocation data that could not be had or used (a responder down, its answers stale
    beyond the tolerance) is the TSA's outage: the units stay pending (exit 75)."""
    open_checks = [c for c in checked.checks if c.status is not Status.PASSED]
    if not open_checks:
        return checked
    tsa = archive.sealing.timestamper.description
    why = "; ".join(f"{c.name} {c.status.value} {c.detail}" for c in open_checks)
    if any(c.status is Status.FAILED for c in open_checks):
        raise IntegrityViolation(f"{tsa}: token refused: {why}")
    if any(c.code == "HRB-E014" for c in open_checks):
        raise ConfigurationError(f"{tsa}: the TSA's tokens are not qualified; set "
                                 "tsa.accept_unqualified = true to seal with them: " + why)
    raise ServiceUnavailable(f"{tsa}: token not yet accepted: {why}")


def batch_row(archive: Archive, stamped: Stamped, units: int,
              algorithm: str | None = None) -> Batch:
    return Batch(
        sealed_at=archive.clock.now(), algorithm=algorithm or archive.sealing.algorithm,
        root=stamped.tree.root.hex(), token=stamped.token,
        tsa=archive.sealing.timestamper.description,
        certificates=to_pem(stamped.checked.certificates),
        revocation={"crls": _b64(stamped.crls), "ocsps": _b64(stamped.ocsps)},
        audit_seq=stamped.audit_seq, audit_hash=stamped.audit_hash, units=units,
        audit_path={"reduced": [[h.hex() for h in level]
                                for level in stamped.tree.reduced[AUDIT_LEAF]]})


def _pending_certificates(archive: Archive) -> dict[str, tuple[int, bytes]]:
    """Destruction certificates not yet sealed: leaf key -> (disposal id, sha256)."""
    with transaction(archive.db) as session:
        rows = session.execute(select(Disposal.id, Disposal.certificate_sha256).where(
            Disposal.certificate_sha256.is_not(None), Disposal.batch_id.is_(None))).all()
    return {f"disposal-{i}": (i, bytes.fromhex(sha)) for i, sha in rows if sha}


def _seal_batch(archive: Archive, batch: list[_Pending],
                certificates: dict[str, tuple[int, bytes]], progress: Progress) -> int:
    """One batch (with no units and no certificates: the audit head alone); its id."""
    algorithm = archive.sealing.algorithm
    stamped = timestamp_leaves(archive, [Leaf(p.unit_id, p.members) for p in batch]
                               + [Leaf(key, (sha,)) for key, (_, sha) in certificates.items()])

    def record(key: str) -> bytes:
        return evidence_record([[archive_time_stamp(stamped.tree.reduced[key], stamped.token,
                                                    algorithm)]], [algorithm],
                               stamped.revocation)

    with transaction(archive.db) as session:
        row = batch_row(archive, stamped, len(batch))
        session.add(row)
        session.flush()
        if batch:
            session.execute(insert(Evidence), [
                evidence_row(row.id, p.tenant, p.unit_id, record(p.unit_id), row.sealed_at)
                for p in batch])
            session.execute(update(Unit).where(Unit.id.in_([p.unit_id for p in batch]))
                            .values(sealed_at=row.sealed_at))
        for key, (disposal_id, _) in certificates.items():
            session.execute(update(Disposal).where(Disposal.id == disposal_id).values(
                batch_id=row.id, evidence=record(key)))
        audit.record(session, archive, "batch.sealed", f"batch {row.id}", details={
            "root": row.root, "algorithm": algorithm, "units": len(batch),
            "certificates": [f"disposal {i}" for i, _ in certificates.values()],
            "tsa": row.tsa,
            "gen_time": str(stamped.checked.gen_time),
            "audit_head": {"seq": row.audit_seq, "hash": row.audit_hash}})
    store_evidence(archive, progress)  # the batch's records: one per unit
    return row.id


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(item).decode("ascii") for item in items]


def evidence_row(batch_id: int, tenant: str, unit_id: str, record: bytes,
                 now: datetime) -> dict[str, Any]:
    digest = Digest.of_bytes(record).hex
    return {"unit_id": unit_id, "batch_id": batch_id, "record": record,
            "record_sha256": digest, "object_key": evidence_key(tenant, unit_id, digest),
            "created_at": now, "stored_at": None, "superseded_at": None}


def store_evidence(archive: Archive, progress: Progress = NO_PROGRESS) -> int:
    """Copy committed Evidence Records not yet in storage next to their units (a disposed
    unit's renewed records stay in the database: its storage is gone)."""
    with transaction(archive.db) as session:
        rows = session.execute(select(Evidence.id, Evidence.object_key, Evidence.record,
                                      Unit.retain_until).join(Unit)
                               .where(Evidence.stored_at.is_(None),
                                      Unit.disposed_at.is_(None))).all()
    now = archive.clock.now()
    versions = {}
    for evidence_id, key, record, retain_until in rows:
        versions[evidence_id] = _put_record(archive, ObjectKey(key), record,
                                            storage_lock(retain_until, now,
                                                         archive.minimum_lock))
        progress.advance()
    archive.store.sync()
    if rows:
        stored_at = archive.clock.now()
        with transaction(archive.db) as session:
            session.execute(update(Evidence), [
                {"id": i, "stored_at": stored_at, "object_version": v}
                for i, v in versions.items()])
    return len(rows)


def _put_record(archive: Archive, key: ObjectKey, record: bytes,
                retain_until: datetime) -> str | None:
    """Store `record` at `key`; the version the store holds it as (StoredObject.version)."""
    sha256 = Digest.of_bytes(record)
    try:
        stored = archive.store.stat(key)  # a run that stopped after the put, before marking
    except NotFound:
        return archive.store.put(key, io.BytesIO(record), size=len(record), sha256=sha256,
                                 retain_until=retain_until).version
    with archive.store.open(key, stored.version) as stream:
        if Digest.of_bytes(stream.read()) != sha256:
            raise IntegrityViolation(f"{key} holds another evidence record")
    return stored.version
