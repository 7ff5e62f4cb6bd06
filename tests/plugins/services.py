"""What every service plugin shares: free ports, readiness waits, missing-service policy,
and which marker each service's tests carry."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

IN_CI = bool(os.environ.get("CI"))

# The session fixture that starts each service, by the marker of the tests that need it. A
# test's fixture closure reaches it from every fixture built on it (pg_url, s3_env,
# wrong_host_key, short_lived_tsa, ...), the CLI tests' subprocess environments included.
SERVICE_FIXTURES = {"pg": "pg_template", "s3": "s3_server", "sftp": "sftp_server",
                    "tsa": "tsa_servers", "browser": "browser", "smtp": "smtp_server"}
# A fixture that starts a service for only some of its params, by request.getfixturevalue,
# is beyond the closure's sight; its param names the service, one word of it between - or _
# ("postgres-s3" of profile_settings, "postgresql" of the migration tests, "s3" of the store
# contract, "short_lived_tsa").
PARAM_WORDS = {"postgres": "pg", "postgresql": "pg", "s3": "s3", "sftp": "sftp", "tsa": "tsa"}


def missing(reason: str) -> None:
    """Locally a missing service skips, printing why; under CI it fails the run."""
    if IN_CI:
        pytest.fail(f"service missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def service_markers(fixturenames: Iterable[str], params: Mapping[str, object]) -> set[str]:
    """The markers of the services a test needs, from its fixture closure and params."""
    closure = set(fixturenames)
    markers = {marker for marker, fixture in SERVICE_FIXTURES.items() if fixture in closure}
    for value in params.values():
        if isinstance(value, str):
            markers.update(PARAM_WORDS[word] for word in re.split(r"[-_]", value)
                           if word in PARAM_WORDS)
    return markers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(ready: Callable[[], bool], timeout: float, what: str,
               process: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Poll `ready` until it is true; fail with the service's log if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not become ready in {timeout}s\n{tail}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a service we started, by its process id."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
