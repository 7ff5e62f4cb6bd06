"""Exchange feed sources: an inbox folder, and an HTTP pull feed with a cursor.

Inbox: packages dropped into a folder (by the exchange, or downloaded from UJPnet). Names
starting with "." or ending in ".part"/".tmp" are still being written and are left alone.
A file is moved to done/ or quarantine/ only after its outcome is committed.

HTTP pull feed (docs/feed.md): `GET <url>/items?after=<cursor>&limit=<n>` answers
`{"items": [{"id", "name", "size", "sha256", "href", "cursor"}], "next": <cursor>|null}`;
each item's bytes are at `href` (relative to the url). The archive keeps the cursor and
advances it only after the items up to it are committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import Request, urlopen

from hramba.core.errors import ConfigurationError, ServiceUnavailable
from ingest.directory import Candidate

PAGE = 100
MAX_ITEM_BYTES = 512 * 1024 * 1024


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
    id: str
    name: str
    href: str
    cursor: str
    size: int | None
    sha256: str | None


class HttpFeed:
    """A pull feed over HTTP(S); only this module speaks its protocol."""

    def __init__(self, url: str, timeout: float = 30) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"feed.url must be an http(s) URL with a host, not {url!r}")
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout

    def items(self, after: str | None, limit: int = PAGE) -> list[FeedItem]:
        query = urlencode({"limit": limit, **({"after": after} if after else {})})
        body = json.loads(self._get(f"{self.url}items?{query}", 10 * 1024 * 1024))
        return [_item(raw) for raw in body.get("items", [])]

    def fetch(self, item: FeedItem) -> bytes:
        """The item's bytes (check them with `mismatch` before trusting them)."""
        return self._get(urljoin(self.url, item.href), MAX_ITEM_BYTES)

    def _get(self, url: str, limit: int) -> bytes:
        try:
            with urlopen(Request(url), timeout=self.timeout) as response:  # noqa: S310
                data = bytes(response.read(limit + 1))
        except (URLError, OSError, TimeoutError) as exc:
            raise ServiceUnavailable(f"feed {urlsplit(url).netloc}: {type(exc).__name__}"
                                     ) from exc
        if len(data) > limit:
            raise ServiceUnavailable(f"feed {urlsplit(url).netloc}: answer over {limit} bytes")
        return data


def mismatch(item: FeedItem, data: bytes) -> str | None:
    """Why `data` is not what the feed announced for `item`, or None."""
    if item.sha256 and hashlib.sha256(data).hexdigest() != item.sha256:
        return f"feed item {item.id}: bytes differ from its sha256"
    if item.size is not None and len(data) != item.size:
        return f"feed item {item.id}: {len(data)} bytes, not {item.size}"
    return None


def spool_item(item: FeedItem, data: bytes, spool: Path) -> Path:
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / _safe_name(item)
    path.write_bytes(data)
    return path


def _item(raw: dict[str, Any]) -> FeedItem:
    try:
        return FeedItem(id=str(raw["id"]), name=str(raw.get("name") or raw["id"]),
                        href=str(raw["href"]), cursor=str(raw["cursor"]),
                        size=int(raw["size"]) if raw.get("size") is not None else None,
                        sha256=str(raw["sha256"]).lower() if raw.get("sha256") else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise ServiceUnavailable(f"feed item is malformed: {exc}") from exc


def _safe_name(item: FeedItem) -> str:
    """The spool file name: the item's own name, kept to a plain file name."""
    name = Path(item.name.replace("\\", "/")).name.lstrip(".") or "item"
    prefix = hashlib.sha256(item.id.encode()).hexdigest()[:12]
    return f"{prefix}-{name}"


def spooled(paths: list[Path]) -> Iterator[Candidate]:
    for path in paths:
        yield Candidate(path, path.name, True, path.stat().st_size)
