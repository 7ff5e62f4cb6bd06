"""The package of a retrieval export: a BagIt 1.0 bag (layout: hramba.domain.export),
written as a ZIP in one pass over the units.

The units come from a spool (one JSON line per unit, written by hramba.services.export
in one consistent read), their files straight from the object store; each file is hashed
with SHA-256 and SHA-512 as it goes into the ZIP and its SHA-256 checked against the one
recorded at intake. Manifests and metadata grow in temporary files beside the package, so
memory stays flat whatever the number of units. The ZIP stream is hashed as it is
written (zipfile writes data descriptors to a stream that cannot seek), so the package's
SHA-256 is known when the last byte is.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from hramba import __version__
from hramba.core.errors import IntegrityViolation
from hramba.core.types import CHUNK, ObjectKey
from hramba.domain.document import Column, Fields, Heading, Paragraph, PdfDocument, Table
from hramba.domain.export import (
    ALGORITHMS,
    BAGIT_VERSION,
    CHECK_NAME,
    EVIDENCE_NAME,
    METADATA_CSV,
    METADATA_JSON,
    PACKAGE_FORMAT,
    README_NAME,
    RESERVED_IN_UNIT,
    SUMMARY_PDF,
    TOMBSTONES_DIR,
    UNITS_DIR,
    VALIDATION_DIR,
    bag_info,
    manifest_line,
    unit_folder,
)
from hramba.domain.names import local_name
from hramba.ports import ObjectStore, PdfSigner
from hramba.trust.instructions import DataFile, Layout, instructions

STORAGE_FIELDS = ("object_key", "object_version")  # where a file is stored: not in the package
# What is worth compressing; PDFs and images are compressed already.
_TEXT = ("text/", "application/xml", "application/json")
CSV_COLUMNS = ("unit_id", "folder", "issue_date", "type", "invoice_number", "direction",
               "seller_tax_id", "seller_name", "buyer_tax_id", "buyer_name",
               "payable_amount", "currency", "format", "received_at", "sealed_at",
               "retain_until", "policy", "legal_hold", "disposed_at", "disposal", "files",
               "sha256")


@dataclass(frozen=True)
class Request:
    """What the package says of the export: bag-info.txt and summary.pdf."""

    export_id: int
    bag: str
    tenant: str
    tenant_name: str
    criteria: dict[str, Any]
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None
    archive: str
    created_at: datetime


@dataclass(frozen=True)
class Validation:
    """The TSAs' certificates, the trust anchors and the revocation data of the batches
    whose tokens the package's records hold."""

    chain_pem: str
    anchors_pem: str
    crls: list[bytes]
    ocsps: list[bytes]


@dataclass
class Totals:
    units: int = 0
    tombstones: int = 0
    files: int = 0
    payload_bytes: int = 0  # of the units' files
    by_year: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Package:
    """The ZIP written: its size, SHA-256, and what it holds."""

    path: Path
    size: int
    sha256: str
    totals: Totals


class _HashingSink:
    """A write-only stream that hashes and counts what passes; no seek, no tell."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        """The file underneath is the caller's to close."""


class _Bag:
    """The ZIP being written, and the manifests of what went into it."""

    def __init__(self, sink: _HashingSink, work: Path, bag: str, moment: datetime,
                 stack: ExitStack) -> None:
        self.zip = stack.enter_context(zipfile.ZipFile(sink, "w"))
        self.bag, self.stamp = bag, moment.timetuple()[:6]
        self.manifests = {a: stack.enter_context((work / f"manifest-{a}.txt").open(
            "w", encoding="utf-8", newline="\n")) for a in ALGORITHMS}
        self.tags: list[tuple[str, dict[str, str]]] = []  # tag files: few and small
        self.oxum = [0, 0]  # RFC 8493 §2.2.2 Payload-Oxum: bytes and files under data/

    def _info(self, path: str, size: int, compress: bool) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(f"{self.bag}/{path}", self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        # Deflate level 1: twice level 6's speed on invoices, 6% larger (compress_level
        # from Python 3.13, _compresslevel before).
        setattr(info, "compress_level" if hasattr(info, "compress_level") else
                "_compresslevel", 1)
        info.file_size = size  # lets zipfile choose ZIP64 before writing (no seeking back)
        return info

    def copy(self, path: str, stream: IO[bytes], size: int, compress: bool) -> dict[str, str]:
        """`stream` into the ZIP at `path`; its hex digests by algorithm."""
        digests = {a: hashlib.new(a) for a in ALGORITHMS}
        with self.zip.open(self._info(path, size, compress), "w") as entry:
            while chunk := stream.read(CHUNK):
                entry.write(chunk)
                for digest in digests.values():
                    digest.update(chunk)
        return {a: d.hexdigest() for a, d in digests.items()}

    def payload(self, path: str, stream: IO[bytes], size: int, compress: bool) -> dict[str, str]:
        digests = self.copy(path, stream, size, compress)
        self.oxum[0] += size
        self.oxum[1] += 1
        for algorithm, sink in self.manifests.items():
            sink.write(manifest_line(digests[algorithm], path))
        return digests

    def payload_bytes(self, path: str, data: bytes, compress: bool = True) -> dict[str, str]:
        return self.payload(path, io.BytesIO(data), len(data), compress)

    def tag(self, path: str, data: bytes, compress: bool = True) -> str:
        digests = self.copy(path, io.BytesIO(data), len(data), compress)
        self.tags.append((path, digests))
        return digests["sha256"]

    def tag_file(self, path: str, source: Path) -> str:
        with source.open("rb") as stream:
            digests = self.copy(path, stream, source.stat().st_size, True)
        self.tags.append((path, digests))
        return digests["sha256"]


def write_package(target: Path, work: Path, request: Request, spool: Path,
                  store: ObjectStore, validation: Validation, signer: PdfSigner) -> Package:
    """The package for `request` at `target`, from the units in `spool`; `work` is an
    empty folder for the manifests and metadata while they grow."""
    totals = Totals()
    with ExitStack() as stack:
        raw = stack.enter_context(target.open("wb"))
        sink = _HashingSink(raw)
        bag = _Bag(sink, work, request.bag, request.created_at, stack)
        rows = _Metadata(work, stack)
        layout = Layout(data="", validation=f"../../../{VALIDATION_DIR}/")
        taken: set[str] = set()
        for unit in _read_spool(spool):
            row = _add_unit(bag, store, unit, validation.anchors_pem, layout, taken)
            rows.add(row)
            _count(totals, unit, row)
        for stream in bag.manifests.values():
            stream.close()
        rows.close()
        _finish(bag, work, request, validation, totals, signer)
        bag.zip.close()
        raw.flush()
    return Package(target, sink.size, sink.sha256.hexdigest(), totals)


def _read_spool(spool: Path) -> Iterator[dict[str, Any]]:
    with spool.open("r", encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _add_unit(bag: _Bag, store: ObjectStore, unit: dict[str, Any], anchors_pem: str,
              layout: Layout, taken: set[str]) -> dict[str, Any]:
    """The unit's folder (or, disposed of, its tombstone); its metadata row."""
    if unit["disposed_at"] is not None:
        return _add_tombstone(bag, unit)
    folder = unit_folder(_date(unit["issue_date"]), unit["invoice_number"], unit["unit_id"],
                         taken)
    base, names = f"{UNITS_DIR}/{folder}", set(RESERVED_IN_UNIT)
    files = []
    for f in unit["files"]:
        name = local_name(f["name"], names)
        with store.open(ObjectKey(f["object_key"]), f.get("object_version")) as stream:
            digests = bag.payload(f"{base}/{name}", stream, f["size"], _compressible(f))
        if digests["sha256"] != f["sha256"]:
            raise IntegrityViolation(f"{f['object_key']} does not match its recorded "
                                     f"sha256 {f['sha256']}; run hramba fixity")
        files.append({**f, "path": f"{base}/{name}", "sha512": digests["sha512"]})
    evidence = None
    if unit["evidence"]:
        record = base64.b64decode(unit["evidence"])
        bag.payload_bytes(f"{base}/{EVIDENCE_NAME}", record, compress=False)
        check = instructions(record, [DataFile(f["path"].rpartition("/")[2], {
            "sha256": bytes.fromhex(f["sha256"]), "sha512": bytes.fromhex(f["sha512"])})
            for f in files], anchors_pem, layout=layout)
        bag.payload_bytes(f"{base}/{CHECK_NAME}", check.encode("utf-8"))
        evidence = f"{base}/{EVIDENCE_NAME}"
    return _row(unit, folder, files, evidence)


def _add_tombstone(bag: _Bag, unit: dict[str, Any]) -> dict[str, Any]:
    """A disposed unit is listed, not left out: what was recorded of it, its files'
    digests, and its Evidence Record (which still proves those digests)."""
    path = f"{TOMBSTONES_DIR}/{unit['unit_id']}.json"
    tombstone = {k: v for k, v in unit.items() if k != "evidence"}
    tombstone["evidence_der_base64"] = unit["evidence"]
    bag.payload_bytes(path, json.dumps(tombstone, indent=1, ensure_ascii=False,
                                       sort_keys=True).encode("utf-8"))
    files = [{k: f[k] for k in ("name", "role", "media_type", "size", "sha256")}
             for f in unit["files"]]
    return _row(unit, None, files, None) | {"tombstone": path}


def _row(unit: dict[str, Any], folder: str | None, files: list[dict[str, Any]],
         evidence: str | None) -> dict[str, Any]:
    row = {k: v for k, v in unit.items() if k not in ("files", "evidence", "tenant_id")}
    return row | {"folder": folder, "evidence": evidence, "files": [
        {k: v for k, v in f.items() if k not in STORAGE_FIELDS} for f in files]}


def _compressible(f: dict[str, Any]) -> bool:
    media = str(f.get("media_type") or "")
    return media.startswith(_TEXT) or media.endswith(("+xml", "/xml", "+json"))


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _count(totals: Totals, unit: dict[str, Any], row: dict[str, Any]) -> None:
    totals.units += 1
    totals.tombstones += unit["disposed_at"] is not None
    totals.files += len(unit["files"])
    if unit["disposed_at"] is None:
        totals.payload_bytes += sum(f["size"] for f in unit["files"])
    totals.by_year[(unit["issue_date"] or "undated")[:4]] += 1
    totals.by_type[unit["type"] or "unknown"] += 1


class _Metadata:
    """metadata.csv and metadata.json (an array, a row per line), written row by row."""

    def __init__(self, work: Path, stack: ExitStack) -> None:
        self.csv_path, self.json_path = work / METADATA_CSV, work / METADATA_JSON
        self._csv = stack.enter_context(self.csv_path.open("w", encoding="utf-8", newline=""))
        self._json = stack.enter_context(self.json_path.open("w", encoding="utf-8"))
        self._writer = csv.writer(self._csv)
        self._writer.writerow(CSV_COLUMNS)
        self._json.write(f'{{"format": "{PACKAGE_FORMAT}", "units": [\n')
        self._first = True

    def add(self, row: dict[str, Any]) -> None:
        self._json.write(("" if self._first else ",\n")
                         + json.dumps(row, ensure_ascii=False, sort_keys=True))
        self._first = False
        flat = row | {"files": " | ".join(f["name"] for f in row["files"]),
                      "sha256": " | ".join(f["sha256"] for f in row["files"])}
        self._writer.writerow(["" if flat.get(c) is None else flat[c] for c in CSV_COLUMNS])

    def close(self) -> None:
        self._json.write("\n]}\n")
        self._json.close()
        self._csv.close()


def _finish(bag: _Bag, work: Path, request: Request, validation: Validation,
            totals: Totals, signer: PdfSigner) -> None:
    """Everything but the payload: metadata, validation data, README, summary, the bag's
    declaration and manifests; the tag manifests last, over all of them."""
    _validation(bag, validation)
    csv_sha256 = bag.tag_file(METADATA_CSV, work / METADATA_CSV)
    bag.tag_file(METADATA_JSON, work / METADATA_JSON)
    manifest_sha256 = ""
    for algorithm in ALGORITHMS:
        digest = bag.tag_file(f"manifest-{algorithm}.txt", work / f"manifest-{algorithm}.txt")
        manifest_sha256 = manifest_sha256 or digest
    bag.tag(README_NAME, readme(request, totals).encode("utf-8"))
    pdf = signer.sign(_render_summary(request, totals, manifest_sha256, csv_sha256))
    bag.tag(SUMMARY_PDF, pdf, compress=False)
    bag.tag("bagit.txt", f"BagIt-Version: {BAGIT_VERSION}\n"
                         "Tag-File-Character-Encoding: UTF-8\n".encode())
    bag.tag("bag-info.txt", bag_info(_info_fields(request, totals, bag.oxum)).encode("utf-8"))
    for algorithm in ALGORITHMS:
        lines = "".join(manifest_line(digests[algorithm], path) for path, digests in bag.tags)
        bag.copy(f"tagmanifest-{algorithm}.txt", io.BytesIO(lines.encode("utf-8")),
                 len(lines.encode("utf-8")), True)


def _validation(bag: _Bag, validation: Validation) -> None:
    bag.tag(f"{VALIDATION_DIR}/tsa-chain.pem", validation.chain_pem.encode("ascii"))
    bag.tag(f"{VALIDATION_DIR}/trust-anchors.pem", validation.anchors_pem.encode("ascii"))
    for n, crl in enumerate(validation.crls, 1):
        bag.tag(f"{VALIDATION_DIR}/{n}.crl", crl, compress=False)
    for n, ocsp in enumerate(validation.ocsps, 1):
        bag.tag(f"{VALIDATION_DIR}/{n}.ocsp", ocsp, compress=False)


def _info_fields(request: Request, totals: Totals, oxum: list[int]
                 ) -> list[tuple[str, str]]:
    """RFC 8493 §2.2.2 reserved labels, then ours (prefixed, so no reader mistakes them)."""
    return [
        ("Source-Organization", request.tenant_name),
        ("Bagging-Date", request.created_at.date().isoformat()),
        ("External-Identifier", request.bag),
        ("External-Description", f"Retrieval export {request.export_id} of tenant "
                                 f"{request.tenant} from {request.archive}"),
        ("Bag-Software-Agent", f"e-hramba {__version__}"),
        ("Payload-Oxum", f"{oxum[0]}.{oxum[1]}"),
        ("E-Hramba-Export", str(request.export_id)),
        ("E-Hramba-Tenant", request.tenant),
        ("E-Hramba-Criteria", json.dumps(_given(request.criteria), ensure_ascii=False,
                                         sort_keys=True)),
        ("E-Hramba-Reason", request.reason),
        ("E-Hramba-Requested-By", f"{request.requested_by}, "
                                  f"{request.requested_at.isoformat()}"),
        ("E-Hramba-Approved-By", request.approved_by or "(no approval required)"),
        ("E-Hramba-Created", request.created_at.isoformat()),
        ("E-Hramba-Units", f"{totals.units} ({totals.tombstones} disposed of: tombstones)"),
    ]


def _given(criteria: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in criteria.items() if v not in (None, "") and k not in
            ("after", "limit")}


def readme(request: Request, totals: Totals) -> str:
    """How a recipient checks the package, with e-hramba or with common tools."""
    return README.format(bag=request.bag, export=request.export_id, tenant=request.tenant,
                         archive=request.archive, created=request.created_at.isoformat(),
                         units=totals.units, tombstones=totals.tombstones)


README = """Retrieval export {export} of tenant {tenant}
=====================================================

Made by {archive} at {created}: {units} units, of which {tombstones} were disposed of
earlier and are listed by their tombstones. This folder is a BagIt 1.0 bag (RFC 8493).

summary.pdf            what was asked, by whom, what is included, the totals; signed by
                       the archive (PAdES, with a signature timestamp)
metadata.csv, .json    one row per unit: invoice fields, folder, files and digests,
                       retention, legal hold, disposal
data/units/DATE_NUMBER_UNIT/   a unit: its files as received (names made safe), its
                       RFC 4998 Evidence Record (evidence.ers) and CHECK.txt, the checks
                       of that record as OpenSSL commands
data/tombstones/UNIT.json      a disposed unit: its metadata, its files' SHA-256, its
                       Evidence Record (base64)
validation/            the time-stamping authorities' certificates (tsa-chain.pem), a copy
                       of the trust anchors (trust-anchors.pem: for comparison only, see
                       below), CRLs and OCSP responses
manifest-*.txt, tagmanifest-*.txt   SHA-256 and SHA-512 of every file

1. Nothing changed since the package was made
   bagit-python:   bagit.py --validate .
   coreutils:      sha256sum -c manifest-sha256.txt && sha256sum -c tagmanifest-sha256.txt

2. Each unit existed, unchanged, when the archive sealed it
   Obtain the TSA's trust anchor from a source of your own (for a qualified TSA the EU
   trusted list), as ANCHOR.pem, then with e-hramba (no database, no network):

       hramba verify-evidence --bag . --trust ANCHOR.pem

   It checks the manifests and every unit's record, prints a line per unit and the
   totals, and exits 1 if anything fails. Add --accept-unqualified for tokens of a TSA
   that is not qualified (the development TSA never is).

   Without e-hramba: run the commands in data/units/*/CHECK.txt with bash and OpenSSL,
   in that unit's folder; each says the output it must give. They write the tokens they
   cut out of evidence.ers beside it, which the manifests do not list: run them in a
   copy of the package, or check the bag (step 1) first.

3. The summary is the archive's
   Open summary.pdf in a PDF reader that validates signatures, or:
       pyhanko sign validate --pretty-print summary.pdf
"""


def _render_summary(request: Request, totals: Totals, manifest_sha256: str,
                    csv_sha256: str) -> bytes:
    from hramba.trust.pdf import render

    asked = {k: v for k, v in _given(request.criteria).items() if k != "tenant"}
    document = PdfDocument(
        title=f"Retrieval export {request.export_id}", lang="en",
        subject=f"Retrieval export {request.export_id} of tenant {request.tenant}",
        created=request.created_at,
        blocks=[
            Fields([("Tenant", f"{request.tenant_name} ({request.tenant})"),
                    ("Archive", request.archive),
                    ("Requested by", f"{request.requested_by}, "
                                     f"{request.requested_at:%Y-%m-%d %H:%M %Z}"),
                    ("Approved by", request.approved_by or "no approval required"),
                    ("Reason", request.reason),
                    ("Built", f"{request.created_at:%Y-%m-%d %H:%M:%S %Z}")]),
            Heading("What was asked"),
            Fields([(k.replace("_", " "), str(v)) for k, v in sorted(asked.items())]
                   or [("criteria", "all units of the tenant")]),
            Heading("What is included"),
            Fields([("Units", str(totals.units)),
                    ("Disposed of (tombstones)", str(totals.tombstones)),
                    ("Files of the units", str(totals.files)),
                    ("Bytes of those files", f"{totals.payload_bytes:,}".replace(",", " "))]),
            Table([Column("Year", 1), Column("Units", 1, "right")],
                  [(year, str(n)) for year, n in sorted(totals.by_year.items())]),
            Table([Column("Document type", 2), Column("Units", 1, "right")],
                  [(kind, str(n)) for kind, n in sorted(totals.by_type.items())]),
            Heading("Binding"),
            Paragraph("The package's files are listed with their digests in "
                      "manifest-sha256.txt and its units in metadata.csv. This summary "
                      "is bound to them by their SHA-256:"),
            Fields([("manifest-sha256.txt", manifest_sha256),
                    ("metadata.csv", csv_sha256)]),
        ])
    return render(document)
