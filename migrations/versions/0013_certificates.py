"""Certificates as signed documents: the creator's address and responsible person for the
zapisnik, and the signed PDF of each destruction and staging purge (key, SHA-256).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ADDED = {
    "tenants": (("address", sa.Text), ("responsible", sa.String(255))),
    "disposals": (("certificate_pdf_key", sa.String(512)),
                  ("certificate_pdf_sha256", sa.String(64))),
    "purges": (("certificate_key", sa.String(512)), ("certificate_sha256", sa.String(64))),
}


def upgrade() -> None:
    for table, columns in ADDED.items():
        with op.batch_alter_table(table) as batch:
            for name, kind in columns:
                batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for table, columns in ADDED.items():
        with op.batch_alter_table(table) as batch:
            for name, _ in reversed(columns):
                batch.drop_column(name)
