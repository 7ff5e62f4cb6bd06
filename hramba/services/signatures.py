"""Signatures checked at capture: every XAdES signature in a received XML and every
signature of a received PDF is validated when it arrives (hramba.trust.signatures),
against the configured CAs (signatures.trust_roots), and its verdict is a finding:

* HRB-V001  valid at capture
* HRB-V002  invalid: the signed content or the signature does not hold
* HRB-V003  indeterminate: no trusted root, revocation unknown, revoked, expired ...

A signature is never a reason to refuse a document: it is archived as received either
way. What the verdict rests on, the certificate path and the OCSP responses and CRLs of
that moment, is kept with the unit as a part of its own (role "validation",
signature-validation.json), which is not part of the unit's identity: the same document
captured twice is one unit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hramba.core.errors import ConfigurationError, RejectedInput
from hramba.core.types import CHUNK
from hramba.services.context import Archive
from hramba.trust.certs import load_certificates
from hramba.trust.signatures import (
    SignatureCheck,
    SignatureContext,
    check_pdf_signatures,
    check_xml_signatures,
)
from ingest.intake import Parsed, Part

CODES = {"valid": "HRB-V001", "invalid": "HRB-V002", "indeterminate": "HRB-V003"}
RECORD = "signature-validation.json"
_XMLDSIG = b"http://www.w3.org/2000/09/xmldsig#"
_CERTIFICATE_FILES = (".pem", ".crt", ".cer", ".der")


@dataclass(frozen=True)
class SignatureRules:
    """What one intake run judges signatures against (read once per run)."""

    roots: tuple[bytes, ...]
    fetch_revocation: bool

    @classmethod
    def of(cls, archive: Archive) -> SignatureRules:
        return cls(_roots(archive.signature_roots), archive.fetch_revocation)


def check_signatures(archive: Archive, rules: SignatureRules, parsed: Parsed) -> None:
    """Add a finding per signature in the parsed input's parts, and the validation record
    as a part of the unit when there was any signature."""
    context = SignatureContext(rules.roots, archive.clock.now(), rules.fetch_revocation)
    checked = [(part, check) for part in parsed.parts for check in _checks(part, context)]
    if not checked:
        return
    parsed.findings += [(CODES[check.status], f"{part.name}: {_sentence(check)}")
                        for part, check in checked]
    record = {"checked_at": context.moment.isoformat(),
              "trust_roots": len(rules.roots), "fetch_revocation": rules.fetch_revocation,
              "signatures": [{"file": part.name, **check.as_dict()}
                             for part, check in checked]}
    parsed.parts.append(Part(RECORD, "validation", "application/json",
                             json.dumps(record, indent=1).encode("utf-8")))


def _checks(part: Part, context: SignatureContext) -> list[SignatureCheck]:
    """Only what shows a signature is parsed again: a `ds:Signature` namespace in an XML,
    a /ByteRange in a PDF."""
    data = _contents(part)
    try:
        if part.media_type == "application/xml" and _XMLDSIG in data:
            return check_xml_signatures(data, context)
        if data.startswith(b"%PDF-") and b"/ByteRange" in data:
            return check_pdf_signatures(data, context)
    except RejectedInput as exc:
        if part.media_type != "application/xml":
            return []  # a PDF no reader opens (or encrypted): HRB-W009 says so, if it is
        return [SignatureCheck("xades", "indeterminate", f"not checked: {exc}")]
    return []


def _contents(part: Part) -> bytes:
    """The part's bytes. An invoice intake reads from its file (a large one: see
    ingest.intake) is read whole only if it names the XML-DSig namespace."""
    if part.path is None or part.media_type != "application/xml":
        return part.data
    with part.path.open("rb") as f:
        tail = b""
        while chunk := f.read(CHUNK):
            if _XMLDSIG in tail + chunk:
                return part.path.read_bytes()
            tail = chunk[-len(_XMLDSIG):]
    return b""


def _sentence(check: SignatureCheck) -> str:
    signer = f" of {check.signer}" if check.signer else ""
    return f"{check.kind.upper()} signature{signer}: {check.status} at capture ({check.reason})"


def _roots(path: Path | None) -> tuple[bytes, ...]:
    """The configured CA certificates, DER; none configured: none."""
    if path is None:
        return ()
    if not path.exists():
        raise ConfigurationError(f"signatures.trust_roots {path}: no such file or folder")
    files = sorted(f for f in path.iterdir() if f.suffix.lower() in _CERTIFICATE_FILES) \
        if path.is_dir() else [path]
    return tuple(certificate.dump() for file in files
                 for certificate in load_certificates(file, "signatures.trust_roots"))
