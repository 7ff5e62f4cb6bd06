"""The one place that turns settings into concrete adapters."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import make_url, select
from sqlalchemy.orm import Session, sessionmaker

from hramba.config import NotifySettings, Settings, StorageSettings
from hramba.core.errors import ConfigurationError
from hramba.core.redact import redact_url
from hramba.core.types import Clock, SystemClock
from hramba.db import migrate
from hramba.db.engine import make_engine, make_sessionmaker, reachable, transaction
from hramba.db.models import AuditEvent
from hramba.domain.access import Action
from hramba.domain.export import ExportRules, OverLimit
from hramba.ports import Mailer, ObjectStore, PdfSigner, Timestamper
from hramba.services import accounts, audit, tenants
from hramba.services.access import authorize
from hramba.services.accounts import Credentials
from hramba.services.context import Archive, Sealing
from storage.environments import EnvironmentStore
from storage.localfs import LocalObjectStore


def build_store(settings: Settings, clock: Clock, db: sessionmaker[Session]) -> ObjectStore:
    """Production's store and the test tenants' (their own bucket or folder, locked at
    most storage.test_lock_days), each key routed by its tenant's environment."""
    s = settings.storage
    test_lock = timedelta(days=s.test_lock_days)
    production: ObjectStore
    test: ObjectStore
    if s.kind == "s3":
        production = _bucket(s, s.bucket, clock, None)
        test = _bucket(s, s.test_bucket, clock, test_lock)
    else:
        production = LocalObjectStore(s.path, clock)
        test = LocalObjectStore(s.test_path, clock, max_lock=test_lock)
    return EnvironmentStore(production, test, partial(tenants.environments, db))


def _bucket(s: StorageSettings, bucket: str, clock: Clock,
            max_lock: timedelta | None) -> ObjectStore:
    """An S3 bucket's store; the bucket is created (with Object Lock) if missing."""
    from storage.s3 import S3ObjectStore

    store = S3ObjectStore(s.endpoint, bucket, s.access_key, s.secret_key, secure=s.secure,
                          region=s.region, clock=clock, max_lock=max_lock, timeout=s.timeout)
    store.ensure_bucket()
    return store


def build_sealing(settings: Settings, clock: Clock) -> Sealing:
    """The configured TSA, or the development TSA that `hramba init` made."""
    from hramba.trust.certs import load_certificates
    from hramba.trust.devtsa import DevTimestamper, DevTsaFiles
    from hramba.trust.report import AlgorithmPolicy, Trust

    t = settings.tsa
    timestamper: Timestamper
    if t.url:
        from hramba.trust.tsa import Rfc3161Timestamper

        timestamper = Rfc3161Timestamper(t.url, username=t.username, password=t.password,
                                         timeout=t.timeout, policy=t.policy)
    else:
        _refuse_development(settings, t.development, "tsa", "seals", "TSA",
                            "tsa.url and tsa.trust_anchors")
        files = DevTsaFiles(settings.home / "tsa")
        if not files.key.is_file():
            raise ConfigurationError(f"no development TSA in {files.folder}: run `hramba init`")
        timestamper = DevTimestamper(files, clock)
    anchors = load_certificates(t.trust_anchors, "tsa.trust_anchors")
    trust = Trust(anchors, policies=t.accepted_policies,
                  accept_unqualified=t.accept_unqualified or not t.url)
    return Sealing(timestamper, trust, t.algorithm, t.batch_size,
                   timedelta(days=t.renew_margin_days), t.weak_algorithms,
                   AlgorithmPolicy(t.weak_signatures, t.min_rsa_bits, t.min_ec_bits))


def _refuse_development(settings: Settings, development: bool, section: str, does: str,
                        what: str, configure: str) -> None:
    """Off the embedded default, the development TSA or signing key (neither qualified)
    only when `<section>.development = true` says so."""
    if not (settings.embedded or development):
        raise ConfigurationError(
            f"no {configure.split()[0]}: with PostgreSQL or S3 the archive {does} only with "
            f"a configured {what} (set {configure}), or with the development {what}, not "
            f"qualified, when {section}.development = true says so")


def describe_tsa(settings: Settings) -> str:
    """Which TSA sealing will use, and whether its tokens count as qualified."""
    t = settings.tsa
    if t.url:
        return redact_url(t.url) + (" (unqualified tokens accepted: tsa.accept_unqualified)"
                        if t.accept_unqualified else " (qualified tokens required)")
    if settings.embedded or t.development:
        return f"development TSA in {settings.home / 'tsa'} (NOT qualified)"
    return "none: set tsa.url (sealing refuses until then)"


def build_signing(settings: Settings, clock: Clock, sealing: Sealing) -> PdfSigner:
    """The configured signing key, or the development one that `hramba init` made; its
    signature timestamps come from the sealing's TSA, and are checked against its anchors."""
    from hramba.trust.devsigning import DevSigningFiles
    from hramba.trust.pdf import PadesPdfSigner, SigningKey

    s = settings.signing
    if s.key and s.certificate:
        key = SigningKey(s.key, s.certificate, s.key_password)
    else:
        _refuse_development(settings, s.development, "signing", "signs PDFs", "key",
                            "signing.key and signing.certificate")
        files = DevSigningFiles(settings.home / "signing")
        if not files.key.is_file():
            raise ConfigurationError(f"no development signing key in {files.folder}: run "
                                     "`hramba init`")
        key = SigningKey(files.key, files.certificate)
    return PadesPdfSigner(key, sealing.timestamper, sealing.trust.anchors, clock)


def describe_signing(settings: Settings) -> str:
    """Which key signs the archive's PDFs, and whether it may."""
    s = settings.signing
    if s.key:
        return f"key {s.key}, certificate {s.certificate}"
    if settings.embedded or s.development:
        return f"development signing key in {settings.home / 'signing'} (NOT qualified)"
    return "none: set signing.key and signing.certificate (signing refuses until then)"


def build_mailer(notify: NotifySettings) -> Mailer | None:
    """The SMTP server notifications go through; None without notify.smtp_host. Nothing
    connects here: each delivery does (hramba.services.notify)."""
    if not notify.smtp_host:
        return None
    from hramba.mail import SmtpMailer

    return SmtpMailer(notify.smtp_host, notify.smtp_port, notify.sender,
                      starttls=notify.starttls, username=notify.username,
                      password=notify.password, timeout=notify.timeout)


def upgrade_database(settings: Settings) -> str | None:
    engine = make_engine(settings.database_url, settings.database_timeout)
    try:
        with reachable():
            migrate.upgrade(engine)
            return migrate.current_revision(engine)
    finally:
        engine.dispose()


def open_archive(settings: Settings, clock: Clock | None = None,
                 credentials: Credentials | None = None) -> Archive:
    """Connect to an initialised archive as the account the credentials prove (by
    default the OS user's); refuse a database that is not migrated."""
    archive = connect(settings, clock)
    try:
        archive.principal = accounts.authenticate(
            archive, credentials or Credentials(os_user=accounts.current_os_user()))
        _record_configuration(archive, settings)
    except BaseException:
        archive.close()
        raise
    return archive


def init_archive(settings: Settings, clock: Clock | None = None,
                 credentials: Credentials | None = None) -> Archive:
    """Create the data directory, migrate the database, create the bucket; idempotent.
    A new archive's first account is an admin for the OS user that runs this."""
    settings.home.mkdir(parents=True, exist_ok=True)
    upgrade_database(settings)
    now = (clock or SystemClock()).now()
    if not settings.tsa.url:
        from hramba.trust.devtsa import create_dev_tsa

        create_dev_tsa(settings.home / "tsa", now)
    if not settings.signing.key:
        from hramba.trust.devsigning import create_dev_signing

        create_dev_signing(settings.home / "signing", now)
    first = connect(settings, clock)
    try:
        new = accounts.bootstrap_admin(first, accounts.current_os_user())
    finally:
        first.close()
    archive = open_archive(settings, clock, credentials)
    try:
        if not new:  # an archive in use: configuring it again is for an admin
            authorize(archive, Action.CONFIGURE)
        archive.store.description  # noqa: B018 - connect now: creates the bucket, or fails here
    except BaseException:
        archive.close()
        raise
    return archive


def connect(settings: Settings, clock: Clock | None = None) -> Archive:
    """The archive, acting for nobody yet (a server then acts for each request's)."""
    clock = clock or SystemClock()
    database = make_url(settings.database_url).database
    if settings.database_url.startswith("sqlite") and not Path(database or "").is_file():
        raise ConfigurationError(f"no archive in {settings.home}: run `hramba init` first")
    engine = make_engine(settings.database_url, settings.database_timeout)
    with reachable():
        current = migrate.current_revision(engine)
    if current != migrate.HEAD:
        engine.dispose()
        raise ConfigurationError(f"database is at revision {current}, the software needs "
                                 f"{migrate.HEAD}: run `hramba init` or `hramba db upgrade`")
    db = make_sessionmaker(engine)
    return Archive(db=db, connect_store=partial(build_store, settings, clock, db),
                   clock=clock, home=settings.home,
                   connect_sealing=partial(build_sealing, settings, clock),
                   connect_signing=partial(build_signing, settings, clock),
                   xsd_dir=settings.xsd_dir, signature_roots=settings.signature_roots,
                   fetch_revocation=settings.fetch_revocation,
                   minimum_lock=timedelta(days=settings.minimum_lock_days),
                   exports=ExportRules(settings.exports.max_units,
                                       OverLimit(settings.exports.over_limit),
                                       settings.exports.link_days),
                   name=settings.archive_name, mailer=build_mailer(settings.notify))


def _record_configuration(archive: Archive, settings: Settings) -> None:
    """A change of the effective settings (secrets left out) is an audit event."""
    public = settings.public()
    with transaction(archive.db) as session:
        last = session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == "config.changed").order_by(AuditEvent.seq.desc())
            .limit(1)).first()
        if last != public:
            audit.record(session, archive, "config.changed", settings.source, details=public)
