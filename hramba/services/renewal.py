"""Evidence renewal, timestamp renewal (RFC 4998 §5.2).

When the certificate behind a chain's last timestamp expires within the margin, or its
hash algorithm is listed as weakening, a new ArchiveTimeStamp over that chain's
timestamps is added to the chain, before the old one loses its force. All chains due are
leaves of one hash tree: one TSA request per renewal run, however many units. Each unit
then gets a new version of its Evidence Record; the old one stays, marked superseded.

A leaf is the data group of all timestamps of the chain so far: RFC 4998 needs the
previous one covered, Bouncy Castle's ERS checks that the newest covers every one.
Hash-tree renewal (§5.3: re-hashing the data with a new algorithm) is not built yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from hramba.db.engine import transaction
from hramba.db.models import Evidence, Tenant, Unit
from hramba.domain.hashtree import Leaf
from hramba.services import audit
from hramba.services.context import Archive
from hramba.services.seal import (
    Stamped,
    batch_row,
    evidence_row,
    store_evidence,
    timestamp_leaves,
)
from hramba.trust.ers import archive_time_stamp, evidence_record, raw_chains, read_evidence_record
from hramba.trust.tokens import signer_of


@dataclass
class RenewReport:
    checked: int = 0
    renewed: int = 0
    tsa_requests: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "renewed": self.renewed,
                "tsa_requests": self.tsa_requests, "reasons": self.reasons}


@dataclass(frozen=True)
class _Current:
    evidence_id: int
    unit_id: str
    tenant: str
    record: bytes


def renew(archive: Archive, margin: timedelta | None = None,
          weak_algorithms: Sequence[str] | None = None) -> RenewReport:
    """Renew every chain whose last timestamp is due; one TSA request for all of them."""
    margin = archive.sealing.renew_margin if margin is None else margin
    weak = archive.sealing.weak_algorithms if weak_algorithms is None else weak_algorithms
    report = RenewReport()
    due: dict[str, list[_Current]] = {}
    leaves: dict[str, Leaf] = {}
    deadline = archive.clock.now() + margin
    for current in _current_records(archive):
        report.checked += 1
        last = read_evidence_record(current.record)[-1]
        reason = _due(last[-1].token, last[-1].algorithm, deadline, weak)
        if reason is None:
            continue
        report.reasons[reason] = report.reasons.get(reason, 0) + 1
        hashes = tuple(hashlib.new(last[-1].algorithm, s.token).digest() for s in last)
        key = hashlib.sha256(b"".join(hashes)).hexdigest()
        leaves[key] = Leaf(key, hashes)
        due.setdefault(key, []).append(current)
    if not due:
        return report
    stamped = timestamp_leaves(archive, list(leaves.values()))
    report.tsa_requests = 1
    _commit(archive, stamped, due)
    report.renewed = sum(len(units) for units in due.values())
    return report


def _due(token: bytes, algorithm: str, deadline: datetime,
         weak: Sequence[str]) -> str | None:
    if algorithm in weak:
        return f"hash algorithm {algorithm} is weakening"
    signer = signer_of(token)
    if signer is None or signer.not_valid_after <= deadline:
        return "TSA certificate expires within the margin"
    return None


def _current_records(archive: Archive) -> list[_Current]:
    with transaction(archive.db) as session:
        return [_Current(*row) for row in session.execute(
            select(Evidence.id, Evidence.unit_id, Tenant.code, Evidence.record)
            .join(Unit, Evidence.unit_id == Unit.id).join(Tenant)
            .where(Evidence.superseded_at.is_(None)).order_by(Evidence.id))]


def _commit(archive: Archive, stamped: Stamped, due: dict[str, list[_Current]]) -> None:
    algorithm = archive.sealing.algorithm
    with transaction(archive.db) as session:
        row = batch_row(archive, stamped, sum(len(units) for units in due.values()))
        session.add(row)
        session.flush()
        rows = []
        for key, units in due.items():
            new_stamp = archive_time_stamp(stamped.tree.reduced[key], stamped.token, algorithm)
            for current in units:
                chains = raw_chains(current.record)
                chains[-1].append(new_stamp)
                algorithms = {s.algorithm for chain in read_evidence_record(current.record)
                              for s in chain} | {algorithm}
                record = evidence_record(chains, sorted(algorithms))
                rows.append(evidence_row(row.id, current.tenant, current.unit_id, record,
                                         row.sealed_at))
        session.execute(update(Evidence).where(Evidence.id.in_(
            [c.evidence_id for units in due.values() for c in units]))
            .values(superseded_at=row.sealed_at))
        session.execute(insert(Evidence), rows)
        audit.record(session, archive, "evidence.renewed", f"batch {row.id}", details={
            "root": row.root, "units": len(rows), "chains": len(due), "tsa": row.tsa})
    store_evidence(archive)
