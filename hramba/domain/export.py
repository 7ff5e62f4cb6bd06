"""Retrieval exports: their states, when one needs approval, and the layout of the BagIt
package (RFC 8493, BagIt 1.0) that carries them.

    export-<id>/                       the bag's base directory (inside the ZIP)
      bagit.txt  bag-info.txt          RFC 8493 §2.1.1, §2.2.2
      manifest-sha256.txt  manifest-sha512.txt        every file under data/
      tagmanifest-sha256.txt  tagmanifest-sha512.txt  every other file
      README.txt  summary.pdf  metadata.csv  metadata.json
      validation/                      the TSAs' certificates, trust anchors, CRLs, OCSP
      data/units/<issue date>_<number>_<unit id>/
        <the files as received, under their names made safe>   the data group
        evidence.ers                   the unit's RFC 4998 Evidence Record
        CHECK.txt                      the record's checks as OpenSSL commands
      data/tombstones/<unit id>.json   a disposed unit: what is left of it

Pure rules only: hramba.services.export builds the package, hramba.trust.bag checks it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from hramba.core.errors import RejectedInput
from hramba.domain.names import local_name

BAGIT_VERSION = "1.0"
ALGORITHMS = ("sha256", "sha512")
UNITS_DIR, TOMBSTONES_DIR, VALIDATION_DIR = "data/units", "data/tombstones", "validation"
EVIDENCE_NAME, CHECK_NAME = "evidence.ers", "CHECK.txt"
RESERVED_IN_UNIT = {EVIDENCE_NAME.casefold(), CHECK_NAME.casefold()}
METADATA_JSON, METADATA_CSV, SUMMARY_PDF, README_NAME = (
    "metadata.json", "metadata.csv", "summary.pdf", "README.txt")
PACKAGE_FORMAT = "e-hramba-export/1"


class ExportState(StrEnum):
    """awaiting-approval -> queued -> building -> ready -> purged; a build that fails is
    "failed" with its reason, and is built again by the next run."""

    AWAITING_APPROVAL = "awaiting-approval"
    QUEUED = "queued"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"
    PURGED = "purged"


class OverLimit(StrEnum):
    """What a request over exports.max_units gets: approval required, or refused."""

    APPROVE = "approve"
    REFUSE = "refuse"


@dataclass(frozen=True)
class ExportRules:
    """exports.* settings: how many units one request may take, what happens above that,
    and how long a download link lives."""

    max_units: int = 10_000
    over_limit: OverLimit = OverLimit.APPROVE
    link_days: int = 7


def needs_approval(units: int, tenant_requires: bool, rules: ExportRules) -> bool:
    """Whether a request for `units` waits for a second person; RejectedInput (with the
    number) when it is over the limit and the rules refuse such requests."""
    over = units > rules.max_units
    if over and rules.over_limit is OverLimit.REFUSE:
        raise RejectedInput(f"the criteria match {units} units, over the limit of "
                            f"{rules.max_units} (exports.max_units): narrow them")
    return tenant_requires or over


def bag_name(export_id: int) -> str:
    return f"export-{int(export_id)}"


def unit_folder(issue_date: date | None, number: str | None, unit_id: str,
                taken: set[str]) -> str:
    """`2024-03-05_R-7_<unit id>` under data/units/: sorted by date in a file manager,
    the number as the invoice has it (made safe), the unit id to find it again."""
    parts = [issue_date.isoformat() if issue_date else "undated",
             re.sub(r"[\s_]+", "-", number.strip())[:40] if number else "", unit_id]
    return local_name("_".join(p for p in parts if p), taken)


def manifest_path(path: str) -> str:
    """RFC 8493 §2.1.3: a path in a manifest, with CR, LF and % percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def manifest_line(hex_digest: str, path: str) -> str:
    return f"{hex_digest}  {manifest_path(path)}\n"


def parse_manifest_line(line: str) -> tuple[str, str]:
    """(digest, path) of one manifest line; ValueError when it is not one."""
    digest, sep, path = line.rstrip("\r\n").partition(" ")
    path = path.lstrip(" ")
    if not sep or not re.fullmatch(r"[0-9a-fA-F]{32,128}", digest) or not path:
        raise ValueError(f"not a manifest line: {line[:80]!r}")
    return digest.lower(), (path.replace("%0A", "\n").replace("%0a", "\n")
                            .replace("%0D", "\r").replace("%0d", "\r").replace("%25", "%"))


def bag_info(fields: list[tuple[str, str]]) -> str:
    """RFC 8493 §2.2.2: `Label: value` lines; a value's line breaks become continuation
    lines (indented), so any text fits."""
    lines = []
    for label, value in fields:
        first, *rest = str(value).splitlines() or [""]
        lines.append(f"{label}: {first}")
        lines += [f"  {more}" for more in rest]
    return "\n".join(lines) + "\n"
