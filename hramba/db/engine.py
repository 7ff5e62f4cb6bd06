"""Engines and sessions for SQLite (embedded, WAL) and PostgreSQL.

A PostgreSQL server that stops answering is reported within `database.timeout` seconds
and then some (DEFAULT_TIMEOUT: a stopped server is reported within 30 s, issue #16):

- connecting: libpq's connect_timeout, for the whole handshake;
- a lost network: TCP keepalives and tcp_user_timeout (unacknowledged data);
- a server that accepts and acknowledges but never answers (SIGSTOP, a hung host): libpq
  has no read timeout, so a watchdog (_Watchdog) looks at every statement still waiting
  after `timeout` seconds and asks the server, over a connection of its own, for a
  `SELECT 1`. A server that answers is alive: the statement is waiting for a reason of the
  server's (a lock: `claimed()` waits up to its lock_timeout behind another worker), and is
  left to it. A server that does not answer within `timeout` is stalled: the waiting
  statement's socket is shut down, libpq fails, and the caller gets ServiceUnavailable
  "database: ...". Worst case: 2 x timeout from the last answer, and one more for a
  reconnection's handshake (statements meanwhile are cut off at once: _down_until).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from hramba.core.errors import ConfigurationError, ServiceUnavailable

# What the server says when it is up but the settings are wrong: waiting will not help.
MISCONFIGURED = re.compile(r'(database|role) "[^"]*" does not exist|password authentication '
                           r"failed|no pg_hba\.conf entry|unable to open database file")


DEFAULT_TIMEOUT = 8  # seconds: database.timeout; a stopped server is reported within 25 s
WATCH_INTERVAL = 0.5  # seconds between the watchdog's looks at waiting statements


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a generous busy timeout,
    PostgreSQL the bounds of the module docstring (`timeout`: database.timeout)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url, pool_pre_ping=True, connect_args=_pg_bounds(timeout))
    _Watchdog(engine, timeout).watch()
    return engine


def _pg_bounds(timeout: float) -> dict[str, Any]:
    """libpq's own bounds: the handshake, and a network that stops acknowledging."""
    seconds = max(1, round(timeout))
    return {"connect_timeout": seconds, "keepalives": 1, "keepalives_idle": seconds,
            "keepalives_interval": max(1, seconds // 3), "keepalives_count": 3,
            "tcp_user_timeout": seconds * 1000}


class _Watchdog:
    """Shuts down the socket of a statement the server has stopped answering (see the
    module docstring); one thread per engine while statements run, none when idle."""

    def __init__(self, engine: Engine, timeout: float) -> None:
        self.engine, self.timeout = engine, timeout
        self._waiting: dict[int, tuple[float, int]] = {}  # cursor id -> (deadline, socket)
        self._stalled: set[int] = set()  # cursors cut off, whose error is ours to name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # Until then, after the probe found the server stalled (and nothing has been
        # answered since), a new statement (a rollback, a cleanup in a `finally`) is cut
        # off at once, not after another 2 x timeout; then the probe asks again.
        self._down_until = 0.0

    def watch(self) -> None:
        event.listen(self.engine, "before_cursor_execute", self._arm)
        event.listen(self.engine, "after_cursor_execute", self._disarm)
        event.listen(self.engine, "handle_error", self._name_stall)
        ping = self.engine.dialect.do_ping
        setattr(self.engine.dialect, "do_ping", self._guarded(ping))  # noqa: B010

    def _guarded(self, ping: Callable[[Any], bool]) -> Callable[[Any], bool]:
        """The pool's pre-ping, under the same watch: a pooled connection to a server
        that stopped would otherwise wait for ever before the first statement."""
        def guarded_ping(dbapi_connection: Any) -> bool:
            self._start(id(dbapi_connection), dbapi_connection)
            try:
                return ping(dbapi_connection)
            finally:
                self._stop(id(dbapi_connection))
        return guarded_ping

    def _arm(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        self._start(id(cursor), cursor.connection)

    def _disarm(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        self._stop(id(cursor))
        self._down_until = 0.0  # an answer: the server is back

    def _start(self, key: int, dbapi_connection: Any) -> None:
        wait = 0 if time.monotonic() < self._down_until else self.timeout
        with self._lock:
            self._waiting[key] = (time.monotonic() + wait, dbapi_connection.pgconn.socket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="database watchdog",
                                                daemon=True)
                self._thread.start()

    def _stop(self, key: int) -> None:
        with self._lock:
            self._waiting.pop(key, None)

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            now = time.monotonic()
            with self._lock:
                if not self._waiting:  # idle: the next statement starts another
                    self._thread = None
                    return
                overdue = [k for k, (deadline, _) in self._waiting.items() if deadline <= now]
            if overdue:
                self._settle(overdue)

    def _settle(self, overdue: list[int]) -> None:
        """Give overdue statements more time if the server answers, else cut them off."""
        alive = time.monotonic() >= self._down_until and self._server_answers()
        if not alive:
            self._down_until = max(self._down_until, time.monotonic() + self.timeout)
        with self._lock:
            for key in overdue:
                if key not in self._waiting:
                    continue  # answered meanwhile
                _, fd = self._waiting[key]
                if alive:
                    self._waiting[key] = (time.monotonic() + self.timeout, fd)
                else:
                    del self._waiting[key]
                    self._stalled.add(key)
                    _shut_down(fd)

    def _server_answers(self) -> bool:
        """Does the server answer `SELECT 1`, within `timeout`, on a connection of its own?"""
        answered = threading.Event()
        threading.Thread(target=self._probe, args=(answered,), name="database probe",
                         daemon=True).start()
        return answered.wait(self.timeout)

    def _probe(self, answered: threading.Event) -> None:
        """Any answer, an error too (refused, too many connections), is one: only
        silence until `timeout` means a stalled server, whose statements are cut off."""
        dialect = self.engine.dialect
        cargs, cparams = dialect.create_connect_args(self.engine.url)
        params = {**cparams, **_pg_bounds(self.timeout)}
        try:
            with dialect.loaded_dbapi.connect(*cargs, **params) as conn:
                conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001, S110 - an answer all the same (see above)
            pass
        finally:
            answered.set()

    def _name_stall(self, context: ExceptionContext) -> None:
        """The error of a statement we cut off says why, rather than "server closed the
        connection unexpectedly"."""
        cursor = getattr(context.execution_context, "cursor", None)
        with self._lock:
            # A failed statement gets no after_cursor_execute: stop watching it here, or
            # its entry would outlive it, and its socket number pass to another connection.
            self._waiting.pop(id(cursor), None)
            stalled = id(cursor) in self._stalled
            self._stalled.discard(id(cursor))
        if stalled:
            raise ServiceUnavailable(
                f"database: {self.engine.url.host}:{self.engine.url.port or 5432} did not "
                f"answer within {self.timeout:g} s (database.timeout)"
            ) from context.original_exception


def _shut_down(fd: int) -> None:
    """Shut down (not close: the fd stays libpq's) the connection's socket; libpq then
    fails the statement it waits on."""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # gone already


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
