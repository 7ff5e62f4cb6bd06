"""What search reads of a unit: its invoice's fields as columns, the parties' tax ids and
names normalised, document types by name, the direction seen from the tenant, and where a
page of results ended.

Used at intake (hramba.services.archive), by migration 0010 (units archived before the
columns existed) and by search (hramba.services.search): one set of rules for all three.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from hramba.core.errors import RejectedInput

# UNTDID 1001 document types of e-invoices, by the names `search --type` takes. Other codes
# (e-SLOG 1.6 allows 82 to 393) are searched by the code itself.
DOCUMENT_TYPES: dict[str, str] = {
    "invoice": "380", "credit-note": "381", "debit-note": "383", "corrected": "384",
    "prepayment": "386", "self-billed": "389", "partial": "326", "pro-forma": "325",
    "invoice-information": "751",
}
TYPE_NAMES = {code: name for name, code in DOCUMENT_TYPES.items()}

# Column widths (hramba.db.models.Unit). Longer values are cut, never refused: a unit is
# archived whatever its invoice says, and an index entry must stay small.
NUMBER_WIDTH, ID_WIDTH, NAME_WIDTH, TYPE_WIDTH = 128, 32, 255, 16
MAX_AMOUNT = Decimal(10) ** 16  # Numeric(18, 2)
_CENT = Decimal("0.01")
_SLOVENIAN_TAX = re.compile(r"\d{8}")
_CURRENCY = re.compile(r"[A-Z]{3}")


class Direction(StrEnum):
    """Whether the tenant received the invoice (it is the buyer) or issued it (the seller)."""

    RECEIVED = "received"
    ISSUED = "issued"


def party_id(value: object) -> str | None:
    """A tax or VAT id as search compares it: letters and digits only, in upper case, and
    SI before a bare Slovenian tax number ('si 1234-5678', '12345678' -> 'SI12345678')."""
    text = re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()
    if _SLOVENIAN_TAX.fullmatch(text):
        text = "SI" + text
    return text[:ID_WIDTH] or None


def name_key(value: object) -> str | None:
    """A name as search compares it: case, diacritics and runs of spaces ignored, so that
    'šola' and 'SOLA' both find 'Šola  Ptuj' (stored as 'sola ptuj')."""
    decomposed = unicodedata.normalize("NFKD", str(value or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(plain.split())[:NAME_WIDTH] or None


def document_type_code(name_or_code: str) -> str:
    """The code `--type` means: a name of DOCUMENT_TYPES, or a code as the invoice has it."""
    wanted = name_or_code.strip()
    code = DOCUMENT_TYPES.get(wanted.lower())
    if code is not None:
        return code
    if re.fullmatch(r"[0-9A-Za-z]{1,3}", wanted):
        return wanted.upper()
    raise RejectedInput(f"unknown document type {name_or_code!r} (one of: "
                        f"{', '.join(DOCUMENT_TYPES)}, or a UNTDID 1001 code such as 380)")


def direction(tenant_tax_number: str, seller_tax_id: str | None,
              buyer_tax_id: str | None) -> Direction | None:
    """Seen from the tenant; None when neither party is the tenant (routed by name, or a
    party without a tax id)."""
    own = party_id(tenant_tax_number)
    if own is not None and buyer_tax_id == own:
        return Direction.RECEIVED
    if own is not None and seller_tax_id == own:
        return Direction.ISSUED
    return None


@dataclass(frozen=True)
class Party:
    tax_id: str | None
    name: str | None

    def shown(self) -> str:
        """For people: the name, else the tax id, else '-'."""
        return self.name or self.tax_id or "-"


def counterparty(way: str | None, seller: Party, buyer: Party) -> Party:
    """The party that is not the tenant: the buyer of what it issued, else the seller."""
    return buyer if way == Direction.ISSUED else seller


@dataclass(frozen=True)
class SearchFields:
    """The columns of `units` that search filters on; None where the invoice has none."""

    issue_date: date | None = None
    document_type: str | None = None
    invoice_number: str | None = None
    seller_tax_id: str | None = None
    seller_name: str | None = None
    buyer_tax_id: str | None = None
    buyer_name: str | None = None
    payable_amount: Decimal | None = None
    currency: str | None = None
    direction: str | None = None

    @classmethod
    def of(cls, metadata: Mapping[str, Any], tenant_tax_number: str) -> SearchFields:
        """From a unit's metadata (intake's fields, ingest.formats); a party's tax id is
        its VAT id, else its tax number, else the envelope's sender or receiver
        identifier."""
        seller = party_id(metadata.get("seller_vat") or metadata.get("seller_tax_number")
                          or metadata.get("sender_id"))
        buyer = party_id(metadata.get("buyer_vat") or metadata.get("buyer_tax_number")
                         or metadata.get("receiver_id"))
        way = direction(tenant_tax_number, seller, buyer)
        return cls(_date(metadata.get("issue_date")),
                   _text(metadata.get("document_type"), TYPE_WIDTH),
                   _text(metadata.get("invoice_number"), NUMBER_WIDTH),
                   seller, _text(metadata.get("seller_name"), NAME_WIDTH),
                   buyer, _text(metadata.get("buyer_name"), NAME_WIDTH),
                   _amount(metadata.get("payable_amount")),
                   _currency(metadata.get("currency")), way.value if way else None)

    def columns(self) -> dict[str, Any]:
        """The values of the unit's columns, the names' search keys included."""
        return asdict(self) | {"seller_name_key": name_key(self.seller_name),
                               "buyer_name_key": name_key(self.buyer_name)}


COLUMNS = (*(f.name for f in fields(SearchFields)), "seller_name_key", "buyer_name_key")


def _text(value: object, width: int) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text[:width] or None


def _date(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _amount(value: object) -> Decimal | None:
    """To the cent (the metadata keeps any further places); None if not a plain amount."""
    try:
        amount = Decimal(str(value)) if value else None
    except InvalidOperation:
        return None
    if amount is None or not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        return None
    return amount.quantize(_CENT, ROUND_HALF_UP)


def _currency(value: object) -> str | None:
    code = str(value or "").strip().upper()
    return code if _CURRENCY.fullmatch(code) else None


@dataclass(frozen=True)
class Position:
    """Where a page ended, in the order of search results: tenant, issue date (units
    without one after those with one), unit id. `token` is what `--after` takes."""

    tenant_id: int
    issue_date: date | None
    unit_id: str

    def token(self) -> str:
        return f"{self.tenant_id}:{self.issue_date or '-'}:{self.unit_id}"

    @classmethod
    def parse(cls, token: str) -> Position:
        match = re.fullmatch(r"(\d{1,9}):(\d{4}-\d{2}-\d{2}|-):([0-9A-Za-z]{1,32})", token)
        issued = _date(match[2]) if match and match[2] != "-" else None
        if match is None or (match[2] != "-" and issued is None):
            raise RejectedInput(f"--after {token!r} is not a position `hramba search` "
                                "printed (TENANT:DATE:UNIT)")
        return cls(int(match[1]), issued, match[3])
