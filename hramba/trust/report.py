"""Results of checks, and what tokens are judged against: light, no crypto imports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from asn1crypto import x509


class Status(StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    INDETERMINATE = "INDETERMINATE"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"check": self.name, "status": self.status.value, "detail": self.detail}


@dataclass(frozen=True)
class Trust:
    """What a token is judged against: anchors, and material that helps build paths."""

    anchors: Sequence[x509.Certificate]
    other_certs: Sequence[x509.Certificate] = ()
    crls: Sequence[bytes] = ()
    ocsps: Sequence[bytes] = ()
    policies: Sequence[str] = ()  # accepted TSA policy OIDs; empty: any
