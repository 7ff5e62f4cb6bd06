"""A directory tree as a source: every regular file under it is one candidate unit.

Symbolic links are never followed (a link could point anywhere on the machine); they and
other non-regular entries are reported so the run can quarantine them with a reason.

A Linux file name is bytes: those that are not UTF-8 reach Python as lone surrogates
(os.fsdecode), which a database, a JSON document or a terminal refuses. `printable` is
the name as text that any of them takes, with those bytes as `\\xNN`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hramba.core.types import CHUNK, Digest, Hashed


@dataclass(frozen=True)
class Candidate:
    path: Path
    relative: str
    regular: bool
    size: int
    received_at: str | None = None  # a migration's: when the previous provider received it


def walk(root: Path) -> Iterator[Candidate]:
    """Entries under `root` in a stable (sorted) order, without following links."""
    for path in _entries(root):
        info = path.lstat()
        yield Candidate(path, path.relative_to(root).as_posix(),
                        stat.S_ISREG(info.st_mode), info.st_size)


def count(root: Path) -> int:
    """How many entries `walk` yields, for a progress total. Directory listings only, no
    file opened: about half a second per hundred thousand files on a local disk, next to
    the minutes their intake takes."""
    return sum(1 for _ in _entries(root))


def _entries(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        raise NotADirectoryError(str(root))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + sorted(d for d in dirnames if _is_link(dirpath, d)):
            yield Path(dirpath) / name


def _is_link(dirpath: str, name: str) -> bool:
    return os.path.islink(os.path.join(dirpath, name))


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def printable(name: str) -> str:
    """`name` with each byte that is not UTF-8 as `\\xNN` (any other lone surrogate, which
    no file system gives, as `\\uNNNN`); a name of valid UTF-8 is returned unchanged."""
    return _SURROGATE.sub(_escaped, name)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def save_hashed(source: Readable, local: Path) -> Hashed:
    """Copy `source` to `local` (through a .part file, so a crash leaves no partial file
    under the final name), hashing as it goes, and make its bytes durable."""
    local.parent.mkdir(parents=True, exist_ok=True)
    part = local.with_name(local.name + ".part")
    digest, size = hashlib.sha256(), 0
    with part.open("wb") as sink:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())  # a staged file may wait days for its import
    part.replace(local)
    return Hashed(size, Digest.sha256(digest.hexdigest()))
