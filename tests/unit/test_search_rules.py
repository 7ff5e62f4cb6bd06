"""The rules search applies to a unit's metadata (hramba.domain.search): what intake and
migration 0010 store, and how criteria are read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from hramba.core.errors import RejectedInput
from hramba.domain.search import (
    COLUMNS,
    Direction,
    Position,
    SearchFields,
    direction,
    document_type_code,
    name_key,
    party_id,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("SI12345678", "SI12345678"), ("12345678", "SI12345678"), ("si 1234-5678", "SI12345678"),
    ("NL8200.98.395.B.01", "NL820098395B01"), ("DE37/302/30168", "DE3730230168"),
    ("1234567", "1234567"), ("", None), (None, None), (" .-/ ", None),
    ("X" * 40, "X" * 32),
])
def test_party_ids_compare_as_letters_and_digits(value: str | None,
                                                 expected: str | None) -> None:
    assert party_id(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("Šola  Ptuj", "sola ptuj"), ("ŽALEC d.o.o.", "zalec d.o.o."),
    ("Čistilni servis", "cistilni servis"), ("Straße", "strasse"), ("  ", None), (None, None),
])
def test_name_keys_ignore_case_diacritics_and_spacing(value: str | None,
                                                      expected: str | None) -> None:
    assert name_key(value) == expected


@pytest.mark.parametrize(("given", "code"), [
    ("invoice", "380"), ("Credit-Note", "381"), ("debit-note", "383"), ("384", "384"),
    ("38p", "38P"), (" 751 ", "751")])
def test_document_types_by_name_or_code(given: str, code: str) -> None:
    assert document_type_code(given) == code


def test_an_unknown_document_type_lists_the_names() -> None:
    with pytest.raises(RejectedInput, match=r"'bill' \(one of: invoice, credit-note"):
        document_type_code("bill")


@pytest.mark.parametrize(("seller", "buyer", "expected"), [
    ("SI39705684", "SI21423512", Direction.RECEIVED),
    ("SI21423512", "SI39705684", Direction.ISSUED),
    ("SI39705684", None, None), (None, None, None),
    ("SI21423512", "SI21423512", Direction.RECEIVED),  # to itself: received, as routed
])
def test_direction_from_the_tenants_tax_number(seller: str | None, buyer: str | None,
                                               expected: Direction | None) -> None:
    assert direction("21423512", seller, buyer) == expected


def test_fields_from_metadata_cut_long_values_and_drop_what_is_not_plain() -> None:
    fields = SearchFields.of({
        "issue_date": "2026-02-30", "document_type": "380", "invoice_number": "N" * 200,
        "seller_name": " Komunala \n Primer ", "sender_id": "39705684",
        "receiver_id": "SI21423512", "payable_amount": "1.815", "currency": "EURO"},
        "SI21423512")
    assert fields == SearchFields(None, "380", "N" * 128, "SI39705684", "Komunala Primer",
                                  "SI21423512", None, Decimal("1.82"), None, "received")
    assert fields.columns()["seller_name_key"] == "komunala primer"
    assert set(fields.columns()) == set(COLUMNS)
    for amount in ("NaN", "Infinity", "1e20", "abc"):
        assert SearchFields.of({"payable_amount": amount}, "").payable_amount is None


@pytest.mark.parametrize("position", [Position(3, date(2026, 1, 10), "ab12"),
                                      Position(1, None, "0" * 32)])
def test_a_position_survives_its_token(position: Position) -> None:
    assert Position.parse(position.token()) == position


@pytest.mark.parametrize("token", ["", "1:2026-01-10", "x:-:a", "1:2026-02-30:a",
                                   "1:-:a/b", "1:-:" + "a" * 33])
def test_a_made_up_position_is_refused(token: str) -> None:
    with pytest.raises(RejectedInput, match="is not a position"):
        Position.parse(token)
