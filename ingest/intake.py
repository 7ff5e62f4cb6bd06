"""Intake: one input file (a UJP-style ZIP package, a bare invoice or e-document XML, a
hybrid PDF) becomes the parts of one unit, with format, metadata and findings, or is
refused with a code.

Nothing is re-encoded: every part is the bytes as received, except attachments embedded
in UBL/CII, which are extracted as their own files beside the untouched invoice XML.
Routing to a tenant, conflicts and storage are the archive's business, not this module's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from hramba.core.errors import CodedRejection
from ingest import formats, package, pdf

NOT_AN_INVOICE = "HRB-I024"
# What becomes a unit with its format's metadata: e-invoices and the e-documents
# exchanged beside them (ZPJS); anything else is refused (or, migrated, kept as "other").
UNIT_FORMATS = formats.INVOICE_FORMATS + formats.EDOCUMENT_FORMATS


class IntakeRejected(CodedRejection):
    """Raised when the input cannot be archived as an e-invoice; `code` says why."""


@dataclass(frozen=True)
class Part:
    """One file of the unit: its bytes, or (for large plain documents) where they are."""

    name: str
    role: str  # envelope | invoice | attachment | document | package (as received)
    #            | derived (made from the invoice: a hybrid PDF's embedded XML)
    media_type: str
    data: bytes = b""
    path: Path | None = None


@dataclass
class Parsed:
    unit_format: str
    parts: list[Part]
    metadata: dict[str, Any] = field(default_factory=dict)
    findings: list[tuple[str, str]] = field(default_factory=list)
    envelope: dict[str, Any] | None = None


DEFAULT_LIMITS = package.Limits()
MAX_PDF_BYTES = 100 * 1024 * 1024  # a hybrid invoice is read whole: pyHanko needs it so
PRUNE_FROM = 1024 * 1024  # smaller XML is parsed whole: faster, and its tree is small


def read_input(path: Path, *, limits: package.Limits = DEFAULT_LIMITS,
               xsd_dir: Path | None = None, name: str | None = None) -> Parsed:
    """Check and take apart one input (called `name`, by default its file's); raises
    IntakeRejected (or a subclass of RejectedInput that carries `code`) for anything
    that must go to quarantine."""
    name = name or path.name
    if package.is_zip(path) or name.lower().endswith(".zip"):
        return _from_package(name, path, package.open_package(path, limits), xsd_dir)
    with path.open("rb") as f:
        head = f.read(4096)
    if package.sniff(head) == package.PDF:
        if path.stat().st_size > MAX_PDF_BYTES:
            raise IntakeRejected("HRB-I021", f"{name}: a PDF larger than {MAX_PDF_BYTES} "
                                             "bytes")
        return _from_pdf(name, path.read_bytes(), xsd_dir)
    if package.sniff(head) != "application/xml":
        raise IntakeRejected(NOT_AN_INVOICE, f"{name}: not an e-invoice (the content "
                                             f"is {package.sniff(head)})")
    if path.stat().st_size > formats.MAX_XML_BYTES:
        raise IntakeRejected("HRB-I021", f"{name}: larger than "
                                         f"{formats.MAX_XML_BYTES} bytes")
    return _from_invoice(name, path, xsd_dir)


def _head(path: Path) -> bytes:
    with path.open("rb") as f:
        return f.read(4096)


def as_document(path: Path, name: str | None = None) -> Parsed:
    """A file of a migration that is no e-invoice: archived as received, format "other",
    streamed from where it lies (it may be large)."""
    with path.open("rb") as f:
        media_type = package.sniff(f.read(4096))
    return Parsed("other", [Part(name or path.name, "document", media_type, path=path)])


def _from_invoice(name: str, data: bytes | Path, xsd_dir: Path | None) -> Parsed:
    """`data` is the invoice's bytes, or the file that holds them: then it is read in
    pieces, never held whole, and the part is streamed from the file."""
    sniffed = package.sniff(data if isinstance(data, bytes) else _head(data))
    if sniffed != "application/xml":
        raise IntakeRejected("HRB-I024", f"{name}: not an e-invoice (the content is "
                                         f"{sniffed})")
    size = len(data) if isinstance(data, bytes) else data.stat().st_size
    # An XSD validates the whole tree; without one, a large document's is pruned to what
    # intake reads (ingest.formats.parse_xml): one of 60 MB is 650 MB whole.
    root = formats.parse_xml(data, name, pruned=size > PRUNE_FROM and xsd_dir is None)
    fmt = formats.detect(root)
    if fmt not in UNIT_FORMATS:
        raise IntakeRejected("HRB-I024", f"{name}: no recognisable e-invoice or "
                                         f"e-document (root {root.tag!r} is {fmt})")
    # An e-document is its unit's "document", not an "invoice" (which the readable view
    # looks for); the role is part of the content digest, so a file a migration kept
    # before as a document of format "other" is the same unit, not a second one.
    role = "invoice" if fmt in formats.INVOICE_FORMATS else "document"
    part = (Part(name, role, "application/xml", data) if isinstance(data, bytes)
            else Part(name, role, "application/xml", path=data))
    parsed = Parsed(fmt, [part], formats.unit_metadata(fmt, root))
    for embedded in formats.embedded_attachments(fmt, root):
        _check_executable(name, embedded.filename, embedded.data)
        parsed.parts.append(Part(_unique(embedded.filename, parsed.parts), "attachment",
                                 package.sniff(embedded.data), embedded.data))
        parsed.findings += package.attachment_findings(embedded.filename, embedded.data,
                                                       embedded.mime_code)
    if xsd_dir is not None:
        parsed.findings += [("HRB-W006", f"{name}: {e}")
                            for e in formats.xsd_errors(fmt, root, xsd_dir)[:5]]
    return parsed


def _from_pdf(name: str, data: bytes, xsd_dir: Path | None) -> Parsed:
    """A hybrid invoice (Factur-X, ZUGFeRD, XRechnung in ZUGFeRD): the PDF as received is
    the invoice; the metadata come from the XML it embeds, kept beside it as a derived
    part. A PDF without one is no e-invoice."""
    facts = pdf.inspect_pdf(data, name)
    if facts.encrypted:
        raise IntakeRejected(NOT_AN_INVOICE, f"{name}: an encrypted PDF, whose embedded "
                                             "invoice (if any) cannot be read")
    package.check_embedded_executables(name, facts)
    hybrid = pdf.facturx_invoice(facts)
    if hybrid is None:
        raise IntakeRejected(NOT_AN_INVOICE, f"{name}: not an e-invoice (a PDF that embeds "
                                             "no Factur-X or ZUGFeRD invoice)")
    try:
        inner = _from_invoice(hybrid.filename, hybrid.data, xsd_dir)
    except CodedRejection as exc:
        raise IntakeRejected(exc.code, f"{name}: the embedded {exc.reason}") from exc
    derived = Part(_unique(hybrid.filename, [Part(name, "", "")]), "derived",
                   "application/xml", hybrid.data)
    inner.parts = [Part(name, "invoice", package.PDF, data), derived, *inner.parts[1:]]
    inner.metadata |= {"hybrid": hybrid.flavour, "hybrid_profile": hybrid.profile,
                       "hybrid_xml": hybrid.filename}
    inner.findings += [(package.ACTIVE_CONTENT, f"{name}: {reason}") for reason in facts.active]
    inner.findings += [("HRB-W011", f"{name}: {mismatch}") for mismatch in hybrid.mismatches]
    inner.findings.append(("HRB-W010", f"{name}: the PDF's visible content is not compared "
                                       f"with its embedded {hybrid.filename}: the XML is "
                                       "what the metadata come from"))
    return inner


def _from_package(name: str, path: Path, members: list[package.Member],
                  xsd_dir: Path | None) -> Parsed:
    """The package's envelope, invoice and attachments, and the package itself as
    received (role "package": bytes outside its members would otherwise be lost)."""
    envelope = invoice = None
    for member in members:
        kind = _xml_kind(member)
        if kind == "envelope" and envelope is None:
            envelope = member
        elif kind in UNIT_FORMATS and invoice is None:
            invoice = member
    if invoice is None:
        raise IntakeRejected("HRB-I024", f"{name}: the package holds no e-invoice or "
                                         "e-document")
    parsed = _from_invoice(invoice.name, invoice.data, xsd_dir)
    listed: dict[str, Any] = {}
    if envelope is not None:
        parsed.envelope = formats.envelope_metadata(formats.parse_xml(envelope.data,
                                                                      envelope.name))
        parsed.parts.insert(0, Part(envelope.name, "envelope", "application/xml",
                                    envelope.data))
        entries = cast(list[dict[str, Any]], parsed.envelope.get("attachments") or [])
        listed = {str(a["filename"]): a for a in entries}
        _merge_envelope(parsed)
    for member in members:
        if member is envelope or member is invoice:
            continue
        declared = listed.get(member.name, {}).get("type")
        parsed.parts.append(Part(_unique(member.name, parsed.parts), "attachment",
                                 package.sniff(member.data), member.data))
        parsed.findings += package.attachment_findings(member.name, member.data,
                                                       str(declared) if declared else None)
    if envelope is not None:
        parsed.findings += _listing_findings(listed, members, envelope)
    parsed.parts.append(Part(_unique(name, parsed.parts), "package", "application/zip",
                             path=path))
    parsed.findings += [("HRB-W007", f"{name}: {hidden}")
                        for hidden in package.outside_members(path)]
    return parsed


def _xml_kind(member: package.Member) -> str | None:
    if package.sniff(member.data) != "application/xml":
        return None
    return formats.detect(formats.parse_xml(member.data, member.name))


def _merge_envelope(parsed: Parsed) -> None:
    """Envelope fields join the metadata; its amount must match the invoice's."""
    env = parsed.envelope or {}
    for key in ("doc_id", "sender_id", "receiver_id", "iban", "payment_reference",
                "due_date"):
        parsed.metadata[key] = env.get(key)
    ours, theirs = parsed.metadata.get("payable_amount"), env.get("payable_amount")
    if ours and theirs and Decimal(str(ours)) != Decimal(str(theirs)):
        parsed.findings.append(("HRB-W004", f"envelope amount {theirs} differs from the "
                                            f"invoice's payable amount {ours}"))


def _listing_findings(listed: dict[str, Any], members: list[package.Member],
                      envelope: package.Member) -> list[tuple[str, str]]:
    """The envelope's attachment list against the files actually in the package."""
    if not listed:
        return []
    present = {m.name for m in members if m is not envelope}
    findings = [("HRB-W003", f"{name!r} is listed in the envelope but not in the package")
                for name in sorted(set(listed) - present)]
    findings += [("HRB-W003", f"{name!r} is in the package but not listed in the envelope")
                 for name in sorted(present - set(listed))]
    return findings


def _check_executable(container: str, name: str, data: bytes) -> None:
    reason = package.executable_reason(name, data)
    if reason is not None:
        raise IntakeRejected("HRB-I023", f"{container}: embedded {name!r}: {reason}")


def _unique(name: str, parts: list[Part]) -> str:
    """Parts of one unit need distinct names; a clash gets a counter before the suffix."""
    taken = {p.name for p in parts}
    stem, dot, suffix = name.rpartition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}.{suffix}" if dot and stem else f"{name}-{n}"
    return candidate
