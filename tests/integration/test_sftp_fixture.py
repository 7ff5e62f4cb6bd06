"""The SFTP fixture (tests/plugins/sftp.py) is a real OpenSSH sshd on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import paramiko
import pytest
from plugins.sftp import SftpServer

pytestmark = pytest.mark.sftp

# Bound here until tests/conftest.py lists "plugins.sftp" in pytest_plugins; then drop these.

BIG = 20 * 1024 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_pinned_client_lists_and_reads_an_export(sftp_server: SftpServer) -> None:
    export = sftp_server.root / "export-list"
    export.mkdir()
    (export / "racun-0001.xml").write_bytes(b"<Invoice>1</Invoice>")
    with sftp_server.ssh_client() as client, client.open_sftp() as sftp:
        assert sftp.listdir("export-list") == ["racun-0001.xml"]
        with sftp.open("export-list/racun-0001.xml", "rb") as remote:
            assert remote.read() == b"<Invoice>1</Invoice>"
        assert sftp.normalize(".") == str(sftp_server.root)


def test_server_presents_the_pinned_host_key(sftp_server: SftpServer) -> None:
    assert sftp_server.host == "127.0.0.1"
    with sftp_server.ssh_client() as client:
        transport = client.get_transport()
        assert transport is not None
        assert transport.getpeername()[0] == "127.0.0.1"
        key = transport.get_remote_server_key()
    assert key.get_name() == "ssh-ed25519"
    assert key.fingerprint == sftp_server.host_key_fingerprint
    pinned = paramiko.HostKeys(str(sftp_server.known_hosts))
    assert pinned.lookup(f"[127.0.0.1]:{sftp_server.port}") == {"ssh-ed25519": key}


def test_key_files(sftp_server: SftpServer) -> None:
    assert sftp_server.client_key.stat().st_mode & 0o777 == 0o600
    assert isinstance(paramiko.Ed25519Key.from_private_key_file(str(sftp_server.client_key)),
                      paramiko.Ed25519Key)
    assert sftp_server.host_key_fingerprint.startswith("SHA256:")


def test_wrong_host_key_is_refused(sftp_server: SftpServer, wrong_host_key: Path) -> None:
    with pytest.raises(paramiko.BadHostKeyException):
        sftp_server.ssh_client(known_hosts=wrong_host_key)


def test_unknown_host_is_refused(sftp_server: SftpServer, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        sftp_server.ssh_client(known_hosts=empty)


def test_openssh_sftp_refuses_wrong_host_key(sftp_server: SftpServer, wrong_host_key: Path,
                                             tmp_path: Path) -> None:
    impostor = SftpServer(**{**vars(sftp_server), "known_hosts": wrong_host_key})
    done = impostor.sftp_batch("ls\n", tmp_path)
    assert done.returncode != 0
    assert "HOST IDENTIFICATION HAS CHANGED" in done.stderr


def test_sftp_batch_gets_a_file(sftp_server: SftpServer, tmp_path: Path) -> None:
    (sftp_server.root / "batch-get.txt").write_text("from the previous provider\n")
    local = tmp_path / "downloads"
    local.mkdir()
    done = sftp_server.sftp_batch("get batch-get.txt\n", local)
    assert done.returncode == 0, done.stderr
    assert (local / "batch-get.txt").read_text() == "from the previous provider\n"


def test_upload_appears_under_root(sftp_server: SftpServer, tmp_path: Path) -> None:
    source = tmp_path / "upload.bin"
    source.write_bytes(b"uploaded via paramiko")
    with sftp_server.ssh_client() as client, client.open_sftp() as sftp:
        sftp.mkdir("inbox-upload")
        sftp.put(str(source), "inbox-upload/upload.bin")
    assert (sftp_server.root / "inbox-upload" / "upload.bin").read_bytes() == (
        b"uploaded via paramiko")


@pytest.mark.slow
def test_20_mb_round_trip(sftp_server: SftpServer, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(BIG))
    back = tmp_path / "big.back"
    with sftp_server.ssh_client() as client, client.open_sftp() as sftp:
        assert sftp.put(str(source), "big.bin").st_size == BIG
        sftp.get("big.bin", str(back))
    assert _sha256(sftp_server.root / "big.bin") == _sha256(source)
    assert _sha256(back) == _sha256(source)
    local = tmp_path / "openssh"
    local.mkdir()
    done = sftp_server.sftp_batch("get big.bin\n", local)
    assert done.returncode == 0, done.stderr
    assert _sha256(local / "big.bin") == _sha256(source)
