"""Bulk migration from a previous provider, as the service describes the hand-over: the
provider exports into a temporary SFTP space (or delivers on another medium, a folder
here); the archive stages the export, checking it against the provider's manifest, and
archives nothing yet; the budget user reviews it and confirms that it is adequate (or an
archivist confirms on its written word, recorded); then one import archives it; the
staging area is purged 60 days after the import, whatever else happened (an export never
imported: by its own policy, and the budget user is reminded daily until then). Each step
is an audit event and a notification to the tenant's contact address.

Every file of the export gets a row with its state, committed as it moves along:

    stage:  pending -> transferred (checked, in staging)
                    -> mismatched (size or sha256 differs from the manifest)
            missing (in the manifest, not in the export)
    import: transferred -> archived | duplicate | quarantined

A re-run (after a crash or a dropped connection) continues with whatever is not final;
the archive's content-derived unit ids mean nothing is ever archived twice. An archivist
may still stage and import in one run (`start`), recorded as one step.

An archivist migrates (Action.MIGRATE); the budget user, or an archivist for it, reviews
and confirms (Action.MIGRATE_CONFIRM), each only for a tenant it serves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, RejectedInput
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import Hashed, hash_stream, iso
from hramba.db.engine import transaction
from hramba.db.models import Migration, MigrationFile, Notification, Tenant
from hramba.domain.access import Action, Role
from hramba.domain.retention import LEGAL_ZONE
from hramba.services import access, audit, notify
from hramba.services.archive import intake_tenant
from hramba.services.context import Archive
from hramba.services.ingest import ingest_candidates
from hramba.services.locks import exclusive
from hramba.services.purge import staging_dir, staging_due
from ingest import directory
from ingest.manifest import Expected, parse_manifest
from ingest.sftp import Endpoint, SftpSource, download, read_manifest, walk

FINAL = ("archived", "duplicate", "quarantined")
GAPS = ("mismatched", "missing")  # what a confirmation must accept, with a reason
STATES = ("pending", "transferred", *GAPS, *FINAL)
CHUNK_FILES = 100


@dataclass(frozen=True)
class Remote:
    """The provider's export in a folder of an SFTP server; `manifest` is a file there."""

    endpoint: Endpoint
    path: str
    manifest: str | None = None

    @property
    def label(self) -> str:
        e = self.endpoint
        return f"{e.user}@{e.host}:{e.port}/{self.path.strip('/')}"


@dataclass(frozen=True)
class Medium:
    """The export delivered on another medium (a USB disk): a local folder, and the
    manifest (inside it or beside it)."""

    path: Path
    manifest: Path | None = None
    PREFIX = "dir:"  # of its label, as the migration records it

    @property
    def label(self) -> str:
        return f"{self.PREFIX}{self.path.absolute()}"


Export = Remote | Medium


# --- the steps -----------------------------------------------------------------------------


def stage(archive: Archive, tenant: str, export: Export, parallel: int = 4, *,
          progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """Fetch the export into staging and check it against its manifest, archiving nothing
    (or resume doing so); returns the status. A confirmed or imported migration is left as
    it is: what the budget user confirmed is what gets imported."""
    ref = access.tenant(archive, tenant, Action.MIGRATE)
    intake_tenant(archive, ref)  # an offboarded tenant takes no migration: refused here
    reader = _reader(export)  # a wrong host key or a missing folder stops here, unrecorded
    try:
        with exclusive(archive, _stage_lock(ref, export)) as held:
            if not held:
                raise Conflict(f"another run stages {export.label} for {ref.code} now: let "
                               "it end (migrate ls), then run again to resume")
            migration_id, settled = _migration(archive, ref, export)
            if settled:
                progress.total(0)
                return _status(archive, migration_id)
            _plan(archive, migration_id, reader)
            pending = _files(archive, migration_id, ("pending",))
            progress.total(len(pending))
            for start in range(0, len(pending), CHUNK_FILES):
                _stage_chunk(archive, migration_id, reader,
                             pending[start:start + CHUNK_FILES], parallel, progress)
            _staged(archive, migration_id, len(pending))
    finally:
        reader.close()
    return _status(archive, migration_id)


def _stage_lock(tenant: access.TenantRef, export: Export) -> str:
    """One run at a time stages an export for a tenant (two would make two migrations)."""
    return f"stage:{tenant.id}:{export.label}"


def confirm(archive: Archive, migration_id: int, accept_gaps: str | None = None,
            purge_remote: bool = False, written_word: str | None = None) -> dict[str, Any]:
    """The budget user confirms that the staged export is adequate; an archivist may do it
    for the budget user only on its written word (`written_word` says which letter or
    message). Gaps (mismatched or missing files) need `accept_gaps`, a reason. With
    `purge_remote` the archived files are deleted from the provider's folder at the purge."""
    _check(archive, migration_id, Action.MIGRATE_CONFIRM)
    current = _status(archive, migration_id)
    if current["confirmed_at"]:
        raise Conflict(f"migration {migration_id} was confirmed already")
    if current["purged_at"]:
        raise Conflict(f"migration {migration_id}: its staging area was purged")
    if current["pending"]:
        raise Conflict(f"migration {migration_id} is still being staged ({current['pending']} "
                       "files not transferred): run the stage again first")
    gaps = sum(current[state] for state in GAPS)
    if gaps and not (accept_gaps or "").strip():
        raise Conflict(f"migration {migration_id} has {gaps} mismatched or missing files: "
                       "resolve them with the provider or confirm with --accept-gaps REASON")
    if purge_remote and current["remote"].startswith(Medium.PREFIX):
        raise RejectedInput(f"migration {migration_id} came on another medium: there is no "
                            "provider's folder to purge (--purge-remote)")
    word = (written_word or "").strip() or None
    if Role.BUDGET_USER not in archive.principal.roles and word is None:
        raise RejectedInput(f"migration {migration_id}: only the budget user confirms its "
                            "export; for it, name its written word (--written-word "
                            "\"letter of 2026-12-01, ref. 35/2026\")")
    with transaction(archive.db) as session:
        row = session.get_one(Migration, migration_id)
        row.confirmed_at, row.confirmed_by = archive.clock.now(), archive.actor
        row.accepted_gaps, row.purge_remote, row.written_word = accept_gaps, purge_remote, word
        details = {"accepted_gaps": accept_gaps, "gaps": gaps, "purge_remote": purge_remote,
                   "written_word": word}
        audit.record(session, archive, "migration.confirmed", _subject(migration_id),
                     tenant=current["tenant"], details=details)
        _tell(session, archive, row, "migration.confirmed",
              f"potrjen izvoz prejšnjega ponudnika (migracija {migration_id})",
              f"Izvoz je potrdil {archive.actor}"
              + (f" na vašo pisno potrditev ({word})" if word else "") + "."
              + (f" Sprejete vrzeli ({gaps} datotek): {accept_gaps}." if gaps else "")
              + " Sledi enkratni uvoz v arhiv; o njem boste obveščeni.")
    notify.deliver(archive)
    return _status(archive, migration_id)


def import_staged(archive: Archive, migration_id: int, *, one_step: bool = False,
                  progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """Archive every staged and checked file (resumes an interrupted import). Only after
    the budget user's confirmation, unless an archivist runs the migration in one step
    (`one_step`, recorded as such). One import of a migration at a time."""
    _check(archive, migration_id, Action.MIGRATE)
    with exclusive(archive, f"import:{migration_id}") as mine:
        if not mine:
            raise Conflict(f"migration {migration_id} is being imported by another run")
        return _import(archive, migration_id, one_step, progress)


def _import(archive: Archive, migration_id: int, one_step: bool,
            progress: Progress) -> dict[str, Any]:
    with transaction(archive.db) as session:
        row = session.get_one(Migration, migration_id)
        tenant = session.get_one(Tenant, row.tenant_id).code
        pending = _count(session, migration_id, ("pending",))
        done, confirmed = row.purged_at or row.imported_at, row.confirmed_at is not None
    if done:
        raise Conflict(f"migration {migration_id} was imported (or purged) already")
    if not confirmed and not one_step:
        raise Conflict(f"migration {migration_id} awaits the budget user's confirmation "
                       f"(migrate confirm {migration_id})")
    if pending:
        raise Conflict(f"migration {migration_id}: {pending} files are not staged yet: run "
                       "the stage again first")
    staged = _files(archive, migration_id, ("transferred",))
    progress.total(len(staged))
    for start in range(0, len(staged), CHUNK_FILES):
        _import_chunk(archive, migration_id, tenant, staged[start:start + CHUNK_FILES],
                      progress)
    _imported(archive, migration_id, one_step)
    return _status(archive, migration_id)


def stage_and_import(archive: Archive, tenant: str, export: Export, parallel: int = 4, *,
                     progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """An archivist's one-step run: stage, then import without waiting for the budget
    user's confirmation (recorded as one step; the budget user is told of both)."""
    access.authorize(archive, Action.MIGRATE)
    staged = stage(archive, tenant, export, parallel, progress=progress)
    if staged["imported_at"] or staged["purged_at"]:
        return staged
    return import_staged(archive, staged["id"], one_step=True)


def remind(archive: Archive) -> dict[str, int]:
    """The daily report of staged exports not imported yet: a reminder to the budget user
    of each one still unconfirmed (once a day) with the day its staging area will be
    purged, and an event. The retention job's (hramba.services.retention.sweep)."""
    access.authorize(archive, Action.SCHEDULE)
    now = archive.clock.now()
    today = datetime.combine(now.astimezone(LEGAL_ZONE).date(), datetime.min.time(),
                             LEGAL_ZONE)
    query = select(Migration).where(Migration.imported_at.is_(None),
                                    Migration.purged_at.is_(None),
                                    Migration.staged_at.is_not(None)).order_by(Migration.id)
    counts = {"unconfirmed staging areas": 0, "confirmed, not imported": 0, "reminders": 0}
    with transaction(archive.db) as session:
        for row in session.scalars(access.scoped(query, archive, Migration.tenant_id)):
            if row.confirmed_at is not None:
                counts["confirmed, not imported"] += 1
                continue
            counts["unconfirmed staging areas"] += 1
            subject = _subject(row.id)
            if session.scalar(select(Notification.id).where(
                    Notification.event == "migration.reminder",
                    Notification.subject_ref == subject, Notification.created_at >= today)):
                continue
            staged_at = row.staged_at or row.started_at  # set: the query says so
            _, due = staging_due(archive, None, staged_at)
            code = session.get_one(Tenant, row.tenant_id).code
            audit.record(session, archive, "migration.reminder", subject, tenant=code,
                         details={"staged_at": iso(staged_at), "purge_due_at": iso(due)})
            _tell(session, archive, row, "migration.reminder",
                  f"izvoz prejšnjega ponudnika čaka na vašo potrditev (migracija {row.id})",
                  f"Izvoz je v začasnem prostoru od {staged_at:%Y-%m-%d}. Preglejte ga "
                  "in ga potrdite; dokler ga ne potrdite, ni nič arhivirano. Nepotrjen bo "
                  f"nepreklicno izbrisan {due:%Y-%m-%d}.")
            counts["reminders"] += 1
    return counts  # delivered by the job, right after


# --- reading: status, list, report ---------------------------------------------------------


def status(archive: Archive, migration_id: int) -> dict[str, Any]:
    """Expected, transferred and each outcome's count; bytes; the hand-over's steps."""
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


def report(archive: Archive, migration_id: int) -> list[dict[str, Any]]:
    """The reconciliation: one row per file with its outcome and digests."""
    _check(archive, migration_id, Action.MIGRATE_CONFIRM)
    with transaction(archive.db) as session:
        return [{"path": f.path, "state": f.state, "size": f.size,
                 "expected_size": f.expected_size, "sha256": f.sha256,
                 "expected_sha256": f.expected_sha256, "received_at": f.received_at,
                 "unit_id": f.unit_id, "detail": f.detail}
                for f in session.scalars(select(MigrationFile).where(
                    MigrationFile.migration_id == migration_id).order_by(MigrationFile.path))]


def step(current: dict[str, Any]) -> str:
    """Where a migration stands in the hand-over, in a word or three."""
    if current["purged_at"]:
        return "purged"
    if current["imported_at"]:
        return "imported (one step)" if current["one_step"] else "imported"
    if current["confirmed_at"]:
        return "confirmed, to import"
    return "awaiting confirmation" if current["staged_at"] else "staging"


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
    policy, due = staging_due(archive, migration.imported_at,
                              migration.staged_at or migration.started_at)
    current = {
        "id": migration_id, "tenant": tenant.code if tenant else None,
        "remote": migration.remote, "expected": expected,
        "transferred": expected - counts.get("pending", 0) - counts.get("missing", 0),
        "staged": counts.get("transferred", 0),  # checked, in staging, not imported yet
        **{state: counts.get(state, 0) for state in STATES if state != "transferred"},
        "bytes": int(transferred_bytes),
        "bytes_per_second": round(int(transferred_bytes) / seconds),
        "staged_at": iso(migration.staged_at),
        "confirmed_at": iso(migration.confirmed_at), "confirmed_by": migration.confirmed_by,
        "written_word": migration.written_word, "accepted_gaps": migration.accepted_gaps,
        "imported_at": iso(migration.imported_at), "imported_by": migration.imported_by,
        "one_step": migration.one_step,
        "purge_policy": policy.ref, "purge_due_at": iso(due),
        "purged_at": iso(migration.purged_at), "purge_remote": migration.purge_remote}
    return {**current, "step": step(current)}


# --- staging -------------------------------------------------------------------------------


class _Reader(Protocol):
    def listing(self) -> tuple[dict[str, int | None], dict[str, Expected]]:
        """Path -> size of every file of the export (None: not a regular file), and the
        manifest's entries."""

    def fetch(self, path: str, target: Path) -> Hashed:
        """Copy one file to `target`, hashing it; called from several threads."""

    def close(self) -> None: ...


class _SftpReader:
    def __init__(self, remote: Remote) -> None:
        self.remote, self.source = remote, SftpSource(remote.endpoint)
        self.local = threading.local()  # one SFTP channel per thread

    def listing(self) -> tuple[dict[str, int | None], dict[str, Expected]]:
        sftp, remote = self.source.sftp(), self.remote
        try:
            expected = (read_manifest(sftp, remote.path, remote.manifest) if remote.manifest
                        else {})
            files: dict[str, int | None] = {
                path: size for path, size in walk(sftp, remote.path) if path != remote.manifest}
        finally:
            sftp.close()
        return files, expected

    def fetch(self, path: str, target: Path) -> Hashed:
        if not hasattr(self.local, "sftp"):
            self.local.sftp = self.source.sftp()
        return download(self.local.sftp, str(PurePosixPath(self.remote.path) / path), target)

    def close(self) -> None:
        self.source.close()


class _FolderReader:
    def __init__(self, medium: Medium) -> None:
        if not medium.path.is_dir():
            raise NotFound(f"folder {medium.path} does not exist")
        if medium.manifest is not None and not medium.manifest.is_file():
            raise NotFound(f"manifest {medium.manifest} does not exist")
        self.medium = medium

    def listing(self) -> tuple[dict[str, int | None], dict[str, Expected]]:
        manifest = self.medium.manifest
        expected = parse_manifest(manifest.name, manifest.read_bytes()) if manifest else {}
        return {c.relative: c.size if c.regular else None
                for c in directory.walk(self.medium.path)
                if not (manifest and c.path.absolute() == manifest.absolute())}, expected

    def fetch(self, path: str, target: Path) -> Hashed:
        # O_NOFOLLOW: a file swapped for a link since the listing is refused, not followed.
        fd = os.open(self.medium.path / path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as source:
            return directory.save_hashed(source, target)

    def close(self) -> None:
        pass


def _reader(export: Export) -> _Reader:
    return _SftpReader(export) if isinstance(export, Remote) else _FolderReader(export)


def _migration(archive: Archive, tenant: access.TenantRef, export: Export
               ) -> tuple[int, bool]:
    """The open migration of the same export for this tenant (and whether it is settled:
    confirmed or imported, so not to be staged again), or a new one."""
    with transaction(archive.db) as session:
        found = session.scalars(select(Migration).where(
            Migration.tenant_id == tenant.id, Migration.remote == export.label,
            Migration.purged_at.is_(None)).order_by(Migration.id.desc())).first()
        if found is not None:
            return found.id, found.confirmed_at is not None or found.imported_at is not None
        remote = export.endpoint if isinstance(export, Remote) else None
        manifest = str(export.manifest) if export.manifest else None
        row = Migration(tenant_id=tenant.id, remote=export.label, manifest=manifest,
                        started_at=archive.clock.now(),
                        remote_path=export.path if remote else None,
                        key_path=str(remote.key) if remote else None,
                        known_hosts_path=str(remote.known_hosts) if remote else None)
        session.add(row)
        session.flush()
        audit.record(session, archive, "migration.started", _subject(row.id),
                     tenant=tenant.code, details={"remote": export.label, "manifest": manifest})
        return row.id, False


def _plan(archive: Archive, migration_id: int, reader: _Reader) -> None:
    """Record every file of the export (and every manifest entry) not yet known."""
    listing, expected = reader.listing()
    with transaction(archive.db) as session:
        known = set(session.scalars(select(MigrationFile.path).where(
            MigrationFile.migration_id == migration_id)))
        rows = [_row(migration_id, path, expected.get(path), "pending")
                for path, size in sorted(listing.items())
                if path not in known and size is not None]
        rows += [_row(migration_id, path, expected.get(path), "mismatched",
                      "not a regular file (links are never followed)")
                 for path, size in sorted(listing.items()) if path not in known and size is None]
        rows += [_row(migration_id, path, expected[path], "missing")
                 for path in sorted(set(expected) - set(listing) - known)]
        if rows:
            session.execute(insert(MigrationFile), rows)


def _row(migration_id: int, path: str, expected: Expected | None, state: str,
         detail: str | None = None) -> dict[str, Any]:
    _safe_relative(path)
    return {"migration_id": migration_id, "path": path, "state": state, "detail": detail,
            "expected_size": expected.size if expected else None,
            "expected_sha256": expected.sha256 if expected else None,
            "received_at": expected.received_at if expected else None}


def _stage_chunk(archive: Archive, migration_id: int, reader: _Reader,
                 files: list[MigrationFile], parallel: int, progress: Progress) -> None:
    staging = staging_dir(archive, migration_id)

    def fetch(f: MigrationFile) -> tuple[MigrationFile, Hashed]:
        return f, reader.fetch(f.path, staging / _safe_relative(f.path))

    fetched = []
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for item in pool.map(fetch, files):  # one thread reports: a Progress need no lock
            fetched.append(item)
            progress.advance()
    with transaction(archive.db) as session:
        for f, hashed in fetched:
            problem = _mismatch(f, hashed.size, hashed.sha256.hex)
            session.execute(update(MigrationFile).where(MigrationFile.id == f.id).values(
                size=hashed.size, sha256=hashed.sha256.hex, detail=problem,
                state="mismatched" if problem else "transferred"))


def _staged(archive: Archive, migration_id: int, transferred_now: int) -> None:
    """The first complete staging (or one that brought more files) is an event, and the
    budget user is asked to review and confirm."""
    with transaction(archive.db) as session:
        row = session.get_one(Migration, migration_id)
        if row.staged_at is not None and not transferred_now:
            return
        row.staged_at = row.staged_at or archive.clock.now()
        counts = {state: _count(session, migration_id, (state,)) for state in STATES[:4]}
        _, due = staging_due(archive, None, row.staged_at)
        audit.record(session, archive, "migration.staged", _subject(migration_id),
                     tenant=session.get_one(Tenant, row.tenant_id).code,
                     details={**counts, "purge_due_at": iso(due)})
        _tell(session, archive, row, "migration.staged",
              f"izvoz prejšnjega ponudnika je pripravljen za pregled (migracija "
              f"{migration_id})",
              f"Preneseno in preverjeno: {counts['transferred']} datotek; se ne ujema s "
              f"seznamom: {counts['mismatched']}; manjka: {counts['missing']}. Preglejte ga "
              "(portal, Migracije) in potrdite, da je ustrezen; dotlej ni nič arhivirano. "
              f"Nepotrjen bo nepreklicno izbrisan {due:%Y-%m-%d}.")
    notify.deliver(archive)


# --- import ----------------------------------------------------------------------------------


def _import_chunk(archive: Archive, migration_id: int, tenant: str,
                  files: list[MigrationFile], progress: Progress) -> None:
    """Archive the chunk's staged files, each first checked again against what staging
    recorded: days may pass between the two, and what is archived must be what the
    budget user confirmed."""
    staging = staging_dir(archive, migration_id)
    by_path, changed = {f.path: f for f in files}, {}
    for f in files:
        with (staging / _safe_relative(f.path)).open("rb") as stream:
            now = hash_stream(stream)
        if (now.size, now.sha256.hex) != (f.size, f.sha256):
            changed[f.path] = (f"changed in staging since it was checked: {now.size} bytes, "
                               f"sha256 {now.sha256.hex}")
    candidates = [directory.Candidate(staging / _safe_relative(f.path), f.path, True,
                                      f.size or 0, f.received_at)
                  for f in files if f.path not in changed]
    results = list(ingest_candidates(archive, candidates, tenant,
                                     source=f"migration-{migration_id}", any_file=True))
    with transaction(archive.db) as session:  # after the units' commit: a crash re-runs them
        for path, problem in changed.items():
            session.execute(update(MigrationFile).where(
                MigrationFile.id == by_path[path].id).values(state="mismatched",
                                                             detail=problem))
        for result in results:
            session.execute(update(MigrationFile).where(
                MigrationFile.id == by_path[result.path].id).values(
                state=result.outcome, unit_id=result.unit_id, detail=result.reason))
    progress.advance(len(files))


def _imported(archive: Archive, migration_id: int, one_step: bool) -> None:
    with transaction(archive.db) as session:
        row = session.get_one(Migration, migration_id)
        row.imported_at, row.imported_by, row.one_step = (archive.clock.now(), archive.actor,
                                                          one_step)
        row.purge_due_at = archive.policies.for_kind("staging").due(row.imported_at)
        counts = {state: _count(session, migration_id, (state,)) for state in (*FINAL, *GAPS)}
        audit.record(session, archive, "migration.imported", _subject(migration_id),
                     tenant=session.get_one(Tenant, row.tenant_id).code,
                     details={**counts, "one_step": one_step,
                              "purge_due_at": iso(row.purge_due_at)})
        _tell(session, archive, row, "migration.imported",
              f"izvoz prejšnjega ponudnika je uvožen v arhiv (migracija {migration_id})",
              f"Arhivirano: {counts['archived']}; že arhivirano prej: {counts['duplicate']}; "
              f"v karanteni: {counts['quarantined']}; ni uvoženo (se ne ujema ali manjka): "
              f"{counts['mismatched'] + counts['missing']}."
              + (" Uvoz je arhivist opravil v enem koraku, brez vaše predhodne potrditve."
                 if one_step else "")
              + f" Začasni prostor bo nepreklicno izbrisan {row.purge_due_at:%Y-%m-%d}, "
              "brez varnostnih kopij.")
    notify.deliver(archive)


# --- shared ----------------------------------------------------------------------------------


def _tell(session: Session, archive: Archive, row: Migration, event: str, title: str,
          body: str) -> None:
    """A notification of this step to the tenant's contact, in the step's transaction."""
    notify.queue(session, archive, row.tenant_id, event, _subject(row.id),
                 f"{archive.name}: {title}",
                 f"{body}\n\nMigracija {row.id}, vir {row.remote}.\n")


def _files(archive: Archive, migration_id: int, states: Sequence[str]) -> list[MigrationFile]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(MigrationFile).where(
            MigrationFile.migration_id == migration_id, MigrationFile.state.in_(states))
            .order_by(MigrationFile.path)))


def _count(session: Session, migration_id: int, states: Sequence[str]) -> int:
    return session.scalar(select(func.count()).select_from(MigrationFile).where(
        MigrationFile.migration_id == migration_id, MigrationFile.state.in_(states))) or 0


def _check(archive: Archive, migration_id: int, action: Action) -> None:
    access.check_owner(archive, action, Migration, migration_id, _subject(migration_id))


def _subject(migration_id: int) -> str:
    return f"migration {migration_id}"


def _mismatch(f: MigrationFile, size: int, sha256: str) -> str | None:
    if f.expected_size is not None and f.expected_size != size:
        return f"{size} bytes, the manifest says {f.expected_size}"
    if f.expected_sha256 and f.expected_sha256 != sha256:
        return f"sha256 {sha256}, the manifest says {f.expected_sha256}"
    return None


def _safe_relative(path: str) -> Path:
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or path.startswith("/"):
        raise RejectedInput(f"export path {path!r} is unsafe")
    return Path(*parts)
