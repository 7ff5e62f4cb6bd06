"""`hramba verify-evidence --bag` (issue #12, part 5): a whole export checked offline, as its
recipient would (no database, no configuration, no network), from the ZIP as delivered
or unpacked; renewed records (two chains, SHA-256 then SHA-512) and a disposed unit's
tombstone pass; one changed byte, an added file, an unsafe path in a manifest and a ZIP
bomb do not. Each unit's CHECK.txt runs with bash and OpenSSL and gives its output."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from plugins.cli import Cli, Result, clean_env

from hramba.core.types import FixedClock
from hramba.services import disposal
from hramba.services.context import Archive
from hramba.services.export import build_export, download_export, request_export
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria
from hramba.trust.certs import to_pem
from hramba.trust.devsigning import create_dev_signing
from hramba.trust.devtsa import create_dev_tsa
from hramba.trust.pdf import PadesPdfSigner, SigningKey

from .principals import approve
from .test_export_readme import (
    archive_invoices,
    failures,
    next_development_tsa,
    renewed_twice_over,
    run_readme,
)

LOCAL = pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)


def exported(archive: Archive, tmp_path: Path) -> tuple[Path, Path]:
    """The package of all OBCINA1's units as delivered, and the archive's trust anchors
    (which a recipient would obtain on its own)."""
    view = request_export(archive, SearchCriteria(tenant="OBCINA1"), "audit 2026")
    build_export(archive, view.export_id)
    package = download_export(archive, view.export_id, tmp_path / "delivered")
    anchors = tmp_path / "anchors.pem"
    anchors.write_text(to_pem(archive.sealing.trust.anchors), "ascii")
    return package, anchors


def verify(tmp_path: Path, bag: Path, anchors: Path, *more: str) -> Result:
    """The real command, with no archive anywhere near it."""
    offline = Cli(tmp_path / "no-archive-here", clean_env())
    return offline("verify-evidence", "--bag", str(bag), "--trust", str(anchors),
                   "--accept-unqualified", *more, check=False)


def unpacked(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as zipped:
        zipped.extractall(into)
    return into / package.stem


@LOCAL
def test_a_renewed_export_passes_from_the_zip_and_unpacked(
        archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    archive_invoices(archive, 3)
    renewed_twice_over(archive, clock)
    package, anchors = exported(archive, tmp_path)

    for bag in (package, unpacked(package, tmp_path / "open")):
        result = verify(tmp_path, bag, anchors)
        assert result.code == 0, result.out + result.err
        assert "PASSED: 3 units (3 passed, 0 failed, 0 indeterminate)" in result.out
        assert result.out.count("\nPASSED ") + result.out.startswith("PASSED ") == 3
    report = json.loads(verify(tmp_path, package, anchors, "--json").out)
    assert report["result"] == "PASSED"
    assert {c["code"] for c in report["checks"]} == {f"HRB-B00{n}" for n in range(1, 8)}


@LOCAL
def test_each_units_check_txt_runs_with_openssl(archive: Archive, clock: FixedClock,
                                                tmp_path: Path) -> None:
    archive_invoices(archive, 2)
    renewed_twice_over(archive, clock)
    package, _ = exported(archive, tmp_path)
    bag = unpacked(package, tmp_path / "open")
    units = sorted((bag / "data" / "units").iterdir())
    assert len(units) == 2
    for unit in units:  # README.txt: run them in a copy (they write the tokens they cut)
        copy = tmp_path / "copy" / "data" / "units" / unit.name
        shutil.copytree(unit, copy)
        shutil.copytree(bag / "validation", tmp_path / "copy" / "validation",
                        dirs_exist_ok=True)
        (copy / "README.txt").write_bytes((copy / "CHECK.txt").read_bytes())
        outcomes = run_readme(copy)
        assert not failures(outcomes), "\n".join(failures(outcomes))
        assert sum("openssl ts -verify" in o.step.command for o in outcomes) == 7


@LOCAL
@pytest.mark.parametrize("form", ["zip", "folder"])
def test_one_changed_byte_fails_the_unit_and_the_bag(
        archive: Archive, clock: FixedClock, tmp_path: Path, form: str) -> None:
    archive_invoices(archive, 3)
    renewed_twice_over(archive, clock)
    package, anchors = exported(archive, tmp_path)
    bag = unpacked(package, tmp_path / "open")
    target = sorted((bag / "data" / "units").glob("*/racun1.xml"))[0]
    data = bytearray(target.read_bytes())
    data[3] ^= 0x01
    target.write_bytes(bytes(data))
    checked = bag if form == "folder" else rezipped(bag, tmp_path / "changed.zip")

    result = verify(tmp_path, checked, anchors)
    assert result.code == 1
    assert "FAILED: 3 units (2 passed, 1 failed, 0 indeterminate)" in result.out
    assert "HRB-B003 manifests: 2 payload file digest(s) differ" in result.out
    assert "racun1.xml (sha256)" in result.out
    failed = [line for line in result.out.splitlines() if line.startswith("FAILED ")
              and re.fullmatch(r"[0-9a-f]{32}", line.split()[1])]
    assert len(failed) == 1
    assert target.parent.name in failed[0]


@LOCAL
def test_an_added_file_or_an_unsafe_path_fails(archive: Archive, clock: FixedClock,
                                               tmp_path: Path) -> None:
    archive_invoices(archive, 1)
    renewed_twice_over(archive, clock)
    package, anchors = exported(archive, tmp_path)
    bag = unpacked(package, tmp_path / "open")
    (bag / "data" / "extra.txt").write_text("not listed")
    result = verify(tmp_path, bag, anchors)
    assert result.code == 1
    assert "HRB-B002 manifests: data/extra.txt not in the manifests" in result.out

    (bag / "data" / "extra.txt").unlink()
    with (bag / "manifest-sha256.txt").open("a") as manifest:
        manifest.write(f"{'0' * 64}  ../../etc/passwd\n")
    result = verify(tmp_path, bag, anchors)
    assert result.code == 1
    assert "HRB-B006 manifests: ../../etc/passwd" in result.out


@LOCAL
def test_a_changed_summary_or_metadata_fails_the_tag_manifests(
        archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    archive_invoices(archive, 1)
    renewed_twice_over(archive, clock)
    package, anchors = exported(archive, tmp_path)
    bag = unpacked(package, tmp_path / "open")
    (bag / "metadata.csv").write_text((bag / "metadata.csv").read_text() + "forged\n")
    result = verify(tmp_path, bag, anchors)
    assert result.code == 1
    assert "HRB-B004 manifests: 2 tag file digest(s) differ: metadata.csv" in result.out


@LOCAL
def test_a_disposed_unit_passes_by_its_tombstone(archive: Archive, clock: FixedClock,
                                                tmp_path: Path) -> None:
    gone, kept = archive_invoices(archive, 2)
    seal(archive)  # not renewed in SHA-512: the recorded SHA-256 digests cover it all
    clock.at = datetime(2037, 1, 2, 9, tzinfo=UTC)  # past the ten years of an invoice
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-1")
    approve(archive, proposal["id"])
    disposal.execute(archive, proposal["id"])
    keys_of_the_day(archive, clock)  # by 2037 the first TSA and signing key have expired
    package, anchors = exported(archive, tmp_path)  # disposed units are listed, not left out

    result = verify(tmp_path, package, anchors)
    assert result.code == 0, result.out + result.err
    assert f"data/tombstones/{gone}.json" in result.out
    assert f"data/tombstones/{kept}.json" in result.out
    lines = {line.split()[1]: line.split()[0] for line in result.out.splitlines()
             if line.split() and line.split()[0] in ("PASSED", "FAILED", "INDETERMINATE")
             and len(line.split()) > 2}
    assert lines[gone] == lines[kept] == "PASSED"


def test_a_zip_bomb_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    bomb = tmp_path / "export-1.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zipped:
        zipped.writestr("export-1/bagit.txt", "BagIt-Version: 1.0\n")
        zipped.writestr("export-1/data/zeros.bin", bytes(64 * 2**20))
    anchors = create_dev_tsa(tmp_path / "tsa", datetime.now(UTC)).ca
    result = verify(tmp_path, bomb, anchors)
    assert result.code == 6, result.out + result.err
    assert "export-1/data/zeros.bin would inflate 67108864 bytes" in result.err


def keys_of_the_day(archive: Archive, clock: FixedClock) -> None:
    """A development TSA and signing key made as of the clock, as a running archive would
    have them by then."""
    next_development_tsa(archive, clock)
    files = create_dev_signing(archive.home / f"signing-{clock.now():%Y%m%d}", clock.now())
    archive.signing = PadesPdfSigner(SigningKey(files.key, files.certificate),
                                     archive.sealing.timestamper, archive.sealing.trust.anchors,
                                     clock)


def rezipped(folder: Path, target: Path) -> Path:
    """The unpacked bag zipped again, under its own name."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zipped.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return target
