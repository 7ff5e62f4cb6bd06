"""Retrieval exports, and whether a tenant's exports need approval.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
STATES = ("awaiting-approval", "queued", "building", "ready", "failed", "purged")


def upgrade() -> None:
    op.add_column("tenants", sa.Column("exports_need_approval", sa.Boolean, nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False,
                  index=True),
        sa.Column("state", sa.String(24), nullable=False, index=True),
        sa.Column("criteria", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False),
        sa.Column("requested_by_account", sa.Integer, sa.ForeignKey("accounts.id"),
                  nullable=True),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("needs_approval", sa.Boolean, nullable=False),
        sa.Column("approved_by", sa.String(255), nullable=True),
        sa.Column("approved_at", TS, nullable=True),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("built_at", TS, nullable=True),
        sa.Column("units", sa.Integer, nullable=True),
        sa.Column("object_key", sa.String(512), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("failure", sa.Text, nullable=True),
        sa.Column("purged_at", TS, nullable=True),
        sa.CheckConstraint(f"state IN {STATES}", name="ck_exports_state"),
    )


def downgrade() -> None:
    op.drop_table("exports")
    # Not a batch recreate, which would orphan the tenants' rows (see 0009); SQLite 3.35
    # and PostgreSQL both drop a column in place.
    op.execute("ALTER TABLE tenants DROP COLUMN exports_need_approval")
