"""Services down: a clear error and exit 75, nothing half-archived, and a re-run finishes."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pytest
from plugins.cli import Cli, clean_env
from plugins.services import free_port

from hramba.core.errors import ServiceUnavailable
from hramba.core.types import Digest, ObjectKey, StoredObject
from hramba.ports import ObjectStore
from hramba.services.context import Archive
from hramba.services.corpus import write_corpus
from hramba.services.fixity import run_fixity
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.units import list_units


class FailingAfter:
    """The real store, until its n-th put: then the storage service 'goes down'."""

    def __init__(self, store: ObjectStore, puts: int) -> None:
        self._store, self._left = store, puts
        self.description = store.description

    def put(self, key: ObjectKey, data: BinaryIO, *, size: int, sha256: Digest,
            retain_until: datetime) -> StoredObject:
        self._left -= 1
        if self._left < 0:
            raise ServiceUnavailable(f"put {key}: connection refused")
        return self._store.put(key, data, size=size, sha256=sha256, retain_until=retain_until)

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_storage_outage_mid_batch_commits_nothing_and_rerun_completes(
        archive: Archive, tmp_path: Path) -> None:
    list(write_corpus(tmp_path / "in", 12, ("Občina Primer", "SI21423512")))
    real = archive.store
    archive.store = FailingAfter(real, puts=7)  # type: ignore[assignment]
    with pytest.raises(ServiceUnavailable):
        list(ingest_directory(archive, tmp_path / "in", "OBCINA1", batch_size=5))
    assert len(list_units(archive)) == 0  # the first batch never reached its commit
    archive.store = real
    summary = summarise(list(ingest_directory(archive, tmp_path / "in", "OBCINA1")))
    assert (summary["archived"], summary["duplicates"], summary["quarantined"]) == (12, 0, 0)
    report = run_fixity(archive)
    assert report.ok, report.as_dict()


def dead_endpoint() -> str:
    return f"127.0.0.1:{free_port()}"  # nothing listens there


def test_database_down_is_exit_75_without_a_traceback(tmp_path: Path) -> None:
    env = clean_env() | {"HRAMBA_DATABASE_URL":
                         f"postgresql+psycopg://hramba@{dead_endpoint()}/hramba"}
    result = Cli(tmp_path / "home", env)("ls", check=False)
    assert result.code == 75
    assert result.err.startswith("hramba: error: database:")
    assert "Traceback" not in result.err


def test_storage_down_is_exit_75_and_keeps_the_secret(tmp_path: Path) -> None:
    secret = "s3cr3t-never-printed"
    env = clean_env() | {"HRAMBA_STORAGE_KIND": "s3", "HRAMBA_STORAGE_ENDPOINT": dead_endpoint(),
                         "HRAMBA_STORAGE_ACCESS_KEY": "hramba",
                         "HRAMBA_STORAGE_SECRET_KEY": secret, "HRAMBA_STORAGE_SECURE": "false"}
    result = Cli(tmp_path / "home", env)("init", check=False)
    assert result.code == 75
    assert "Traceback" not in result.err
    assert secret not in result.err + result.out
