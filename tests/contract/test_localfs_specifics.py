"""What only the local store does: read-only files, lock files, recovery after a crash."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hramba.core.types import Digest, ObjectKey, SystemClock
from hramba.domain.manifest import FileEntry, content_digest
from hramba.services.archive import IncomingFile, archive_unit, unit_id_for
from hramba.services.context import Archive
from hramba.services.fixity import run_fixity
from storage.environments import EnvironmentStore
from storage.keys import file_key
from storage.localfs import LocalObjectStore

DATA = b"<Invoice/>"
FAR = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_objects_are_read_only_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path, SystemClock())
    key = ObjectKey("units/T1/" + "0" * 32 + "/files/a.xml")
    store.put(key, io.BytesIO(DATA), size=len(DATA), sha256=Digest.of_bytes(DATA),
              retain_until=FAR)
    mode = (tmp_path / "objects" / key).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    (tmp_path / "tmp" / "leftover").write_bytes(b"partial")
    assert list(store.keys("")) == [key]


@pytest.mark.parametrize("key", ["units/a#lock", "units/../x", "/abs", "units//x", ""])
def test_keys_that_could_escape_or_clash_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path, SystemClock())
    with pytest.raises(ValueError, match="unsafe object key"):
        store.exists(ObjectKey(key))


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_lock_file_lost_in_a_crash_is_set_again_by_the_rerun(archive: Archive) -> None:
    sha = Digest.of_bytes(DATA)
    unit_id = unit_id_for("OBCINA1", content_digest(
        [FileEntry("a.xml", "invoice", "application/xml", len(DATA), sha.hex)]))
    key = file_key("OBCINA1", unit_id, "a.xml")
    archive.store.put(key, io.BytesIO(DATA), size=len(DATA), sha256=sha, retain_until=FAR)
    assert isinstance(archive.store, EnvironmentStore)
    local = archive.store.route(key)
    assert isinstance(local, LocalObjectStore)
    local._lock_path(key).write_text("")  # the crash came before sync()
    assert archive.store.stat(key).retain_until is None
    outcome = archive_unit(archive, "OBCINA1", [IncomingFile(
        "a.xml", "invoice", "application/xml", lambda: io.BytesIO(DATA))])
    assert (outcome.outcome, outcome.unit_id) == ("archived", unit_id)
    assert archive.store.stat(key).retain_until == FAR
    assert run_fixity(archive).ok
