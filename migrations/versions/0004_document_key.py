"""A unit's document key (sender or seller, and document id or invoice number), to find a
second arrival of the same document with other content (a conflict).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("document_key", sa.Text, nullable=True))
    op.create_index("ix_units_tenant_document_key", "units", ["tenant_id", "document_key"])


def downgrade() -> None:
    op.drop_index("ix_units_tenant_document_key", "units")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("document_key")
