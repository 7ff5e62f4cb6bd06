"""Accounts, their roles and tenant scope, API tokens, failed sign-ins; audit-log indexes
for `hramba audit log`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ROLES = ("admin", "archivist", "approver", "auditor", "budget-user", "operator")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("os_user", sa.String(64), nullable=True, unique=True),
        sa.Column("password_hash", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("disabled_at", TS, nullable=True),
    )
    op.create_table(
        "account_roles",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.CheckConstraint(f"role IN {ROLES}", name="ck_account_roles_role"),
    )
    op.create_table(
        "account_tenants",
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), primary_key=True),
        sa.Column("tenant_id", sa.Integer, sa.ForeignKey("tenants.id"), primary_key=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("accounts.id"), nullable=False,
                  index=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
    )
    op.create_table(
        "auth_failures",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", TS, nullable=False),
    )
    op.create_index("ix_audit_events_tenant_seq", "audit_events", ["tenant", "seq"])
    op.create_index("ix_audit_events_actor_seq", "audit_events", ["actor", "seq"])
    op.create_index("ix_audit_events_subject_seq", "audit_events", ["subject", "seq"])


def downgrade() -> None:
    for index in ("subject", "actor", "tenant"):
        op.drop_index(f"ix_audit_events_{index}_seq", "audit_events")
    for table in ("auth_failures", "api_tokens", "account_tenants", "account_roles",
                  "accounts"):
        op.drop_table(table)
