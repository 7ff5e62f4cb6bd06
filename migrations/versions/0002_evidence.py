"""Sealing: timestamp batches and each unit's Evidence Record.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("root", sa.String(128), nullable=False),
        sa.Column("token", sa.LargeBinary, nullable=False),
        sa.Column("tsa", sa.Text, nullable=False),
        sa.Column("certificates", sa.Text, nullable=False),
        sa.Column("revocation", sa.JSON, nullable=False),
        sa.Column("audit_seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                  nullable=False),
        sa.Column("audit_hash", sa.String(64), nullable=False),
        sa.Column("audit_path", sa.JSON, nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
    )
    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.String(32), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id"), nullable=False),
        sa.Column("record", sa.LargeBinary, nullable=False),
        sa.Column("record_sha256", sa.String(64), nullable=False),
        sa.Column("object_key", sa.String(512), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evidence_batch_id", "evidence", ["batch_id"])
    op.create_index("ix_evidence_unit_id", "evidence", ["unit_id"])


def downgrade() -> None:
    op.drop_table("evidence")
    op.drop_table("batches")
