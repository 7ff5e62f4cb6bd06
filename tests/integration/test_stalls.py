"""Outages fail fast (issue #16 point 4), at the adapters: a TSA, SMTP or SFTP server that
accepts a connection and never answers is reported as ServiceUnavailable naming the
service, after the configured timeout; and the default timeouts bound the worst case of a
stopped S3 or PostgreSQL server under 30 s (tests/cli/test_stalls.py shows it happen)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from plugins.stall import FreezingProxy
from sqlalchemy import make_url, text

from hramba.config import load_settings
from hramba.core.errors import ServiceUnavailable
from hramba.db.engine import (
    DEFAULT_TIMEOUT,
    WATCH_INTERVAL,
    _pg_bounds,
    make_engine,
    make_sessionmaker,
    transaction,
)
from hramba.mail import SmtpMailer
from hramba.trust.tsa import Rfc3161Timestamper
from ingest.sftp import TIMEOUT as SFTP_TIMEOUT
from ingest.sftp import Endpoint, SftpSource
from storage.s3 import S3ObjectStore

BOUND = 30  # seconds, issue #16
SHORT = 1.5  # seconds: the timeout these tests configure, to keep them quick


@pytest.fixture
def silent() -> Iterator[int]:
    """A port whose kernel accepts connections and data, and nothing ever answers (a
    stopped server, as under SIGSTOP)."""
    with socket.create_server(("127.0.0.1", 0), backlog=16) as listener:
        yield int(listener.getsockname()[1])


def waited(call: object) -> tuple[ServiceUnavailable, float]:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        call()  # type: ignore[operator]
    return caught.value, time.monotonic() - started


def test_a_silent_tsa_is_reported_after_its_timeout(silent: int) -> None:
    tsa = Rfc3161Timestamper(f"http://127.0.0.1:{silent}/tsa", timeout=SHORT)
    error, seconds = waited(lambda: tsa.timestamp(bytes(32), "sha256"))
    assert str(error).startswith("tsa: TSA http://127.0.0.1:")
    assert "ReadTimeout" in str(error)
    assert SHORT <= seconds < SHORT + 2


def test_a_silent_smtp_server_is_reported_after_its_timeout(silent: int) -> None:
    mailer = SmtpMailer("127.0.0.1", silent, "e-hramba@localhost", timeout=SHORT)
    message = EmailMessage()
    message["To"], message["Subject"] = "pu@example.si", "test"
    error, seconds = waited(lambda: mailer.send(message))
    assert str(error).startswith(f"SMTP 127.0.0.1:{silent}: ")
    assert SHORT <= seconds < SHORT + 2


def test_a_silent_sftp_server_is_reported_after_its_timeout(silent: int,
                                                            tmp_path: Path) -> None:
    (tmp_path / "known_hosts").write_text("")
    endpoint = Endpoint("127.0.0.1", silent, "hramba", tmp_path / "id_ed25519",
                        tmp_path / "known_hosts")
    error, seconds = waited(lambda: SftpSource(endpoint, timeout=SHORT))
    assert str(error).startswith(f"sftp: 127.0.0.1:{silent}: ")
    assert seconds < SHORT + 2


def test_the_default_timeouts_report_a_stopped_server_within_30_s() -> None:
    settings = load_settings(home="/nonexistent", environ={})
    assert settings.tsa.timeout < BOUND  # one attempt: a request is not idempotent
    assert settings.notify.timeout < BOUND
    assert SFTP_TIMEOUT < BOUND
    assert settings.database_timeout == DEFAULT_TIMEOUT
    # PostgreSQL: the watchdog's look, its probe's wait, one reconnection's handshake.
    database = (DEFAULT_TIMEOUT + WATCH_INTERVAL + DEFAULT_TIMEOUT
                + _pg_bounds(DEFAULT_TIMEOUT)["connect_timeout"])
    assert database <= BOUND
    assert s3_worst_case(settings.storage.timeout) <= BOUND


def s3_worst_case(timeout: int) -> float:
    """The longest one S3 call can take on a stopped server, from the store's own pool."""
    store = S3ObjectStore("127.0.0.1:9", "any", "key", "secret", secure=False,
                          timeout=timeout)
    pool = store.client._http.connection_pool_kw
    bounds, retry = pool["timeout"], pool["retries"]
    backoff = sum(min(retry.backoff_max, retry.backoff_factor * 2 ** n)
                  for n in range(retry.total))
    connecting = (retry.connect + 1) * bounds.connect_timeout + backoff
    reading = (retry.read + 1) * bounds.read_timeout + (backoff if retry.read else 0)
    return float(max(connecting, reading))


def test_a_statement_waiting_for_a_lock_on_a_live_server_is_left_to_wait(pg_url: str) -> None:
    engine = make_engine(pg_url, timeout=1)
    try:
        with engine.connect() as holder, engine.connect() as waiter:
            holder.execute(text("SELECT pg_advisory_lock(16016)"))
            threading.Timer(3, lambda: holder.execute(
                text("SELECT pg_advisory_unlock(16016)"))).start()
            started = time.monotonic()
            waiter.execute(text("SELECT pg_advisory_lock(16016)"))  # the server answers probes
            assert time.monotonic() - started >= 2.5
            waiter.execute(text("SELECT pg_advisory_unlock(16016)"))
    finally:
        engine.dispose()


def test_a_statement_the_database_stops_answering_fails_naming_it(
        pg_url: str, freezing_proxy: type[FreezingProxy]) -> None:
    url = make_url(pg_url)
    proxy = freezing_proxy((url.host or "127.0.0.1", url.port or 5432))
    engine = make_engine(url.set(host="127.0.0.1", port=proxy.port)
                         .render_as_string(hide_password=False), timeout=1)
    factory = make_sessionmaker(engine)
    try:
        with transaction(factory) as session:
            session.execute(text("SELECT 1"))
        proxy.freeze()
        started = time.monotonic()
        # The pooled connection's pre-ping is cut off, then the reconnection's handshake
        # (libpq: 2 s at least) is what reports it.
        with pytest.raises(ServiceUnavailable, match=r"^database: "), transaction(factory) as s:
            s.execute(text("SELECT 1"))
        assert time.monotonic() - started < 1 + 1 + 2 + 2
    finally:
        proxy.thaw()
        engine.dispose()
