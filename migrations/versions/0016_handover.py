"""The provider hand-over (issue #15): a migration is staged, confirmed by the budget
user (or on its written word), then imported; the 60-day purge counts from the import.
Also the provider's receipt date of each file, the tenant's contact address and the
notifications sent to it (an outbox: written with the step, delivered after).

Migrations made before this one archived while they transferred: they count as staged
and imported when they started.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("migrations") as batch:
        batch.add_column(sa.Column("staged_at", TS, nullable=True))
        batch.add_column(sa.Column("imported_at", TS, nullable=True))
        batch.add_column(sa.Column("imported_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("one_step", sa.Boolean, nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("written_word", sa.Text, nullable=True))
    op.execute("UPDATE migrations SET staged_at = started_at, imported_at = started_at")
    with op.batch_alter_table("migration_files") as batch:
        batch.add_column(sa.Column("received_at", sa.String(32), nullable=True))
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("contact", sa.String(255), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False,
                  index=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("subject_ref", sa.String(255), nullable=False),
        sa.Column("recipient", sa.String(255), nullable=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=True),
    )
    op.create_index("ix_notifications_unsent", "notifications", ["sent_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_unsent", "notifications")
    op.drop_table("notifications")
    # Not a batch recreate, which would orphan the rows that refer to these tables (see
    # 0009); SQLite 3.35 and PostgreSQL both drop a column in place (as 0011 does).
    op.execute("ALTER TABLE tenants DROP COLUMN contact")
    op.execute("ALTER TABLE migration_files DROP COLUMN received_at")
    for column in ("written_word", "one_step", "imported_by", "imported_at", "staged_at"):
        op.execute(f"ALTER TABLE migrations DROP COLUMN {column}")
