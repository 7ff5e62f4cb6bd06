"""The Alembic migrations make the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
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
