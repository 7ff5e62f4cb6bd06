"""Retention: policies as data, and the arithmetic of their dates. Pure: parses text,
reads no files.

A policy file (policies/<id>.v<version>.yaml) says what it applies to, from which date
(trigger), for how long (period), whether that is counted to the end of the calendar year
(anchor) and what happens at expiry (action). Every date errs late, never early.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from hramba.core.errors import ConfigurationError, NotFound

# The year a document belongs to is the year in Slovenia, not in UTC: a document received
# at 00:30 on 1 January in Ljubljana belongs to the new year.
LEGAL_ZONE = ZoneInfo("Europe/Ljubljana")
KINDS = ("unit", "traffic", "staging", "unimported-staging", "export", "report")
TRIGGERS = {"unit": ("issue_date", "received_at"), "traffic": ("received_at",),
            "staging": ("confirmed_at", "imported_at"), "unimported-staging": ("staged_at",),
            "export": ("built_at",), "report": ("generated_at",)}
ANCHORS = ("end_of_year", "none")
ACTIONS = ("review", "purge")
FIELDS = {"id", "version", "title", "legal_basis", "applies_to", "trigger", "period",
          "anchor", "action"}


def end_of_year_plus(day: date, years: int) -> datetime:
    """23:59:59 UTC on 31 December of the `years`-th year after `day`'s year (an hour
    or two past midnight in Ljubljana, so never a moment too early).

    ZDDV-1 art. 141: invoices are kept 10 years after the end of the year they relate to,
    so a document of 2026-03-05 may go on 2036-12-31 at the earliest.
    """
    return datetime(day.year + years, 12, 31, 23, 59, 59, tzinfo=UTC)


def end_of_day(day: date) -> datetime:
    """Midnight after `day` in Ljubljana, in UTC: "by 2036-12-31" includes all of it."""
    return datetime.combine(day + timedelta(days=1), time(), LEGAL_ZONE).astimezone(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later; a day the target month lacks (29 February,
    31 April) rolls to the 1st of the month after, so the result is never early."""
    years, month0 = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + years, month0 + 1
    if moment.day > calendar.monthrange(year, month)[1]:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return moment.replace(year=year, month=month, day=1)
    return moment.replace(year=year, month=month)


@dataclass(frozen=True)
class Period:
    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, moment: datetime) -> datetime:
        return add_months(moment, 12 * self.years + self.months) + timedelta(days=self.days)

    def at_least(self) -> timedelta:
        """A lower bound of the period's length, to narrow a query before the exact check."""
        return timedelta(days=365 * self.years + 28 * self.months + self.days - 1)

    def __str__(self) -> str:
        parts = [(self.years, "year"), (self.months, "month"), (self.days, "day")]
        return ", ".join(f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n)


def policy_ref(policy_id: str, version: int) -> str:
    """How a policy version is named: `invoice-10y@v1`."""
    return f"{policy_id}@v{version}"


@dataclass(frozen=True)
class Policy:
    id: str
    version: int
    title: str
    act: str
    article: str
    kind: str
    document_types: frozenset[str]
    default: bool
    trigger: str
    period: Period
    anchor: str
    action: str
    source: str = ""
    sha256: str = ""

    @property
    def ref(self) -> str:
        return policy_ref(self.id, self.version)

    def due(self, start: date | datetime) -> datetime:
        """When what started at `start` (a date is taken as the whole day, in
        Ljubljana) has been kept long enough."""
        if self.anchor == "end_of_year":
            day = start.astimezone(LEGAL_ZONE).date() if isinstance(start, datetime) else start
            return end_of_year_plus(day, self.period.years)
        if not isinstance(start, datetime):  # the end of that day: never early
            start = end_of_day(start)
        return self.period.after(start.astimezone(UTC))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "title": self.title,
                "legal_basis": f"{self.act} art. {self.article}", "kind": self.kind,
                "trigger": self.trigger, "period": str(self.period), "anchor": self.anchor,
                "action": self.action, "file": self.source, "sha256": self.sha256}


def parse_policy(text: str, source: str) -> Policy:
    """A policy from its YAML text; every error names `source` and the field."""
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"policy {source}: not YAML: {exc}") from exc
    if not isinstance(body, dict):
        raise ConfigurationError(f"policy {source}: expected a mapping")
    if set(body) != FIELDS:
        missing, extra = sorted(FIELDS - set(body)), sorted(set(body) - FIELDS)
        raise ConfigurationError(f"policy {source}: missing {missing}, unknown {extra}")
    try:
        return _policy(body, source, hashlib.sha256(text.encode("utf-8")).hexdigest())
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigurationError(f"policy {source}: {type(exc).__name__}: {exc}") from exc


def _policy(body: dict[str, Any], source: str, sha256: str) -> Policy:
    applies, basis = dict(body["applies_to"]), dict(body["legal_basis"])
    period = Period(**{k: int(v) for k, v in dict(body["period"]).items()})
    policy = Policy(
        id=str(body["id"]), version=int(body["version"]), title=str(body["title"]),
        act=str(basis["act"]), article=str(basis["article"]), kind=str(applies["kind"]),
        document_types=frozenset(str(t) for t in applies.get("document_types", [])),
        default=bool(applies.get("default", False)), trigger=str(body["trigger"]),
        period=period, anchor=str(body["anchor"]), action=str(body["action"]),
        source=source, sha256=sha256)
    if policy.kind not in KINDS:
        raise ValueError(f"applies_to.kind must be one of {KINDS}")
    if policy.trigger not in TRIGGERS[policy.kind]:
        raise ValueError(f"trigger must be one of {TRIGGERS[policy.kind]}")
    if policy.anchor not in ANCHORS or policy.action not in ACTIONS:
        raise ValueError(f"anchor must be one of {ANCHORS}, action one of {ACTIONS}")
    if policy.anchor == "end_of_year" and (period.months or period.days):
        raise ValueError("a period anchored at the end of the year is whole years")
    if period == Period() or min(period.years, period.months, period.days) < 0:
        raise ValueError("period must be positive")
    return policy


@dataclass(frozen=True)
class Assignment:
    """The policy that governs a unit, the date it counts from, and the result."""

    policy: Policy
    trigger_date: date
    basis: str  # "issue_date" | "received_at"
    retain_until: datetime
    needs_classification: bool
    reason: str = ""


class PolicySet:
    """All released policies; lookups by id (latest version) or `id@vN`."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.all = sorted(policies, key=lambda p: (p.id, p.version))
        refs = [p.ref for p in self.all]
        if len(set(refs)) != len(refs):
            raise ConfigurationError(f"policies: a version appears twice in {refs}")
        self.latest = {p.id: p for p in self.all}  # sorted: the highest version wins
        for kind in KINDS:
            self.for_kind(kind)

    def get(self, ref: str) -> Policy:
        name, _, version = ref.partition("@")
        if not version:
            found = self.latest.get(name)
        else:
            found = next((p for p in self.all if p.id == name
                          and str(p.version) == version.removeprefix("v")), None)
        if found is None:
            raise NotFound(f"policy {ref} not found; known: "
                           + ", ".join(p.ref for p in self.all))
        return found

    def for_kind(self, kind: str) -> Policy:
        """The one current policy of `kind` (for units: the default one)."""
        current = [p for p in self.latest.values() if p.kind == kind
                   and (kind != "unit" or p.default)]
        if len(current) != 1:
            raise ConfigurationError(f"policies: need exactly one current {kind} policy"
                                     f"{' marked default' if kind == 'unit' else ''}, "
                                     f"found {[p.ref for p in current]}")
        return current[0]

    def for_unit(self, metadata: Mapping[str, Any], received_at: datetime,
                 policy: Policy | None = None) -> Assignment:
        """The default unit policy (or `policy`), counted from the issue date; a unit
        without one counts from its receipt and is flagged for classification, as is an
        invoice whose document type the policy does not name.

        An e-document (a document_class other than "invoice": an order, a despatch
        advice, ...) gets the unit policy that names its document type or its class, else
        the default one, unflagged: no act found gives e-documents a period of their own
        (docs/retention.md), and the reason recorded says so."""
        doc_type, doc_class = metadata.get("document_type"), metadata.get("document_class")
        edocument = doc_class not in (None, "invoice")
        policy = policy or (self._naming(str(doc_type), str(doc_class)) if edocument
                            else None) or self.for_kind("unit")
        issued = _iso_date(metadata.get("issue_date"))
        reason, flagged = "", True
        if issued is None:
            reason = "no issue date: counted from the receipt date"
        elif edocument and not {str(doc_type), str(doc_class)} & policy.document_types:
            reason, flagged = (f"e-document {doc_class!r}: no period of its own in law, "
                               f"the {policy.ref} policy applies"), False
        elif policy.default and str(doc_type) not in policy.document_types:
            reason = f"document type {doc_type!r} is not one the policy names"
        start = issued if issued and policy.trigger == "issue_date" else (
            received_at.astimezone(LEGAL_ZONE).date())
        return Assignment(policy, start, "issue_date" if issued else "received_at",
                          policy.due(start), bool(reason) and flagged, reason)

    def _naming(self, *names: str) -> Policy | None:
        """The current unit policy whose document_types hold one of `names`, if any."""
        return next((p for p in self.latest.values() if p.kind == "unit"
                     and set(names) & p.document_types), None)


def _iso_date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def storage_lock(retain_until: datetime, now: datetime, minimum: timedelta) -> datetime:
    """The retain-until given to storage: the policy's date, but at least `minimum` from
    now. Object Lock refuses a date in the past, and an archive should not receive a
    document it could delete the same day (one whose legal period has already run out)."""
    return max(retain_until, now + minimum)
