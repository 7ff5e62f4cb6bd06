"""Findings with stable codes, collected in one pass into a report.

Every code is documented in docs/findings.md; a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # worth knowing, nothing wrong


CODES: dict[str, tuple[Severity, str]] = {
    "HRB-F001": (Severity.ERROR, "object content differs from its recorded digest"),
    "HRB-F002": (Severity.ERROR, "object recorded in the database is missing from storage"),
    "HRB-F003": (Severity.ERROR, "object in storage is not referenced by any unit"),
    "HRB-F004": (Severity.ERROR, "object size differs from the recorded size"),
    "HRB-F005": (Severity.ERROR, "storage retention is shorter than the recorded retain-until"),
    "HRB-F006": (Severity.ERROR, "another version or a delete marker hides the recorded one"),
    "HRB-I001": (Severity.ERROR, "input file is empty"),
    "HRB-I002": (Severity.ERROR, "input is not a regular file"),
    "HRB-I003": (Severity.ERROR, "input file cannot be read"),
    "HRB-I004": (Severity.ERROR, "input rejected by the archive"),
    "HRB-I005": (Severity.ERROR, "input file name is not valid UTF-8"),
    "HRB-I010": (Severity.ERROR, "XML is not well-formed"),
    "HRB-I011": (Severity.ERROR, "XML has a DOCTYPE (no DTDs or entities are ever processed)"),
    "HRB-I020": (Severity.ERROR, "package entry name is unsafe"),
    "HRB-I021": (Severity.ERROR, "package, attachment or PDF is over the size limits"),
    "HRB-I022": (Severity.ERROR, "package entry is encrypted"),
    "HRB-I023": (Severity.ERROR, "executable content"),
    "HRB-I024": (Severity.ERROR, "no recognisable e-invoice or e-document"),
    "HRB-I025": (Severity.ERROR, "conflict: the same document was archived with other content"),
    "HRB-I026": (Severity.ERROR, "no tenant matches a party to the document"),
    "HRB-I027": (Severity.ERROR, "package is not a readable ZIP"),
    "HRB-I028": (Severity.ERROR, "embedded attachment is not valid base64"),
    "HRB-I029": (Severity.ERROR, "feed item does not match its announced size or sha256"),
    "HRB-I030": (Severity.ERROR, "PDF cannot be read"),
    "HRB-I031": (Severity.ERROR, "the tenant given is not a party: another tenant is"),
    "HRB-I032": (Severity.ERROR, "feed item refused: it breaks the feed protocol"),
    "HRB-I033": (Severity.ERROR, "feed item not delivered: the feed answers it with an "
                                 "HTTP error"),
    "HRB-W001": (Severity.WARNING, "attachment name breaks the UJP rule (Name.ext, English "
                                   "letters and digits, no spaces)"),
    "HRB-W002": (Severity.WARNING, "attachment is a compressed archive"),
    "HRB-W003": (Severity.WARNING, "envelope attachment list differs from the files present"),
    "HRB-W004": (Severity.WARNING, "envelope amount differs from the invoice's payable amount"),
    "HRB-W005": (Severity.WARNING, "declared media type differs from the content"),
    "HRB-W006": (Severity.WARNING, "e-SLOG invoice does not validate against its XSD"),
    "HRB-W007": (Severity.WARNING, "package holds bytes that no member holds"),
    "HRB-W008": (Severity.WARNING, "active content: macros, JavaScript or actions"),
    "HRB-W009": (Severity.WARNING, "PDF not inspected: encrypted or over the limits"),
    "HRB-W010": (Severity.INFO, "hybrid invoice: the PDF's visible content is not compared "
                                "with its XML"),
    "HRB-W011": (Severity.WARNING, "hybrid invoice: the embedded XML's name disagrees with "
                                   "the PDF's XMP metadata"),
    "HRB-V001": (Severity.INFO, "signature valid at capture"),
    "HRB-V002": (Severity.WARNING, "signature invalid at capture"),
    "HRB-V003": (Severity.WARNING, "signature indeterminate at capture"),
    "HRB-A001": (Severity.ERROR, "audit event hash does not match its content"),
    "HRB-A002": (Severity.ERROR, "audit event does not link to the previous event's hash"),
    "HRB-A003": (Severity.ERROR, "audit sequence has a gap"),
    "HRB-A004": (Severity.ERROR, "sealed batch does not anchor the audit event it names"),
    "HRB-A005": (Severity.ERROR, "audit log falls short of its stored head: events were "
                                 "removed from its end"),
    "HRB-A006": (Severity.INFO, "not yet anchored by a timestamp"),
}


# The steps of verifying an Evidence Record (hramba verify, verify-evidence). Each ends
# PASSED, FAILED or INDETERMINATE; the record's result is the worst of them.
CHECKS: dict[str, str] = {
    "HRB-E001": "evidence record is readable (RFC 4998 DER) and holds a timestamp",
    "HRB-E002": "the files given are exactly the data group of the first hash tree",
    "HRB-E003": "timestamp renewal covers every earlier timestamp of its chain (§5.2)",
    "HRB-E004": "hash-tree renewal covers the data and every earlier chain (§5.3)",
    "HRB-E005": "the record existed at the time judged",
    "HRB-E010": "token is an RFC 3161 time-stamp token",
    "HRB-E011": "token imprint uses SHA-2 or SHA-3",
    "HRB-E012": "hash tree root equals the token's message imprint",
    "HRB-E013": "TSA policy is one of those accepted",
    "HRB-E014": "token is qualified (ETSI EN 319 422), or unqualified ones are accepted",
    "HRB-E015": "token signature and message digest are intact",
    "HRB-E016": "signer certificate binding (ESSCertIDv2 with SHA-2)",
    "HRB-E017": "signer has the critical extended key usage id-kp-timeStamping only",
    "HRB-E018": "path to a trust anchor at the token's time, revocation data checked",
    "HRB-E019": "path and validity periods hold at the next timestamp or the time judged",
    "HRB-E020": "stored copy of the evidence record matches the recorded one",
    "HRB-E021": "tombstone: checked against the recorded digests of the disposed files",
    "HRB-B001": "the package is a BagIt 1.0 bag (bagit.txt)",
    "HRB-B002": "every payload file is in every manifest, and every file listed is there",
    "HRB-B003": "every payload file matches its digests in the manifests",
    "HRB-B004": "every tag file matches its digests in the tag manifests",
    "HRB-B005": "Payload-Oxum matches the payload's bytes and files",
    "HRB-B006": "every path in the manifests stays inside the bag",
    "HRB-B007": "metadata.json lists each unit with its files and Evidence Record",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or observation, with a stable code and the subject it concerns."""

    code: str
    subject: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"undocumented finding code {self.code}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code][0]

    @property
    def title(self) -> str:
        return CODES[self.code][1]

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "subject": self.subject,
            "title": self.title,
            "detail": self.detail,
        }


@dataclass
class Report:
    """Findings of one check, plus counters of what was looked at."""

    name: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, code: str, subject: str, detail: str = "") -> None:
        self.findings.append(Finding(code, subject, detail))

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "ok": self.ok,
            "counts": self.counts,
            "findings": [f.as_dict() for f in self.findings],
        }
