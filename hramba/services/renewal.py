"""Evidence renewal (RFC 4998 §5): keep every proof in force before it weakens.

Timestamp renewal (§5.2): when the certificate behind a chain's last timestamp expires
within the margin, a new ArchiveTimeStamp over the chain's timestamps joins that chain.
Its leaf is the data group of all the chain's timestamps: RFC 4998 needs the previous one
covered, Bouncy Castle's ERS checks that the newest covers every one. It keeps the
chain's hash algorithm (a chain never mixes algorithms).

Hash-tree renewal (§5.3): when a chain's hash algorithm is listed as weakening, every
file of the unit is read again and hashed with the configured (new) algorithm; each hash
is concatenated with the hash of all earlier chains (DER) and hashed again, and those
values, the unit's data group, start a new chain.

All chains due for the same kind of renewal share one hash tree: one TSA request per
renewal run and algorithm, however many units. Each unit gets a new version of its
Evidence Record; the old one stays, marked superseded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import insert, select, update

from hramba.core.errors import ConfigurationError
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import Evidence, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.hashtree import Leaf
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.locks import exclusive
from hramba.services.seal import (
    Stamped,
    batch_row,
    evidence_row,
    store_evidence,
    timestamp_leaves,
)
from hramba.trust.ers import (
    archive_time_stamp,
    chains_der,
    evidence_record,
    raw_chains,
    read_evidence_record,
    read_revocation,
)
from hramba.trust.evidence import DataGroup
from hramba.trust.tokens import renewal_reason, signer_of


@dataclass
class RenewReport:
    checked: int = 0
    renewed: int = 0
    tsa_requests: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    already_running: bool = False  # another process renews now: this run did nothing

    def as_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "renewed": self.renewed,
                "tsa_requests": self.tsa_requests, "reasons": self.reasons,
                "already_running": self.already_running}


@dataclass(frozen=True)
class _Current:
    evidence_id: int
    unit_id: str
    tenant: str
    record: bytes
    disposed: bool = False  # a tombstone: its data is gone, its timestamps are not


# A planned renewal: leaf key -> (leaf, the units whose records it renews).
_Plan = dict[str, tuple[Leaf, list[_Current]]]


def renew(archive: Archive, margin: timedelta | None = None,
          weak_algorithms: Sequence[str] | None = None, *,
          progress: Progress = NO_PROGRESS) -> RenewReport:
    """Renew every chain that is due; one TSA request per kind of renewal and algorithm.
    `progress` counts the records checked (a re-hash reads the unit's files then);
    only records of the tenants the principal serves."""
    access.authorize(archive, Action.RENEW)
    with exclusive(archive, "renewal") as held:  # one renewal at a time, whoever runs it
        if not held:
            return RenewReport(already_running=True)
        with audit.violations_audited(archive, "renewal"):
            return _renew_due(archive, margin, weak_algorithms, progress)


def _renew_due(archive: Archive, margin: timedelta | None,
               weak_algorithms: Sequence[str] | None, progress: Progress) -> RenewReport:
    margin = archive.sealing.renew_margin if margin is None else margin
    weak = archive.sealing.weak_algorithms if weak_algorithms is None else weak_algorithms
    if archive.sealing.algorithm in weak:
        raise ConfigurationError(f"seal.algorithm {archive.sealing.algorithm} is listed in "
                                 "renew.weak_algorithms: choose a stronger one")
    report, deadline = RenewReport(), archive.clock.now() + margin
    stamps: dict[str, _Plan] = {}
    rehash: _Plan = {}
    records = _current_records(archive)
    progress.total(len(records))
    for current in records:
        report.checked += 1
        last = read_evidence_record(current.record)[-1]
        algorithm = last[-1].algorithm
        if algorithm in weak and current.disposed:
            # RFC 4998 §5.2 needs the data to re-hash; a disposed unit's proof stays as
            # strong as its weakest hash, which the certificate of its disposal records.
            _count(report, f"hash algorithm {algorithm} is weakening, but the unit was "
                           "disposed of: its data cannot be re-hashed")
        elif algorithm in weak:
            _count(report, f"hash algorithm {algorithm} is weakening")
            leaf = _rehashed_leaf(archive, current, archive.sealing.algorithm)
            rehash[leaf.key] = (leaf, [current])
        elif reason := renewal_reason(last[-1].token, deadline, archive.sealing.trust.anchors,
                                      archive.sealing.algorithm_policy):
            _count(report, reason)
            hashes = tuple(hashlib.new(algorithm, s.token).digest() for s in last)
            key = hashlib.sha256(b"".join(hashes)).hexdigest()
            plan = stamps.setdefault(algorithm, {})
            plan.setdefault(key, (Leaf(key, hashes), []))[1].append(current)
        progress.advance()
    for algorithm, plan in stamps.items():
        _renew(archive, plan, algorithm, _append_to_last_chain, report, deadline)
    if rehash:
        _renew(archive, rehash, archive.sealing.algorithm, _start_new_chain, report, deadline)
    return report


def _count(report: RenewReport, reason: str) -> None:
    report.reasons[reason] = report.reasons.get(reason, 0) + 1


def _rehashed_leaf(archive: Archive, current: _Current, algorithm: str) -> Leaf:
    """RFC 4998 §5.3 step 5: H(H(data) + H(all earlier chains)) for every file."""
    with transaction(archive.db) as session:
        keys = list(session.scalars(select(File.object_key).where(
            File.unit_id == current.unit_id).order_by(File.position)))
    group = DataGroup([partial(archive.store.open, ObjectKey(k)) for k in keys])
    covered = hashlib.new(algorithm, chains_der(raw_chains(current.record))).digest()
    return Leaf(current.unit_id, tuple(hashlib.new(algorithm, h + covered).digest()
                                       for h in group.hashes(algorithm)))


def _append_to_last_chain(chains: list[list[bytes]], stamp: bytes) -> list[list[bytes]]:
    return [*chains[:-1], [*chains[-1], stamp]]


def _start_new_chain(chains: list[list[bytes]], stamp: bytes) -> list[list[bytes]]:
    return [*chains, [stamp]]


def _renew(archive: Archive, plan: _Plan, algorithm: str,
           extend: Callable[[list[list[bytes]], bytes], list[list[bytes]]],
           report: RenewReport, deadline: datetime) -> None:
    stamped = timestamp_leaves(archive, [leaf for leaf, _ in plan.values()], algorithm)
    report.tsa_requests += 1
    _refuse_weaker(archive, stamped.token, plan, deadline)
    _commit(archive, stamped, plan, algorithm, extend)
    report.renewed += sum(len(units) for _, units in plan.values())


def _refuse_weaker(archive: Archive, token: bytes, plan: _Plan, deadline: datetime) -> None:
    """A renewal never weakens a proof: the new token must not be due itself (so its
    certificate holds past now + the margin), and when a chain is renewed because its
    certificate expires, the new one must outlive it. Nothing is recorded else."""
    tsa = archive.sealing.timestamper.description
    still_due = renewal_reason(token, deadline, archive.sealing.trust.anchors,
                               archive.sealing.algorithm_policy)
    if still_due:
        raise ConfigurationError(f"{tsa}: refused as renewal TSA, its new token would be due "
                                 f"for renewal at once: {still_due}")
    new = signer_of(token)
    for _, currents in plan.values():
        for current in currents:
            old = signer_of(read_evidence_record(current.record)[-1][-1].token)
            renewed_for_expiry = old is not None and old.not_valid_after <= deadline
            if new and old and renewed_for_expiry and new.not_valid_after <= old.not_valid_after:
                raise ConfigurationError(
                    f"{tsa}: refused as renewal TSA, its certificate (until "
                    f"{new.not_valid_after:%Y-%m-%d}) does not outlive the one renewed "
                    f"(until {old.not_valid_after:%Y-%m-%d})")


def _current_records(archive: Archive) -> list[_Current]:
    query = (select(Evidence.id, Evidence.unit_id, Tenant.code, Evidence.record,
                    Unit.disposed_at.is_not(None))
             .join(Unit, Evidence.unit_id == Unit.id).join(Tenant)
             .where(Evidence.superseded_at.is_(None)).order_by(Evidence.id))
    with transaction(archive.db) as session:
        return [_Current(*row) for row in session.execute(
            access.scoped(query, archive, Unit.tenant_id))]


def _commit(archive: Archive, stamped: Stamped, plan: _Plan, algorithm: str,
            extend: Callable[[list[list[bytes]], bytes], list[list[bytes]]]) -> None:
    units = [current for _, currents in plan.values() for current in currents]
    with transaction(archive.db) as session:
        row = batch_row(archive, stamped, len(units), algorithm)
        session.add(row)
        session.flush()
        rows = []
        for key, (_, currents) in plan.items():
            stamp = archive_time_stamp(stamped.tree.reduced[key], stamped.token, algorithm)
            for current in currents:
                algorithms = {s.algorithm for chain in read_evidence_record(current.record)
                              for s in chain} | {algorithm}
                record = evidence_record(extend(raw_chains(current.record), stamp),
                                         sorted(algorithms),
                                         read_revocation(current.record) | stamped.revocation)
                rows.append(evidence_row(row.id, current.tenant, current.unit_id, record,
                                         row.sealed_at))
        session.execute(update(Evidence).where(Evidence.id.in_(
            [c.evidence_id for c in units])).values(superseded_at=row.sealed_at))
        session.execute(insert(Evidence), rows)
        audit.record(session, archive, "evidence.renewed", f"batch {row.id}", details={
            "root": row.root, "algorithm": algorithm, "units": len(rows),
            "chains": len(plan), "tsa": row.tsa,
            "kind": "hash tree" if extend is _start_new_chain else "timestamp"})
    store_evidence(archive)
    audit.store_head(archive, row.id)  # this batch anchored the log too: keep its head
