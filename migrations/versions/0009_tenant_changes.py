"""Tenants: unique by tax number and environment (one test and one production tenant may
share a tax number), former codes, offboarding.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from sqlalchemy.schema import SchemaItem
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
COMPOSITE = "uq_tenants_tax_number_environment"
PG_TAX_UNIQUE = "tenants_tax_number_key"  # PostgreSQL's name for 0001's unnamed constraint
KEPT = "id, code, tax_number, name, environment, accession_date, created_at"


def _columns(*, tax_number_unique: bool) -> list[sa.Column[object]]:
    """The columns of tenants as 0001 made them."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("tax_number", sa.String(16), nullable=False, unique=tax_number_unique),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("accession_date", sa.Date, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    ]


def _added() -> list[sa.Column[object]]:
    return [
        sa.Column("former_codes", sa.JSON, nullable=False, server_default="[]"),
        sa.Column("offboarded_at", TS, nullable=True),
        sa.Column("offboard_reason", sa.Text, nullable=True),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate_on_sqlite([*_columns(tax_number_unique=False), *_added(),
                             sa.UniqueConstraint("tax_number", "environment", name=COMPOSITE)])
        return
    op.drop_constraint(PG_TAX_UNIQUE, "tenants", type_="unique")
    op.create_unique_constraint(COMPOSITE, "tenants", ["tax_number", "environment"])
    for column in _added():
        op.add_column("tenants", column)


def downgrade() -> None:
    """Fails where a test and a production tenant share a tax number: 0008 cannot hold them."""
    if op.get_bind().dialect.name == "sqlite":
        _recreate_on_sqlite(_columns(tax_number_unique=True))
        return
    for column in _added():
        op.drop_column("tenants", column.name)
    op.drop_constraint(COMPOSITE, "tenants", type_="unique")
    op.create_unique_constraint(PG_TAX_UNIQUE, "tenants", ["tax_number"])


def _recreate_on_sqlite(schema: list[SchemaItem]) -> None:
    """SQLite cannot drop a constraint: the table is made again with `schema`.

    Not Alembic's batch recreate: it copies into the new table and then drops the old one,
    and with foreign keys on (hramba.db.engine) that drop orphans every unit, account and
    hold of a tenant, which SQLite refuses. Here the rows are set aside, the table dropped
    and made again, and the rows put back, with foreign keys checked at commit
    (defer_foreign_keys, reset by the commit): by then each child has its parent again.
    """
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE tenants_0009 AS SELECT {KEPT} FROM tenants")
    op.drop_table("tenants")
    op.create_table("tenants", *schema)
    op.execute(f"INSERT INTO tenants ({KEPT}) SELECT {KEPT} FROM temp.tenants_0009")
    op.execute("DROP TABLE temp.tenants_0009")
