"""What every service plugin shares: free ports, readiness waits, missing-service policy."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

IN_CI = bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """Locally a missing service skips, printing why; under CI it fails the run."""
    if IN_CI:
        pytest.fail(f"service missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


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
