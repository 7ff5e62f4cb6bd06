"""The portal's server for the tests: `create_app` served by uvicorn in a thread, on a
free loopback port, over the test's archive; accounts and units to find there."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import uvicorn
from sqlalchemy import select

from hramba.config import Settings
from hramba.core.types import FixedClock
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent
from hramba.services.accounts import NewAccount, add_account, set_password
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.web.app import create_app
from plugins.cli import Cli
from plugins.services import free_port

PASSWORD = "geslo-za-preizkus-1"


@dataclass
class Server:
    url: str

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.url + path, headers=headers, params=params, timeout=30)

    def sign_in(self, login: str, password: str = PASSWORD) -> requests.Response:
        return requests.post(f"{self.url}/api/v1/session", timeout=30,
                             json={"login": login, "password": password})

    def token(self, login: str) -> str:
        answer = self.sign_in(login)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token


@pytest.fixture
def portal(archive: Archive, profile_settings: Settings, clock: FixedClock
           ) -> Iterator[Server]:
    """`create_app` served by uvicorn in a thread, on the archive's settings and clock."""
    port = free_port()
    config = uvicorn.Config(create_app(profile_settings, clock), host="127.0.0.1", port=port,
                            log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive(), "the server stopped"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}")
    running.should_exit = True
    thread.join(30)


def archive_invoice(archive: Archive, tenant: str, n: int) -> str:
    """A unit of an invoice and a PDF named as a person names it."""
    files = [IncomingFile("racun.xml", "invoice", "application/xml",
                          lambda: io.BytesIO(f"<Invoice n='{n}' t='{tenant}'/>".encode())),
             IncomingFile(f"Račun št. {n}.pdf", "attachment", "application/pdf",
                          lambda: io.BytesIO(b"%PDF-1.4 " + bytes(n) * 1000))]
    return archive_unit(archive, tenant, files, metadata={
        "issue_date": "2026-02-01", "invoice_number": f"2026-{n}"}).unit_id


def budget_user(archive: Archive, login: str, tenant: str) -> None:
    add_account(archive, NewAccount(login, f"Uporabnik {tenant}", ("budget-user",),
                                    (tenant,)))
    set_password(archive, login, PASSWORD)


def actions(archive: Archive, actor: str) -> list[str]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor == actor).order_by(AuditEvent.seq)))


@contextmanager
def served(cli: Cli, *options: str) -> Iterator[str]:
    """`hramba serve` of this CLI's archive on a free port (with `options`), until the
    block ends: its URL, once it answers."""
    port = free_port()
    process = cli.popen("serve", "--port", str(port), *options)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/api/openapi.json", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "hramba serve stopped"
                assert time.monotonic() < deadline, "hramba serve did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)
