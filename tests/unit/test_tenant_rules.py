from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hramba.core.errors import RejectedInput
from hramba.domain.tenant import (
    check_code,
    check_name,
    check_tax_number,
    intake_refusal,
    normalise_tax_number,
    tax_check_digit_ok,
)


@pytest.mark.parametrize(("raw", "normal"), [("SI21423512", "SI21423512"),
                                             ("21423512", "SI21423512"),
                                             ("si 2142 3512", "SI21423512")])
def test_tax_numbers_are_normalised(raw: str, normal: str) -> None:
    assert normalise_tax_number(raw) == normal


@pytest.mark.parametrize("bad", ["SI1234567", "DE21423512", "SI2142351X", ""])
def test_malformed_tax_numbers_are_rejected(bad: str) -> None:
    with pytest.raises(RejectedInput):
        normalise_tax_number(bad)


@pytest.mark.parametrize(("number", "ok"), [("SI21423512", True), ("SI39705684", True),
                                            ("SI56251009", True), ("SI10000003", True),
                                            ("SI12345678", False), ("SI21423513", False)])
def test_check_digit(number: str, ok: bool) -> None:
    assert tax_check_digit_ok(number) is ok


@pytest.mark.parametrize("code", ["../x", "a/b", "", "-lead", "x" * 65, "šola"])
def test_unsafe_tenant_codes_are_rejected(code: str) -> None:
    with pytest.raises(RejectedInput):
        check_code(code)


def test_only_a_test_tenant_may_have_a_tax_number_with_a_wrong_check_digit() -> None:
    assert check_tax_number("si 1234 5678", "test") == "SI12345678"
    with pytest.raises(RejectedInput, match="check digit"):
        check_tax_number("SI12345678", "production")
    assert check_tax_number("21423512", "production") == "SI21423512"


def test_names_are_trimmed_and_never_empty() -> None:
    assert check_name("  Občina Primer ") == "Občina Primer"
    with pytest.raises(RejectedInput):
        check_name(" \t")


def test_only_an_offboarded_tenant_refuses_intake_and_says_why() -> None:
    assert intake_refusal("T1", None, None) is None
    refusal = intake_refusal("T1", datetime(2026, 5, 4, tzinfo=UTC), "merged into T2")
    assert refusal is not None
    assert "T1" in refusal
    assert "2026-05-04" in refusal
    assert "merged into T2" in refusal
