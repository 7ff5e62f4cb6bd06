"""Engines and sessions for SQLite (embedded, WAL) and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

from hramba.core.errors import ConfigurationError, ServiceUnavailable

# What the server says when it is up but the settings are wrong: waiting will not help.
MISCONFIGURED = re.compile(r'(database|role) "[^"]*" does not exist|password authentication '
                           r"failed|no pg_hba\.conf entry|unable to open database file")


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock up front: two writers then queue instead of one failing with
    # "database is locked" when it upgrades a read transaction (SQLite WAL semantics).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def reachable() -> Iterator[None]:
    """Map a lost or refused connection to ServiceUnavailable (retry later), and a database,
    role or password the server does not know to ConfigurationError (fix the settings)."""
    try:
        yield
    except exc.OperationalError as err:
        reason = " ".join(str(err.orig).split())
        if MISCONFIGURED.search(reason):
            raise ConfigurationError(f"database.url: {reason}") from err
        raise ServiceUnavailable(f"database: {reason}") from err


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error, map outages."""
    with reachable(), factory.begin() as session:
        yield session


@contextmanager
def snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A read that sees one state of the database throughout: REPEATABLE READ on
    PostgreSQL; on SQLite every transaction is one (it holds the write lock: see
    _sqlite_begin_immediate)."""
    with reachable(), factory.begin() as session:
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session
