"""Certificates as documents: the destruction certificate as a signed zapisnik and popis,
and the staging purge's certificate, each a PDF that pyhanko validates, that reads back
with pdftotext, and that carries its JSON."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from plugins.services import missing
from plugins.sftp import SftpServer
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from sqlalchemy import select, update

from hramba.config import Settings
from hramba.core.errors import ConfigurationError, RejectedInput, ServiceUnavailable
from hramba.core.types import FixedClock, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Purge
from hramba.jobs.runs import run_now
from hramba.ports import ObjectStore
from hramba.services import disposal
from hramba.services.context import Archive
from hramba.services.migrate import confirm, report, stage_and_import
from hramba.services.purge import staging_certificate
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, TenantChange, add_tenant, update_tenant
from hramba.trust.certs import load_certificates
from hramba.trust.devsigning import DevSigningFiles
from storage.keys import disposal_pdf_key

from .principals import APPROVER, approve
from .signing import sign_with_a_new_key
from .test_migrate import export, remote
from .test_retention import archive_invoice, object_keys

DUE = datetime(2037, 1, 2, 9, tzinfo=UTC)  # ten years after the invoices of 2026
LOCAL = pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfdetach")):
        missing("poppler-utils (pdftotext, pdftoppm, pdfdetach) is not installed")


def disposed(archive: Archive, clock: FixedClock, units: int = 3) -> tuple[int, list[str]]:
    """Units of 2026, sealed, then disposed of ten years on; the disposal's id."""
    ids = [archive_invoice(archive, "2026-02-01", n) for n in range(units)]
    seal(archive)
    clock.at = DUE
    proposal = disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2036/7")
    approve(archive, proposal["id"])
    disposal.execute(archive, proposal["id"])
    return proposal["id"], ids


@LOCAL  # the local store follows the clock; S3 keeps real time and refuses (see retention)
def test_a_disposal_leaves_a_signed_zapisnik_that_carries_its_certificate(
        poppler: None, archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    disposal_id, units = disposed(archive, clock)
    unsealed = disposal.certificate_files(archive, disposal_id, tmp_path / "first")
    assert [p.suffix for p in unsealed] == [".json", ".pdf"]
    assert seal(archive).certificates == 1
    certificate, record, pdf = disposal.certificate_files(archive, disposal_id,
                                                          tmp_path / "sealed")
    assert record.suffix == ".ers"
    shown = disposal.show(archive, disposal_id)
    assert shown["certificate_pdf_sha256"] == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert pdf.read_bytes() == unsealed[1].read_bytes()  # one zapisnik, whenever read
    assert attached(pdf, tmp_path / "attached") == {certificate.name: certificate.read_bytes()}

    body = json.loads(certificate.read_bytes())
    assert body["creator"] == {"code": "OBCINA1", "name": "Občina Primer",
                               "tax_number": "SI21423512",
                               "address": "Trg svobode 1, 1000 Ljubljana",
                               "responsible": "Ana Župan"}
    text = pdftotext(pdf)
    for expected in (f"Zapisnik o uničenju dokumentarnega gradiva št. {disposal_id}",
                     "Občina Primer", "SI21423512", "Trg svobode 1, 1000 Ljubljana",
                     "Ana Župan", "NAVODILO-2036/7", f"{archive.actor}, 2037-01-02 09:00:00",
                     f"{APPROVER.login}, 2037-01-02 09:00:00", "Datum uničenja:",
                     "Uničenih enot: 3", "Neuničeno Nič.", archive.name,
                     hashlib.sha256(certificate.read_bytes()).hexdigest()):
        assert expected in text, expected
    for unit in body["disposed"]:
        assert f"{unit['unit_id']} {unit['document']['invoice_number']} 2026-02-01" in text
        assert unit["content_sha256"][:32] in text  # a digest wraps onto two lines
    assert sorted(u["unit_id"] for u in body["disposed"]) == sorted(units)

    validate(pdf, archive, at=DUE)
    (executed,) = events(archive, "disposal.executed")
    assert executed["certificate_pdf_sha256"] == shown["certificate_pdf_sha256"]
    assert len(events(archive, "disposal.certificate_read")) == 2
    look(pdf, "certificate-disposal")


class StoredThenLost:
    """The archive's store, whose answer to the put of a PDF is lost after it stored it."""

    def __init__(self, store: ObjectStore) -> None:
        self.inner, self.lost = store, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, key: ObjectKey, *args: Any, **kwargs: Any) -> Any:
        stored = self.inner.put(key, *args, **kwargs)
        if key.endswith(".pdf") and not self.lost:
            self.lost += 1
            raise ServiceUnavailable(f"put {key}: connection reset")
        return stored


@LOCAL
def test_a_run_that_stopped_after_storing_the_zapisnik_records_that_one(
        archive: Archive, clock: FixedClock) -> None:
    store = archive.store
    archive.store = StoredThenLost(store)  # type: ignore[assignment]
    with pytest.raises(ServiceUnavailable):
        disposed(archive, clock)
    (proposal,) = disposal.list_disposals(archive)
    assert proposal["status"] == "approved"
    assert proposal["certificate_pdf_sha256"] is None
    key = disposal_pdf_key("OBCINA1", proposal["id"])
    first = store.stat(key).sha256
    done = disposal.execute(archive, proposal["id"])
    assert done["status"] == "executed"
    assert first is not None
    assert done["certificate_pdf_sha256"] == first.hex
    assert len(events(archive, "disposal.executed")) == 1


@LOCAL
def test_a_signing_key_expired_stops_a_disposal_before_anything_is_destroyed(
        archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    sign_with_a_new_key(archive, days=365)  # expired by the time the invoices are due
    units = [archive_invoice(archive, "2026-02-01", n) for n in range(2)]
    seal(archive)
    clock.at = DUE
    proposal = disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2036/7")
    approve(archive, proposal["id"])
    with pytest.raises(ConfigurationError, match="expired"):
        disposal.execute(archive, proposal["id"])
    assert all(archive.store.exists(k) for u in units for k in object_keys(archive, u))
    assert {u["state"] for u in disposal.show(archive, proposal["id"])["units"]} == {"listed"}
    ca = sign_with_a_new_key(archive)  # the operator puts a current key in place
    assert disposal.execute(archive, proposal["id"])["status"] == "executed"
    *_, pdf = disposal.certificate_files(archive, proposal["id"], tmp_path)
    validate(pdf, archive, at=DUE, signing_ca=ca)


def test_a_proposal_needs_the_creators_address_and_responsible_person(
        archive: Archive) -> None:
    add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Občina Druga"))
    with pytest.raises(RejectedInput, match=r"OBCINA2 has no address or responsible person"
                                            r".*tenant update OBCINA2"):
        disposal.propose(archive, "OBCINA2", instruction="NAVODILO-2036/7")
    with pytest.raises(RejectedInput, match="blank"):
        update_tenant(archive, "OBCINA2", TenantChange(address="  "))
    update_tenant(archive, "OBCINA2", TenantChange(address="Glavni trg 2, 2000 Maribor"))
    with pytest.raises(RejectedInput, match="has no responsible person recorded"):
        disposal.propose(archive, "OBCINA2", instruction="NAVODILO-2036/7")
    changed = update_tenant(archive, "OBCINA2", TenantChange(responsible="Bojan Drugi"))
    assert (changed.address, changed.responsible) == ("Glavni trg 2, 2000 Maribor",
                                                      "Bojan Drugi")


def test_a_staging_purge_leaves_a_signed_certificate_of_every_file(
        poppler: None, archive: Archive, profile_settings: Settings, clock: FixedClock,
        sftp_server: SftpServer, tmp_path: Path) -> None:
    path, _ = export(sftp_server)
    migration = stage_and_import(archive, "OBCINA1", remote(sftp_server, path))["id"]
    confirm(archive, migration, accept_gaps="mismatch reported",
            written_word="dopis 2026-03-05, št. 35/2026")
    clock.at += timedelta(days=60)
    run = run_now(archive, profile_settings, "retention")
    assert run.counts["staging purges certified"] == 1
    pdf = staging_certificate(archive, migration, tmp_path / "out")
    (name, data), = attached(pdf, tmp_path / "attached").items()
    assert name == f"migration-{migration}-staging-purge.json"
    body = json.loads(data)
    rows = report(archive, migration)
    assert [(f["path"], f["state"], f["sha256"], f["unit_id"]) for f in body["files"]] == [
        (r["path"], r["state"], r["sha256"], r["unit_id"]) for r in rows]
    assert body["files_by_state"] == {"archived": 5, "mismatched": 1, "missing": 1}
    text = pdftotext(pdf)
    for expected in (f"Zapisnik o izbrisu začasnega prostora migracije št. {migration}",
                     "Občina Primer", "Ana Župan", "mismatch reported",
                     "migration-staging-60d@v2", "2023/lost.xml", "manjka",
                     "pisna potrditev: dopis 2026-03-05, št. 35/2026",
                     "v enem koraku, brez potrditve", "po poteku roka po uvozu",
                     "se ne ujema s seznamom", "scans/pogodba.pdf",
                     f"{archive.actor}, {clock.at - timedelta(days=60):%Y-%m-%d %H:%M:%S}",
                     body["record_sha256"]):
        assert expected in text, expected
    validate(pdf, archive, at=clock.now())
    look(pdf, "certificate-staging")
    # A run that stopped before recording the certificate: the next records the one stored.
    with transaction(archive.db) as session:
        session.execute(update(Purge).values(certificate_key=None, certificate_sha256=None))
    again = run_now(archive, profile_settings, "retention")
    assert again.counts["staging purges certified"] == 1
    again_pdf = staging_certificate(archive, migration, tmp_path / "again")
    assert again_pdf.read_bytes() == pdf.read_bytes()
    assert len(events(archive, "staging.certified")) == 2
    assert len(events(archive, "staging.certificate_read")) == 2


def attached(pdf: Path, folder: Path) -> dict[str, bytes]:
    """The files embedded in `pdf`, by name (poppler's pdfdetach)."""
    folder.mkdir()
    subprocess.run(["pdfdetach", "-saveall", "-o", str(folder), str(pdf)], check=True,
                   capture_output=True)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def validate(pdf: Path, archive: Archive, at: datetime, signing_ca: Path | None = None) -> None:
    """The signature intact, valid and trusted, and the document timestamp valid, from the
    validation data embedded in the PDF alone (no fetching)."""
    anchors = [*load_certificates(signing_ca or DevSigningFiles(archive.home / "signing").ca,
                                  "signing CA"),
               *load_certificates(archive.home / "tsa" / "dev-ca.pem", "TSA CA")]
    reader = PdfFileReader(BytesIO(pdf.read_bytes()))
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {"trust_roots": anchors, "allow_fetching": False, "revocation_mode": "hard-fail",
         "moment": at})
    (signature,) = reader.embedded_regular_signatures
    status = validate_pdf_signature(signature, context, ts_validation_context=context)
    for holds in (status.intact, status.valid, status.trusted):
        assert holds, status.pretty_print_details()
    (document_timestamp,) = reader.embedded_timestamp_signatures
    assert validate_pdf_timestamp(document_timestamp, validation_context=context).valid


def events(archive: Archive, action: str) -> list[dict[str, Any]]:
    """The details of every event of `action`, in order."""
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)))


def pdftotext(pdf: Path) -> str:
    """The text, whitespace collapsed (pdftotext -raw keeps the reading order)."""
    return " ".join(subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True,
                                   capture_output=True, text=True).stdout.split())


def look(pdf: Path, name: str) -> None:
    """Page 1 as a PNG in /tmp, for the developer to look at."""
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), f"/tmp/{name}"], check=True)
