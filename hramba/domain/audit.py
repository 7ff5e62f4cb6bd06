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


# What each action is in the PREMIS event vocabulary (Library of Congress,
# https://id.loc.gov/vocabulary/preservation/eventType), None where no type fits. Derived
# when events are shown, never stored: the chain hashes our action name, not this table.
EVENT_TYPES: dict[str, str | None] = {
    # intake and what is decided about it
    "unit.archived": "ingestion",
    "input.quarantined": "quarantine",
    "quarantine.released": "unquarantine",
    "quarantine.discarded": "deletion",
    "quarantine.resolved": "unquarantine",
    "migration.started": "ingestion start",
    "migration.staged": "transfer",
    "migration.confirmed": None,  # the budget user's word that the export is adequate
    "migration.reminder": None,
    "migration.imported": "ingestion end",
    # reads: every one is an event
    "units.listed": None,
    "units.searched": None,
    "unit.shown": None,
    "unit.read": "dissemination",
    "unit.exported": "dissemination",
    "export.requested": None,
    "export.approved": None,
    "export.built": "information package creation",
    "export.failed": None,
    "export.downloaded": "dissemination",
    "export.linked": "dissemination",
    "report.generated": "creation",
    "report.read": "dissemination",
    "disposal.certificate_read": "dissemination",
    "unit.verified": "fixity check",
    "audit.read": None,
    # integrity
    "fixity.run": "fixity check",
    "fixity.sweep": "fixity check",
    "batch.sealed": "message digest calculation",
    "evidence.renewed": "message digest calculation",
    "integrity.violation": "fixity check",
    # retention and disposal
    "unit.classified": "policy assignment",
    "hold.added": "policy assignment",
    "hold.released": "policy assignment",
    "disposal.proposed": "appraisal",
    "disposal.approved": "appraisal",
    "disposal.cancelled": None,
    "disposal.executed": "deaccession",
    "unit.disposed": "deletion",
    "traffic.purged": "deletion",
    "staging.purged": "deletion",
    "staging.certified": "creation",
    "staging.certificate_read": "dissemination",
    "export.purged": "deletion",
    # the archive itself: configuration, tenants, accounts, access, jobs
    "config.changed": None,
    "tenant.added": None,
    "tenant.changed": None,
    "tenant.offboarded": None,
    "account.added": None,
    "account.disabled": None,
    "account.password_set": None,
    "account.token_issued": None,
    "session.opened": None,
    "session.closed": None,
    "access.denied": None,
    "job.run": None,
}


def premis_type(action: str) -> str | None:
    """The PREMIS event type of an action (None where none fits, or for an unknown one)."""
    return EVENT_TYPES.get(action)


HEADS = "audit/heads/"


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The newest event when a seal had anchored the log, kept as a WORM object beside the
    database: a log that ends before it, or differs at it, was cut back."""

    seq: int
    hash: str
    occurred_at: datetime
    batch: int  # the batch whose sealing this head follows (and whose event it covers)

    @property
    def key(self) -> str:
        # Zero-padded, so the greatest key is the newest head.
        return f"{HEADS}{self.seq:016d}.json"

    def to_json(self) -> bytes:
        return json.dumps({"seq": self.seq, "hash": self.hash, "batch": self.batch,
                           "occurred_at": self.occurred_at.astimezone(UTC).isoformat()},
                          sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> AuditHead:
        """Raises ValueError for anything that is not a head as to_json writes it."""
        try:
            fields = json.loads(data)
            return cls(int(fields["seq"]), str(fields["hash"]),
                       datetime.fromisoformat(fields["occurred_at"]), int(fields["batch"]))
        except (KeyError, TypeError) as exc:  # bad JSON or dates are ValueErrors already
            raise ValueError(f"not an audit head: {exc}") from exc
