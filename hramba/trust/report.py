"""Results of checks, and what tokens are judged against: light, no crypto imports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from asn1crypto import x509

from hramba.core.findings import CHECKS


class Status(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"


def overall(statuses: Iterable[Status]) -> Status:
    """FAILED if a step failed; else INDETERMINATE if one could not be decided; PASSED only
    when there was something to check and every step passed."""
    seen = set(statuses)
    if Status.FAILED in seen or not seen:
        return Status.FAILED
    return Status.INDETERMINATE if Status.INDETERMINATE in seen else Status.PASSED


@dataclass(frozen=True)
class Check:
    """One step of a verification: its stable code, what it concerns, how it ended."""

    code: str
    subject: str  # e.g. "chain 1 timestamp 2"; empty for the record as a whole
    status: Status
    detail: str = ""

    def __post_init__(self) -> None:
        if self.code not in CHECKS:
            raise ValueError(f"undocumented check code {self.code}")

    @property
    def title(self) -> str:
        return CHECKS[self.code]

    @property
    def name(self) -> str:
        return f"{self.subject}: {self.title}" if self.subject else self.title

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "subject": self.subject, "check": self.title,
                "status": self.status.value, "detail": self.detail}


@dataclass(frozen=True)
class TokenInfo:
    """What a report says of one time-stamp token: the TSA's claims and what was used."""

    label: str
    gen_time: datetime | None
    tsa: str
    serial_number: int | None
    policy: str
    qualified: bool
    revocation: tuple[str, ...] = ()  # which CRL or OCSP response, from where

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label,
                "gen_time": self.gen_time.isoformat() if self.gen_time else None,
                "tsa": self.tsa, "serial_number": self.serial_number, "policy": self.policy,
                "qualified": self.qualified, "revocation": list(self.revocation)}


@dataclass(frozen=True)
class AlgorithmPolicy:
    """What renewal treats as weakening (ETSI TS 119 312 tells which, year by year):
    signature algorithms by name (`sha1_rsa`), and the smallest RSA or EC key."""

    weak_signatures: tuple[str, ...] = ("md5_rsa", "sha1_rsa", "sha1_dsa", "sha1_ecdsa")
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256


@dataclass(frozen=True)
class Trust:
    """What a token is judged against: anchors, material that helps build paths, the
    revocation data at hand (`sources` names where each item came from), and policy."""

    anchors: Sequence[x509.Certificate]
    other_certs: Sequence[x509.Certificate] = ()
    crls: Sequence[bytes] = ()
    ocsps: Sequence[bytes] = ()
    policies: Sequence[str] = ()  # accepted TSA policy OIDs; empty: any
    accept_unqualified: bool = False
    sources: Mapping[bytes, str] = field(default_factory=dict)  # DER -> where it came from
    require_revocation: bool = True  # False only for the first look at a fresh token

    def with_validation_files(self, files: Iterable[tuple[str, bytes]]) -> Trust:
        """This trust plus a validation folder's files (an export's validation/), by
        name: *.crl and *.ocsp revocation data, *.pem certificates that help build paths
        (never anchors); other files are ignored."""
        from dataclasses import replace

        from hramba.trust.certs import certificates_in

        trust, helpers = self, []
        for name, data in files:
            if name.endswith(".pem"):
                helpers += certificates_in(data, name)
            elif name.endswith((".crl", ".ocsp")):
                crl = name.endswith(".crl")
                trust = trust.with_revocation([data] if crl else [], [] if crl else [data],
                                              name)
        return replace(trust, other_certs=[*trust.other_certs, *helpers])

    def with_revocation(self, crls: Sequence[bytes], ocsps: Sequence[bytes],
                        source: str) -> Trust:
        """This trust plus revocation data from `source`."""
        sources = {**{item: source for item in (*crls, *ocsps)}, **self.sources}
        return Trust(self.anchors, self.other_certs, [*self.crls, *crls],
                     [*self.ocsps, *ocsps], self.policies, self.accept_unqualified, sources,
                     self.require_revocation)
