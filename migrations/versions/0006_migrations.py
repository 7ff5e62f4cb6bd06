"""SFTP bulk migrations and the state of each of their files (resumable).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migrations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("remote", sa.Text, nullable=False),
        sa.Column("manifest", sa.Text, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_by", sa.String(255), nullable=True),
        sa.Column("accepted_gaps", sa.Text, nullable=True),
        sa.Column("purge_due_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "migration_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("migration_id", sa.Integer, sa.ForeignKey("migrations.id"), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("expected_size", sa.BigInteger, nullable=True),
        sa.Column("expected_sha256", sa.String(64), nullable=True),
        sa.Column("size", sa.BigInteger, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.UniqueConstraint("migration_id", "path"),
    )
    op.create_index("ix_migration_files_state", "migration_files", ["migration_id", "state"])


def downgrade() -> None:
    op.drop_table("migration_files")
    op.drop_table("migrations")
