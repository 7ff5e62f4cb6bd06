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
