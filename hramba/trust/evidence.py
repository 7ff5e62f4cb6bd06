"""Verify an RFC 4998 Evidence Record against a data group, offline, step by step.

RFC 4998 §5.3: the first ArchiveTimeStamp of the first chain must cover the data group
(its hashes are the first list of the reduced hash tree and the tree leads to the token's
message imprint); every later ArchiveTimeStamp of a chain must cover the hash of the
time-stamp before it (timestamp renewal); and each token's certificate must have been
valid when the next timestamp was made (for the last one: at the time of verification).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from hramba.core.types import CHUNK
from hramba.domain.hashtree import node_hash, root_of
from hramba.trust.ers import Stamp, chains_der, raw_chains, read_evidence_record, read_revocation
from hramba.trust.report import Check, Status, Trust
from hramba.trust.tokens import TokenReport, check_token


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


class DataGroup:
    """The files of a unit, hashed with whatever algorithm a chain asks for (cached)."""

    def __init__(self, openers: Sequence[Callable[[], AbstractContextManager[BinaryIO]]]) -> None:
        self._openers = openers
        self._hashes: dict[str, list[bytes]] = {}

    @classmethod
    def of_paths(cls, paths: Sequence[Path]) -> DataGroup:
        return cls([partial(_open_binary, p) for p in paths])

    @classmethod
    def of_recorded(cls, algorithm: str, hashes: Sequence[bytes]) -> DataGroup:
        """A data group whose bytes are gone (a disposed unit's tombstone): its recorded
        hashes in `algorithm`, and nothing in any other."""
        group = cls([])
        group._hashes[algorithm] = list(hashes)
        return group

    def hashes(self, algorithm: str) -> list[bytes]:
        if algorithm not in self._hashes:
            self._hashes[algorithm] = [self._hash(o, algorithm) for o in self._openers]
        return self._hashes[algorithm]

    @staticmethod
    def _hash(opener: Callable[[], AbstractContextManager[BinaryIO]], algorithm: str) -> bytes:
        digest = hashlib.new(algorithm)
        with opener() as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
        return digest.digest()


def _open_binary(path: Path) -> BinaryIO:
    return path.open("rb")


def verify_evidence(record: bytes, group: DataGroup, trust: Trust,
                    at: datetime | None = None) -> EvidenceReport:
    """Check `record` against the data group `group` (a unit's files)."""
    report = EvidenceReport()
    try:
        chains = read_evidence_record(record)
        raw = raw_chains(record)
        kept = read_revocation(record)  # what the record brings along (cryptoInfos)
    except Exception as exc:  # noqa: BLE001 - an unreadable record is a failed check
        report.checks.append(Check("evidence record", Status.FAILED, str(exc)))
        return report
    trust = replace(trust, crls=[*trust.crls, *kept.crls], ocsps=[*trust.ocsps, *kept.ocsps])
    stamps = [(c, s, stamp) for c, chain in enumerate(chains) for s, stamp in enumerate(chain)]
    if not stamps:
        report.checks.append(Check("evidence record", Status.FAILED, "no archive timestamp"))
        return report
    for n, (c, s, stamp) in enumerate(stamps):
        label = f"chain {c + 1} timestamp {s + 1}"
        data, what = _covered(group, raw, chains, c, s, stamp.algorithm)
        root = _root(report, f"{label}: {what}", data, stamp)
        until = _gen_time(stamps[n + 1][2]) if n + 1 < len(stamps) else (at or datetime.now(UTC))
        token = check_token(stamp.token, root or b"", trust, label=label, at=until)
        report.checks.extend(token.checks)
        if n == 0:
            report.proven_at = token.gen_time
    return report


def _covered(group: DataGroup, raw: list[list[bytes]], chains: list[list[Stamp]], c: int,
             s: int, algorithm: str) -> tuple[list[bytes], str]:
    """What the s-th timestamp of chain c must cover (RFC 4998 §5.2 and §5.3)."""
    if s > 0:
        previous = chains[c][s - 1].token
        return ([hashlib.new(algorithm, previous).digest()],
                "renewal link (previous timestamp in the first partial tree)")
    if c == 0:
        return group.hashes(algorithm), "data group hash in the first partial tree"
    covered = hashlib.new(algorithm, chains_der(raw[:c])).digest()
    return ([hashlib.new(algorithm, h + covered).digest() for h in group.hashes(algorithm)],
            f"hash-tree renewal ({algorithm} over the data and the earlier chains)")


def _root(report: EvidenceReport, name: str, data: list[bytes], stamp: Stamp) -> bytes | None:
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
