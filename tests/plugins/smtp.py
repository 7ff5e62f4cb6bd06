"""SMTP: aiosmtpd on 127.0.0.1, keeping what it receives in a folder (smtp_sink.py).

Chosen over a mock of smtplib because the archive's own SMTP client then speaks real
SMTP over a socket, and the messages are read back as a mail client would, with the
email package. One process per session on a free port, stopped by its PID; the `smtp`
fixture empties its folder for each test. `smtp.refusing()` makes it answer 451 to
every message for a while; a server that is down is `smtp.down_env` (a free port that
nothing listens on). Loopback only: no test ever mails anywhere else.
"""

from __future__ import annotations

import email
import email.policy
import importlib.util
import json
import os
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest

from .services import free_port, missing, stop, wait_until
from .smtp_sink import REFUSE

HOST = "127.0.0.1"
READY_TIMEOUT = 20.0


@dataclass(frozen=True)
class SmtpServer:
    """One aiosmtpd on loopback; `folder` holds what it accepted."""

    host: str
    port: int
    folder: Path
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """Settings that send notifications here."""
        return {"HRAMBA_NOTIFY_SMTP_HOST": self.host, "HRAMBA_NOTIFY_SMTP_PORT": str(self.port)}

    @property
    def down_env(self) -> dict[str, str]:
        """Settings that send notifications to a port where nothing listens."""
        return {"HRAMBA_NOTIFY_SMTP_HOST": self.host, "HRAMBA_NOTIFY_SMTP_PORT": str(free_port())}

    def messages(self) -> list[EmailMessage]:
        """Every message accepted since the test began, in order, parsed as received
        (its CRLF line ends, SMTP's, read as \n, as a mail client stores them)."""
        return [cast(EmailMessage, email.message_from_bytes(
            path.read_bytes().replace(b"\r\n", b"\n"), policy=email.policy.default))
            for path in sorted(self.folder.glob("*.eml"))]

    def envelopes(self) -> list[dict[str, Any]]:
        """Their SMTP envelopes: `mail_from` and `rcpt_tos`."""
        return [json.loads(path.with_suffix(".json").read_text())
                for path in sorted(self.folder.glob("*.eml"))]

    @contextmanager
    def refusing(self) -> Iterator[None]:
        """Every message is answered 451 inside the block."""
        flag = self.folder / REFUSE
        flag.touch()
        try:
            yield
        finally:
            flag.unlink()

    def clear(self) -> None:
        for path in self.folder.iterdir():
            path.unlink()


def _answers(server: SmtpServer) -> bool:
    with smtplib.SMTP(server.host, server.port, timeout=5) as client:
        return client.noop()[0] == 250


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """aiosmtpd on 127.0.0.1:<free port> for the whole session."""
    if importlib.util.find_spec("aiosmtpd") is None:
        missing("aiosmtpd is not installed (pip install aiosmtpd)")
    root = tmp_path_factory.mktemp("smtp")
    server = SmtpServer(HOST, free_port(), root / "received", root / "aiosmtpd.log")
    server.folder.mkdir()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    with server.log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"{HOST}:{server.port}",
             "-c", "smtp_sink.Sink", str(server.folder)],
            stdout=out, stderr=subprocess.STDOUT, cwd=root, env=env)
    try:
        wait_until(lambda: _answers(server), READY_TIMEOUT, "aiosmtpd", process, server.log)
        yield server
    finally:
        stop(process)


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's server, its folder emptied: a test sees only its own messages."""
    smtp_server.clear()
    return smtp_server
