"""E-mail addresses the archive writes to (a tenant's contact) or from (notify.sender).

Deliberately stricter than RFC 5322: one plain `local@domain`, ASCII only (SMTPUTF8 is
not offered everywhere: an internationalised domain is written in its xn-- form), a
dot-atom local part (no quoted strings, no comments, no display name) and a domain of
letters, digits and hyphens. Above all no whitespace or control character: a CR or LF
in an address would let it write headers of its own (header injection).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.headerregistry import Address

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")
MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3: a forward path of 256 octets, less the brackets


def plain_address(value: str) -> str | None:
    """`value` without surrounding spaces if it is such an address, else None (a CR, LF
    or tab anywhere, even at the end, is refused rather than trimmed)."""
    address = value.strip(" ")
    if len(address) > MAX_LENGTH or not _ADDRESS.fullmatch(address):
        return None
    try:  # the email package must read it back as the same one address
        parsed = Address(addr_spec=address)
    except (ValueError, HeaderParseError):
        return None
    return address if parsed.addr_spec == address else None
