"""Ingest a directory: each regular file becomes one unit (format-aware intake: #4)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from hramba.core.errors import CodedRejection, NotFound, RejectedInput
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.db.engine import transaction
from hramba.db.models import Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.retention import LEGAL_ZONE
from hramba.domain.search import name_key
from hramba.domain.tenant import PRODUCTION, normalise_tax_number
from hramba.services import access
from hramba.services.archive import (
    IncomingFile,
    Measured,
    Outcome,
    TenantRef,
    UnitInput,
    archive_measured,
    claims,
    intake_tenant,
    measure,
    tenant_ref,
)
from hramba.services.context import Archive
from hramba.services.locks import claimed
from hramba.services.quarantine import quarantine, resolve
from hramba.services.signatures import SignatureRules, check_signatures
from ingest.directory import Candidate, count, printable, walk
from ingest.intake import NOT_AN_INVOICE, Parsed, as_document, read_input

BATCH = 100
# A batch's files, in memory until it commits where intake holds them (a package's
# members, embedded attachments), close it early past this many bytes: eight large
# invoices take the memory of one, not eight.
BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class IngestResult:
    path: str  # as the source names it, to be matched back (printable() to show it)
    outcome: str  # archived | duplicate | quarantined
    unit_id: str | None = None
    codes: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"path": printable(self.path), "outcome": self.outcome, "unit_id": self.unit_id,
                "codes": self.codes, "reason": self.reason}


def summarise(results: list[IngestResult]) -> dict[str, Any]:
    counts = {o: sum(r.outcome == o for r in results)
              for o in ("archived", "duplicate", "quarantined")}
    return {"results": [r.as_dict() for r in results], "archived": counts["archived"],
            "duplicates": counts["duplicate"], "quarantined": counts["quarantined"]}


def ingest_directory(archive: Archive, root: Path, tenant: str | None = None,
                     batch_size: int = BATCH, *,
                     progress: Progress = NO_PROGRESS) -> Iterator[IngestResult]:
    """Archive every file under `root` through intake, one result per file, in order.

    `tenant` names the budget user; without it each document goes to the tenant whose tax
    number is its receiver (envelope) or buyer. Files are checked and hashed one by one,
    then archived `batch_size` units at a time (one commit per batch), so a crash loses
    at most a batch of rows, which a re-run adopts. `progress` counts files as their
    results come, after their batch's commit. Paths are printable (a name that is not
    UTF-8 has those bytes as \\xNN), as the CLI shows them.
    """
    access.authorize(archive, Action.INGEST)  # before the path is looked at
    if not root.is_dir():
        raise NotFound(f"{root} is not a directory")
    progress.total(count(root))
    for result in ingest_candidates(archive, walk(root), tenant, batch_size, source="dir"):
        progress.advance()
        yield replace(result, path=printable(result.path))


def ingest_candidates(archive: Archive, candidates: Iterable[Candidate],
                      tenant: str | None = None, batch_size: int = BATCH, *,
                      source: str = "dir", any_file: bool = False) -> Iterator[IngestResult]:
    """Intake and archive `candidates`; each result is yielded after its batch commits.

    With `any_file` (migrations), a file that is no e-invoice is archived as a document
    of format "other" instead of being refused.
    """
    access.authorize(archive, Action.INGEST)
    router, rules = Router(archive, tenant), SignatureRules.of(archive)
    pending: Pending = []
    for candidate in candidates:
        pending.append(_measure_one(archive, candidate, router, rules, source, any_file))
        if _full(pending, batch_size):
            yield from _archive_batch(archive, pending)
            pending = []
    yield from _archive_batch(archive, pending)


# The parties' numbers intake may find, the receiving side first: a document goes to the
# tenant that receives it, else to the one that issued it (ZDDV-1 keeps both).
BUYER_KEYS = ("receiver_id", "buyer_vat", "buyer_tax_number")
SELLER_KEYS = ("sender_id", "seller_vat", "seller_tax_number")
WRONG_TENANT = "HRB-I031"
BAD_NAME = "HRB-I005"  # a file name that is not UTF-8: no key, row or line can hold it raw
# What a migration archives as a document of format "other" instead of refusing it: no
# e-invoice, or a PDF no reader can open (the prior provider's export is kept whole).
AS_DOCUMENT = (NOT_AN_INVOICE, "HRB-I030")


class Router:
    """Which tenant a document belongs to: the one given, or the one whose tax number (or
    VAT id, with or without SI) is the receiver's or buyer's, else the sender's or
    seller's; only tenants the principal serves. A budget user's production tenant, not
    its test one, gets what is routed by number (a test tenant is fed by naming it). A
    tenant given for a document whose parties are another registered tenant, and not it,
    is refused: never filed silently under the wrong one."""

    def __init__(self, archive: Archive, tenant: str | None) -> None:
        fixed = access.tenant(archive, tenant, Action.INGEST) if tenant else None
        self.fixed = intake_tenant(archive, fixed) if fixed else None  # not offboarded
        query = select(Tenant).order_by(Tenant.environment == PRODUCTION)  # it wins
        with transaction(archive.db) as session:
            self.by_tax = {t.tax_number: TenantRef.of(t) for t in session.scalars(
                access.scoped(query, archive, Tenant.id))}
            self.registered = set(session.scalars(select(Tenant.tax_number)))

    def route(self, metadata: dict[str, Any]) -> TenantRef:
        """The tenant, or CodedRejection: HRB-I026 none, HRB-I031 not the one given."""
        numbers = party_numbers(metadata)
        if self.fixed:
            others = [n for n in numbers if n in self.registered]
            if others and self.fixed.tax_number not in numbers:
                raise CodedRejection(WRONG_TENANT, f"the document's parties are "
                                     f"{' and '.join(others)}, a registered tenant, not "
                                     f"{self.fixed.code} ({self.fixed.tax_number})")
            return self.fixed
        found = next((self.by_tax[n] for n in numbers if n in self.by_tax), None)
        if found is None:
            raise CodedRejection("HRB-I026", _no_tenant(metadata))
        return found


def party_numbers(metadata: dict[str, Any]) -> list[str]:
    """The parties' Slovenian tax numbers (SI and 8 digits), receiving side first."""
    numbers = []
    for key in (*BUYER_KEYS, *SELLER_KEYS):
        try:
            numbers.append(normalise_tax_number(str(metadata.get(key) or "")))
        except RejectedInput:
            continue
    return list(dict.fromkeys(numbers))


Pending = list["IngestResult | tuple[Candidate, Measured]"]


def _archive_batch(archive: Archive, pending: Pending) -> Iterator[IngestResult]:
    """Refuse the batch's conflicts (one query), archive the rest, close the quarantine
    items they make good, results in order."""
    with claimed(archive, claims([m for _, m in _measured(pending)])):
        refused = _conflicts(archive, pending)
        measured = [(c, m) for c, m in _measured(pending) if c.relative not in refused]
        outcomes = dict(zip((c.relative for c, _ in measured),
                            archive_measured(archive, [m for _, m in measured])
                            if measured else [], strict=True))
    resolve(archive, {_source(c): outcomes[c.relative].unit_id for c, _ in measured},
            {e.sha256: outcomes[c.relative].unit_id for c, m in measured for e in m.entries})
    for item in pending:
        if isinstance(item, IngestResult):
            yield item
        elif item[0].relative in refused:
            yield refused[item[0].relative]
        else:
            outcome = outcomes[item[0].relative]
            yield IngestResult(item[0].relative, outcome.outcome, outcome.unit_id,
                               outcome.codes)


def archive_released(archive: Archive, path: Path, name: str, tenant: str,
                     finding: tuple[str, str], qid: str) -> Outcome:
    """A quarantined input an archivist released into `tenant`: what intake reads of it
    (its parts, metadata and findings), else its bytes as received as one document; with
    the finding that held it. No conflict or routing check: the archivist decided."""
    try:
        parsed = read_input(path, xsd_dir=archive.xsd_dir, name=name)
    except CodedRejection:
        parsed = as_document(path, name)
    parsed.findings.append(finding)
    check_signatures(archive, SignatureRules.of(archive), parsed)
    parsed.metadata["released_from_quarantine"] = qid
    candidate = Candidate(path, name, True, path.stat().st_size)
    unit = measure(replace(_unit_input(tenant_ref(archive, tenant), candidate, parsed,
                                       "quarantine"), source=f"quarantine:{qid}"))
    with claimed(archive, claims([unit])):
        return archive_measured(archive, [unit])[0]


def _full(pending: Pending, batch_size: int) -> bool:
    """Whether the batch is to be archived now: `batch_size` units, or BATCH_BYTES."""
    measured = _measured(pending)
    return (len(measured) >= batch_size
            or sum(e.size for _, m in measured for e in m.entries) >= BATCH_BYTES)


def _measured(pending: Pending) -> list[tuple[Candidate, Measured]]:
    return [p for p in pending if isinstance(p, tuple)]


def _conflicts(archive: Archive, pending: Pending) -> dict[str, IngestResult]:
    """HRB-I025: a document key already archived, or earlier in this batch, with other
    content. One query for the whole batch."""
    items = [(c, m) for c, m in _measured(pending) if m.input.document_key]
    with transaction(archive.db) as session:
        known = {(t, k): (content, uid) for t, k, content, uid in session.execute(
            select(Unit.tenant_id, Unit.document_key, Unit.content_sha256, Unit.id).where(
                Unit.document_key.in_({m.input.document_key for _, m in items})))}
    refused = {}
    for candidate, m in items:
        key = (m.input.tenant.id, m.input.document_key)
        content, unit_id = known.setdefault(key, (m.content_sha256, m.unit_id))
        if content != m.content_sha256:
            refused[candidate.relative] = _quarantined(
                archive, candidate, "HRB-I025", f"document {m.input.document_key} is archived "
                f"as unit {unit_id} with other content", m.input.tenant.code)
    return refused


def _quarantined(archive: Archive, candidate: Candidate, code: str, reason: str,
                 tenant: str | None, copy: bool = True) -> IngestResult:
    qid = quarantine(archive, source=_source(candidate), code=code, reason=reason,
                     tenant=tenant, path=candidate.path if copy else None)
    return IngestResult(candidate.relative, "quarantined", None, [code],
                        f"{reason} (quarantine {qid})")


def _source(candidate: Candidate) -> str:
    """Where a quarantined input came from, as the item records it (and intake matches it
    again): its path, with bytes that are not UTF-8 as \\xNN."""
    return printable(str(candidate.path))


def _measure_one(archive: Archive, candidate: Candidate, router: Router,
                 rules: SignatureRules, source: str, any_file: bool = False
                 ) -> IngestResult | tuple[Candidate, Measured]:
    def reject(code: str, reason: str, copy: bool = True,
               tenant: str | None = None) -> IngestResult:
        return _quarantined(archive, candidate, code, reason,
                            tenant or (router.fixed.code if router.fixed else None), copy)

    if not candidate.regular:
        return reject("HRB-I002", "not a regular file (links are never followed)", copy=False)
    if printable(candidate.relative) != candidate.relative:
        return reject(BAD_NAME, "name is not valid UTF-8 (the source shows those bytes as "
                      "\\xNN)")
    if candidate.size == 0:
        return reject("HRB-I001", "empty file")
    try:
        seen = _fingerprint(candidate.path.stat())
        parsed = read_input(candidate.path, xsd_dir=archive.xsd_dir)
    except PermissionError as exc:
        return reject("HRB-I003", f"unreadable: {exc.strerror}", copy=False)
    except CodedRejection as exc:
        if not (any_file and exc.code in AS_DOCUMENT):  # code and name are printed apart
            return reject(exc.code, exc.reason.removeprefix(f"{candidate.path.name}: "))
        parsed = as_document(candidate.path)
    try:
        tenant = router.route(parsed.metadata)
    except CodedRejection as exc:
        return reject(exc.code, exc.reason)
    check_signatures(archive, rules, parsed)
    try:
        return candidate, measure(_unit_input(tenant, candidate, parsed, source, seen))
    except RejectedInput as exc:
        return reject("HRB-I004", str(exc), tenant=tenant.code)


def _no_tenant(metadata: dict[str, Any]) -> str:
    numbers = [str(metadata[k]) for k in (*BUYER_KEYS, *SELLER_KEYS) if metadata.get(k)]
    if not numbers:
        return "the document names no party's tax number"
    return ("no registered budget user has the tax number of a party to the document: "
            + " or ".join(dict.fromkeys(numbers)))


def _unit_input(tenant: TenantRef, candidate: Candidate, parsed: Parsed, source: str,
                seen: tuple[int, int] | None = None) -> UnitInput:
    files = [IncomingFile(p.name, p.role, p.media_type,
                          partial(_open_unchanged, p.path, seen if p.path == candidate.path
                                  else None) if p.path else partial(io.BytesIO, p.data))
             for p in parsed.parts]
    metadata = {**parsed.metadata, "source_path": candidate.relative}
    if candidate.received_at:  # a migrated document's receipt at the previous provider
        metadata["provider_received_at"] = candidate.received_at
    return UnitInput(tenant, files, metadata, parsed.unit_format,
                     f"{source}:{candidate.relative}", parsed.findings,
                     document_key=document_key(parsed.metadata),
                     traffic=_traffic(parsed.envelope))


def _fingerprint(info: os.stat_result) -> tuple[int, int]:
    return info.st_size, info.st_mtime_ns


def _open_unchanged(path: Path, seen: tuple[int, int] | None) -> BinaryIO:
    """The file as intake parsed it (`seen`: its size and mtime then). Intake reads a
    large file from disk more than once (parse, hash, store); one changed in between, a
    writer still at it, is refused: its metadata would describe other bytes."""
    stream = path.open("rb")
    if seen and _fingerprint(os.fstat(stream.fileno())) != seen:
        stream.close()
        raise RejectedInput(f"{path.name} changed while it was being read; try again "
                            "once its writer has finished")
    return stream


def document_key(metadata: dict[str, Any]) -> str | None:
    """One document's identity: its sender (or seller: VAT id, else tax number, else
    name), its type (an invoice and a credit note may share a number) and its document
    id (or invoice number). Migration 0015 applied this rule to the units before it."""
    name = name_key(metadata.get("seller_name"))
    party = (metadata.get("sender_id") or metadata.get("seller_vat")
             or metadata.get("seller_tax_number") or (name and f"name:{name}"))
    number = metadata.get("doc_id") or metadata.get("invoice_number")
    kind = metadata.get("document_type") or ""
    return f"{party}|{kind}|{number}" if party and number else None


def _traffic(envelope: dict[str, Any] | None) -> dict[str, Any] | None:
    """Exchange (traffic) data from the envelope, ZPJS art. 55(4)."""
    if envelope is None:
        return None
    return {"doc_id": envelope.get("doc_id"), "sender_id": envelope.get("sender_id"),
            "receiver_id": envelope.get("receiver_id"),
            "sent_at": _timestamp(envelope.get("timestamp")), "status": "received"}


def _timestamp(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LEGAL_ZONE)
