"""PostgreSQL: the server on 127.0.0.1:5432 (trust auth). One migrated template database
per session; each test gets a fresh database copied from it, dropped afterwards.

The server is shared with other sessions, so every statement we send as admin is bounded:
a DROP DATABASE ... WITH (FORCE) once waited 15 minutes for another session's stalled COPY
to accept a barrier. A drop that still fails leaves its database (hramba_t_*, hramba_tpl_*)
and is listed at the end of the run, without failing it. Leftovers of earlier runs are left
alone: from here, one of a live run on the same server looks the same.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from hramba.db import migrate
from hramba.db.engine import make_engine

from .services import missing

ADMIN_URL = os.environ.get("HRAMBA_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# libpq's connect_timeout, and the server's own limits on each admin statement.
ADMIN_LIMITS = {"connect_timeout": 10,
                "options": "-c lock_timeout=10s -c statement_timeout=60s"}
LEFTOVERS = pytest.StashKey[list[str]]()


def _url(database: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + database


def _admin() -> Engine:
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args=ADMIN_LIMITS)


def _drop(admin: Engine, name: str, config: pytest.Config) -> None:
    """Drop a test database; one that will not go is noted for the summary, not raised."""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        config.stash.setdefault(LEFTOVERS, []).append(f"{name}: {reason}")


@pytest.fixture(scope="session")
def pg_template(pytestconfig: pytest.Config) -> Iterator[str]:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not there"
        admin.dispose()
        missing(f"PostgreSQL at {ADMIN_URL} is not reachable: {type(exc).__name__}")
    name = f"hramba_tpl_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(_url(name))
        migrate.upgrade(engine)
        engine.dispose()
        yield name
    finally:
        _drop(admin, name, pytestconfig)
        admin.dispose()


@contextmanager
def _fresh_database(template: str | None, config: pytest.Config) -> Iterator[str]:
    name = f"hramba_t_{uuid.uuid4().hex[:12]}"
    clause = f' TEMPLATE "{template}"' if template else ""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        yield _url(name)
    finally:
        _drop(admin, name, config)
        admin.dispose()


@pytest.fixture
def pg_url(pg_template: str, pytestconfig: pytest.Config) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    with _fresh_database(pg_template, pytestconfig) as url:
        yield url


@pytest.fixture
def pg_empty_url(pg_template: str, pytestconfig: pytest.Config) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (for migration tests)."""
    with _fresh_database(None, pytestconfig) as url:
        yield url


@pytest.fixture
def pg_database_env(pg_url: str) -> dict[str, str]:
    """Settings for that database. Off the embedded default the archive seals with the
    development TSA, and signs with the development key, only when told to (tsa.development,
    signing.development), as these test archives are."""
    return {"HRAMBA_DATABASE_URL": pg_url, "HRAMBA_TSA_DEVELOPMENT": "true",
            "HRAMBA_SIGNING_DEVELOPMENT": "true"}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The test databases a drop left on the server, for whoever looks after it."""
    leftovers = terminalreporter.config.stash.get(LEFTOVERS, [])
    if leftovers:
        terminalreporter.section("PostgreSQL: test databases left on the server", yellow=True)
        for line in leftovers:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f'drop each later with: DROP DATABASE "<name>" WITH (FORCE) '
                                    f"(admin URL {ADMIN_URL})")
