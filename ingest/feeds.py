"""Exchange feed sources: an inbox folder, and an HTTP pull feed with a cursor.

Inbox: packages dropped into a folder (by the exchange, or downloaded from UJPnet). Names
starting with "." or ending in ".part"/".tmp" are still being written and are left alone.
A file is moved to done/ or quarantine/ only after its outcome is committed.

HTTP pull feed (docs/feed.md): `GET <url>/items?after=<cursor>&limit=<n>` answers
`{"items": [{"id", "name", "size", "sha256", "href", "cursor"}], "next": <cursor>|null}`;
each item's bytes are at `href` (relative to the url). The archive keeps the cursor and
advances it only after the items up to it are committed.

The feed is untrusted: an item is fetched only with a size and sha256, a plain file name,
and a link on the feed's origins (redirects too); never more than its size is kept. An
item that breaks one of these rules is refused (FeedRefused, FeedDamaged), never the
page, so the feed can move past it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any, BinaryIO
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import (
    HTTPDefaultErrorHandler,
    HTTPErrorProcessor,
    HTTPHandler,
    HTTPSHandler,
    OpenerDirector,
    ProxyHandler,
)

from hramba.core.errors import (
    ConfigurationError,
    IntegrityViolation,
    RejectedInput,
    ServiceUnavailable,
)
from hramba.core.redact import redact_url
from ingest.directory import Candidate

PAGE = 100
MAX_ITEM_BYTES = 512 * 1024 * 1024
MAX_NAME_BYTES = 200  # with the spool prefix, within a file system's 255
MAX_REDIRECTS = 3
CHUNK = 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_URL_TEXT = re.compile(r"[!-~]+")  # printable ASCII without spaces: what urllib sends as is


def inbox_candidates(inbox: Path) -> list[Candidate]:
    """Files waiting in the inbox (top level only), oldest name first."""
    found = []
    for entry in sorted(os.scandir(inbox), key=lambda e: e.name):
        if entry.name.startswith(".") or entry.name.endswith((".part", ".tmp")):
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        info = entry.stat(follow_symlinks=False)
        found.append(Candidate(Path(entry.path), entry.name,
                               entry.is_file(follow_symlinks=False), info.st_size))
    return found


def settle(candidate: Candidate, inbox: Path, outcome: str) -> Path:
    """Move a committed inbox file to done/ (archived, duplicate) or quarantine/."""
    target = inbox / ("quarantine" if outcome == "quarantined" else "done")
    target.mkdir(exist_ok=True)
    destination = target / candidate.path.name
    n = 1
    while destination.exists():
        n += 1
        destination = target / f"{candidate.path.name}.{n}"
    shutil.move(str(candidate.path), destination)
    return destination


@dataclass(frozen=True)
class FeedItem:
    """An item as the feed announced it: `size` and `sha256` are None when missing or
    malformed, `name` and `href` are as given; `refusal` says which rule it breaks."""

    id: str
    name: str
    href: str
    cursor: str
    size: int | None
    sha256: str | None


class FeedRefused(RejectedInput):
    """Raised when an item breaks a rule of the protocol (`refusal`), or its link or a
    redirect leaves the feed's origins: nothing of it is fetched."""


class FeedUndelivered(ServiceUnavailable):
    """Raised when the feed answers a link with an HTTP error (404, 500...): for a listing
    the feed is down; for one item, that item may never come (see hramba.services.feed)."""


class FeedDamaged(IntegrityViolation):
    """Raised when a download does not match its announced size or sha256; the bytes
    received (never more than the size) are at `path`."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class HttpFeed:
    """A pull feed over HTTP(S); only this module speaks its protocol.

    It follows only http(s) links on the feed's own origin (scheme, host and port of its
    url) or on one of `allowed_origins` (a CDN, say), checked again at every redirect, of
    which it follows at most MAX_REDIRECTS. Its opener has no file:, ftp: or data:
    handler and no redirect handler of its own, so nothing else is ever opened.
    """

    def __init__(self, url: str, timeout: float = 30,
                 allowed_origins: Iterable[str] = ()) -> None:
        self.url = url.rstrip("/") + "/"
        try:
            own = _origin(self.url)
        except ValueError as exc:
            raise ConfigurationError(f"feed.url must be an http(s) URL with a host, not "
                                     f"{redact_url(url)!r}") from exc
        self.timeout = timeout
        self.origins = {own} | {_allowed_origin(o) for o in allowed_origins}
        self._opener = OpenerDirector()
        for handler in (ProxyHandler(), HTTPHandler(), HTTPSHandler(),
                        HTTPDefaultErrorHandler(), HTTPErrorProcessor()):
            self._opener.add_handler(handler)

    def items(self, after: str | None, limit: int = PAGE) -> list[FeedItem]:
        query = urlencode({"limit": limit, **({"after": after} if after else {})})
        url = f"{self.url}items?{query}"
        try:
            with self._open(url, "feed listing") as response:
                body = json.loads(_read(response, 10 * 1024 * 1024, url))
        except FeedRefused as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except ValueError as exc:  # not JSON, or not UTF-8
            raise ServiceUnavailable(f"feed listing is not JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise ServiceUnavailable("feed listing is not an object with an items list")
        return [_item(raw) for raw in body.get("items", [])]

    def download(self, item: FeedItem, spool: Path) -> Path:
        """Stream the item's bytes into `spool`, never more than its announced size: the
        file, once they are what the feed announced (else FeedDamaged)."""
        problem, size = refusal(item), item.size
        if problem is not None or size is None:  # refusal() sees to the size: for mypy
            raise FeedRefused(f"feed item {item.id}: {problem}")
        url = urljoin(self.url, item.href)
        spool.mkdir(parents=True, exist_ok=True)
        path = spool / f"{hashlib.sha256(item.id.encode()).hexdigest()[:12]}-{item.name}"
        with self._open(url, f"feed item {item.id}") as response, path.open("wb") as out:
            received, sha256 = _copy(url, response, out, size)
            if received == size and _more(url, response):
                raise FeedDamaged(f"feed item {item.id}: more bytes than its size {size}",
                                  path)
        if received != size:
            raise FeedDamaged(f"feed item {item.id}: {received} bytes, not {size}", path)
        if sha256 != item.sha256:
            raise FeedDamaged(f"feed item {item.id}: bytes differ from its sha256", path)
        return path

    def _open(self, url: str, subject: str) -> Any:
        """The response for `url`, following redirects on the feed's origins only."""
        for hop in range(MAX_REDIRECTS + 1):
            if not self._allows(url):
                raise FeedRefused(f"{subject}: {'redirected to ' if hop else 'link '}"
                                  f"{ascii(redact_url(url))[:200]}, not on the feed's origins")
            try:
                return self._opener.open(url, timeout=self.timeout)
            except HTTPError as exc:  # every 3xx too: the opener follows no redirect
                exc.close()
                location = exc.headers.get("Location")
                if not 300 <= exc.code < 400 or location is None:
                    raise FeedUndelivered(f"{subject}: HTTP {exc.code} from "
                                          f"{urlsplit(url).netloc}") from exc
                url = urljoin(url, location)
            except (URLError, OSError, HTTPException) as exc:
                raise _unavailable(url, exc) from exc
        raise FeedRefused(f"{subject}: more than {MAX_REDIRECTS} redirects")

    def _allows(self, url: str) -> bool:
        try:
            return bool(_URL_TEXT.fullmatch(url)) and _origin(url) in self.origins
        except ValueError:  # not http(s), user info, a port that is not a number
            return False


def refusal(item: FeedItem) -> str | None:
    """What in the item's announcement breaks a rule of docs/feed.md, or None."""
    if item.size is None or not 0 <= item.size <= MAX_ITEM_BYTES:
        return f"no size, or one that is not a whole number up to {MAX_ITEM_BYTES} bytes"
    if item.sha256 is None:
        return "no sha256, or one that is not 64 hexadecimal digits"
    if not item.href:
        return "no href"
    return _name_problem(item.name)


def _name_problem(name: str) -> str | None:
    """Why `name` is not a plain file name to spool the item under, or None."""
    if not name.isprintable():  # control characters, lone surrogates (not UTF-8)
        return f"name {ascii(name)[:200]} has characters that are not printable"
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        return f"name {ascii(name)[:200]} is not a plain file name"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"name is longer than {MAX_NAME_BYTES} bytes"
    return None


def label(text: str) -> str:
    """Text from the feed, safe to report: as it is if printable, else escaped."""
    return text if text.isprintable() else ascii(text)


def _item(raw: object) -> FeedItem:
    """An announced item. Only its id and cursor must hold here: without them the feed
    cannot record it nor move past it. The rest is judged item by item (`refusal`)."""
    item = raw if isinstance(raw, dict) else {}
    id_, cursor = _plain(item.get("id")), _plain(item.get("cursor"))
    if id_ is None or cursor is None:
        raise ServiceUnavailable(f"feed item without a usable id and cursor: "
                                 f"{ascii(raw)[:200]}")
    size, sha256, href = item.get("size"), item.get("sha256"), item.get("href")
    if isinstance(size, bool) or not isinstance(size, int):
        size = None
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        sha256 = None
    return FeedItem(id=id_, name=str(item.get("name") or id_), cursor=cursor, size=size,
                    sha256=sha256 and sha256.lower(),
                    href=href if isinstance(href, str) else "")


def _plain(value: object) -> str | None:
    """An id or cursor as text, if it is printable and fits its column (255)."""
    text = str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    return text if text.isprintable() and 0 < len(text.encode()) <= 255 else None


def _origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL without user info; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        raise ValueError(f"not an http(s) URL with a host: {ascii(url)[:200]}")
    return parts.scheme, parts.hostname, parts.port or _DEFAULT_PORTS[parts.scheme]


def _allowed_origin(origin: str) -> tuple[str, str, int]:
    parts = urlsplit(origin)
    try:
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("an origin has no path")
        return _origin(origin)
    except ValueError as exc:
        raise ConfigurationError(f"feed.allowed_origins: {origin!r} is not scheme://host"
                                 f"[:port] of http(s)") from exc


def _unavailable(url: str, exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(f"feed {urlsplit(url).netloc}: {type(exc).__name__}")


def _chunk(url: str, response: Any, size: int) -> bytes:
    """Up to `size` bytes more of the answer (fewer at its end)."""
    try:
        return bytes(response.read(size))
    except (OSError, HTTPException) as exc:
        raise _unavailable(url, exc) from exc


def _copy(url: str, response: Any, out: BinaryIO, size: int) -> tuple[int, str]:
    """Copy at most `size` bytes of the answer to `out`: how many, and their sha256."""
    digest, received = hashlib.sha256(), 0
    while received < size and (chunk := _chunk(url, response, min(CHUNK, size - received))):
        out.write(chunk)
        digest.update(chunk)
        received += len(chunk)
    return received, digest.hexdigest()


def _read(response: Any, limit: int, url: str) -> bytes:
    data = _chunk(url, response, limit)
    if len(data) == limit and _more(url, response):
        raise ServiceUnavailable(f"feed {urlsplit(url).netloc}: answer over {limit} bytes")
    return data


def _more(url: str, response: Any) -> bool:
    """Whether the answer goes on past what was read: by its Content-Length when it has
    one, else by reading one byte more, which is dropped."""
    if response.length is not None:
        return bool(response.length)
    return bool(_chunk(url, response, 1))


def spooled(paths: list[Path]) -> Iterator[Candidate]:
    for path in paths:
        yield Candidate(path, path.name, True, path.stat().st_size)
