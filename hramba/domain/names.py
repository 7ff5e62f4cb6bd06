"""File names from input, made safe to write into a folder a person opens (`get`, and the
export packages): the original name wherever it can be kept (letters of any script,
digits, spaces and common punctuation: `Račun št. 7.pdf` stays `Račun št. 7.pdf`), its
extension always; what could leave the folder or trouble a file system replaced.

Object keys have their own, stricter, ASCII rule (storage.keys.safe_name); a name made
here is never used as a key.
"""

from __future__ import annotations

import re
import unicodedata

MAX_CHARS = 120  # with the extension; well under the 255 bytes of common file systems
_UNSAFE = re.compile(r"[^\w .,()+\-]")  # \w: letters and digits of any script, and _
_EXTENSION = re.compile(r"\.\w{1,10}$")
# Names Windows refuses whatever their extension (a package may be opened there).
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}


def local_name(name: str, taken: set[str]) -> str:
    """A safe name for `name` that is not in `taken` (compared without case, as Windows
    and macOS do), which it is added to. Clashes get ` (2)`, ` (3)`, ... before the
    extension."""
    stem, extension = _split(_cleaned(name))
    candidate, n = stem + extension, 1
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem} ({n}){extension}"
    taken.add(candidate.casefold())
    return candidate


def _cleaned(name: str) -> str:
    """The last path component, NFC, with unsafe characters replaced and no leading or
    trailing dots and spaces (a hidden file, or one Windows cannot open)."""
    last = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    return _UNSAFE.sub("_", last).strip(" .") or "_"


def _split(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    stem, extension = (name[:match.start()], match.group()) if match else (name, "")
    stem = stem.rstrip(" .") or "_"
    if stem.upper() in _RESERVED:
        stem = f"_{stem}"
    return stem[:MAX_CHARS - len(extension)], extension
