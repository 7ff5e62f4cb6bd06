"""The audit log's hash chain: each event carries the hash of the one before it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EventBody:
    """What an audit event says; its hash covers all of it and the previous hash."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    tenant: str | None
    details: dict[str, Any]
    prev_hash: str

    def canonical(self) -> bytes:
        """Canonical JSON (sorted keys, no spaces, UTF-8): the bytes that are hashed."""
        body = {
            "seq": self.seq,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": self.actor,
            "action": self.action,
            "subject": self.subject,
            "tenant": self.tenant,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode("utf-8")

    def event_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()
