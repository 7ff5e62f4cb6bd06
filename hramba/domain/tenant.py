"""Rules for budget users (proračunski uporabniki): codes, Slovenian tax numbers, the
environment a tenant lives in and whether it still takes new intake."""

from __future__ import annotations

import re
from datetime import datetime

from hramba.core.errors import RejectedInput
from hramba.domain.mail import plain_address

TEST, PRODUCTION = "test", "production"
ENVIRONMENTS = (TEST, PRODUCTION)
_TAX = re.compile(r"(?:SI)?(\d{8})")
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def normalise_tax_number(value: str) -> str:
    """'SI12345678', 'si 1234 5678' or '12345678' -> 'SI12345678'."""
    match = _TAX.fullmatch(value.replace(" ", "").upper())
    if not match:
        raise RejectedInput(f"tax number {value!r} is not SI followed by 8 digits")
    return "SI" + match.group(1)


def tax_check_digit_ok(tax_number: str) -> bool:
    """Slovenian tax numbers: weights 8..2 over the first seven digits; the check digit is
    11 - (sum mod 11), where 10 becomes 0 and 11 is never issued. Test data often uses
    numbers such as SI12345678 that fail it."""
    digits = [int(c) for c in normalise_tax_number(tax_number)[2:]]
    check = 11 - sum(d * w for d, w in zip(digits[:7], range(8, 1, -1), strict=True)) % 11
    return check != 11 and check % 10 == digits[7]


def check_tax_number(value: str, environment: str) -> str:
    """The normalised tax number; a production tenant's must have a valid check digit."""
    tax_number = normalise_tax_number(value)
    if environment == PRODUCTION and not tax_check_digit_ok(tax_number):
        raise RejectedInput(f"tax number {tax_number} has a wrong check digit "
                            "(allowed only for --env test)")
    return tax_number


def check_code(code: str) -> str:
    """A tenant code (šifra PU) goes into object keys: only safe characters."""
    if not CODE_PATTERN.fullmatch(code):
        raise RejectedInput(f"tenant code {code!r} must be 1-64 of A-Z a-z 0-9 _ - "
                            "and start with a letter or digit")
    return code


def check_name(name: str) -> str:
    if not name.strip():
        raise RejectedInput("tenant name must not be empty")
    return name.strip()


def check_environment(environment: str) -> str:
    if environment not in ENVIRONMENTS:
        raise RejectedInput(f"environment must be one of {', '.join(ENVIRONMENTS)}")
    return environment


def intake_refusal(code: str, offboarded_at: datetime | None, reason: str | None) -> str | None:
    """Why a tenant takes no new intake (it was offboarded), or None while it does. Its
    holdings stay until they are handed over or disposed of; only new intake stops."""
    if offboarded_at is None:
        return None
    return (f"tenant {code} was offboarded on {offboarded_at:%Y-%m-%d} ({reason}): "
            "it takes no new intake")


def check_contact(contact: str) -> str:
    """The e-mail address notifications of the hand-over steps go to (hramba.domain.mail
    says which addresses pass, and why so strictly)."""
    address = plain_address(contact)
    if address is None:
        raise RejectedInput(f"contact {contact!r} is not a plain e-mail address "
                            "(local@domain, ASCII, no spaces or line breaks)")
    return address
