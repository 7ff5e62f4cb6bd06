"""Fixity finds every changed, missing and orphan object in one pass, on both stores."""

from __future__ import annotations

import io

from hramba.core.types import ObjectKey
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.fixity import run_fixity
from hramba.services.units import show_unit

from . import tamper


def archive_three(archive: Archive) -> list[ObjectKey]:
    keys = []
    for n in range(3):
        data = f"<Invoice n='{n}'>{'x' * 200}</Invoice>".encode()
        unit_id = archive_unit(archive, "OBCINA1", [IncomingFile(
            f"racun{n}.xml", "invoice", "application/xml", lambda d=data: io.BytesIO(d))]).unit_id
        keys.append(ObjectKey(show_unit(archive, unit_id)["files"][0]["object_key"]))
    return keys


def test_clean_archive_passes(archive: Archive) -> None:
    archive_three(archive)
    report = run_fixity(archive)
    assert report.ok, report.as_dict()
    assert report.counts["objects checked"] == 6


def test_flipped_deleted_and_added_objects_are_each_named(archive: Archive) -> None:
    changed, missing, _ = archive_three(archive)
    orphan = ObjectKey("units/OBCINA1/" + "f" * 32 + "/files/stray.xml")
    tamper.flip_byte(archive.store, changed)
    tamper.remove(archive.store, missing)
    tamper.add(archive.store, orphan, b"<stray/>")
    report = run_fixity(archive)
    assert not report.ok
    found = {(f.code, f.subject) for f in report.findings}
    assert found == {(tamper.changed_code(archive.store, changed), changed),
                     (tamper.removed_code(archive.store, missing), missing),
                     ("HRB-F003", orphan)}


def test_fixity_of_one_tenant_ignores_the_others(archive: Archive) -> None:
    archive_three(archive)
    tamper.add(archive.store, ObjectKey("units/OTHER/" + "e" * 32 + "/files/x.xml"), b"x")
    assert run_fixity(archive, "OBCINA1").ok
    assert not run_fixity(archive).ok
