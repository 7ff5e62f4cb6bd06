"""hramba search: units by what budget users know of their invoices, a page at a time."""

from __future__ import annotations

import shlex
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import typer

from hramba.cli.common import JSON_OPTION, emit_json, invoice_columns, state
from hramba.domain.search import DOCUMENT_TYPES, Direction

if TYPE_CHECKING:
    from hramba.services.search import Hit, SearchCriteria

DATE = ["%Y-%m-%d"]


def _amount(text: str) -> Decimal:
    try:
        amount = Decimal(text.replace(",", "."))  # 12,50 as written in Slovenia
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():
        raise typer.BadParameter(f"{text!r} is not an amount such as 1250.00")
    return amount


# The criteria, shared by `search` and `export request`.
DATE_FROM = typer.Option(None, "--from", formats=DATE, metavar="DATE",
                         help="Issued on or after this date.")
DATE_TO = typer.Option(None, "--to", formats=DATE, metavar="DATE",
                       help="Issued on or before this date.")
PARTY = typer.Option(None, "--party", help="Seller or buyer: a tax or VAT id (exact), or the "
                                           "start of a name (case and diacritics ignored).")
NUMBER = typer.Option(None, "--number", help="This invoice number.")
TYPE = typer.Option(None, "--type", help=f"Document type: {', '.join(DOCUMENT_TYPES)}, or a "
                                         "UNTDID 1001 code.")
DIRECTION = typer.Option(None, "--direction",
                         help="Received (the tenant is the buyer) or issued.")
AMOUNT_MIN = typer.Option(None, "--amount-min", parser=_amount, metavar="AMOUNT",
                          help="Amount payable at least this.")
AMOUNT_MAX = typer.Option(None, "--amount-max", parser=_amount, metavar="AMOUNT",
                          help="Amount payable at most this.")
CURRENCY = typer.Option(None, "--currency", help="ISO 4217, e.g. EUR.")
FORMAT = typer.Option(None, "--format", help="eslog20, eslog16, ubl, cii, zugferd1, "
                            "an e-document's (ubl-order, ...) or other.")
SEALED = typer.Option(None, "--sealed/--pending",
                      help="Only sealed units, or only those not yet.")


def search(ctx: typer.Context,
           tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
           date_from: datetime | None = DATE_FROM, date_to: datetime | None = DATE_TO,
           party: str | None = PARTY, number: str | None = NUMBER,
           document_type: str | None = TYPE, direction: Direction | None = DIRECTION,
           amount_min: Decimal | None = AMOUNT_MIN, amount_max: Decimal | None = AMOUNT_MAX,
           currency: str | None = CURRENCY, unit_format: str | None = FORMAT,
           sealed: bool | None = SEALED,
           after: str | None = typer.Option(
               None, "--after", metavar="POSITION", help="After this one (the next page)."),
           limit: int = typer.Option(100, "--limit", min=1, max=1000,
                                     help="At most this many units."),
           as_json: bool = JSON_OPTION) -> None:
    """Find units by issue date, party, number, type, direction, amount, currency, format
    or sealing; sorted by tenant and issue date, a page at a time (searching is an event)."""
    from hramba.services.search import SearchCriteria, search_units

    criteria = SearchCriteria(tenant, date_from and date_from.date(),
                              date_to and date_to.date(), party, number, document_type,
                              direction, amount_min, amount_max, currency, unit_format, sealed,
                              after, limit)
    page = search_units(state(ctx).archive, criteria)
    if as_json:
        emit_json(page.as_dict())
        return
    for hit in page.hits:
        typer.echo(_line(hit))
    if not page.hits:
        typer.echo("no units match")
    if page.next_after is not None:
        typer.echo(f"next page: {_next_page(criteria, page.next_after)}")


def _line(hit: Hit) -> str:
    shown = hit.as_dict()
    invoice = invoice_columns(shown["issue_date"], hit.invoice_number,
                              hit.counterparty.shown(), shown["payable_amount"], hit.currency)
    return (f"{hit.unit_id}  {hit.tenant:<10} {invoice}  {hit.type_name or '-':<11} "
            f"{hit.direction or '-':<8} {'sealed' if hit.sealed else 'pending'}"
            f"{'  (disposed of)' if hit.disposed else ''}")


def _next_page(c: SearchCriteria, after: str) -> str:
    """The same command with --after moved on: the next page."""
    options = [("--tenant", c.tenant), ("--from", c.date_from), ("--to", c.date_to),
               ("--party", c.party), ("--number", c.number), ("--type", c.document_type),
               ("--direction", c.direction), ("--amount-min", c.amount_min),
               ("--amount-max", c.amount_max), ("--currency", c.currency),
               ("--format", c.unit_format), ("--after", after), ("--limit", c.limit)]
    flag = {True: ["--sealed"], False: ["--pending"], None: []}[c.sealed]
    return " ".join(["hramba search", *flag, *(f"{name} {shlex.quote(str(value))}"
                                                for name, value in options
                                                if value is not None)])
