"""Retention: policy per unit, legal holds, disposals, purge records, scheduled job runs,
and feed items that failed their digest check.

Units archived before this revision were kept from their receipt date by the 10-year
invoice rule; they are recorded as such (invoice-10y v1, basis received_at).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("units", recreate="never") as units:
        units.add_column(sa.Column("policy_id", sa.String(64), nullable=False,
                                   server_default="invoice-10y"))
        units.add_column(sa.Column("policy_version", sa.Integer, nullable=False,
                                   server_default="1"))
        units.add_column(sa.Column("retention_basis", sa.String(16), nullable=False,
                                   server_default="received_at"))
        units.add_column(sa.Column("trigger_date", sa.Date, nullable=False,
                                   server_default="1970-01-01"))
        units.add_column(sa.Column("needs_classification", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        units.add_column(sa.Column("fixity_checked_at", TS, nullable=True))
        units.add_column(sa.Column("disposed_at", TS, nullable=True))
        units.add_column(sa.Column("disposal_id", sa.Integer, nullable=True))
    op.create_index("ix_units_fixity_checked_at", "units", ["fixity_checked_at"])
    _backfill_trigger_dates()
    with op.batch_alter_table("migrations", recreate="never") as migrations:
        migrations.add_column(sa.Column("purged_at", TS, nullable=True))
        migrations.add_column(sa.Column("remote_path", sa.Text, nullable=True))
        migrations.add_column(sa.Column("key_path", sa.Text, nullable=True))
        migrations.add_column(sa.Column("known_hosts_path", sa.Text, nullable=True))
        migrations.add_column(sa.Column("purge_remote", sa.Boolean, nullable=False,
                                        server_default=sa.false()))
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False,
                  index=True),
        sa.Column("unit_id", sa.String(32), nullable=True),
        sa.Column("from_date", sa.Date, nullable=True),
        sa.Column("to_date", sa.Date, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("released_at", TS, nullable=True),
        sa.Column("released_by", sa.String(255), nullable=True),
        sa.Column("release_reason", sa.Text, nullable=True),
    )
    op.create_table(
        "disposals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False,
                  index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("instruction", sa.Text, nullable=False),
        sa.Column("proposed_by", sa.String(255), nullable=False),
        sa.Column("proposed_at", TS, nullable=False),
        sa.Column("approved_by", sa.String(255), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("executed_at", TS, nullable=True),
        sa.Column("cancelled_by", sa.String(255), nullable=True),
        sa.Column("cancelled_at", TS, nullable=True),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("certificate", sa.LargeBinary, nullable=True),
        sa.Column("certificate_sha256", sa.String(64), nullable=True),
        sa.Column("certificate_key", sa.String(512), nullable=True),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=True),
        sa.Column("evidence", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "disposal_units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("disposal_id", sa.Integer, sa.ForeignKey("disposals.id"), nullable=False,
                  index=True),
        sa.Column("unit_id", sa.String(32), sa.ForeignKey("units.id"), nullable=False,
                  index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.UniqueConstraint("disposal_id", "unit_id"),
    )
    op.create_table(
        "purges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("executed_at", TS, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "feed_failures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Column("last_at", TS, nullable=False),
        sa.Column("quarantine_id", sa.String(32), nullable=True),
        sa.UniqueConstraint("source", "item_id"),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("job", sa.String(64), nullable=False, index=True),
        sa.Column("runner", sa.String(255), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
    )


def _backfill_trigger_dates() -> None:
    """The receipt date in Ljubljana, the date the old rule counted from."""
    bind = op.get_bind()
    units = sa.table("units", sa.column("id", sa.String), sa.column("received_at", TS),
                     sa.column("trigger_date", sa.Date))
    zone = ZoneInfo("Europe/Ljubljana")
    for unit_id, received_at in bind.execute(sa.select(units.c.id, units.c.received_at)).all():
        if isinstance(received_at, str):  # SQLite without the model's type decorator
            received_at = datetime.fromisoformat(received_at)
        if received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=UTC)
        bind.execute(units.update().where(units.c.id == unit_id).values(
            trigger_date=received_at.astimezone(zone).date()))


def downgrade() -> None:
    for table in ("job_runs", "feed_failures", "purges", "disposal_units", "disposals",
                  "holds"):
        op.drop_table(table)
    with op.batch_alter_table("migrations", recreate="never") as migrations:
        for column in ("purge_remote", "known_hosts_path", "key_path", "remote_path",
                       "purged_at"):
            migrations.drop_column(column)
    op.drop_index("ix_units_fixity_checked_at", "units")
    with op.batch_alter_table("units", recreate="never") as units:
        for column in ("disposal_id", "disposed_at", "fixity_checked_at",
                       "needs_classification", "trigger_date", "retention_basis",
                       "policy_version", "policy_id"):
            units.drop_column(column)
