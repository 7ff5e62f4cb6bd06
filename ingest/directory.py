"""A directory tree as a source: every regular file under it is one candidate unit.

Symbolic links are never followed (a link could point anywhere on the machine); they and
other non-regular entries are reported so the run can quarantine them with a reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Candidate:
    path: Path
    relative: str
    regular: bool
    size: int


def walk(root: Path) -> Iterator[Candidate]:
    """Entries under `root` in a stable (sorted) order, without following links."""
    if not root.is_dir():
        raise NotADirectoryError(str(root))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames) + sorted(d for d in dirnames if _is_link(dirpath, d)):
            path = Path(dirpath) / name
            info = path.lstat()
            yield Candidate(path, path.relative_to(root).as_posix(),
                            stat.S_ISREG(info.st_mode), info.st_size)


def _is_link(dirpath: str, name: str) -> bool:
    return os.path.islink(os.path.join(dirpath, name))
