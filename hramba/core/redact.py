"""Credentials out of every URL and message we print or record.

Settings hold URLs that may carry a password (`postgresql://u:pw@h/db`,
`?password=`), and the libraries that use them quote them back in their errors
(`Max retries exceeded with url: /items?token=...`). The audit log is append-only and
job runs are kept, so what reaches them stays: every URL is passed through `redact_url`
before it is shown or recorded, and every message through `redact_text` before it is
printed (hramba.cli.errors) or stored (hramba.jobs.runs), as the last line of defence.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
HIDDEN = "<URL hidden: cannot tell where its password ends>"

# Query parameter names (lower case, "-" read as "_") that carry credentials: exact
# names, and parts that mark one (sslpassword, client_secret, X-Amz-Security-Token,
# X-Amz-Credential); any name ending in "key" (key, apikey, api_key, access_key).
SECRET_NAMES = frozenset({"pwd", "sig", "auth"})
SECRET_PARTS = ("password", "passwd", "secret", "token", "signature", "credential")

# In free text: a URL, `name=value`, and `user:password@host` without a scheme. None
# runs over a quote or a backslash, so quoted and escaped text stays well formed.
_URL = re.compile(r"""[A-Za-z][A-Za-z0-9+.-]*://[^\s'"\\<>]+""")
_PAIR = re.compile(r"""([A-Za-z0-9_.-]+)=([^\s&#'"\\]+)""")
_USERINFO = re.compile(r"""([^\s:/@'"\\]+):([^\s/@'"\\]+)@(?=[\w\[])""")


def secret_name(name: str) -> bool:
    """Whether a query parameter (or `name=value` in a message) holds a credential."""
    name = unquote(name).lower().replace("-", "_")
    return (name in SECRET_NAMES or name.endswith("key")
            or any(part in name for part in SECRET_PARTS))


def redact_url(url: str) -> str:
    """`url` with the password of its userinfo and the values of secret-looking query
    (and fragment) parameters as ***, the rest as it was. Never raises: a URL whose
    password cannot be told apart (an unencoded "/" or "?" in it) is hidden whole."""
    head, slashes, rest = url.partition("//")
    if not slashes:  # host:port, as the S3 SDK takes its endpoint
        head, rest = "", url
    end = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    if "@" in authority:
        userinfo, _, host = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:{MASK}@{host}" if colon else authority
    elif not _port_ok(authority):
        return HIDDEN
    before, hash_, fragment = tail.partition("#")
    path, mark, query = before.partition("?")
    return (head + slashes + authority + path + mark + _redact_pairs(query)
            + hash_ + _redact_pairs(fragment))


def redact_text(text: str) -> str:
    """Free text (an error message, a traceback) with every URL in it redacted, and
    credentials outside URLs too: `password=...` pairs and `user:password@host`."""
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    text = _PAIR.sub(lambda m: f"{m[1]}={MASK}" if secret_name(m[1]) else m[0], text)
    return _USERINFO.sub(rf"\1:{MASK}@", text)


def _redact_pairs(pairs: str) -> str:
    """`a=1&token=x` as `a=1&token=***`; anything else as it was."""
    return "&".join(
        f"{name}={MASK}" if equals and secret_name(name) else f"{name}{equals}{value}"
        for name, equals, value in (pair.partition("=") for pair in pairs.split("&")))


def _port_ok(authority: str) -> bool:
    """No port, or a number: else the "port" is likely the start of a password."""
    _, colon, port = authority.rpartition(":")
    return not colon or "]" in port or port.isdigit() or not port
