from __future__ import annotations

import pytest

from hramba.core.errors import RejectedInput
from hramba.domain.tenant import check_code, normalise_tax_number, tax_check_digit_ok


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
