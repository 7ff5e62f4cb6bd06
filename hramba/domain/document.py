"""What a printable document says, apart from how it is drawn: the model that export
summaries and reports build and hramba.trust.pdf renders (plain A4, embedded fonts).

A table's rows are any iterable, read once while the document is rendered, so a summary
of 50,000 units can stream them from a query instead of holding them in a list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Align = Literal["left", "right"]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str  # wrapped at spaces; a newline starts a new line


@dataclass(frozen=True)
class Fields:
    """"key: value" lines, keys in bold in a column of their own."""

    items: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Column:
    title: str
    width: float = 1.0  # share of the table's width, relative to the other columns
    align: Align = "left"


@dataclass(frozen=True)
class Table:
    """A header row repeated on every page the table spans. A cell wraps onto at most
    `max_lines` lines; what does not fit ends in "…"."""

    columns: Sequence[Column]
    rows: Iterable[Sequence[str]]
    max_lines: int = 2


Block = Heading | Paragraph | Fields | Table


@dataclass(frozen=True)
class Attachment:
    """A file carried inside the PDF (PDF 1.7 embedded file), e.g. a report's CSV."""

    name: str
    data: bytes = field(repr=False)
    mime_type: str = "application/octet-stream"
    description: str = ""


@dataclass(frozen=True)
class PdfDocument:
    title: str
    blocks: Sequence[Block]
    lang: str = "sl"  # BCP 47, for readers and screen readers
    author: str = "e-hramba"
    subject: str = ""
    footer: str = ""  # left of the page number on every page; the title if empty
    attachments: Sequence[Attachment] = ()
    created: datetime | None = None  # the document's date in its metadata; else now
