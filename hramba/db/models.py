"""Tables of the archive. The schema itself is made by the Alembic migrations in
migrations/; a test checks that these models and the migrated schema agree."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always tz-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON,
                                                     datetime: UtcDateTime}


class Tenant(Base):
    """A budget user (proračunski uporabnik), in the test or the production environment:
    one of each may share a tax number. `former_codes`: the codes it had before (oldest
    first); no other tenant may take them, so events and keys under them stay its own."""

    __tablename__ = "tenants"
    __table_args__ = (UniqueConstraint("tax_number", "environment",
                                       name="uq_tenants_tax_number_environment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    tax_number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    environment: Mapped[str] = mapped_column(String(16))
    accession_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    former_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    offboarded_at: Mapped[datetime | None]
    offboard_reason: Mapped[str | None] = mapped_column(Text)
    exports_need_approval: Mapped[bool] = mapped_column(default=False)
    # For the certificates (zapisnik): where it is, and who answers for its records.
    address: Mapped[str | None] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(255))
    contact: Mapped[str | None] = mapped_column(String(255))  # e-mail for notifications


class Unit(Base):
    """One archived package; retention and evidence apply to it."""

    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("tenant_id", "content_sha256"),
        Index("ix_units_tenant_document_key", "tenant_id", "document_key"),
        # Search (migration 0010 says why these): the order of results, then one index per
        # selective criterion, each within a tenant. Names by prefix: text_pattern_ops lets
        # PostgreSQL use the index for LIKE 'prefix%' whatever the database's collation.
        Index("ix_units_search_date", "tenant_id", "issue_date", "id"),
        Index("ix_units_search_number", "tenant_id", "invoice_number"),
        Index("ix_units_search_seller_id", "tenant_id", "seller_tax_id"),
        Index("ix_units_search_buyer_id", "tenant_id", "buyer_tax_id"),
        Index("ix_units_search_seller_name", "tenant_id", "seller_name_key",
              postgresql_ops={"seller_name_key": "text_pattern_ops"}),
        Index("ix_units_search_buyer_name", "tenant_id", "buyer_name_key",
              postgresql_ops={"buyer_name_key": "text_pattern_ops"}),
        Index("ix_units_search_amount", "tenant_id", "payable_amount"),
        # The units `hramba seal` has still to seal: few, whatever the archive's size.
        Index("ix_units_pending", "tenant_id", "issue_date", "id",
              postgresql_where=text("sealed_at IS NULL"), sqlite_where=text("sealed_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime]
    retain_until: Mapped[datetime]
    legal_hold: Mapped[bool] = mapped_column(default=False)
    format: Mapped[str] = mapped_column(String(16), default="other")
    source: Mapped[str] = mapped_column(Text, default="")
    unit_metadata: Mapped[dict[str, Any]] = mapped_column("metadata")
    document_key: Mapped[str | None] = mapped_column(Text)
    # Retention: the policy that set retain_until, and the date it counts from.
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    retention_basis: Mapped[str] = mapped_column(String(16))  # issue_date | received_at
    trigger_date: Mapped[date] = mapped_column(Date)
    needs_classification: Mapped[bool] = mapped_column(default=False)
    fixity_checked_at: Mapped[datetime | None] = mapped_column(index=True)
    # A disposed unit keeps its row, files (digests) and evidence: its tombstone.
    disposed_at: Mapped[datetime | None]
    disposal_id: Mapped[int | None] = mapped_column(Integer)
    # When its first Evidence Record was made (the batch's time), in the same transaction;
    # None: pending. Kept on the unit so that pending units are found by an index.
    sealed_at: Mapped[datetime | None]
    # What search filters on (hramba.domain.search.SearchFields), from the metadata at
    # intake. The names as the invoice writes them, and their search keys (lower case,
    # without diacritics) beside them: SQLite's lower() knows only ASCII.
    issue_date: Mapped[date | None] = mapped_column(Date)
    document_type: Mapped[str | None] = mapped_column(String(16))  # UNTDID 1001: 380, 381
    invoice_number: Mapped[str | None] = mapped_column(String(128))
    seller_tax_id: Mapped[str | None] = mapped_column(String(32))  # SI12345678, NL8200...
    seller_name: Mapped[str | None] = mapped_column(String(255))
    seller_name_key: Mapped[str | None] = mapped_column(String(255))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(32))
    buyer_name: Mapped[str | None] = mapped_column(String(255))
    buyer_name_key: Mapped[str | None] = mapped_column(String(255))
    payable_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    direction: Mapped[str | None] = mapped_column(String(8))  # received | issued | None

    tenant: Mapped[Tenant] = relationship()
    files: Mapped[list[File]] = relationship(
        back_populates="unit", order_by="File.position", cascade="all, delete-orphan")
    findings: Mapped[list[UnitFinding]] = relationship(
        order_by="UnitFinding.id", cascade="all, delete-orphan")


class File(Base):
    """One bitstream of a unit."""

    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    object_version: Mapped[str | None] = mapped_column(String(1024))  # StoredObject.version

    unit: Mapped[Unit] = relationship(back_populates="files")


class UnitFinding(Base):
    """A warning recorded when a unit was archived (intake rules, format checks)."""

    __tablename__ = "unit_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    """Append-only, hash-chained record of what happened. Triggers refuse UPDATE/DELETE."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_tenant_seq", "tenant", "seq"),
                      Index("ix_audit_events_actor_seq", "actor", "seq"),
                      Index("ix_audit_events_subject_seq", "subject", "seq"))

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(Text)
    tenant: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Batch(Base):
    """One timestamp: the hash-tree root over its units and the audit head, the token,
    and the TSA's certificates and revocation data for later validation."""

    __tablename__ = "batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sealed_at: Mapped[datetime]
    algorithm: Mapped[str] = mapped_column(String(16))
    root: Mapped[str] = mapped_column(String(128))
    token: Mapped[bytes] = mapped_column(LargeBinary)
    tsa: Mapped[str] = mapped_column(Text)
    certificates: Mapped[str] = mapped_column(Text)  # PEM: TSA certificate and its chain
    revocation: Mapped[dict[str, Any]]  # {"crls": [base64 DER], "ocsps": [base64 DER]}
    audit_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    audit_hash: Mapped[str] = mapped_column(String(64))
    audit_path: Mapped[dict[str, Any]]  # {"reduced": [[hex, ...], ...]}
    units: Mapped[int] = mapped_column(Integer)


class Evidence(Base):
    """A unit's RFC 4998 Evidence Record (DER). Renewal adds a new row and marks the old
    one superseded; its copy in storage is written after the commit (`stored_at`)."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    record_sha256: Mapped[str] = mapped_column(String(64))
    object_key: Mapped[str] = mapped_column(String(512), unique=True)
    object_version: Mapped[str | None] = mapped_column(String(1024))  # set with stored_at
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]


class Quarantined(Base):
    """Input that was refused, kept under <home>/quarantine/<id>/ until an archivist
    releases it (archived with the finding) or discards it."""

    __tablename__ = "quarantine"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # held|released|discarded
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decided_at: Mapped[datetime | None]
    decision: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[str | None] = mapped_column(String(32))


class TrafficRecord(Base):
    """Exchange (traffic) data of one delivered document, ZPJS art. 55(4): kept apart
    from the unit, under its own 2-year retention."""

    __tablename__ = "traffic_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(32))
    doc_id: Mapped[str | None] = mapped_column(Text)
    sender_id: Mapped[str | None] = mapped_column(Text)
    receiver_id: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(Text)


class FeedCursor(Base):
    """How far a pull feed has been archived."""

    __tablename__ = "feed_cursors"

    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class FeedFailure(Base):
    """A feed item whose download did not match what the feed announced, and how often;
    after feed.max_attempts it is quarantined and the feed moves past it."""

    __tablename__ = "feed_failures"
    __table_args__ = (UniqueConstraint("source", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    item_id: Mapped[str] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    quarantine_id: Mapped[str | None] = mapped_column(String(32))


class Migration(Base):
    """A bulk transfer from a previous provider's SFTP export into this archive."""

    __tablename__ = "migrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    remote: Mapped[str] = mapped_column(Text)  # user@host:port/path
    manifest: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    confirmed_by: Mapped[str | None] = mapped_column(String(255))
    accepted_gaps: Mapped[str | None] = mapped_column(Text)
    purge_due_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    # For the purge of the provider's folder, when the budget user asks for it: where the
    # key and known_hosts files are (paths, never the key itself).
    remote_path: Mapped[str | None] = mapped_column(Text)  # as given, maybe absolute
    key_path: Mapped[str | None] = mapped_column(Text)
    known_hosts_path: Mapped[str | None] = mapped_column(Text)
    purge_remote: Mapped[bool] = mapped_column(default=False)
    # The hand-over: staged (checked against the manifest), confirmed by the budget user
    # (or by an archivist on its written word, `written_word` saying which), imported.
    staged_at: Mapped[datetime | None]
    imported_at: Mapped[datetime | None]
    imported_by: Mapped[str | None] = mapped_column(String(255))
    one_step: Mapped[bool] = mapped_column(default=False)  # an archivist's stage + import
    written_word: Mapped[str | None] = mapped_column(Text)


class MigrationFile(Base):
    """One remote file of a migration and how far it got; a re-run picks up from here."""

    __tablename__ = "migration_files"
    __table_args__ = (UniqueConstraint("migration_id", "path"),
                      Index("ix_migration_files_state", "migration_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    migration_id: Mapped[int] = mapped_column(ForeignKey("migrations.id"))
    path: Mapped[str] = mapped_column(Text)
    expected_size: Mapped[int | None] = mapped_column(BigInteger)
    expected_sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[str | None] = mapped_column(String(32))  # the provider's, as given


class Hold(Base):
    """A legal hold: a reasoned, attributed freeze of disposal, on one unit or on the
    units of a tenant (optionally only those whose retention date basis is in a range)."""

    __tablename__ = "holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    unit_id: Mapped[str | None] = mapped_column(String(32))
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(255))
    release_reason: Mapped[str | None] = mapped_column(Text)


class Disposal(Base):
    """A numbered disposal: proposed under a written instruction, approved by another
    person, executed; its destruction certificate is sealed in the next batch."""

    __tablename__ = "disposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # proposed|approved|executed|cancelled
    as_of: Mapped[datetime]
    instruction: Mapped[str] = mapped_column(Text)
    proposed_by: Mapped[str] = mapped_column(String(255))
    proposed_at: Mapped[datetime]
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(255))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    certificate: Mapped[bytes | None] = mapped_column(LargeBinary)
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))
    certificate_key: Mapped[str | None] = mapped_column(String(512))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))
    evidence: Mapped[bytes | None] = mapped_column(LargeBinary)  # ER of the certificate
    certificate_pdf_key: Mapped[str | None] = mapped_column(String(512))  # signed zapisnik
    certificate_pdf_sha256: Mapped[str | None] = mapped_column(String(64))


class DisposalUnit(Base):
    """One unit listed in a disposal, and what became of it."""

    __tablename__ = "disposal_units"
    __table_args__ = (UniqueConstraint("disposal_id", "unit_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disposal_id: Mapped[int] = mapped_column(ForeignKey("disposals.id"), index=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), index=True)
    # listed | deleting | disposed | held | retained (policy) | locked (storage)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)


class Purge(Base):
    """What an automatic purge removed: traffic records or a migration's staging area."""

    __tablename__ = "purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # traffic | staging | export
    subject: Mapped[str] = mapped_column(Text)
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    executed_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]]
    sha256: Mapped[str] = mapped_column(String(64))  # over the sorted list of what went
    details: Mapped[dict[str, Any]]
    certificate_key: Mapped[str | None] = mapped_column(String(512))  # staging: signed PDF
    certificate_sha256: Mapped[str | None] = mapped_column(String(64))


class Notification(Base):
    """A message to a tenant's contact address, written in the transaction of the step it
    tells of and delivered after (a failed delivery is retried by the retention job)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_unsent", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    event: Mapped[str] = mapped_column(String(64))  # the audit event it tells of
    subject_ref: Mapped[str] = mapped_column(String(255))  # e.g. "migration 3"
    recipient: Mapped[str | None] = mapped_column(String(255))  # None: no contact known
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


EXPORT_STATES = ("awaiting-approval", "queued", "building", "ready", "failed", "purged")


class Export(Base):
    """A retrieval export: who asked for which units and why, who approved it, and the
    package built for it (its object, size and SHA-256) until the delivery purge."""

    __tablename__ = "exports"
    __table_args__ = (CheckConstraint(f"state IN {EXPORT_STATES}", name="ck_exports_state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    criteria: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_by_account: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    requested_at: Mapped[datetime]
    matched: Mapped[int] = mapped_column(Integer)  # units the criteria matched at request
    needs_approval: Mapped[bool]
    approved_by: Mapped[str | None] = mapped_column(String(255))
    approved_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # when the build now running (or crashed) began
    built_at: Mapped[datetime | None]
    units: Mapped[int | None] = mapped_column(Integer)  # in the package, tombstones too
    object_key: Mapped[str | None] = mapped_column(String(512))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    failure: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[datetime | None]


class Report(Base):
    """A generated audit report: what it covers, who made it when, and its stored files
    (PDF, JSON, a CSV per table) with their SHA-256."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    tenants: Mapped[list[str]] = mapped_column(JSON)  # codes; empty: every tenant
    period_from: Mapped[date | None] = mapped_column(Date)
    period_to: Mapped[date | None] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(8))
    generated_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))  # of the PDF
    files: Mapped[dict[str, Any]]  # name -> {key, size, sha256}
    retain_until: Mapped[datetime]


class JobRun(Base):
    """One run of a scheduled job, and how it ended."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(64), index=True)
    runner: Mapped[str] = mapped_column(String(255))  # host:pid
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running | ok | failed
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class Account(Base):
    """Someone who acts on the archive: a person (by OS user, password or API token) or a
    service account. Logins never change; a disabled account keeps its row (the audit log
    names it)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    os_user: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id, PHC string
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]

    roles: Mapped[list[AccountRole]] = relationship(cascade="all, delete-orphan")
    tenants: Mapped[list[AccountTenant]] = relationship(cascade="all, delete-orphan")


ROLE_NAMES = ("admin", "archivist", "approver", "auditor", "budget-user", "operator")


class AccountRole(Base):
    __tablename__ = "account_roles"
    __table_args__ = (CheckConstraint(f"role IN {ROLE_NAMES}", name="ck_account_roles_role"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class AccountTenant(Base):
    """A tenant an account serves; an account with none serves every tenant."""

    __tablename__ = "account_tenants"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)


class ApiToken(Base):
    """An API token, kept only as the SHA-256 of its random secret (256 bits: a slow KDF
    would add nothing, and the digest finds it by index)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to tell tokens apart
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class AuthFailure(Base):
    """Failed sign-ins per claimed login (or per token), to slow down guessing."""

    __tablename__ = "auth_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the claim
    count: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]


class WebSession(Base):
    """A web session, opened by a password sign-in: kept as the SHA-256 of its secret,
    with the CSRF token its forms carry; it ends when closed, idle or too old."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
