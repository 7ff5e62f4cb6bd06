"""SFTP bulk migration against a real OpenSSH sshd: transfer, check, archive, reconcile."""

from __future__ import annotations

import csv
import hashlib
import random
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import NOW
from plugins.cli import Cli, clean_env
from plugins.sftp import SftpServer

from hramba.config import Settings
from hramba.core.errors import Conflict, IntegrityViolation
from hramba.core.types import FixedClock
from hramba.jobs.runs import run_now
from hramba.services.context import Archive
from hramba.services.corpus import invoice, ujp_package
from hramba.services.migrate import Remote, confirm, report, start_sftp, status
from hramba.services.purge import list_purges, staging_dir
from hramba.services.units import show_unit
from ingest.sftp import Endpoint

BUYER = ("Občina Primer", "SI21423512")


def export(server: SftpServer) -> tuple[str, Path]:
    """A previous provider's export under the server's root, and its manifest."""
    name = f"export-{uuid.uuid4().hex[:8]}"
    root = server.root / name
    files = {f"2024/package-{i}.zip": ujp_package(i, random.Random(i), BUYER)
             for i in range(1, 4)}
    files |= {f"2025/racun-{i}.xml": invoice(i, random.Random(i), BUYER, 5_000, 8_000)
              for i in range(10, 12)}
    files["scans/pogodba.pdf"] = b"%PDF-1.4 a contract scan\n"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "size", "sha256"])
        for rel, data in files.items():
            digest = hashlib.sha256(data).hexdigest()
            if rel == "scans/pogodba.pdf":
                digest = "0" * 64  # the provider's manifest disagrees: a mismatch
            writer.writerow([rel, len(data), digest])
        writer.writerow(["2023/lost.xml", 10, "1" * 64])  # listed, never exported
    return name, root


def remote(server: SftpServer, path: str, known_hosts: Path | None = None) -> Remote:
    return Remote(Endpoint(server.host, server.port, server.username, server.client_key,
                           known_hosts or server.known_hosts), path, "manifest.csv")


def test_migration_archives_checks_and_reconciles(archive: Archive,
                                                  sftp_server: SftpServer) -> None:
    path, _ = export(sftp_server)
    current = start_sftp(archive, "OBCINA1", remote(sftp_server, path), parallel=3)
    assert (current["expected"], current["archived"], current["mismatched"],
            current["missing"], current["quarantined"]) == (7, 5, 1, 1, 0)
    rows = {r["path"]: r for r in report(archive, current["id"])}
    assert rows["scans/pogodba.pdf"]["state"] == "mismatched"
    assert rows["2023/lost.xml"]["state"] == "missing"
    package = show_unit(archive, rows["2024/package-1.zip"]["unit_id"])
    assert package["format"] == "eslog20"
    assert [f["role"] for f in package["files"]][:4] == ["envelope", "invoice", "attachment",
                                                        "package"]
    again = start_sftp(archive, "OBCINA1", remote(sftp_server, path))
    assert (again["id"], again["archived"], again["duplicate"]) == (current["id"], 5, 0)
    with pytest.raises(Conflict, match="unresolved"):
        confirm(archive, current["id"])
    confirmed = confirm(archive, current["id"], accept_gaps="the provider lost 2023")
    assert datetime.fromisoformat(confirmed["purge_due_at"]) == datetime.fromisoformat(
        confirmed["confirmed_at"]) + timedelta(days=60)
    with pytest.raises(Conflict, match="confirmed already"):
        confirm(archive, current["id"], accept_gaps="again")


def test_documents_of_unknown_format_are_archived_as_other(archive: Archive,
                                                           sftp_server: SftpServer) -> None:
    path, root = export(sftp_server)
    (root / "manifest.csv").unlink()
    current = start_sftp(archive, "OBCINA1", Remote(remote(sftp_server, path).endpoint,
                                                     path))
    assert (current["archived"], current["mismatched"], current["missing"]) == (6, 0, 0)
    rows = {r["path"]: r for r in report(archive, current["id"])}
    scan = show_unit(archive, rows["scans/pogodba.pdf"]["unit_id"])
    assert (scan["format"], scan["files"][0]["role"]) == ("other", "document")
    assert status(archive, current["id"])["bytes"] > 0


def test_a_wrong_host_key_is_refused_before_anything_is_recorded(
        archive: Archive, sftp_server: SftpServer, wrong_host_key: Path) -> None:
    path, _ = export(sftp_server)
    with pytest.raises(IntegrityViolation, match="host key"):
        start_sftp(archive, "OBCINA1", remote(sftp_server, path, wrong_host_key))


def test_a_bagit_manifest_is_checked_too(archive: Archive, sftp_server: SftpServer) -> None:
    path, root = export(sftp_server)
    (root / "manifest.csv").unlink()
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  data/{p.relative_to(root)}"
             for p in sorted(root.rglob("*")) if p.is_file()]
    lines[0] = "f" * 64 + lines[0][64:]  # one file that changed on the way
    (root / "manifest-sha256.txt").write_text("\n".join(lines) + "\n")
    current = start_sftp(archive, "OBCINA1", Remote(remote(sftp_server, path).endpoint, path,
                                                     "manifest-sha256.txt"))
    assert (current["expected"], current["mismatched"], current["archived"]) == (6, 1, 5)


def test_the_retention_job_purges_staging_sixty_days_after_confirmation(
        archive: Archive, profile_settings: Settings, sftp_server: SftpServer,
        clock: FixedClock) -> None:
    path, root = export(sftp_server)
    migration = start_sftp(archive, "OBCINA1", remote(sftp_server, path))["id"]
    staging = staging_dir(archive, migration)
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    assert len(staged) == 6  # everything transferred; the missing file never came
    staged_bytes = sum(p.stat().st_size for p in staged)
    confirmed = confirm(archive, migration, accept_gaps="mismatch reported",
                        purge_remote=True)
    assert confirmed["purge_due_at"] == (NOW + timedelta(days=60)).isoformat()
    clock.at = NOW + timedelta(days=60) - timedelta(minutes=1)
    early = run_now(archive, profile_settings, "retention")
    assert (early.outcome, early.counts["staging areas purged"]) == ("ok", 0)
    assert staging.is_dir()
    assert (root / "2024" / "package-1.zip").is_file()
    clock.at = NOW + timedelta(days=60)
    run = run_now(archive, profile_settings, "retention")
    assert (run.outcome, run.counts["staging areas purged"]) == ("ok", 1)
    assert not staging.exists()
    assert status(archive, migration)["purged_at"] == clock.at.isoformat()
    [record] = list_purges(archive)
    assert (record["kind"], record["subject"], record["policy"]) == (
        "staging", f"migration {migration}", "migration-staging-60d@v1")
    assert record["counts"]["files"] == 6
    assert record["counts"]["bytes"] == staged_bytes
    # The provider's copies of what the archive holds are gone, with their folders; the
    # mismatched file and the manifest were never ours to delete.
    assert record["counts"]["remote files removed"] == 5
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "manifest.csv", "scans", "scans/pogodba.pdf"]
    assert run_now(archive, profile_settings, "retention").counts["staging areas purged"] == 0


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_the_command_exits_1_for_a_gap_and_migrate_ls_lists_it(
        archive: Archive, sftp_server: SftpServer) -> None:
    path, _ = export(sftp_server)
    archive.close()
    cli = Cli(archive.home, clean_env())
    started = cli("migrate", "sftp", "start", "--tenant", "OBCINA1", "--host",
                  sftp_server.host, "--port", str(sftp_server.port), "--user",
                  sftp_server.username, "--key", str(sftp_server.client_key),
                  "--known-hosts", str(sftp_server.known_hosts), "--remote-path", path,
                  "--manifest", "manifest.csv", "--json", check=False)
    assert started.code == 1, started.err
    assert (started.json()["mismatched"], started.json()["missing"]) == (1, 1)
    (listed,) = cli("migrate", "ls").out.splitlines()
    assert listed.split()[:6] == [str(started.json()["id"]), "OBCINA1", "5", "archived", "2",
                                  "problems"]
    assert "awaiting confirmation" in listed
    assert cli("migrate", "ls", "--json").json()[0]["id"] == started.json()["id"]
