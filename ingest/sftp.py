"""SFTP source for bulk migration from a previous provider, over paramiko.

The server's host key must already be in the given known_hosts file: unknown or changed
keys are refused (RejectPolicy), never added. TCP_NODELAY is set on the socket, since
paramiko is slow on many small files without it. Files are streamed to local staging
while being hashed.
"""

from __future__ import annotations

import contextlib
import socket
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import paramiko

from hramba.core.errors import ConfigurationError, IntegrityViolation, ServiceUnavailable
from hramba.core.types import Hashed
from ingest.directory import save_hashed
from ingest.manifest import Expected, parse_manifest

TIMEOUT = 20  # seconds for each step of the connection and each read (issue #16: < 30 s)


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str
    key: Path
    known_hosts: Path


class SftpSource:
    """One SSH connection; `sftp()` opens a channel (several may run in parallel)."""

    def __init__(self, endpoint: Endpoint, timeout: float = TIMEOUT) -> None:
        self.endpoint, self.timeout = endpoint, timeout
        self.name = f"sftp: {endpoint.host}:{endpoint.port}"
        client = paramiko.SSHClient()
        try:
            client.load_host_keys(str(endpoint.known_hosts))
        except OSError as exc:
            raise ConfigurationError(f"known_hosts {endpoint.known_hosts}: {exc}") from exc
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
        except OSError as exc:
            raise ServiceUnavailable(f"{self.name}: {exc.strerror or type(exc).__name__}"
                                     ) from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            # Each step bounded: a server that accepts and then says nothing (stopped,
            # hung) is reported within `timeout`, at the banner, the key exchange or
            # the login, not waited for.
            client.connect(endpoint.host, endpoint.port, username=endpoint.user,
                           key_filename=str(endpoint.key), sock=sock, timeout=timeout,
                           banner_timeout=timeout, auth_timeout=timeout,
                           channel_timeout=timeout, look_for_keys=False, allow_agent=False)
        except paramiko.BadHostKeyException as exc:
            sock.close()
            raise IntegrityViolation(f"{self.name}: the server's host key does not match "
                                     "known_hosts") from exc
        except (paramiko.SSHException, OSError) as exc:
            sock.close()
            raise ServiceUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        self.client = client

    def sftp(self) -> paramiko.SFTPClient:
        """A channel whose every read waits at most `timeout` (socket.timeout after)."""
        try:
            sftp = self.client.open_sftp()
        except (paramiko.SSHException, OSError) as exc:
            raise ServiceUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        sftp.get_channel().settimeout(self.timeout)  # type: ignore[union-attr]
        return sftp

    def close(self) -> None:
        self.client.close()


def walk(sftp: paramiko.SFTPClient, root: str) -> Iterator[tuple[str, int]]:
    """(path relative to root, size) of every regular file under root, sorted."""
    stack = [""]
    while stack:
        rel = stack.pop()
        entries = sorted(sftp.listdir_attr(str(PurePosixPath(root) / rel) if rel else root),
                         key=lambda e: e.filename)
        for entry in entries:
            path = f"{rel}/{entry.filename}" if rel else entry.filename
            mode = entry.st_mode or 0
            if stat.S_ISDIR(mode):
                stack.append(path)
            elif stat.S_ISREG(mode):
                yield path, int(entry.st_size or 0)


def download(sftp: paramiko.SFTPClient, remote: str, local: Path) -> Hashed:
    """Stream a remote file to `local` (via a .part file), hashing as it goes."""
    with sftp.open(remote, "rb") as source:
        source.prefetch()
        return save_hashed(source, local)


def read_manifest(sftp: paramiko.SFTPClient, root: str, name: str) -> dict[str, Expected]:
    """The provider's manifest in the export's folder (see ingest.manifest)."""
    with sftp.open(str(PurePosixPath(root) / name), "rb") as f:
        return parse_manifest(name, f.read())


def remove(sftp: paramiko.SFTPClient, root: str, paths: list[str]) -> int:
    """Delete `paths` (relative to root) and then the folders they leave empty; a file
    already gone is skipped. Returns how many files were deleted."""
    removed, folders = 0, set[str]()
    for path in paths:
        try:
            sftp.remove(str(PurePosixPath(root) / path))
            removed += 1
        except FileNotFoundError:
            pass
        folders.update(str(p) for p in PurePosixPath(path).parents if str(p) != ".")
    for folder in sorted(folders, key=lambda f: -f.count("/")):
        with contextlib.suppress(OSError):  # not empty: it holds what was not ours to delete
            sftp.rmdir(str(PurePosixPath(root) / folder))
    return removed
