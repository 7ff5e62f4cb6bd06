"""The document key gains the document's type, and a seller without a VAT id is keyed by
its tax number or name: an invoice and a credit note with one number from one seller no
longer clash. Existing keys are recomputed from each unit's metadata by the same rule as
hramba.services.ingest.document_key on this date (copied here: a migration must not change
when the code does).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

PAGE = 5000
units = sa.table("units", sa.column("id", sa.String), sa.column("metadata", sa.JSON),
                 sa.column("document_key", sa.Text))


def _name_key(value: Any) -> str | None:
    decomposed = unicodedata.normalize("NFKD", str(value or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(plain.split())[:255] or None


def _key(metadata: dict[str, Any]) -> str | None:
    name = _name_key(metadata.get("seller_name"))
    party = (metadata.get("sender_id") or metadata.get("seller_vat")
             or metadata.get("seller_tax_number") or (name and f"name:{name}"))
    number = metadata.get("doc_id") or metadata.get("invoice_number")
    kind = metadata.get("document_type") or ""
    return f"{party}|{kind}|{number}" if party and number else None


def upgrade() -> None:
    connection = op.get_bind()
    after = ""
    while True:
        rows = connection.execute(sa.select(units.c.id, units.c.metadata).where(
            units.c.id > after).order_by(units.c.id).limit(PAGE)).all()
        if not rows:
            return
        connection.execute(units.update().where(units.c.id == sa.bindparam("unit")).values(
            document_key=sa.bindparam("key")),
            [{"unit": unit_id, "key": _key(metadata or {})} for unit_id, metadata in rows])
        after = rows[-1][0]


def downgrade() -> None:
    """Back to sender|number (the name-keyed: none, as before)."""
    connection = op.get_bind()
    rows = connection.execute(sa.select(units.c.id, units.c.document_key).where(
        units.c.document_key.is_not(None))).all()
    if rows:
        connection.execute(units.update().where(units.c.id == sa.bindparam("unit")).values(
            document_key=sa.bindparam("key")), [
            {"unit": unit_id, "key": None if key.startswith("name:") else
             "|".join(key.split("|", 2)[::2])} for unit_id, key in rows])
