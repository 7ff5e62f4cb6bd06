"""Search: the fields budget users search by, as real columns of `units` with indexes, filled
for units archived before this revision from their metadata (names are not in it: intake
records them from now on); when each unit was first sealed.

The indexes, from EXPLAIN on PostgreSQL over 1,000,000 units (tests/bench/scale_bench.py):

* (tenant_id, issue_date, id) is the order of results: a page of a tenant, with or without
  a date range, is a range scan that stops after the page, also on page 1,000 (keyset).
  It replaces the index on tenant_id alone (this one and the unique (tenant_id,
  content_sha256) serve what that did).
* One (tenant_id, column) index per selective criterion: invoice number, seller's and
  buyer's tax id, seller's and buyer's name key (text_pattern_ops on PostgreSQL, so LIKE
  'prefix%' uses it in any collation), amount. A rare party is a BitmapOr of four of
  them; for a common one PostgreSQL reads the date index in order, filtering.
* None for document type, currency, direction, format or sealed: they keep a large share
  of a tenant's units, so the date index, read in order, finds a page of them as fast.
* Pending units are the few a tenant has not had sealed yet, the newest in the order:
  found by NOT EXISTS on evidence, a page took 0.8-1.6 s on the largest tenant. So a unit
  records when it was first sealed (`sealed_at`, set by `hramba seal` with its Evidence
  Records, here from the batches), and a partial index holds the pending ones; `seal`
  finds its work by it too.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from hramba.domain.search import COLUMNS, SearchFields

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PAGE = 1000  # units read and updated at a time: never the whole table in memory
INDEXES: list[tuple[str, list[str], dict[str, dict[str, str]]]] = [
    ("ix_units_search_date", ["tenant_id", "issue_date", "id"], {}),
    ("ix_units_search_number", ["tenant_id", "invoice_number"], {}),
    ("ix_units_search_seller_id", ["tenant_id", "seller_tax_id"], {}),
    ("ix_units_search_buyer_id", ["tenant_id", "buyer_tax_id"], {}),
    ("ix_units_search_seller_name", ["tenant_id", "seller_name_key"],
     {"postgresql_ops": {"seller_name_key": "text_pattern_ops"}}),
    ("ix_units_search_buyer_name", ["tenant_id", "buyer_name_key"],
     {"postgresql_ops": {"buyer_name_key": "text_pattern_ops"}}),
    ("ix_units_search_amount", ["tenant_id", "payable_amount"], {}),
]


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("issue_date", sa.Date, nullable=True),
        sa.Column("document_type", sa.String(16), nullable=True),
        sa.Column("invoice_number", sa.String(128), nullable=True),
        sa.Column("seller_tax_id", sa.String(32), nullable=True),
        sa.Column("seller_name", sa.String(255), nullable=True),
        sa.Column("seller_name_key", sa.String(255), nullable=True),
        sa.Column("buyer_tax_id", sa.String(32), nullable=True),
        sa.Column("buyer_name", sa.String(255), nullable=True),
        sa.Column("buyer_name_key", sa.String(255), nullable=True),
        sa.Column("payable_amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("direction", sa.String(8), nullable=True),
    ]


PENDING = sa.text("sealed_at IS NULL")
SEALED_AT = """UPDATE units SET sealed_at = (SELECT min(batches.sealed_at) FROM evidence
JOIN batches ON batches.id = evidence.batch_id WHERE evidence.unit_id = units.id)"""


def upgrade() -> None:
    with op.batch_alter_table("units", recreate="never") as units:
        for column in _columns():
            units.add_column(column)
        units.add_column(sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True))
    _backfill()  # before the indexes: building each once beats updating it per row
    op.execute(SEALED_AT)
    for name, columns, options in INDEXES:
        op.create_index(name, "units", columns, **options)
    op.create_index("ix_units_pending", "units", ["tenant_id", "issue_date", "id"],
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_index("ix_units_tenant_id", "units")


def _backfill() -> None:
    """Each unit's columns from its metadata and its tenant's tax number, by the rules
    intake applies (hramba.domain.search), a page of units at a time in id order."""
    bind = op.get_bind()
    units = sa.table("units", sa.column("id", sa.String), sa.column("tenant_id", sa.Integer),
                     sa.column("metadata", sa.JSON),
                     *(sa.column(c.name, c.type) for c in _columns()))
    tenants = sa.table("tenants", sa.column("id", sa.Integer),
                       sa.column("tax_number", sa.String))
    update = units.update().where(units.c.id == sa.bindparam("unit_id")).values(
        {c: sa.bindparam(f"new_{c}") for c in COLUMNS})
    last = ""
    while True:
        page = bind.execute(
            sa.select(units.c.id, units.c["metadata"], tenants.c.tax_number)
            .join(tenants, tenants.c.id == units.c.tenant_id)
            .where(units.c.id > last).order_by(units.c.id).limit(PAGE)).all()
        if not page:
            return
        bind.execute(update, [
            {"unit_id": unit_id} | {f"new_{c}": v for c, v in
                                    SearchFields.of(metadata or {}, tax).columns().items()}
            for unit_id, metadata, tax in page])
        last = page[-1][0]


def downgrade() -> None:
    op.create_index("ix_units_tenant_id", "units", ["tenant_id"])
    op.drop_index("ix_units_pending", "units")
    for name, _, _ in reversed(INDEXES):
        op.drop_index(name, "units")
    with op.batch_alter_table("units", recreate="never") as units:
        units.drop_column("sealed_at")
        for column in reversed(_columns()):
            units.drop_column(column.name)
