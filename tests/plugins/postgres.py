"""PostgreSQL: the server on 127.0.0.1:5432 (trust auth). One migrated template database
per session; each test gets a fresh database copied from it, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from hramba.db import migrate
from hramba.db.engine import make_engine

from .services import missing

ADMIN_URL = os.environ.get("HRAMBA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _url(database: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _admin() -> Engine:
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        admin.dispose()
        missing(f"PostgreSQL at {ADMIN_URL} is not reachable: {type(exc).__name__}")
    name = f"hramba_tpl_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(_url(name))
    migrate.upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def _fresh_database(template: str | None) -> Iterator[str]:
    name = f"hramba_t_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    try:
        yield _url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    with _fresh_database(pg_template) as url:
        yield url


@pytest.fixture
def pg_empty_url(pg_template: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for migration tests)."""
    with _fresh_database(None) as url:
        yield url


@pytest.fixture
def pg_database_env(pg_url: str) -> dict[str, str]:
    return {"HRAMBA_DATABASE_URL": pg_url}
