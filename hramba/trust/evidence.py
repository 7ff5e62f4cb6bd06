"""Verify an RFC 4998 Evidence Record against a data group, offline, step by step.

RFC 4998 §5.3: the first ArchiveTimeStamp of the first chain must cover the data group
(its hashes are the first list of the reduced hash tree and the tree leads to the token's
message imprint); every later ArchiveTimeStamp of a chain must cover the hash of the
time-stamp before it (timestamp renewal); and each token's certificate must have been
valid when the next timestamp was made (for the last one: at the time of verification).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from hramba.core.types import CHUNK
from hramba.domain.hashtree import node_hash, root_of
from hramba.trust.ers import Stamp, chains_der, raw_chains, read_evidence_record, read_revocation
from hramba.trust.report import Check, Status, TokenInfo, Trust, overall
from hramba.trust.tokens import TokenReport, check_token


@dataclass(frozen=True)
class EvidenceReport:
    """A verification: every step, what each token claims, which digests were checked.

    Only a PASSED result proves a time; otherwise the token times are claims."""

    checks: tuple[Check, ...]
    tokens: tuple[TokenInfo, ...] = ()
    digests: tuple[str, ...] = ()  # the data group as checked: algorithm:hex per file
    judged_at: datetime | None = None

    @property
    def result(self) -> Status:
        return overall(c.status for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.result is Status.PASSED

    @property
    def proven_at(self) -> datetime | None:
        """The first timestamp's time, when everything passed; None otherwise."""
        return self.tokens[0].gen_time if self.passed and self.tokens else None

    def adding(self, *checks: Check) -> EvidenceReport:
        return replace(self, checks=(*self.checks, *checks))

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result.value,
                "proven_existence": self.proven_at.isoformat() if self.proven_at else None,
                "claimed_times": [t.gen_time.isoformat() for t in self.tokens
                                  if t.gen_time and not self.passed],
                "judged_at": self.judged_at.isoformat() if self.judged_at else None,
                "digests": list(self.digests),
                "tokens": [t.as_dict() for t in self.tokens],
                "checks": [c.as_dict() for c in self.checks]}


class DataGroup:
    """The files of a unit, hashed with whatever algorithm a chain asks for (cached)."""

    def __init__(self, openers: Sequence[Callable[[], AbstractContextManager[BinaryIO]]],
                 known: Mapping[str, list[bytes]] | None = None) -> None:
        """`known`: hashes already computed (an export's manifests), by algorithm; the
        files are read only for another algorithm."""
        self._openers = openers
        self._hashes: dict[str, list[bytes]] = dict(known or {})

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
        """The members' hashes; LookupError when only other hashes are known (bytes gone)."""
        if algorithm not in self._hashes and not self._openers and self._hashes:
            raise LookupError(f"the files are gone and only their {', '.join(self._hashes)} "
                              f"digests are recorded: the {algorithm} chain cannot be checked")
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


# (token, the digest it must be over, trust, label, as of when) -> its checks
TokenCheck = Callable[[bytes, bytes, Trust, str, datetime | None], TokenReport]


def _check_token(token: bytes, digest: bytes, trust: Trust, label: str,
                 at: datetime | None) -> TokenReport:
    return check_token(token, digest, trust, label=label, at=at)


def _open_binary(path: Path) -> BinaryIO:
    return path.open("rb")


def verify_evidence(record: bytes, group: DataGroup, trust: Trust,
                    at: datetime | None = None, *,
                    token_check: TokenCheck | None = None) -> EvidenceReport:
    """Check `record` against `group` (exactly a unit's files) as of `at` (default now):
    only timestamps made by then count, and the last of them must still hold then.
    `token_check`: check_token, or a memo of it (the units of one batch share a token)."""
    token_check = token_check or _check_token
    at = at or datetime.now(UTC)
    try:
        chains = read_evidence_record(record)
        raw = raw_chains(record)
        kept = read_revocation(record)  # what the record brings along (cryptoInfos)
    except Exception as exc:  # noqa: BLE001 - an unreadable record is a failed check
        return EvidenceReport((Check("HRB-E001", "", Status.FAILED, str(exc)),), judged_at=at)
    trust = trust.with_revocation(kept.crls, kept.ocsps, "the record's cryptoInfos")
    stamps = [(c, s, stamp) for c, chain in enumerate(chains) for s, stamp in enumerate(chain)]
    if not stamps:
        return EvidenceReport((Check("HRB-E001", "", Status.FAILED, "no archive timestamp"),),
                              judged_at=at)
    used = [x for x in stamps if (_gen_time(x[2]) or at) <= at]
    if not used:
        first = _gen_time(stamps[0][2])
        return EvidenceReport((Check("HRB-E005", "", Status.FAILED, (
            f"the first timestamp is of {first:%Y-%m-%d %H:%M:%S %Z}, after "
            f"{at:%Y-%m-%d %H:%M:%S %Z}: the record did not exist then")),), judged_at=at)
    checks: list[Check] = []
    tokens: list[TokenInfo] = []
    for n, (c, s, stamp) in enumerate(used):
        label = f"chain {c + 1} timestamp {s + 1}"
        try:
            code, data = _covered(group, raw, chains, c, s, stamp.algorithm)
        except LookupError as exc:  # a tombstone's later chain: INDETERMINATE, not FAILED
            checks.append(Check("HRB-E004", label, Status.INDETERMINATE, str(exc)))
            continue
        checks.append(_tree_check(code, label, data, stamp))
        until = _gen_time(used[n + 1][2]) if n + 1 < len(used) else at
        token = token_check(stamp.token, _root(data, stamp), trust, label, until)
        checks.extend(token.checks)
        tokens.append(token.info())
    if len(used) < len(stamps):
        checks.append(Check("HRB-E005", "", Status.PASSED, (
            f"{len(stamps) - len(used)} later timestamp(s) not used: made after "
            f"{at:%Y-%m-%d %H:%M:%S %Z}")))
    digests = tuple(f"{used[0][2].algorithm}:{h.hex()}" for h in
                    group.hashes(used[0][2].algorithm))
    return EvidenceReport(tuple(checks), tuple(tokens), digests, at)


def _covered(group: DataGroup, raw: list[list[bytes]], chains: list[list[Stamp]], c: int,
             s: int, algorithm: str) -> tuple[str, list[bytes]]:
    """The check code, and the hashes the s-th timestamp of chain c must cover exactly
    (RFC 4998 §5.2 and §5.3)."""
    if s > 0:  # timestamp renewal: every earlier timestamp of the chain
        return "HRB-E003", [hashlib.new(algorithm, x.token).digest() for x in chains[c][:s]]
    if c == 0:
        return "HRB-E002", group.hashes(algorithm)
    covered = hashlib.new(algorithm, chains_der(raw[:c])).digest()
    return "HRB-E004", [hashlib.new(algorithm, h + covered).digest()
                        for h in group.hashes(algorithm)]


def _tree_check(code: str, label: str, data: list[bytes], stamp: Stamp) -> Check:
    if not stamp.reduced:  # no tree: the timestamp is directly over the data (group)
        return Check(code, label, Status.PASSED, f"{len(data)} hash(es), no reduced hash tree")
    try:
        root_of(data, stamp.reduced, stamp.algorithm)
    except ValueError as exc:
        return Check(code, label, Status.FAILED, str(exc))
    return Check(code, label, Status.PASSED,
                 f"{len(data)} {stamp.algorithm} hash(es), {len(stamp.reduced)} levels")


def _root(data: list[bytes], stamp: Stamp) -> bytes:
    """The value the token must be over; empty when the data is not in the tree (the
    imprint check then fails too, which is the truth)."""
    if not stamp.reduced:
        return data[0] if len(data) == 1 else node_hash(data, stamp.algorithm)
    try:
        return root_of(data, stamp.reduced, stamp.algorithm)
    except ValueError:
        return b""


def _gen_time(stamp: Stamp) -> datetime | None:
    return TokenReport.gen_time_of(stamp.token)
