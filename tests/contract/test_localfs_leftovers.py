"""Leftovers (issue #16): what a killed writer leaves in the local store's tmp/ is swept
when a store opens; a live writer's temporary file, in another process, is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hramba.core.types import SystemClock
from storage.localfs import STALE_TEMPORARY, LocalObjectStore

# A writer in its own process: put() of a stream that never ends, until it is killed.
WRITER = """
import io, sys
from datetime import UTC, datetime
from pathlib import Path
from hramba.core.types import Digest, ObjectKey, SystemClock
from storage.localfs import LocalObjectStore

class Endless(io.RawIOBase):
    def readable(self): return True
    def readinto(self, b):
        b[:1] = b"x"
        print("writing", flush=True)
        import time; time.sleep(0.05)
        return 1

store = LocalObjectStore(Path(sys.argv[1]), SystemClock())
store.put(ObjectKey("units/T/" + "0" * 32 + "/files/a.xml"), io.BufferedReader(Endless()),
          size=1, sha256=Digest.of_bytes(b"x"), retain_until=datetime(2036, 1, 1, tzinfo=UTC))
"""


def start_writer(root: Path) -> subprocess.Popen[str]:
    """A writer that is inside put(), its temporary file open, when this returns."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(root)], text=True,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    return proc


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    if proc.stdout is not None:
        proc.stdout.close()


def age(path: Path) -> None:
    old = time.time() - 2 * STALE_TEMPORARY.total_seconds()
    os.utime(path, (old, old))


def test_a_killed_writers_temporary_file_is_swept_at_open(tmp_path: Path) -> None:
    LocalObjectStore(tmp_path, SystemClock())
    writer = start_writer(tmp_path)
    kill(writer)
    (left,) = (tmp_path / "tmp").iterdir()
    fresh = tmp_path / "tmp" / "just-made"
    fresh.write_bytes(b"")
    assert LocalObjectStore(tmp_path, SystemClock()).swept == 0  # too young to judge
    age(left)
    store = LocalObjectStore(tmp_path, SystemClock())
    assert store.swept == 1
    assert sorted((tmp_path / "tmp").iterdir()) == [fresh]
    assert list(store.keys("")) == []


def test_a_live_writers_temporary_file_survives_a_sweep(tmp_path: Path) -> None:
    LocalObjectStore(tmp_path, SystemClock())
    writer = start_writer(tmp_path)
    try:
        (held,) = (tmp_path / "tmp").iterdir()
        age(held)  # however old it looks: its writer holds it
        assert LocalObjectStore(tmp_path, SystemClock()).swept == 0
        assert held.exists()
    finally:
        kill(writer)
    assert LocalObjectStore(tmp_path, SystemClock()).swept == 1
