"""A previous provider's manifest of its export: what each file must be.

Two forms: CSV with a header `path,size,sha256` and optionally `received_at` (the date
or time the provider received the document, ISO 8601), or BagIt's `manifest-sha256.txt`
(`<sha256> <path>` lines, paths under `data/`). A line that cannot be read stops the
migration with its number: an export checked against a half-read manifest proves nothing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from hramba.core.errors import RejectedInput

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Expected:
    size: int | None
    sha256: str
    received_at: str | None = None  # ISO 8601 as the provider gave it


def parse_manifest(name: str, data: bytes) -> dict[str, Expected]:
    """Path (relative to the export's root) -> what the manifest says of it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RejectedInput(f"manifest {name}: not UTF-8 ({exc.reason})") from exc
    if name.lower().endswith(".csv"):
        return _csv(name, text)
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            digest, _, path = line.strip().partition(" ")
            entries[path.strip().removeprefix("data/")] = _expected(
                name, number, None, digest, None)
    return entries


def _csv(name: str, text: str) -> dict[str, Expected]:
    rows = csv.DictReader(io.StringIO(text))
    if not rows.fieldnames or not {"path", "sha256"} <= set(rows.fieldnames):
        raise RejectedInput(f"manifest {name}: the header must name path and sha256 "
                            f"(and may name size, received_at), not {rows.fieldnames}")
    return {row["path"].strip().lstrip("/"): _expected(
        name, rows.line_num, row.get("size"), row["sha256"], row.get("received_at"))
        for row in rows}


def _expected(name: str, line: int, size: str | None, sha256: str,
              received_at: str | None) -> Expected:
    where = f"manifest {name}, line {line}"
    digest = (sha256 or "").strip().lower()
    if not _SHA256.fullmatch(digest):
        raise RejectedInput(f"{where}: {sha256!r} is no SHA-256 in hex")
    size = (size or "").strip()
    if size and not size.isdigit():
        raise RejectedInput(f"{where}: size {size!r} is no number of bytes")
    received = (received_at or "").strip() or None
    if received:
        try:
            datetime.fromisoformat(received)
        except ValueError:
            raise RejectedInput(f"{where}: received_at {received!r} is no ISO 8601 date "
                                "or time") from None
    return Expected(int(size) if size else None, digest, received)
