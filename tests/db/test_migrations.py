"""The Alembic migrations make the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from hramba.db import migrate
from hramba.db.engine import make_engine
from hramba.db.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.db'}"
    else:
        url = request.getfixturevalue("pg_empty_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_upgrade_builds_the_schema_of_the_models(empty_engine: Engine) -> None:
    assert migrate.current_revision(empty_engine) is None
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision(empty_engine)
    assert migrate.head_revision(empty_engine) == migrate.HEAD  # what opening compares with
    with empty_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert {"tenants", "units", "files", "unit_findings", "audit_events"} <= set(
        inspect(empty_engine).get_table_names())


def test_upgrade_is_idempotent_and_downgrade_reverses_it(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert "units" not in inspect(empty_engine).get_table_names()
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision(empty_engine)


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_units_archived_before_0007_keep_the_rule_they_were_kept_under(
        empty_engine: Engine) -> None:
    """0007 records earlier units under invoice-10y v1, counted from receipt (the rule
    that set their retain-until), with the receipt date in Ljubljana."""
    from sqlalchemy import text

    migrate.upgrade(empty_engine, "0006")
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, code, tax_number, name, environment, "
                          "accession_date, created_at) VALUES (1, 'T', 'SI1', 'T', 'test', "
                          "'2026-01-01', :at)"), {"at": "2026-01-01 00:00:00+00:00"})
        conn.execute(text("INSERT INTO units (id, tenant_id, content_sha256, received_at, "
                          "retain_until, legal_hold, format, source, metadata) VALUES "
                          "('u1', 1, 'c', :received, :until, false, 'other', '', '{}')"),
                     {"received": "2026-12-31 23:30:00+00:00",  # 1 January in Ljubljana
                      "until": "2037-12-31 23:59:59+00:00"})
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        row = conn.execute(text("SELECT policy_id, policy_version, retention_basis, "
                                "trigger_date, needs_classification, disposed_at "
                                "FROM units")).one()
    assert (row[0], row[1], row[2], str(row[3]), bool(row[4]), row[5]) == (
        "invoice-10y", 1, "received_at", "2027-01-01", False, None)


def test_0009_keeps_tenants_and_what_refers_to_them_and_allows_one_tax_number_per_env(
        empty_engine: Engine) -> None:
    """On SQLite the tenants table is made again: its rows, and the units and accounts
    that refer to them, survive; afterwards a tax number may recur in the other
    environment, not in the same one."""
    from sqlalchemy import select, text
    from sqlalchemy.exc import IntegrityError

    from hramba.db.models import Tenant

    migrate.upgrade(empty_engine, "0008")
    at = {"at": "2026-01-01 00:00:00+00:00"}
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, code, tax_number, name, environment, "
                          "accession_date, created_at) VALUES (7, 'T', 'SI21423512', 'T', "
                          "'production', '2026-01-01', :at)"), at)
        conn.execute(text("INSERT INTO units (id, tenant_id, content_sha256, received_at, "
                          "retain_until, legal_hold, format, source, metadata, policy_id, "
                          "policy_version, retention_basis, needs_classification) VALUES "
                          "('u1', 7, 'c', :at, :at, false, 'other', '', '{}', 'p', 1, "
                          "'received_at', false)"), at)
        conn.execute(text("INSERT INTO accounts (id, login, name, created_at) "
                          "VALUES (1, 'bu', 'Bu', :at)"), at)
        conn.execute(text("INSERT INTO account_tenants VALUES (1, 7)"))
    migrate.upgrade(empty_engine)
    insert = text("INSERT INTO tenants (code, tax_number, name, environment, accession_date, "
                  "created_at) VALUES (:code, 'SI21423512', 'T', :env, '2026-01-01', :at)")
    with empty_engine.begin() as conn:
        assert conn.execute(text("SELECT t.code, u.id, a.account_id FROM tenants t JOIN "
                                 "units u ON u.tenant_id = t.id JOIN account_tenants a "
                                 "ON a.tenant_id = t.id")).one() == ("T", "u1", 1)
        assert conn.execute(select(Tenant.former_codes)).scalar_one() == []
        conn.execute(insert, {"code": "T-TEST", "env": "test", **at})
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:
        conn.execute(insert, {"code": "T-TEST2", "env": "test", **at})
    with pytest.raises(IntegrityError), empty_engine.begin() as conn:  # still checked
        conn.execute(text("INSERT INTO units (id, tenant_id, content_sha256, received_at, "
                          "retain_until, legal_hold, format, source, metadata, policy_id, "
                          "policy_version, retention_basis, needs_classification) VALUES "
                          "('u2', 99, 'c', :at, :at, false, 'other', '', '{}', 'p', 1, "
                          "'received_at', false)"), at)


def test_0010_fills_the_search_columns_of_earlier_units_page_by_page(
        empty_engine: Engine) -> None:
    """From each unit's metadata and its tenant's tax number, by intake's rules, for more
    units than one page (1,000) holds (names were not recorded before); and when each
    unit was first sealed, from its batches."""
    from sqlalchemy import select, text

    from hramba.db.models import Unit

    migrate.upgrade(empty_engine, "0009")
    at = "2026-01-01 00:00:00+00:00"
    earlier = {"u-received": {"document_type": "380", "invoice_number": "R-1",
                              "issue_date": "2026-01-10", "seller_vat": "SI39705684",
                              "buyer_vat": "21423512", "payable_amount": "1.815",
                              "currency": "eur"},
               "u-issued": {"invoice_number": "I-1", "sender_id": "SI21423512",
                            "receiver_id": "SI 2222 2222", "issue_date": "not a date",
                            "payable_amount": "NaN"},
               "u-empty": {}}
    many = {f"u-{n:04d}": {"invoice_number": f"N-{n}"} for n in range(1200)}
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, code, tax_number, name, environment, "
                          "accession_date, created_at) VALUES (1, 'T', 'SI21423512', 'T', "
                          "'production', '2026-01-01', :at)"), {"at": at})
        conn.execute(text(
            "INSERT INTO units (id, tenant_id, content_sha256, received_at, retain_until, "
            "legal_hold, format, source, metadata, policy_id, policy_version, "
            "retention_basis, needs_classification) VALUES (:id, 1, :id, :at, :at, false, "
            "'eslog20', '', :metadata, 'p', 1, 'received_at', false)"),
            [{"id": unit_id, "at": at, "metadata": json.dumps(metadata)}
             for unit_id, metadata in (earlier | many).items()])
        for batch, sealed in ((1, "2026-01-02 00:00:00+00:00"),
                              (2, "2026-06-02 00:00:00+00:00")):
            conn.execute(text(
                "INSERT INTO batches (id, sealed_at, algorithm, root, token, tsa, certificates, "
                "revocation, audit_seq, audit_hash, audit_path, units) VALUES (:id, :at, "
                "'sha256', 'r', 't', 'tsa', '', '{}', 1, 'h', '{}', 1)"),
                {"id": batch, "at": sealed})
            conn.execute(text(  # sealed by batch 1, its evidence renewed in batch 2
                "INSERT INTO evidence (unit_id, batch_id, record, record_sha256, object_key, "
                "created_at) VALUES ('u-received', :id, 'e', 'd', :key, :at)"),
                {"id": batch, "key": f"k{batch}", "at": sealed})
    migrate.upgrade(empty_engine)
    columns = [Unit.id, Unit.issue_date, Unit.document_type, Unit.invoice_number,
               Unit.seller_tax_id, Unit.buyer_tax_id, Unit.seller_name, Unit.payable_amount,
               Unit.currency, Unit.direction, Unit.sealed_at]
    with empty_engine.connect() as conn:
        rows = {row[0]: tuple(row[1:]) for row in conn.execute(
            select(*columns).where(Unit.id.in_(earlier)))}
        numbers = dict(conn.execute(select(Unit.id, Unit.invoice_number).where(
            Unit.id.in_(many))).all())
    assert rows == {
        "u-received": (date(2026, 1, 10), "380", "R-1", "SI39705684", "SI21423512", None,
                       Decimal("1.82"), "EUR", "received", datetime(2026, 1, 2, tzinfo=UTC)),
        "u-issued": (None, None, "I-1", "SI21423512", "SI22222222", None, None, None,
                     "issued", None),
        "u-empty": (None,) * 10}
    assert numbers == {unit_id: m["invoice_number"] for unit_id, m in many.items()}


def test_0015_keys_each_earlier_unit_by_seller_type_and_number(empty_engine: Engine) -> None:
    """Page by page (more than 5,000 units); a seller without a VAT id by its tax number or
    its name; and back again on downgrade."""
    from sqlalchemy import select, text

    from hramba.db.models import Unit

    migrate.upgrade(empty_engine, "0014")
    earlier = {"u-vat": ({"seller_vat": "SI39705684", "document_type": "381",
                          "invoice_number": "R-1"}, "SI39705684|R-1"),
               "u-envelope": ({"sender_id": "SI1", "doc_id": "D-1", "seller_vat": "SI2",
                               "invoice_number": "R-1", "document_type": "380"}, "SI1|D-1"),
               "u-tax": ({"seller_tax_number": "12345678", "invoice_number": "R-2"}, None),
               "u-name": ({"seller_name": "Šola  PTUJ", "invoice_number": "R-3"}, None),
               "u-none": ({"invoice_number": "R-4"}, None)}
    many = {f"u-{n:05d}": ({"seller_vat": "SI1", "invoice_number": f"N-{n}"}, f"SI1|N-{n}")
            for n in range(5100)}
    at = "2026-01-01 00:00:00+00:00"
    with empty_engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, code, tax_number, name, environment, "
                          "accession_date, created_at) VALUES (1, 'T', 'SI21423512', 'T', "
                          "'production', '2026-01-01', :at)"), {"at": at})
        conn.execute(text(
            "INSERT INTO units (id, tenant_id, content_sha256, received_at, retain_until, "
            "legal_hold, format, source, metadata, policy_id, policy_version, "
            "retention_basis, needs_classification, document_key) VALUES (:id, 1, :id, :at, "
            ":at, false, 'eslog20', '', :metadata, 'p', 1, 'received_at', false, :key)"),
            [{"id": unit_id, "at": at, "metadata": json.dumps(metadata), "key": key}
             for unit_id, (metadata, key) in (earlier | many).items()])
    migrate.upgrade(empty_engine)

    def keys() -> dict[str, str | None]:
        with empty_engine.connect() as conn:
            return {row[0]: row[1] for row in conn.execute(select(Unit.id, Unit.document_key))}

    assert {k: v for k, v in keys().items() if k in earlier} == {
        "u-vat": "SI39705684|381|R-1", "u-envelope": "SI1|380|D-1", "u-tax": "12345678||R-2",
        "u-name": "name:sola ptuj||R-3", "u-none": None}
    assert {k: v for k, v in keys().items() if k in many} == {
        unit_id: f"SI1||{m['invoice_number']}" for unit_id, (m, _) in many.items()}
    migrate.downgrade(empty_engine, "0014")
    assert keys() == {unit_id: key for unit_id, (_, key) in (earlier | many).items()} | {
        "u-tax": "12345678|R-2"}
