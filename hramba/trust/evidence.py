"""Verify an RFC 4998 Evidence Record against a data group, offline, step by step.

RFC 4998 §5.3: the first ArchiveTimeStamp of the first chain must cover the data group
(its hashes are the first list of the reduced hash tree and the tree leads to the token's
message imprint); every later ArchiveTimeStamp of a chain must cover the hash of the
time-stamp before it (timestamp renewal); and each token's certificate must have been
valid when the next timestamp was made (for the last one: at the time of verification).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hramba.domain.hashtree import node_hash, root_of
from hramba.trust.ers import Stamp, read_evidence_record
from hramba.trust.tokens import Check, Status, TokenReport, Trust, check_token


@dataclass
class EvidenceReport:
    checks: list[Check] = field(default_factory=list)
    proven_at: datetime | None = None

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.status is Status.PASSED for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"result": "PASSED" if self.passed else "FAILED",
                "proven_existence": self.proven_at.isoformat() if self.proven_at else None,
                "checks": [c.as_dict() for c in self.checks]}


def verify_evidence(record: bytes, members: Sequence[bytes], trust: Trust,
                    at: datetime | None = None) -> EvidenceReport:
    """Check `record` against the data group whose file hashes are `members`."""
    report = EvidenceReport()
    try:
        chains = read_evidence_record(record)
    except Exception as exc:  # noqa: BLE001 - an unreadable record is a failed check
        report.checks.append(Check("evidence record", Status.FAILED, str(exc)))
        return report
    stamps = [(c, s, stamp) for c, chain in enumerate(chains) for s, stamp in enumerate(chain)]
    if not stamps:
        report.checks.append(Check("evidence record", Status.FAILED, "no archive timestamp"))
        return report
    previous: Stamp | None = None
    for n, (c, s, stamp) in enumerate(stamps):
        label = f"chain {c + 1} timestamp {s + 1}"
        data = list(members) if previous is None or s == 0 else [
            hashlib.new(stamp.algorithm, previous.token).digest()]
        root = _root(report, label, data, stamp, first=previous is None)
        until = _gen_time(stamps[n + 1][2]) if n + 1 < len(stamps) else (at or datetime.now(UTC))
        token = check_token(stamp.token, root or b"", trust, label=label, at=until)
        report.checks.extend(token.checks)
        if previous is None:
            report.proven_at = token.gen_time
        if c > 0 and s == 0:
            report.checks.append(Check(f"{label}: hash-tree renewal", Status.INDETERMINATE,
                                       "verification of hash-tree renewal is not built yet"))
        previous = stamp
    return report


def _root(report: EvidenceReport, label: str, data: list[bytes], stamp: Stamp,
          first: bool) -> bytes | None:
    name = (f"{label}: data group hash in the first partial tree" if first
            else f"{label}: renewal link (previous timestamp in the first partial tree)")
    if not stamp.reduced:  # no tree: the timestamp is directly over the data (group)
        root = data[0] if len(data) == 1 else node_hash(data, stamp.algorithm)
        report.checks.append(Check(name, Status.PASSED, "no reduced hash tree"))
        return root
    try:
        root = root_of(data, stamp.reduced, stamp.algorithm)
    except ValueError as exc:
        report.checks.append(Check(name, Status.FAILED, str(exc)))
        return None
    report.checks.append(Check(name, Status.PASSED, f"{len(stamp.reduced)} levels"))
    return root


def _gen_time(stamp: Stamp) -> datetime | None:
    return TokenReport.gen_time_of(stamp.token)
