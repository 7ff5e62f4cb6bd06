"""S3 versions over a locked key (issue #16): reads and fixity use the recorded version.

Under Object Lock COMPLIANCE a new version or a delete marker over a locked object is
allowed; before the archive recorded versions, `get` then failed (another version's bytes,
or none) and fixity reported the object changed or missing. Now the recorded bytes are
still read, and fixity names what lies over them (HRB-F006). On the real SeaweedFS.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hramba.core.types import ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import Evidence
from hramba.domain.access import Action
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.evidence import verify_unit
from hramba.services.fixity import run_fixity
from hramba.services.seal import seal
from hramba.services.units import get_unit, load_unit, read_file
from storage.s3 import S3ObjectStore

from . import tamper

pytestmark = pytest.mark.parametrize("profile_settings", ["postgres-s3"], indirect=True)

INVOICE = b"<Invoice>" + b"x" * 200 + b"</Invoice>"
ATTACHMENT = b"%PDF-1.4 " + b"a" * 100


def archived(archive: Archive) -> tuple[str, list[tuple[ObjectKey, str | None]]]:
    unit_id = archive_unit(archive, "OBCINA1", [
        IncomingFile("racun.xml", "invoice", "application/xml", lambda: io.BytesIO(INVOICE)),
        IncomingFile("Priloga.pdf", "attachment", "application/pdf",
                     lambda: io.BytesIO(ATTACHMENT))]).unit_id
    files = load_unit(archive, unit_id, Action.READ).files
    return unit_id, [(ObjectKey(f.object_key), f.object_version) for f in files]


def s3(archive: Archive, key: ObjectKey) -> S3ObjectStore:
    store = tamper._adapter(archive.store, key)
    assert isinstance(store, S3ObjectStore)
    return store


def test_every_object_is_recorded_with_its_version(archive: Archive) -> None:
    _, files = archived(archive)
    assert len(files) == 3  # and the manifest
    for key, version in files:
        assert version is not None
        assert archive.store.stat(key).version == version


def test_a_new_version_and_a_delete_marker_are_found_and_reads_keep_the_recorded_bytes(
        archive: Archive, tmp_path: Path) -> None:
    unit_id, [(invoice, _), (attachment, _), _] = archived(archive)
    s3(archive, invoice).client.put_object(s3(archive, invoice).bucket, invoice,
                                           io.BytesIO(b"<Invoice>forged</Invoice>"), 25)
    s3(archive, attachment).client.remove_object(s3(archive, attachment).bucket, attachment)

    _, chunks = read_file(archive, unit_id, 0)
    assert b"".join(chunks) == INVOICE
    out = get_unit(archive, unit_id, tmp_path / "out")
    assert [p.read_bytes() for p in out][:2] == [INVOICE, ATTACHMENT]

    report = run_fixity(archive)
    assert {(f.code, f.subject) for f in report.findings} == {
        ("HRB-F006", invoice), ("HRB-F006", attachment)}
    details = {f.subject: f.detail for f in report.findings}
    assert details[attachment].startswith("a delete marker is current")
    assert details[invoice].startswith("version ")


def test_sealed_evidence_is_recorded_and_verified_by_its_version(archive: Archive) -> None:
    unit_id, [(invoice, _), *_] = archived(archive)
    assert seal(archive).sealed == 1
    with transaction(archive.db) as session:
        record = session.query(Evidence).filter_by(unit_id=unit_id).one()
        evidence_key, version = ObjectKey(record.object_key), record.object_version
    assert version is not None
    assert archive.store.stat(evidence_key).version == version
    s3(archive, invoice).client.put_object(s3(archive, invoice).bucket, invoice,
                                           io.BytesIO(b"<Invoice>forged</Invoice>"), 25)
    s3(archive, evidence_key).client.remove_object(s3(archive, evidence_key).bucket,
                                                   evidence_key)
    assert verify_unit(archive, unit_id).passed
    assert {f.subject for f in run_fixity(archive).findings} == {invoice, evidence_key}
