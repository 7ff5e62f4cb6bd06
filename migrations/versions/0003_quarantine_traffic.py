"""Quarantine as records (list, release, discard) and traffic data kept apart from units.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision", sa.Text, nullable=True),
        sa.Column("unit_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_quarantine_status", "quarantine", ["status"])
    op.create_table(
        "traffic_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("unit_id", sa.String(32), nullable=True),
        sa.Column("doc_id", sa.Text, nullable=True),
        sa.Column("sender_id", sa.Text, nullable=True),
        sa.Column("receiver_id", sa.Text, nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
    )
    op.create_index("ix_traffic_records_tenant_id", "traffic_records", ["tenant_id"])
    op.create_index("ix_traffic_records_received_at", "traffic_records", ["received_at"])


def downgrade() -> None:
    op.drop_table("traffic_records")
    op.drop_table("quarantine")
