"""The provider hand-over against a real OpenSSH sshd (and a folder, for another medium):
stage and check, confirm, import, reconcile, remind, purge."""

from __future__ import annotations

import csv
import hashlib
import random
import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import NOW
from plugins.cli import Cli, clean_env
from plugins.sftp import SftpServer
from plugins.smtp import SmtpServer

from hramba.config import Settings, load_settings
from hramba.core.errors import (
    Conflict,
    IntegrityViolation,
    NotFound,
    NotPermitted,
    RejectedInput,
)
from hramba.core.types import FixedClock
from hramba.domain.access import Role
from hramba.jobs.runs import run_now
from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.corpus import invoice, ujp_package
from hramba.services.migrate import (
    Medium,
    Remote,
    confirm,
    import_staged,
    report,
    stage,
    stage_and_import,
    status,
)
from hramba.services.purge import list_purges, staging_dir
from hramba.services.tenants import TenantChange, update_tenant
from hramba.services.units import list_units, show_unit
from hramba.wiring import build_mailer
from ingest.sftp import Endpoint

from .principals import acting_as
from .test_permissions import sign_in

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
    current = stage_and_import(archive, "OBCINA1", remote(sftp_server, path), parallel=3)
    assert (current["expected"], current["archived"], current["mismatched"],
            current["missing"], current["quarantined"]) == (7, 5, 1, 1, 0)
    assert (current["step"], current["one_step"], current["imported_by"]) == (
        "imported (one step)", True, archive.actor)
    rows = {r["path"]: r for r in report(archive, current["id"])}
    assert rows["scans/pogodba.pdf"]["state"] == "mismatched"
    assert rows["2023/lost.xml"]["state"] == "missing"
    package = show_unit(archive, rows["2024/package-1.zip"]["unit_id"])
    assert package["format"] == "eslog20"
    assert [f["role"] for f in package["files"]][:4] == ["envelope", "invoice", "attachment",
                                                        "package"]
    again = stage_and_import(archive, "OBCINA1", remote(sftp_server, path))
    assert (again["id"], again["archived"], again["duplicate"]) == (current["id"], 5, 0)
    with pytest.raises(Conflict, match="mismatched or missing"):
        confirm(archive, current["id"])
    with pytest.raises(RejectedInput, match="written word"):
        confirm(archive, current["id"], accept_gaps="the provider lost 2023")
    confirmed = confirm(archive, current["id"], accept_gaps="the provider lost 2023",
                        written_word="letter 2026-12-01")
    # The purge counts from the import, not from the later confirmation.
    assert datetime.fromisoformat(confirmed["purge_due_at"]) == datetime.fromisoformat(
        confirmed["imported_at"]) + timedelta(days=60)
    with pytest.raises(Conflict, match="confirmed already"):
        confirm(archive, current["id"], accept_gaps="again", written_word="again")


def test_the_hand_over_stages_then_the_budget_user_confirms_then_one_import(
        archive: Archive, sftp_server: SftpServer, clock: FixedClock,
        smtp: SmtpServer) -> None:
    archive.mailer = build_mailer(load_settings(environ=smtp.env).notify)
    update_tenant(archive, "OBCINA1", TenantChange(contact="racuni@obcina-primer.si"))
    path, root = export(sftp_server)
    (root / "2025" / "racun-12.xml").write_bytes(invoice(12, random.Random(12), BUYER,
                                                         5_000, 8_000))
    rewrite_with_receipt_dates(root, {"2025/racun-12.xml": "2025-03-04T10:11:12+01:00"})
    staged = stage(archive, "OBCINA1", remote(sftp_server, path))
    assert (staged["step"], staged["transferred"], staged["staged"], staged["archived"]) == (
        "awaiting confirmation", 7, 6, 0)
    assert staged["purge_policy"] == "migration-unimported-90d@v1"
    assert staged["purge_due_at"] == (NOW + timedelta(days=90)).isoformat()
    assert list_units(archive, "OBCINA1") == []  # staging archives nothing
    with pytest.raises(Conflict, match="awaits the budget user's confirmation"):
        import_staged(archive, staged["id"])
    budget_user = sign_in(archive, "bu-migrate", Role.BUDGET_USER, tenants=("OBCINA1",))
    with acting_as(archive, budget_user):
        with pytest.raises(NotPermitted):
            import_staged(archive, staged["id"])  # importing is an archivist's
        confirmed = confirm(archive, staged["id"], accept_gaps="the provider lost 2023")
    assert (confirmed["step"], confirmed["confirmed_by"], confirmed["written_word"]) == (
        "confirmed, to import", "bu-migrate", None)
    assert stage(archive, "OBCINA1", remote(sftp_server, path))["transferred"] == 7  # as it was
    tampered = staging_dir(archive, staged["id"]) / "2025" / "racun-11.xml"
    tampered.write_bytes(tampered.read_bytes().replace(b"</Invoice>", b"<!-- x --></Invoice>"))
    clock.at = NOW + timedelta(days=3)
    imported = import_staged(archive, staged["id"])
    assert (imported["step"], imported["archived"], imported["mismatched"],
            imported["one_step"]) == ("imported", 5, 2, False)
    assert imported["purge_policy"] == "migration-staging-60d@v2"
    assert imported["purge_due_at"] == (clock.at + timedelta(days=60)).isoformat()
    with pytest.raises(Conflict, match="imported"):
        import_staged(archive, staged["id"])
    rows = {r["path"]: r for r in report(archive, staged["id"])}
    assert rows["2025/racun-11.xml"]["detail"].startswith("changed in staging since it was")
    kept = show_unit(archive, rows["2025/racun-12.xml"]["unit_id"])
    assert kept["metadata"]["provider_received_at"] == "2025-03-04T10:11:12+01:00"
    assert "provider_received_at" not in show_unit(
        archive, rows["2025/racun-10.xml"]["unit_id"])["metadata"]
    events = [e.action for e in list_events(archive, EventCriteria(
        tenant="OBCINA1", limit=1000)).events if e.subject == f"migration {staged['id']}"]
    assert [e for e in events if e.startswith("migration.")] == [
        "migration.started", "migration.staged", "migration.confirmed", "migration.imported"]
    # Each step told the budget user, at its contact address, in Slovenian.
    told = smtp.messages()
    assert [m["To"] for m in told] == ["racuni@obcina-primer.si"] * 3
    assert [m["Subject"].split(": ", 1)[1].split(" (")[0] for m in told] == [
        "izvoz prejšnjega ponudnika je pripravljen za pregled",
        "potrjen izvoz prejšnjega ponudnika",
        "izvoz prejšnjega ponudnika je uvožen v arhiv"]
    staged_text = told[0].get_content()
    assert "Preneseno in preverjeno: 7 datotek" not in staged_text  # 6 checked, 1 differs
    assert "Preneseno in preverjeno: 6 datotek; se ne ujema s seznamom: 1; manjka: 1" in (
        staged_text)
    assert f"izbrisan {(clock.at + timedelta(days=60)):%Y-%m-%d}" in told[2].get_content()
    assert [e.action for e in list_events(archive, EventCriteria(
        tenant="OBCINA1", limit=1000)).events].count("notification.sent") == 3


def rewrite_with_receipt_dates(root: Path, dates: dict[str, str]) -> None:
    """The export's manifest again, with a received_at column (and every file in it)."""
    with (root / "manifest.csv").open(newline="") as f:
        old = {r["path"]: r for r in csv.DictReader(f)}
    with (root / "manifest.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "size", "sha256", "received_at"])
        for p in sorted(p for p in root.rglob("*") if p.is_file() and p.name != "manifest.csv"):
            rel, data = str(p.relative_to(root)), p.read_bytes()
            digest = old[rel]["sha256"] if rel in old else hashlib.sha256(data).hexdigest()
            writer.writerow([rel, len(data), digest, dates.get(rel, "")])
        writer.writerow(["2023/lost.xml", 10, "1" * 64, ""])


def test_a_manifest_line_that_cannot_be_read_stops_the_stage_naming_it(
        archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "usb"
    folder.mkdir()
    (folder / "a.xml").write_bytes(b"<x/>")
    (tmp_path / "manifest.csv").write_text("path,size,sha256,received_at\n"
                                           f"a.xml,4,{'a' * 64},yesterday\n")
    with pytest.raises(RejectedInput, match=r"manifest\.csv, line 2: received_at 'yesterday'"):
        stage(archive, "OBCINA1", Medium(folder, tmp_path / "manifest.csv"))
    with pytest.raises(NotFound, match="does not exist"):
        stage(archive, "OBCINA1", Medium(tmp_path / "nothere"))


def test_an_export_on_another_medium_gets_the_same_checks_records_and_purge(
        archive: Archive, sftp_server: SftpServer, tmp_path: Path) -> None:
    _, root = export(sftp_server)
    usb = tmp_path / "usb"
    shutil.copytree(root, usb)
    (usb / "2025" / "link.xml").symlink_to(usb / "2025" / "racun-10.xml")
    staged = stage(archive, "OBCINA1", Medium(usb, usb / "manifest.csv"))
    assert (staged["expected"], staged["staged"], staged["mismatched"],
            staged["missing"]) == (8, 5, 2, 1)
    assert staged["remote"] == f"dir:{usb}"
    rows = {r["path"]: r for r in report(archive, staged["id"])}
    assert rows["2025/link.xml"]["detail"].startswith("not a regular file")
    with pytest.raises(RejectedInput, match="another medium"):
        confirm(archive, staged["id"], accept_gaps="a link", purge_remote=True,
                written_word="letter")
    imported = stage_and_import(archive, "OBCINA1", Medium(usb, usb / "manifest.csv"))
    assert (imported["id"], imported["archived"], imported["step"]) == (
        staged["id"], 5, "imported (one step)")


def test_documents_of_unknown_format_are_archived_as_other(archive: Archive,
                                                           sftp_server: SftpServer) -> None:
    path, root = export(sftp_server)
    (root / "manifest.csv").unlink()
    current = stage_and_import(archive, "OBCINA1", Remote(remote(sftp_server, path).endpoint,
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
        stage_and_import(archive, "OBCINA1", remote(sftp_server, path, wrong_host_key))


def test_a_bagit_manifest_is_checked_too(archive: Archive, sftp_server: SftpServer) -> None:
    path, root = export(sftp_server)
    (root / "manifest.csv").unlink()
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  data/{p.relative_to(root)}"
             for p in sorted(root.rglob("*")) if p.is_file()]
    lines[0] = "f" * 64 + lines[0][64:]  # one file that changed on the way
    (root / "manifest-sha256.txt").write_text("\n".join(lines) + "\n")
    current = stage_and_import(archive, "OBCINA1", Remote(remote(sftp_server, path).endpoint, path,
                                                     "manifest-sha256.txt"))
    assert (current["expected"], current["mismatched"], current["archived"]) == (6, 1, 5)


def test_the_retention_job_purges_staging_sixty_days_after_the_import(
        archive: Archive, profile_settings: Settings, sftp_server: SftpServer,
        clock: FixedClock) -> None:
    path, root = export(sftp_server)
    migration = stage_and_import(archive, "OBCINA1", remote(sftp_server, path))["id"]
    staging = staging_dir(archive, migration)
    staged = sorted(p for p in staging.rglob("*") if p.is_file())
    assert len(staged) == 6  # everything transferred; the missing file never came
    staged_bytes = sum(p.stat().st_size for p in staged)
    clock.at = NOW + timedelta(days=10)  # the confirmation changes nothing of the purge
    confirmed = confirm(archive, migration, accept_gaps="mismatch reported",
                        purge_remote=True, written_word="e-mail of 2026-01-10")
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
        "staging", f"migration {migration}", "migration-staging-60d@v2")
    assert record["counts"]["files"] == 6
    assert record["counts"]["bytes"] == staged_bytes
    # The provider's copies of what the archive holds are gone, with their folders; the
    # mismatched file and the manifest were never ours to delete.
    assert record["counts"]["remote files removed"] == 5
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == [
        "manifest.csv", "scans", "scans/pogodba.pdf"]
    assert run_now(archive, profile_settings, "retention").counts["staging areas purged"] == 0


def test_an_export_never_imported_is_reminded_daily_and_purged_by_its_own_policy(
        archive: Archive, profile_settings: Settings, sftp_server: SftpServer,
        clock: FixedClock) -> None:
    path, _ = export(sftp_server)
    migration = stage(archive, "OBCINA1", remote(sftp_server, path))["id"]
    staging = staging_dir(archive, migration)
    first = run_now(archive, profile_settings, "retention")
    assert (first.counts["unconfirmed staging areas"], first.counts["reminders"]) == (1, 1)
    # No contact address: the reminder waits for one (tenant update --contact), kept.
    assert first.counts["notifications failed"] >= 1
    assert run_now(archive, profile_settings, "retention").counts["reminders"] == 0  # one a day
    clock.at = NOW + timedelta(days=1)
    assert run_now(archive, profile_settings, "retention").counts["reminders"] == 1
    clock.at = NOW + timedelta(days=90) - timedelta(minutes=1)
    assert run_now(archive, profile_settings, "retention").counts["staging areas purged"] == 0
    clock.at = NOW + timedelta(days=90)
    run = run_now(archive, profile_settings, "retention")
    assert (run.counts["staging areas purged"], run.counts["staging purges certified"]) == (
        1, 1)
    assert not staging.exists()
    assert status(archive, migration)["step"] == "purged"
    [record] = list_purges(archive)
    assert record["policy"] == "migration-unimported-90d@v1"
    assert run_now(archive, profile_settings, "retention").counts[
        "unconfirmed staging areas"] == 0
    with pytest.raises(Conflict, match="purged"):
        import_staged(archive, migration, one_step=True)


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
    assert listed.split()[:8] == [str(started.json()["id"]), "OBCINA1", "6", "transferred", "5",
                                  "archived", "2", "problems"]
    assert "imported (one step)" in listed
    assert cli("migrate", "ls", "--json").json()[0]["id"] == started.json()["id"]
