"""The unit manifest: metadata, file digests and a random salt, stored with the unit.

The salt makes the manifest's digest unguessable, so a hash path in an evidence record
never lets anyone confirm a neighbour's content by guessing it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hramba.core.errors import IntegrityViolation

MANIFEST_FORMAT = "e-hramba-manifest/1"
MANIFEST_NAME = "manifest.json"
MANIFEST_ROLE = "manifest"


@dataclass(frozen=True, slots=True)
class FileEntry:
    name: str
    role: str
    media_type: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "media_type": self.media_type,
                "size": self.size, "sha256": self.sha256}


def content_digest(files: list[FileEntry]) -> str:
    """The identity of a unit's content: the same bytes in the same roles, whatever the
    files are called, are the same unit (a package's envelope names its files anyway).
    A package as received is not part of it: the same members in another ZIP (or one
    archived before packages were kept) are the same document; nor is the record of its
    signatures' validation, which depends on when it was captured."""
    lines = sorted(f"{f.role}\t{f.sha256}" for f in files
                   if f.role not in ("package", "validation"))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Manifest:
    unit_id: str
    tenant: str
    received_at: datetime
    retain_until: datetime
    metadata: dict[str, Any]
    files: list[FileEntry]
    salt: str
    policy: str | None = None  # the retention policy that set retain_until, "id@vN"

    @classmethod
    def new(cls, unit_id: str, tenant: str, received_at: datetime, retain_until: datetime,
            metadata: dict[str, Any], files: list[FileEntry],
            policy: str | None = None) -> Manifest:
        return cls(unit_id, tenant, received_at, retain_until, metadata, files,
                   secrets.token_hex(16), policy)

    def to_bytes(self) -> bytes:
        body = {
            "format": MANIFEST_FORMAT,
            "unit_id": self.unit_id,
            "tenant": self.tenant,
            "received_at": self.received_at.isoformat(),
            "retain_until": self.retain_until.isoformat(),
            **({"policy": self.policy} if self.policy else {}),
            "metadata": self.metadata,
            "files": [f.as_dict() for f in self.files],
            "salt": self.salt,
        }
        return json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        try:
            body = json.loads(data)
            if body["format"] != MANIFEST_FORMAT:
                raise ValueError(body["format"])
            return cls(
                unit_id=body["unit_id"], tenant=body["tenant"],
                received_at=datetime.fromisoformat(body["received_at"]),
                retain_until=datetime.fromisoformat(body["retain_until"]),
                metadata=body["metadata"],
                files=[FileEntry(**f) for f in body["files"]], salt=body["salt"],
                policy=body.get("policy"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityViolation(f"unreadable unit manifest: {exc}") from exc
