"""SFTP bulk migration from a previous provider: transfer, check, archive, reconcile.

Every remote file gets a row with its state, committed as it moves along:

    pending -> transferred -> archived | duplicate | quarantined
            -> mismatched (size or sha256 differs from the provider's manifest; not archived)
    missing (in the manifest, not on the server)

A re-run (after a crash or a dropped connection) continues with whatever is not final;
the archive's content-derived unit ids mean nothing is ever archived twice. The staging
copies live under <home>/staging/migration-<id>/ until the staging policy's purge after the
budget user's confirmation (60 days; hramba.services.purge, run by the retention job).

An archivist migrates (Action.MIGRATE); the budget user, or an archivist for it, reviews
the migration (its status and reconciliation) and confirms it (Action.MIGRATE_CONFIRM),
each only for a tenant it serves.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, insert, select, update

from hramba.core.errors import Conflict, RejectedInput
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import iso
from hramba.db.engine import transaction
from hramba.db.models import Migration, MigrationFile, Tenant
from hramba.domain.access import Action
from hramba.services import access, audit
from hramba.services.archive import intake_tenant
from hramba.services.context import Archive
from hramba.services.ingest import ingest_candidates
from hramba.services.purge import staging_dir
from ingest.directory import Candidate
from ingest.sftp import Endpoint, Expected, SftpSource, download, read_manifest, walk

FINAL = ("archived", "duplicate", "quarantined")
UNRESOLVED = ("pending", "transferred", "mismatched", "missing")
CHUNK_FILES = 100


@dataclass(frozen=True)
class Remote:
    endpoint: Endpoint
    path: str
    manifest: str | None = None

    @property
    def label(self) -> str:
        e = self.endpoint
        return f"{e.user}@{e.host}:{e.port}/{self.path.strip('/')}"


def start_sftp(archive: Archive, tenant: str, remote: Remote, parallel: int = 4, *,
               progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """Migrate (or resume migrating) `remote` into `tenant`; returns the status.
    `progress` counts the files this run transfers, as each arrives."""
    ref = access.tenant(archive, tenant, Action.MIGRATE)
    intake_tenant(archive, ref)  # an offboarded tenant takes no migration: refused here
    source = SftpSource(remote.endpoint)  # a wrong host key stops here, before any record
    try:
        migration_id = _migration(archive, ref, remote)
        _plan(archive, migration_id, source, remote)
        pending = _files(archive, migration_id, ("pending", "transferred"))
        progress.total(len(pending))
        for start in range(0, len(pending), CHUNK_FILES):
            _run_chunk(archive, migration_id, source, remote, ref.code,
                       pending[start:start + CHUNK_FILES], parallel, progress)
    finally:
        source.close()
    return _status(archive, migration_id)


def _migration(archive: Archive, tenant: access.TenantRef, remote: Remote) -> int:
    """The unconfirmed migration of the same remote for this tenant, or a new one."""
    with transaction(archive.db) as session:
        found = session.scalars(select(Migration.id).where(
            Migration.tenant_id == tenant.id, Migration.remote == remote.label,
            Migration.confirmed_at.is_(None))).first()
        if found is not None:
            return found
        row = Migration(tenant_id=tenant.id, remote=remote.label, manifest=remote.manifest,
                        started_at=archive.clock.now(), remote_path=remote.path,
                        key_path=str(remote.endpoint.key),
                        known_hosts_path=str(remote.endpoint.known_hosts))
        session.add(row)
        session.flush()
        audit.record(session, archive, "migration.started", f"migration {row.id}",
                     tenant=tenant.code,
                     details={"remote": remote.label, "manifest": remote.manifest})
        return row.id


def _plan(archive: Archive, migration_id: int, source: SftpSource, remote: Remote) -> None:
    """Record every remote file (and every manifest entry) not yet known."""
    sftp = source.sftp()
    try:
        expected = read_manifest(sftp, remote.path, remote.manifest) if remote.manifest else {}
        listing = {p: size for p, size in walk(sftp, remote.path) if p != remote.manifest}
    finally:
        sftp.close()
    with transaction(archive.db) as session:
        known = set(session.scalars(select(MigrationFile.path).where(
            MigrationFile.migration_id == migration_id)))
        rows = [_row(migration_id, path, expected.get(path), "pending")
                for path in sorted(listing) if path not in known]
        rows += [_row(migration_id, path, expected[path], "missing")
                 for path in sorted(set(expected) - set(listing) - known)]
        if rows:
            session.execute(insert(MigrationFile), rows)


def _row(migration_id: int, path: str, expected: Expected | None, state: str
         ) -> dict[str, Any]:
    return {"migration_id": migration_id, "path": path, "state": state,
            "expected_size": expected.size if expected else None,
            "expected_sha256": expected.sha256 if expected else None}


def _files(archive: Archive, migration_id: int, states: Sequence[str]) -> list[MigrationFile]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(MigrationFile).where(
            MigrationFile.migration_id == migration_id, MigrationFile.state.in_(states))
            .order_by(MigrationFile.path)))


def _run_chunk(archive: Archive, migration_id: int, source: SftpSource, remote: Remote,
               tenant: str, files: list[MigrationFile], parallel: int,
               progress: Progress) -> None:
    staging = staging_dir(archive, migration_id)
    local = threading.local()

    def fetch(f: MigrationFile) -> tuple[MigrationFile, Path, Any]:
        if not hasattr(local, "sftp"):
            local.sftp = source.sftp()
        target = staging / _safe_relative(f.path)
        return f, target, download(local.sftp, str(PurePosixPath(remote.path) / f.path),
                                   target)

    fetched = []
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for item in pool.map(fetch, files):  # one thread reports: a Progress need no lock
            fetched.append(item)
            progress.advance()
    good = []
    with transaction(archive.db) as session:
        for f, target, hashed in fetched:
            problem = _mismatch(f, hashed.size, hashed.sha256.hex)
            session.execute(update(MigrationFile).where(MigrationFile.id == f.id).values(
                size=hashed.size, sha256=hashed.sha256.hex, detail=problem,
                state="mismatched" if problem else "transferred"))
            if not problem:
                good.append(Candidate(target, f.path, True, hashed.size))
    by_path = {f.path: f for f, _, _ in fetched}
    results = list(ingest_candidates(archive, good, tenant, source=f"migration-{migration_id}",
                                     any_file=True))
    with transaction(archive.db) as session:  # after the units' commit: a crash re-runs them
        for result in results:
            session.execute(update(MigrationFile).where(
                MigrationFile.id == by_path[result.path].id).values(
                state=result.outcome, unit_id=result.unit_id, detail=result.reason))


def _mismatch(f: MigrationFile, size: int, sha256: str) -> str | None:
    if f.expected_size is not None and f.expected_size != size:
        return f"{size} bytes, the manifest says {f.expected_size}"
    if f.expected_sha256 and f.expected_sha256 != sha256:
        return f"sha256 {sha256}, the manifest says {f.expected_sha256}"
    return None


def _safe_relative(path: str) -> Path:
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or path.startswith("/"):
        raise RejectedInput(f"remote path {path!r} is unsafe")
    return Path(*parts)


def status(archive: Archive, migration_id: int) -> dict[str, Any]:
    """Expected, transferred and each outcome's count; bytes; confirmation and purge."""
    _check(archive, migration_id, Action.MIGRATE_CONFIRM)
    return _status(archive, migration_id)


def list_migrations(archive: Archive) -> list[dict[str, Any]]:
    """Every migration of the tenants the principal serves, newest first: what the budget
    user reviews before it confirms one."""
    access.authorize(archive, Action.MIGRATE_CONFIRM)
    with transaction(archive.db) as session:
        ids = list(session.scalars(access.scoped(
            select(Migration.id).order_by(Migration.id.desc()), archive, Migration.tenant_id)))
    return [_status(archive, i) for i in ids]


def _check(archive: Archive, migration_id: int, action: Action) -> None:
    access.check_owner(archive, action, Migration, migration_id, f"migration {migration_id}")


def _status(archive: Archive, migration_id: int) -> dict[str, Any]:
    with transaction(archive.db) as session:
        migration = session.get_one(Migration, migration_id)
        tenant = session.get(Tenant, migration.tenant_id)
        counts = dict(session.execute(select(MigrationFile.state, func.count()).where(
            MigrationFile.migration_id == migration_id).group_by(MigrationFile.state)).all())
        transferred_bytes = session.scalar(select(func.sum(MigrationFile.size)).where(
            MigrationFile.migration_id == migration_id)) or 0
    seconds = max(1e-9, (archive.clock.now() - migration.started_at).total_seconds())
    expected = sum(counts.values())
    return {"id": migration_id, "tenant": tenant.code if tenant else None,
            "remote": migration.remote, "expected": expected,
            "transferred": expected - counts.get("pending", 0) - counts.get("missing", 0),
            **{state: counts.get(state, 0) for state in (*FINAL, *UNRESOLVED)},
            "bytes": int(transferred_bytes),
            "bytes_per_second": round(int(transferred_bytes) / seconds),
            "confirmed_at": iso(migration.confirmed_at),
            "purge_due_at": iso(migration.purge_due_at),
            "purged_at": iso(migration.purged_at),
            "purge_remote": migration.purge_remote}


def report(archive: Archive, migration_id: int) -> list[dict[str, Any]]:
    """The reconciliation: one row per file with its outcome and digests."""
    _check(archive, migration_id, Action.MIGRATE_CONFIRM)
    with transaction(archive.db) as session:
        return [{"path": f.path, "state": f.state, "size": f.size,
                 "expected_size": f.expected_size, "sha256": f.sha256,
                 "expected_sha256": f.expected_sha256, "unit_id": f.unit_id,
                 "detail": f.detail}
                for f in session.scalars(select(MigrationFile).where(
                    MigrationFile.migration_id == migration_id).order_by(MigrationFile.path))]


def confirm(archive: Archive, migration_id: int, accept_gaps: str | None = None,
            purge_remote: bool = False) -> dict[str, Any]:
    """The principal confirms the transfer for the budget user; the staging area is due
    for purge when the staging policy says (60 days on), and with `purge_remote` the
    files archived from the provider's folder are deleted there too."""
    _check(archive, migration_id, Action.MIGRATE_CONFIRM)
    current = _status(archive, migration_id)
    if current["confirmed_at"]:
        raise Conflict(f"migration {migration_id} was confirmed already")
    open_files = sum(current[state] for state in UNRESOLVED)
    if open_files and not accept_gaps:
        raise Conflict(f"migration {migration_id} has {open_files} unresolved files "
                       "(pending, mismatched, missing): resolve them or --accept-gaps REASON")
    now = archive.clock.now()
    with transaction(archive.db) as session:
        row = session.get(Migration, migration_id)
        assert row is not None
        row.confirmed_at, row.confirmed_by = now, archive.actor
        row.accepted_gaps = accept_gaps
        row.purge_remote = purge_remote
        row.purge_due_at = archive.policies.for_kind("staging").due(now)
        audit.record(session, archive, "migration.confirmed", f"migration {migration_id}",
                     tenant=current["tenant"], details={
                         "accepted_gaps": accept_gaps, "unresolved": open_files,
                         "purge_remote": purge_remote,
                         "purge_due_at": row.purge_due_at.isoformat()})
    return _status(archive, migration_id)


