"""SFTP: a real OpenSSH `sshd` (Debian's openssh-server) on 127.0.0.1, serving only SFTP.

sshd runs in the foreground (`-D -e`) with its own sshd_config in the session's temp dir:
ListenAddress 127.0.0.1 on a free port, a fresh ed25519 host key, one authorized ed25519
client key, no passwords, and `ForceCommand internal-sftp -d ROOT`, so every session is the
in-process SFTP server starting in `root`. The login is the user running the tests (root on
our machines and in CI): sshd can only authenticate the user it runs as unless it is root, so
no account is ever created. There is no chroot: ChrootDirectory wants every path component
root-owned and not world-writable, which /tmp is not; clients use paths relative to `root`.

Clients pin the host key: `known_hosts` holds it for `[127.0.0.1]:PORT`, paramiko loads only
that file under RejectPolicy, and `sftp_batch` runs OpenSSH's `sftp` with
StrictHostKeyChecking=yes and `-F /dev/null`, so no user ssh_config can send it elsewhere.
Keys are generated at test time, never committed; the process is stopped by its PID.
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .services import free_port, missing, stop, wait_until

if TYPE_CHECKING:
    import paramiko

HOST = "127.0.0.1"
SSHD = Path("/usr/sbin/sshd")  # sshd re-executes itself, so it must be started by absolute path
PRIVSEP_DIR = Path("/run/sshd")
READY_TIMEOUT = 20.0
CONNECT_TIMEOUT = 10.0
BATCH_TIMEOUT = 300.0
PENALTIES_SINCE = (9, 8)  # OpenSSH 9.8 added PerSourcePenalties, on by default

SSHD_CONFIG = """\
ListenAddress {host}
Port {port}
AddressFamily inet
HostKey "{host_key}"
PidFile "{pid_file}"
AuthorizedKeysFile "{authorized_keys}"
AllowUsers {username}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
UseDNS no
PermitTTY no
AllowTcpForwarding no
AllowAgentForwarding no
AllowStreamLocalForwarding no
X11Forwarding no
PermitTunnel no
LogLevel VERBOSE
Subsystem sftp internal-sftp
ForceCommand internal-sftp -d {root}
"""


@dataclass(frozen=True)
class SftpServer:
    """One sshd on loopback; `root` is the directory the SFTP user starts in."""

    host: str
    port: int
    username: str
    client_key: Path
    known_hosts: Path
    host_key_fingerprint: str
    root: Path
    log: Path

    def ssh_client(self, known_hosts: Path | None = None) -> paramiko.SSHClient:
        """A connected paramiko client that trusts only `known_hosts` (default: the pin)."""
        import paramiko

        client = paramiko.SSHClient()
        client.load_host_keys(str(known_hosts or self.known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(self.host, self.port, self.username, key_filename=str(self.client_key),
                           look_for_keys=False, allow_agent=False, timeout=CONNECT_TIMEOUT,
                           banner_timeout=CONNECT_TIMEOUT, auth_timeout=CONNECT_TIMEOUT)
        except BaseException:
            client.close()
            raise
        return client

    def sftp_batch(self, commands: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """OpenSSH's own `sftp -b -` with `commands` on stdin, run in `cwd`; not checked."""
        return subprocess.run(
            ["sftp", "-b", "-", "-F", "/dev/null", "-i", str(self.client_key),
             "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes",
             "-o", f"UserKnownHostsFile={self.known_hosts}",
             "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
             "-o", f"ConnectTimeout={int(CONNECT_TIMEOUT)}",
             "-P", str(self.port), f"{self.username}@{self.host}"],
            input=commands, capture_output=True, text=True, cwd=cwd, timeout=BATCH_TIMEOUT,
            check=False)


def _run(*args: str) -> str:
    """Run a setup tool; a failure carries its output."""
    done = subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}\n"
                           f"{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def generate_key(path: Path, comment: str) -> Path:
    """A fresh passphrase-less ed25519 key pair at `path` and `path`.pub, private part 0600."""
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
    path.chmod(0o600)
    return path


def pin(known_hosts: Path, port: int, public_key: Path) -> Path:
    """A known_hosts file pinning `public_key` for [127.0.0.1]:port, as ssh writes it."""
    key_type, blob = public_key.read_text().split()[:2]
    known_hosts.write_text(f"[{HOST}]:{port} {key_type} {blob}\n")
    return known_hosts


def _fingerprint(public_key: Path) -> str:
    """SHA256:... exactly as `ssh-keygen -l` prints it."""
    return _run("ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key)).split()[1]


def _openssh_version() -> tuple[int, int]:
    found = re.search(r"OpenSSH_(\d+)\.(\d+)", _run(str(SSHD), "-V"))
    return (int(found[1]), int(found[2])) if found else (0, 0)


def _check_tools() -> None:
    absent = [tool for tool in ("ssh-keygen", "sftp") if shutil.which(tool) is None]
    if not os.access(SSHD, os.X_OK):
        absent.append(str(SSHD))
    if absent:
        missing(f"OpenSSH is not installed (apt-get install openssh-server openssh-client): "
                f"{absent}")
    if importlib.util.find_spec("paramiko") is None:
        missing("paramiko is not installed (pip install paramiko)")


def _write_config(directory: Path, port: int, root: Path) -> Path:
    if any(c in str(directory) for c in ' "%\t\n'):  # ForceCommand splits on spaces, expands %
        raise RuntimeError(f"sshd_config cannot carry this temp dir: {directory!r}")
    text = SSHD_CONFIG.format(
        host=HOST, port=port, host_key=directory / "ssh_host_ed25519_key",
        pid_file=directory / "sshd.pid", authorized_keys=directory / "authorized_keys",
        username=getpass.getuser(), root=root)
    if _openssh_version() >= PENALTIES_SINCE:
        text += "PerSourcePenalties no\n"  # a test that drops a connection must not ban 127.0.0.1
    config = directory / "sshd_config"
    config.write_text(text)
    return config


def _privsep_dir() -> None:
    """sshd refuses to start as root without its privilege-separation directory."""
    if os.geteuid() == 0:
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)


def _prepare(directory: Path, port: int) -> tuple[Path, SftpServer]:
    """Keys, config and the pinned known_hosts; the config is checked with `sshd -t`."""
    root = directory / "root"
    root.mkdir()
    host_key = generate_key(directory / "ssh_host_ed25519_key", "hramba-test-host")
    client_key = generate_key(directory / "client_ed25519", "hramba-test-client")
    (directory / "authorized_keys").write_text((directory / "client_ed25519.pub").read_text())
    config = _write_config(directory, port, root)
    _privsep_dir()
    check = subprocess.run([str(SSHD), "-t", "-f", str(config)], capture_output=True,
                           text=True, check=False, timeout=60)
    if check.returncode != 0:
        raise RuntimeError(f"sshd -t rejected {config}:\n{check.stdout}{check.stderr}\n"
                           f"{config.read_text()}")
    public = host_key.with_name(host_key.name + ".pub")
    return config, SftpServer(
        host=HOST, port=port, username=getpass.getuser(), client_key=client_key,
        known_hosts=pin(directory / "known_hosts", port, public),
        host_key_fingerprint=_fingerprint(public), root=root, log=directory / "sshd.log")


def _logged_in(server: SftpServer) -> bool:
    """Ready means a pinned, authenticated SFTP session that can list `root`."""
    with server.ssh_client() as client, client.open_sftp() as sftp:
        sftp.listdir(".")
    return True


def _wait_ready(server: SftpServer, process: subprocess.Popen[bytes]) -> None:
    import paramiko

    try:
        wait_until(lambda: _logged_in(server), READY_TIMEOUT, "sshd", process, server.log)
    except paramiko.SSHException as exc:
        tail = server.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"sshd is up but refused a pinned SFTP login: {exc!r}\n{tail}") from exc


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """sshd serving SFTP on 127.0.0.1:<free port> for the whole session."""
    _check_tools()
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@contextmanager
def running_sshd(directory: Path) -> Iterator[SftpServer]:
    """sshd serving SFTP from `directory`/root until the block ends (also for `make bench`)."""
    config, server = _prepare(directory, free_port())
    started = time.monotonic()
    with server.log.open("wb") as out:
        process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=out,
                                   stderr=subprocess.STDOUT, cwd=directory)
    try:
        _wait_ready(server, process)
        (directory / "ready_seconds").write_text(f"{time.monotonic() - started:.3f}\n")
        yield server
    finally:
        stop(process)


@pytest.fixture
def wrong_host_key(sftp_server: SftpServer, tmp_path: Path) -> Path:
    """A known_hosts pinning a different, freshly generated key for the same [127.0.0.1]:PORT."""
    impostor = generate_key(tmp_path / "impostor_ed25519", "hramba-test-impostor")
    return pin(tmp_path / "wrong_known_hosts", sftp_server.port,
               impostor.with_name(impostor.name + ".pub"))
