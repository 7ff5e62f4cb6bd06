"""Search: units by what budget users know of their invoices (issue dates, a party, a
number, a type, an amount), a page at a time; every search is an audit event with its
criteria and the number of units found.

Results come in the order of the index (tenant, issue date, unit id), units without an
issue date after those of their tenant that have one. Pages are keyset pages: `after` is
where the last one ended, so page 1,000 costs what page 1 does. The rest of the position's
tenant and each tenant after it are ranges of that index, read in turn until the page is
full (see _ranges).

The criteria are columns of `units` (hramba.domain.search.SearchFields, migration 0010);
tenant scope is applied by hramba.services.access, as for every read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, false, func, or_, select, tuple_
from sqlalchemy.orm import Session

from hramba.core.errors import RejectedInput
from hramba.core.types import iso
from hramba.db.engine import transaction
from hramba.db.models import Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.search import (
    TYPE_NAMES,
    Direction,
    Party,
    Position,
    counterparty,
    document_type_code,
    name_key,
    party_id,
)
from hramba.services import access, audit
from hramba.services.context import Archive

MAX_LIMIT = 1000


@dataclass(frozen=True)
class SearchCriteria:
    """Which units: every criterion given holds (None: not asked). `party` is a tax or
    VAT id (exact, normalised) or the start of a name (case and diacritics ignored), of
    the seller or the buyer; `document_type` a name of DOCUMENT_TYPES or a code; `sealed`
    False finds the units still pending. `after`: where the previous page ended."""

    tenant: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    party: str | None = None
    number: str | None = None
    document_type: str | None = None
    direction: Direction | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    currency: str | None = None
    unit_format: str | None = None
    sealed: bool | None = None
    after: str | None = None
    limit: int = 100

    def as_dict(self) -> dict[str, Any]:
        """JSON values (the audit event keeps them): dates and amounts as text."""
        return {key: str(value) if isinstance(value, date | Decimal) else value
                for key, value in asdict(self).items()}


@dataclass(frozen=True)
class Hit:
    """One unit found: what search filters on, and whether it is sealed or disposed of."""

    unit_id: str
    tenant: str
    issue_date: date | None
    document_type: str | None
    invoice_number: str | None
    seller: Party
    buyer: Party
    payable_amount: Decimal | None
    currency: str | None
    direction: str | None
    unit_format: str
    received_at: datetime
    sealed: bool
    disposed: bool

    @property
    def counterparty(self) -> Party:
        return counterparty(self.direction, self.seller, self.buyer)

    @property
    def type_name(self) -> str | None:
        """The document type by name (DOCUMENT_TYPES), else its code."""
        return TYPE_NAMES.get(self.document_type or "", self.document_type)

    def as_dict(self) -> dict[str, Any]:
        shown = asdict(self)
        shown["format"] = shown.pop("unit_format")  # as `ls` and `show` name it
        return shown | {
            "issue_date": iso(self.issue_date), "type": self.type_name,
            "counterparty": asdict(self.counterparty), "received_at": iso(self.received_at),
            "payable_amount": None if self.payable_amount is None else str(self.payable_amount)}


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[Hit, ...]
    next_after: str | None  # pass as `after` for the next page; None: this was the last

    def as_dict(self) -> dict[str, Any]:
        return {"units": [hit.as_dict() for hit in self.hits], "next_after": self.next_after}


def search_units(archive: Archive, criteria: SearchCriteria) -> SearchPage:
    """A page of the units the principal may read that meet `criteria` (none: an empty
    page); a --tenant outside its scope is NotFound, as for every read."""
    access.authorize(archive, Action.READ)
    if not 1 <= criteria.limit <= MAX_LIMIT:
        raise RejectedInput(f"a page holds 1 to {MAX_LIMIT} units, not {criteria.limit}")
    after = Position.parse(criteria.after) if criteria.after else None
    query = access.scoped(_matching(criteria), archive, Unit.tenant_id)
    ranges = _ranges(after, _tenants(archive, criteria.tenant))
    with transaction(archive.db) as session:
        rows = _page(session, query, ranges, criteria.limit + 1)
        shown = rows[:criteria.limit]
        page = SearchPage(tuple(_hit(row) for row in shown),
                          _position(shown[-1]).token() if len(rows) > len(shown) else None)
        audit.record(session, archive, "units.searched", "units", tenant=criteria.tenant,
                     details=criteria.as_dict() | {"count": len(shown)})
    return page


def count_matches(session: Session, criteria: SearchCriteria, tenant_id: int) -> int:
    """How many units of the tenant meet `criteria` (an export request's size)."""
    matching = _matching(criteria).where(Unit.tenant_id == tenant_id).subquery()
    return int(session.scalar(select(func.count()).select_from(matching)) or 0)


def each_match(session: Session, criteria: SearchCriteria, tenant_id: int,
               page: int = 500) -> Iterator[Row[Any]]:
    """Every unit of the tenant meeting `criteria`, in search order, a keyset page at a
    time (its `after` and `limit` are not used): what an export takes."""
    query, after = _matching(criteria).where(Unit.tenant_id == tenant_id), None
    while True:
        rows = _page(session, query, _ranges(after, [tenant_id]), page)
        yield from rows
        if len(rows) < page:
            return
        after = _position(rows[-1])


_ORDER = (Unit.tenant_id, Unit.issue_date.asc().nulls_last(), Unit.id)


def _matching(c: SearchCriteria) -> Select[*tuple[Any, ...]]:
    """The units meeting every criterion given, with the columns a Hit shows."""
    given: list[tuple[object, Callable[[Any], ColumnElement[bool]]]] = [
        (c.date_from, lambda v: Unit.issue_date >= v),
        (c.date_to, lambda v: Unit.issue_date <= v),
        (c.party, _party),
        (c.number, lambda v: Unit.invoice_number == v.strip()),
        (c.document_type, lambda v: Unit.document_type == document_type_code(v)),
        (c.direction, lambda v: Unit.direction == Direction(v).value),
        (c.amount_min, lambda v: Unit.payable_amount >= v),
        (c.amount_max, lambda v: Unit.payable_amount <= v),
        (c.currency, lambda v: Unit.currency == v.strip().upper()),
        (c.unit_format, lambda v: Unit.format == v),
        (c.sealed, lambda v: Unit.sealed_at.is_not(None) if v else Unit.sealed_at.is_(None)),
    ]
    return select(
        Unit.id, Unit.tenant_id, Tenant.code, Unit.issue_date, Unit.document_type,
        Unit.invoice_number, Unit.seller_tax_id, Unit.seller_name, Unit.buyer_tax_id,
        Unit.buyer_name, Unit.payable_amount, Unit.currency, Unit.direction, Unit.format,
        Unit.received_at, Unit.sealed_at, Unit.disposed_at,
    ).join(Tenant).where(*(make(value) for value, make in given
                           if value is not None and value != ""))


def _party(value: str) -> ColumnElement[bool]:
    """The seller or the buyer, by tax id (exactly, normalised) or by the start of the
    name (its search key): four index lookups, or'ed."""
    either: list[ColumnElement[bool]] = []
    if tax_id := party_id(value):
        either += [Unit.seller_tax_id == tax_id, Unit.buyer_tax_id == tax_id]
    if key := name_key(value):
        prefix = key.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        either += [Unit.seller_name_key.like(prefix, escape="/"),
                   Unit.buyer_name_key.like(prefix, escape="/")]
    return or_(*either) if either else false()


def _tenants(archive: Archive, code: str | None) -> list[int] | None:
    """The tenants searched, in order; None: every tenant. Only to split the search by
    tenant (see _ranges): the scope itself is applied by access.scoped."""
    if code is not None:
        return [access.tenant(archive, code, Action.READ).id]  # in scope, or NotFound
    ids = archive.principal.tenant_ids
    return None if ids is None else sorted(ids)


Range = Sequence[ColumnElement[bool]]


def _ranges(after: Position | None, tenants: list[int] | None) -> list[Range]:
    """What comes after `after`, as ranges of the order (tenant, issue date, id), in
    order: the rest of its tenant, then each later tenant searched, one range each (so
    PostgreSQL plans each for one tenant, by the index that suits it), or all later
    tenants at once when the search covers every tenant (there may be thousands)."""
    rest = _rest_of_tenant(after) if after else []
    if tenants is None:
        return [*rest, (Unit.tenant_id > after.tenant_id,) if after else ()]
    return [*rest, *((Unit.tenant_id == t,) for t in tenants
                     if after is None or t > after.tenant_id)]


def _rest_of_tenant(after: Position) -> list[Range]:
    """The units of `after`'s tenant that follow it: those dated after it, then the
    undated ones (SQL's NULLs would not fit one row comparison)."""
    same, undated = Unit.tenant_id == after.tenant_id, Unit.issue_date.is_(None)
    if after.issue_date is None:
        return [(same, undated, Unit.id > after.unit_id)]
    return [(same, tuple_(Unit.issue_date, Unit.id) > (after.issue_date, after.unit_id)),
            (same, undated)]


def _page(session: Session, query: Select[*tuple[Any, ...]], ranges: list[Range],
          size: int) -> list[Row[Any]]:
    """Up to `size` rows: each range in turn, until the page is full."""
    rows: list[Row[Any]] = []
    for where in ranges:
        rows += session.execute(query.where(*where).order_by(*_ORDER)
                                .limit(size - len(rows))).all()
        if len(rows) == size:
            break
    return rows


def _position(row: Row[Any]) -> Position:
    return Position(row.tenant_id, row.issue_date, row.id)


def _hit(row: Row[Any]) -> Hit:
    return Hit(row.id, row.code, row.issue_date, row.document_type, row.invoice_number,
               Party(row.seller_tax_id, row.seller_name),
               Party(row.buyer_tax_id, row.buyer_name), row.payable_amount, row.currency,
               row.direction, row.format, row.received_at, row.sealed_at is not None,
               row.disposed_at is not None)
