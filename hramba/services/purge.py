"""Automatic purges: traffic records past their policy, migration staging areas and
retrieval export packages after theirs.

Each purge deletes, then leaves a purge record (what, when, under which policy, counts
and a SHA-256 over the sorted list of what went), in the same transaction as its audit
event. What a purge removes is gone for good: no backup is kept, by design. A staging
purge then gets its certificate: a signed PDF (hramba.domain.certificate) carrying the
JSON of the migration, the record and every file, stored WORM beside the destruction
certificates; the next run makes one that a crash left unmade.

The purges are the scheduled retention job's (Action.SCHEDULE: an operator runs them
under the policies, without a say in what goes), of the tenants its principal serves.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from hramba.core.errors import ConfigurationError, Conflict, NotFound, RetentionLocked
from hramba.core.types import Digest, ObjectKey, iso
from hramba.db.engine import transaction
from hramba.db.models import (
    Export,
    Migration,
    MigrationFile,
    Purge,
    Tenant,
    TrafficRecord,
    Unit,
)
from hramba.domain.access import Action
from hramba.domain.certificate import staging_document, to_bytes
from hramba.domain.export import ExportState
from hramba.domain.retention import Policy, policy_ref
from hramba.services import access, audit, notify
from hramba.services.certify import creator, store_signed
from hramba.services.context import Archive
from hramba.services.holds import held
from hramba.services.units import write_checked
from ingest.sftp import Endpoint, SftpSource, remove
from storage.keys import export_prefix, staging_purge_key

PAGE = 1000
STAGING_FORMAT = "e-hramba-staging-purge-certificate/1"
MIGRATION = "migration "  # a staging purge's subject: MIGRATION + its id
HELD_HERE = ("archived", "duplicate", "quarantined")  # what the archive holds a copy of


def purge_traffic(archive: Archive) -> dict[str, int]:
    """Delete traffic records whose policy period has run out, except those of held
    units; one purge record per run that deleted anything."""
    access.authorize(archive, Action.SCHEDULE)
    policy, now = archive.policies.for_kind("traffic"), archive.clock.now()
    held_units = select(Unit.id).where(held())
    query = (select(TrafficRecord, Tenant.code).join(Tenant)
             .where(TrafficRecord.received_at <= now - policy.period.at_least(),
                    or_(TrafficRecord.unit_id.is_(None),
                        TrafficRecord.unit_id.not_in(held_units)))
             .order_by(TrafficRecord.id))
    with transaction(archive.db) as session:
        due = [(r, code) for r, code in session.execute(access.scoped(
            query, archive, TrafficRecord.tenant_id)) if policy.due(r.received_at) <= now]
        for start in range(0, len(due), PAGE):
            session.execute(delete(TrafficRecord).where(TrafficRecord.id.in_(
                [r.id for r, _ in due[start:start + PAGE]])))
        if due:
            _record(session, archive, policy, "traffic", "traffic records",
                    {"records": len(due)}, [_traffic_line(r, code) for r, code in due],
                    {"tenants": dict(Counter(code for _, code in due))})
    return {"traffic records purged": len(due)}


def purge_staging(archive: Archive) -> dict[str, int]:
    """Delete every migration staging area (the local copies under
    <home>/staging/migration-<id>/) whose policy says it is due: 60 days after the
    import, or, never imported, the unimported-staging policy's period after staging."""
    access.authorize(archive, Action.SCHEDULE)
    now = archive.clock.now()
    query = (select(Migration.id, Migration.imported_at, Migration.staged_at,
                    Migration.started_at, Tenant.code).join(Tenant)
             .where(Migration.purged_at.is_(None)))
    with transaction(archive.db) as session:
        open_areas = session.execute(access.scoped(query, archive, Migration.tenant_id)).all()
    due = [(mid, code, policy) for mid, imported, staged, started, code in open_areas
           for policy, at in [staging_due(archive, imported, staged or started)]
           if at is not None and at <= now]
    for migration_id, code, policy in due:
        _purge_migration(archive, policy, migration_id, code)
    with transaction(archive.db) as session:
        uncertified = list(session.scalars(select(Purge.id).where(
            Purge.kind == "staging", Purge.certificate_key.is_(None)).order_by(Purge.id)))
    for purge_id in uncertified:
        _certify_staging(archive, purge_id)
    return {"staging areas purged": len(due), "staging purges certified": len(uncertified)}


def staging_due(archive: Archive, imported_at: datetime | None, staged_at: datetime | None
                ) -> tuple[Policy, datetime | None]:
    """The policy that ends a migration's staging area, and when: the staging policy's
    period after the import, whether or not anything else happened; never imported, the
    unimported-staging policy's after the staging."""
    if imported_at is not None:
        policy = archive.policies.for_kind("staging")
        return policy, policy.due(imported_at)
    policy = archive.policies.for_kind("unimported-staging")
    return policy, policy.due(staged_at) if staged_at else None


def purge_exports(archive: Archive) -> dict[str, int]:
    """Delete the packages of retrieval exports whose delivery period has run out (every
    object built for one, a crashed build's too), and what a failed build left stored
    that long; the export's row and events remain."""
    access.authorize(archive, Action.SCHEDULE)
    policy, now = archive.policies.for_kind("export"), archive.clock.now()
    query = (select(Export.id, Export.state, Export.built_at, Export.claimed_at, Tenant.code)
             .join(Tenant).where(Export.state.in_([ExportState.READY, ExportState.FAILED]))
             .order_by(Export.id))
    with transaction(archive.db) as session:
        rows = session.execute(access.scoped(query, archive, Export.tenant_id)).all()
    purged = locked = 0
    for export_id, state, built_at, claimed_at, code in rows:
        since = built_at if state == ExportState.READY else claimed_at
        if since is None or policy.due(since) > now:
            continue
        keys = list(archive.store.keys(export_prefix(code, export_id)))
        if state == ExportState.FAILED and not keys:
            continue  # a failed build stored nothing: nothing to purge, it may be re-run
        try:
            for key in keys:
                archive.store.delete(key)
        except RetentionLocked:
            locked += 1  # storage still keeps it (its clock): the next run tries again
            continue
        with transaction(archive.db) as session:
            if state == ExportState.READY:
                session.execute(update(Export).where(Export.id == export_id).values(
                    state=ExportState.PURGED, purged_at=now))
            _record(session, archive, policy, "export", f"export {export_id}",
                    {"packages": len(keys)}, sorted(keys), {"tenant": code, "state": state})
        purged += 1
    return {"export packages purged": purged,
            **({"export packages still locked": locked} if locked else {})}


def staging_dir(archive: Archive, migration_id: int) -> Path:
    return archive.home / "staging" / f"migration-{migration_id}"


def _purge_migration(archive: Archive, policy: Policy, migration_id: int, tenant: str) -> None:
    """The provider's copies first (when asked for: a failure leaves everything for the
    next run), then the staging folder, then the record."""
    remote = _purge_remote(archive, migration_id)
    folder = staging_dir(archive, migration_id)
    on_disk = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    removed = sum(p.stat().st_size for p in on_disk)
    if folder.exists():  # gone already if a run stopped after deleting, before recording
        shutil.rmtree(folder)
    with transaction(archive.db) as session:
        staged = session.execute(select(MigrationFile.path, MigrationFile.size,
                                        MigrationFile.sha256).where(
            MigrationFile.migration_id == migration_id, MigrationFile.sha256.is_not(None))
            .order_by(MigrationFile.path)).all()
        migration = session.get_one(Migration, migration_id)
        migration.purged_at = archive.clock.now()
        _record(session, archive, policy, "staging", _subject(migration_id),
                {"files": len(on_disk), "bytes": removed, "staged files": len(staged),
                 **remote},
                [f"{path}\t{size}\t{sha256}" for path, size, sha256 in staged],
                {"tenant": tenant, "folder": str(folder)})
        notify.queue(session, archive, migration.tenant_id, "staging.purged",
                     _subject(migration_id), f"{archive.name}: začasni prostor migracije "
                     f"{migration_id} je izbrisan",
                     f"Po pravilu {policy.ref} je začasni prostor migracije {migration_id} "
                     f"({migration.remote}) nepreklicno izbrisan: {len(on_disk)} datotek, "
                     "brez varnostnih kopij. Arhivirane enote ostanejo v hrambi; potrdilo "
                     f"o izbrisu: hramba migrate certificate {migration_id}.\n")


def _certify_staging(archive: Archive, purge_id: int) -> None:
    """The staging purge's signed certificate, stored and then recorded with an event."""
    with transaction(archive.db) as session:
        purge = session.get_one(Purge, purge_id)
        migration = session.get_one(Migration, int(purge.subject.removeprefix(MIGRATION)))
        body = _staging_body(session, archive, purge, migration)
        tenant, executed_at = body["creator"]["code"], purge.executed_at
    data = to_bytes(body)
    name = f"migration-{migration.id}-staging-purge.json"
    key = staging_purge_key(tenant, migration.id)
    keep = archive.policies.for_kind("unit").due(executed_at)
    sha256 = store_signed(archive, key, staging_document(body, name, Digest.of_bytes(data).hex),
                          keep).hex
    with transaction(archive.db) as session:
        purge = session.get_one(Purge, purge_id)
        purge.certificate_key, purge.certificate_sha256 = key, sha256
        audit.record(session, archive, "staging.certified", purge.subject, tenant=tenant,
                     details={"purge": purge_id, "certificate": key,
                              "certificate_sha256": sha256})


def staging_certificate(archive: Archive, migration_id: int, out: Path) -> Path:
    """Write the signed certificate of a migration's staging purge into `out` (its digest
    checked as it is written); a read, so an event."""
    subject = _subject(migration_id)
    access.check_owner(archive, Action.DISPOSE_READ, Migration, migration_id, subject)
    with transaction(archive.db) as session:
        found = session.execute(select(Purge.certificate_key, Purge.certificate_sha256).where(
            Purge.kind == "staging", Purge.subject == subject)).first()
        tenant = session.scalar(select(Tenant.code).join(Migration).where(
            Migration.id == migration_id))
    if found is None or found[0] is None or found[1] is None:
        raise NotFound(f"{subject} has no staging purge certificate yet (its staging area "
                       "is purged by the retention job, when the staging policy says)")
    target = out / f"migration-{migration_id}-staging-purge.pdf"
    if target.exists():
        raise Conflict(f"{target} already exists; choose another --out directory")
    out.mkdir(parents=True, exist_ok=True)
    write_checked(archive, ObjectKey(found[0]), Digest.sha256(found[1]), target)
    with transaction(archive.db) as session:
        audit.record(session, archive, "staging.certificate_read", subject, tenant=tenant,
                     details={"out": str(out), "files": [target.name]})
    return target


def _staging_body(session: Session, archive: Archive, purge: Purge, migration: Migration
                  ) -> dict[str, Any]:
    files = session.execute(select(MigrationFile).where(
        MigrationFile.migration_id == migration.id).order_by(MigrationFile.path)).scalars()
    listed = [{"path": f.path, "size": f.size if f.size is not None else f.expected_size,
               "sha256": f.sha256, "state": f.state, "unit_id": f.unit_id} for f in files]
    return {"format": STAGING_FORMAT, "purge": purge.id, "archive": archive.name,
            "creator": creator(session, migration.tenant_id),
            "migration": {"id": migration.id, "remote": migration.remote,
                          "started_at": iso(migration.started_at),
                          "staged_at": iso(migration.staged_at),
                          "confirmed_at": iso(migration.confirmed_at),
                          "confirmed_by": migration.confirmed_by,
                          "written_word": migration.written_word,
                          "imported_at": iso(migration.imported_at),
                          "imported_by": migration.imported_by,
                          "one_step": migration.one_step,
                          "accepted_gaps": migration.accepted_gaps,
                          "purge_remote": migration.purge_remote},
            "policy": policy_ref(purge.policy_id, purge.policy_version),
            "executed_at": iso(purge.executed_at), "counts": purge.counts,
            "record_sha256": purge.sha256,
            "files_by_state": dict(Counter(f["state"] for f in listed)), "files": listed}


def _subject(migration_id: int) -> str:
    return f"{MIGRATION}{migration_id}"


def _purge_remote(archive: Archive, migration_id: int) -> dict[str, int]:
    """Delete from the provider's folder the files this archive holds (never one that was
    mismatched or missing), if the budget user asked for it at confirmation."""
    with transaction(archive.db) as session:
        migration = session.get_one(Migration, migration_id)
        if not migration.purge_remote:
            return {}
        held_here = list(session.scalars(select(MigrationFile.path).where(
            MigrationFile.migration_id == migration_id,
            MigrationFile.state.in_(HELD_HERE)).order_by(MigrationFile.path)))
        endpoint, root = _endpoint(migration)
    source = SftpSource(endpoint)
    try:
        sftp = source.sftp()
        removed = remove(sftp, root, held_here)
        sftp.close()
    finally:
        source.close()
    return {"remote files removed": removed}


def _endpoint(migration: Migration) -> tuple[Endpoint, str]:
    """From the recorded `user@host:port/...`, path, key and known_hosts paths."""
    user, _, rest = migration.remote.partition("@")
    host, _, port = rest.partition("/")[0].rpartition(":")
    if not (migration.remote_path and migration.key_path and migration.known_hosts_path):
        raise ConfigurationError(f"migration {migration.id}: no path, key or known_hosts "
                                 "recorded for the remote purge")
    return Endpoint(host, int(port), user, Path(migration.key_path),
                    Path(migration.known_hosts_path)), migration.remote_path


def _record(session: Session, archive: Archive, policy: Policy, kind: str, subject: str,
            counts: dict[str, int], lines: list[str], details: dict[str, Any]) -> None:
    digest = hashlib.sha256("\n".join(sorted(lines)).encode("utf-8")).hexdigest()
    row = Purge(kind=kind, subject=subject, policy_id=policy.id, policy_version=policy.version,
                executed_at=archive.clock.now(), counts=counts, sha256=digest, details=details)
    session.add(row)
    session.flush()
    audit.record(session, archive, f"{kind}.purged", subject,
                 tenant=details.get("tenant"), details={
                     "purge": row.id, "policy": policy.ref, "counts": counts,
                     "sha256": digest})


def list_purges(archive: Archive) -> list[dict[str, Any]]:
    """The purge records, as far as they concern the tenants the principal serves: a
    traffic purge spans tenants, and an account of some sees only their counts."""
    access.authorize(archive, Action.RETENTION_READ)
    with transaction(archive.db) as session:
        codes = access.codes_in_view(session, archive)
        rows = [{"id": p.id, "kind": p.kind, "subject": p.subject,
                 "policy": policy_ref(p.policy_id, p.policy_version),
                 "executed_at": p.executed_at.isoformat(), "counts": p.counts,
                 "sha256": p.sha256, "details": p.details,
                 "certificate_key": p.certificate_key,
                 "certificate_sha256": p.certificate_sha256}
                for p in session.scalars(select(Purge).order_by(Purge.id))]
    return [seen for row in rows if (seen := _in_view(row, codes))]


def _in_view(row: dict[str, Any], codes: set[str] | None) -> dict[str, Any] | None:
    if codes is None:
        return row
    if row["kind"] in ("staging", "export"):
        return row if row["details"].get("tenant") in codes else None
    theirs = {c: n for c, n in row["details"].get("tenants", {}).items() if c in codes}
    return row | {"counts": {"records": sum(theirs.values())},
                  "details": {"tenants": theirs}} if theirs else None


def _traffic_line(record: TrafficRecord, tenant: str) -> str:
    return json.dumps({"id": record.id, "tenant": tenant, "unit_id": record.unit_id,
                       "doc_id": record.doc_id, "sender_id": record.sender_id,
                       "receiver_id": record.receiver_id,
                       "received_at": iso(record.received_at), "status": record.status},
                      sort_keys=True, ensure_ascii=False)
