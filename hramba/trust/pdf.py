"""PDF documents: a plain A4 renderer, and PAdES signatures with a timestamp from the
archive's TSA. The one module that uses pyhanko's signer and font engine (DESIGN.md §6).

`render` lays a PdfDocument (hramba.domain.document) out on A4 pages: title, headings,
paragraphs, "key: value" fields, tables whose header row repeats on every page, and page
numbers. The standard 14 fonts' WinAnsi encoding has no č, so Noto Sans (shipped in
fonts/, its licence beside it) is embedded as a subset through pyhanko's OpenType engine
(fontTools, HarfBuzz), with a ToUnicode map so that text copied or extracted from the PDF
reads "Občina", not glyph numbers. That engine writes glyph widths in font units, which
PDF reads as thousandths of an em: a font must have 1000 units per em (Noto Sans has;
DejaVu's 2048 would be drawn twice as wide), and _Face refuses one that has not.

`PadesPdfSigner` signs such a PDF (or any other): PAdES (ETSI.CAdES.detached), a
signature timestamp, the signer's and the TSA's certificates, CRLs and OCSP responses in
the Document Security Store, and a document timestamp over all of it (B-LTA), so the
signature validates offline, years later, after the signing certificate has expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from asn1crypto import cms, keys, x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.embed import EmbeddedFileObject, FileSpec, embed_file
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import InsufficientRevinfoError, PathError, ValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hramba.core.errors import (
    ConfigurationError,
    HrambaError,
    RejectedInput,
    ServiceUnavailable,
)
from hramba.core.types import Clock
from hramba.domain.document import (
    Attachment,
    Block,
    Column,
    Fields,
    Heading,
    Paragraph,
    PdfDocument,
    Table,
)
from hramba.ports import Timestamper
from hramba.trust.certs import load_certificates

FONTS = Path(__file__).with_name("fonts")
REGULAR, BOLD = "NotoSans-Regular.ttf", "NotoSans-Bold.ttf"

# A4 in points, 2 cm margins; sizes and line heights in points.
WIDTH, HEIGHT, MARGIN = 595.28, 841.89, 56.7
TITLE, HEADING, BODY, SMALL = (16, 21), (12, 17), (10, 13.5), (8, 10)
PAD = 3.0  # inside table cells
HEADER_LINES = 3  # a column title wraps onto at most this many lines
FOOTER_Y = MARGIN / 2
GREY_TEXT, GREY_RULE, GREY_FILL = 0.35, 0.75, 0.9
ELLIPSIS = "…"
FIELD = "e-hramba"  # the signature field's name


def render(document: PdfDocument) -> bytes:
    """The document as a PDF (1.7, xref streams, fonts subset and embedded)."""
    writer = PdfFileWriter()
    pages = _Pages(_Face(writer, FONTS / REGULAR, "/F1"), _Face(writer, FONTS / BOLD, "/F2"))
    pages.text(pages.bold, TITLE, MARGIN, document.title, WIDTH - 2 * MARGIN)
    for block in document.blocks:
        _draw(pages, block)
    pages.number(document.footer or document.title)
    pages.add_to(writer)
    _describe(writer, document)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


class _Face:
    """One font: its pyhanko engine (which subsets and embeds it at write time) and its
    advance widths, read once, to measure text before it is drawn."""

    def __init__(self, writer: PdfFileWriter, path: Path, name: str) -> None:
        self.name = name  # in the pages' resources
        self.engine = GlyphAccumulator(writer, BytesIO(path.read_bytes()), font_size=1)
        tt = self.engine.tt
        metrics = tt["hmtx"].metrics
        per_em = tt["head"].unitsPerEm
        if per_em != 1000:
            raise ConfigurationError(f"font {path.name} has {per_em} units per em, not 1000")
        self._advance: dict[int, float] = {code: metrics[name][0] / per_em
                                           for code, name in tt.getBestCmap().items()}
        self._missing: float = metrics[".notdef"][0] / per_em
        self._shown: dict[str, bytes] = {}  # a report repeats its cells' words often

    def width(self, text: str, size: float) -> float:
        return sum(self._advance.get(ord(c), self._missing) for c in text) * size

    def show(self, text: str) -> bytes:
        # No /ActualText span per string: the ToUnicode map already extracts the text.
        # Shaped once per string: the glyphs it uses are recorded for the subset then.
        if text not in self._shown:
            self._shown[text] = bytes(self.engine.shape(text, with_actual_text=False)
                                      .graphics_ops)
        return self._shown[text]


class _Pages:
    """Content streams of the pages laid out so far, and where the next line goes."""

    def __init__(self, regular: _Face, bold: _Face) -> None:
        self.regular, self.bold = regular, bold
        self.streams: list[list[bytes]] = []
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.streams.append([])
        self.y = HEIGHT - MARGIN

    def room(self, height: float) -> bool:
        """Whether `height` fits below the cursor; if not, go on on a new page."""
        if self.y - height >= MARGIN:
            return True
        self.new_page()
        return False

    def line(self, face: _Face, style: tuple[float, float], x: float, text: str) -> None:
        """One line at the cursor."""
        size, leading = style
        self.put(face, size, x, self.y - size, text)
        self.y -= leading

    def text(self, face: _Face, style: tuple[float, float], x: float, text: str,
             width: float) -> None:
        """Wrapped text, moving to a new page between lines when needed."""
        for line in _wrap(face, style[0], text, width):
            self.room(style[1])
            self.line(face, style, x, line)

    def put(self, face: _Face, size: float, x: float, y: float, text: str) -> None:
        self.streams[-1].append(self._show(face, size, x, y, text))

    def _show(self, face: _Face, size: float, x: float, y: float, text: str,
              grey: float = 0.0) -> bytes:
        if not text:
            return b""
        return b"BT %g g %s %g Tf 1 0 0 1 %.2f %.2f Tm %s ET\n" % (
            grey, face.name.encode(), size, x, y, face.show(text))

    def rule(self, x: float, y: float, width: float) -> None:
        self.streams[-1].append(b"%g G 0.4 w %.2f %.2f m %.2f %.2f l S\n" % (
            GREY_RULE, x, y, x + width, y))

    def fill(self, x: float, y: float, width: float, height: float) -> None:
        self.streams[-1].append(b"%g g %.2f %.2f %.2f %.2f re f\n" % (
            GREY_FILL, x, y, width, height))

    def number(self, footer: str) -> None:
        """Footer and "page / pages" on every page, now that the count is known."""
        total, size = len(self.streams), SMALL[0]
        for number, stream in enumerate(self.streams, 1):
            label = f"{number} / {total}"
            right = WIDTH - MARGIN - self.regular.width(label, size)
            left = _ellipsize(self.regular, size, footer, right - MARGIN - 20)
            stream.append(self._show(self.regular, size, MARGIN, FOOTER_Y, left, GREY_TEXT))
            stream.append(self._show(self.regular, size, right, FOOTER_Y, label, GREY_TEXT))

    def add_to(self, writer: PdfFileWriter) -> None:
        fonts = generic.DictionaryObject({generic.NameObject(face.name): face.engine.as_resource()
                                          for face in (self.regular, self.bold)})
        resources = writer.add_object(generic.DictionaryObject(
            {generic.NameObject("/Font"): fonts}))
        for stream in self.streams:
            content = generic.StreamObject(stream_data=b"".join(stream))
            content.compress()
            writer.insert_page(PageObject(writer.add_object(content),
                                          (0, 0, WIDTH, HEIGHT), resources))


def _draw(pages: _Pages, block: Block) -> None:
    width = WIDTH - 2 * MARGIN
    pages.y -= BODY[1] / 2  # space before each block
    if isinstance(block, Heading):
        pages.room(HEADING[1] + 2 * BODY[1])  # never a heading alone at a page's foot
        pages.text(pages.bold, HEADING, MARGIN, block.text, width)
    elif isinstance(block, Paragraph):
        pages.text(pages.regular, BODY, MARGIN, block.text, width)
    elif isinstance(block, Fields):
        _fields(pages, block, width)
    else:
        _table(pages, block, width)


def _fields(pages: _Pages, block: Fields, width: float) -> None:
    keys_width = min(width * 0.35, max(
        (pages.bold.width(f"{key}:", BODY[0]) for key, _ in block.items), default=0) + 8)
    for key, value in block.items:
        lines = _wrap(pages.regular, BODY[0], value, width - keys_width)
        pages.room(BODY[1])
        top = pages.y  # the key goes beside the value's first line
        pages.line(pages.bold, BODY, MARGIN, _ellipsize(pages.bold, BODY[0], f"{key}:",
                                                        keys_width - 4))
        pages.y = top
        for line in lines:
            pages.room(BODY[1])
            pages.line(pages.regular, BODY, MARGIN + keys_width, line)


def _table(pages: _Pages, table: Table, width: float) -> None:
    total = sum(c.width for c in table.columns)
    widths = [c.width / total * width for c in table.columns]
    header = [c.title for c in table.columns]
    _row(pages, table.columns, widths, header, pages.bold, HEADER_LINES, header=True)
    for row in table.rows:
        if not _row(pages, table.columns, widths, row, pages.regular, table.max_lines):
            _row(pages, table.columns, widths, header, pages.bold, HEADER_LINES, header=True)
            _row(pages, table.columns, widths, row, pages.regular, table.max_lines, fresh=True)


def _row(pages: _Pages, columns: Sequence[Column], widths: list[float], cells: Sequence[str],
         face: _Face, max_lines: int, header: bool = False, fresh: bool = False) -> bool:
    """Draw one row below the cursor; False (and nothing drawn) if it went to a new page,
    where the caller repeats the header first. A header, or a row at the top of a page
    (`fresh`), is drawn wherever it lands."""
    size, leading = SMALL
    lines = [_fit(face, size, cell, w - 2 * PAD, max_lines)
             for cell, w in zip(cells, widths, strict=True)]
    height = max(len(cell) for cell in lines) * leading + 2 * PAD
    if not pages.room(height) and not (header or fresh):
        return False
    if header:
        pages.fill(MARGIN, pages.y - height, sum(widths), height)
    x = MARGIN
    for column, w, cell in zip(columns, widths, lines, strict=True):
        for i, text in enumerate(cell):
            shift = w - 2 * PAD - face.width(text, size) if column.align == "right" else 0
            pages.put(face, size, x + PAD + shift, pages.y - PAD - size - i * leading, text)
        x += w
    pages.y -= height
    pages.rule(MARGIN, pages.y, sum(widths))
    return True


def _wrap(face: _Face, size: float, text: str, width: float) -> list[str]:
    """Lines of at most `width`: broken at spaces, a word longer than a line by letters."""
    space = face.width(" ", size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current, used = "", 0.0
        for word in paragraph.split():
            needed = face.width(word, size)
            if current and used + space + needed <= width:
                current, used = f"{current} {word}", used + space + needed
                continue
            if current:
                lines.append(current)
            while needed > width and len(word) > 1:
                head = _longest_prefix(face, size, word, width)
                lines.append(head)
                word = word[len(head):]
                needed = face.width(word, size)
            current, used = word, needed
        lines.append(current)
    return lines


def _fit(face: _Face, size: float, text: str, width: float, max_lines: int) -> list[str]:
    """`text` wrapped onto at most `max_lines` lines; the last ends in "…" if cut."""
    lines = _wrap(face, size, text, width)
    if len(lines) <= max_lines:
        return lines
    rest = " ".join(lines[max_lines - 1:])
    return [*lines[:max_lines - 1], _ellipsize(face, size, rest + ELLIPSIS, width)]


def _ellipsize(face: _Face, size: float, text: str, width: float) -> str:
    """`text` if it fits in `width`, else as much of it as fits followed by "…"."""
    if face.width(text, size) <= width:
        return text
    room = width - face.width(ELLIPSIS, size)
    return _longest_prefix(face, size, text, room).rstrip() + ELLIPSIS


def _longest_prefix(face: _Face, size: float, text: str, width: float) -> str:
    """The longest start of `text` no wider than `width`, and at least one letter."""
    used = 0.0
    for end, char in enumerate(text):
        used += face.width(char, size)
        if used > width:
            return text[:max(end, 1)]
    return text


def _describe(writer: PdfFileWriter, document: PdfDocument) -> None:
    """Metadata (Info and XMP), the language, and attachments."""
    meta = writer.document_meta
    meta.title, meta.author, meta.subject = document.title, document.author, document.subject
    meta.creator = "e-hramba"
    if document.created is not None:
        meta.created = meta.last_modified = document.created
    writer.root[generic.NameObject("/Lang")] = generic.TextStringObject(document.lang)
    writer.update_root()
    for attachment in document.attachments:
        _attach(writer, attachment)


def _attach(writer: PdfFileWriter, attachment: Attachment) -> None:
    data = EmbeddedFileObject.from_file_data(writer, attachment.data,
                                             mime_type=attachment.mime_type)
    embed_file(writer, FileSpec(file_spec_string=attachment.name, file_name=attachment.name,
                                embedded_data=data, description=attachment.description or None,
                                af_relationship=generic.NameObject("/Data")))


class PortTimeStamper(TimeStamper):
    """pyhanko's timestamp client asking the archive's Timestamper port, so that signing
    uses the TSA that sealing uses, with its checks (nonce, imprint, no SHA-1), and
    pyhanko never calls a TSA URL itself."""

    def __init__(self, port: Timestamper) -> None:
        # The port sets and checks its own nonce. (mypy's untyped_calls_exclude does not
        # reach a super() call.)
        super().__init__(include_nonce=False)  # type: ignore[no-untyped-call]
        self._port = port

    async def async_timestamp(self, message_digest: bytes,
                              md_algorithm: str) -> cms.ContentInfo:
        # A blocking call is fine here: pyhanko awaits one token at a time.
        return cms.ContentInfo.load(self._port.timestamp(message_digest, md_algorithm))


class _ClockedPdfSigner(signers.PdfSigner):
    """pyhanko takes the signing time from the wall clock; the archive's clock decides,
    as it does for the development TSA's tokens."""

    def __init__(self, meta: signers.PdfSignatureMetadata, signer: signers.Signer,
                 timestamper: TimeStamper, now: datetime) -> None:
        super().__init__(meta, signer, timestamper=timestamper)
        self._now = now

    def init_signing_session(self, pdf_out: Any,
                             existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._now
        return session


@dataclass(frozen=True)
class SigningKey:
    """Where the archive's signing key and certificate are (settings signing.*)."""

    key: Path
    certificate: Path  # PEM: the signing certificate, then its chain up to the root CA
    password: str = ""


class PadesPdfSigner:
    """PdfSigner: PAdES B-LTA with the archive's key, TSA and clock.

    Before it signs, pyhanko validates the signing certificate and the TSA's (revocation
    hard-fail: a certificate that names a CRL or OCSP responder needs its answer, fetched
    now), and embeds what it used in the Document Security Store.
    """

    def __init__(self, key: SigningKey, timestamper: Timestamper,
                 tsa_anchors: Sequence[x509.Certificate], clock: Clock) -> None:
        chain = load_certificates(key.certificate, "signing.certificate")
        if not chain:
            raise ConfigurationError(f"signing.certificate {key.certificate}: no certificate")
        self._signer = signers.SimpleSigner(
            signing_cert=chain[0], signing_key=_private_key(key, chain[0]),
            cert_registry=SimpleCertificateStore.from_certs(chain))
        if chain[-1].self_signed == "no":  # else "yes" or "maybe" (asn1crypto)
            raise ConfigurationError(f"signing.certificate {key.certificate}: the chain must "
                                     "end in its root CA certificate")
        self._chain, self._anchors = chain, [chain[-1], *tsa_anchors]
        self._timestamper = PortTimeStamper(timestamper)  # kept: pyhanko caches its chain
        self._clock = clock
        self.description = f"{chain[0].subject.human_friendly} ({key.certificate})"

    def sign(self, pdf: bytes) -> bytes:
        """`pdf` with a PAdES signature (and a document timestamp) appended."""
        now = self._clock.now()
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True, use_pades_lta=True,
            validation_context=self._context(now))
        signer = _ClockedPdfSigner(meta, self._signer, self._timestamper, now)
        try:
            out = signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)))
        except (SigningError, PathError, ValidationError, PdfError, OSError) as exc:
            raise _refused(exc, self.description) from exc
        return bytes(out.getvalue())

    def _context(self, now: datetime) -> ValidationContext:
        # Revocation data issued just after `now` counts (the clock may be a test's).
        return ValidationContext(trust_roots=self._anchors, other_certs=self._chain,
                                 moment=now, allow_fetching=True, revocation_mode="hard-fail",
                                 retroactive_revinfo=True)


def _private_key(key: SigningKey, certificate: x509.Certificate) -> keys.PrivateKeyInfo:
    """The key as PKCS#8, refused unless it belongs to the certificate: pyhanko would sign
    with any key, and the mismatch would show only when the signature is validated."""
    try:
        loaded = serialization.load_pem_private_key(
            key.key.read_bytes(), key.password.encode() or None)
    except OSError as exc:
        raise ConfigurationError(f"signing.key {key.key}: {exc.strerror}") from exc
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"signing.key {key.key}: not a PEM private key, or the "
                                 "wrong signing.key_password_file") from exc
    public = loaded.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if public != certificate.public_key.dump():
        raise ConfigurationError(f"signing.key {key.key} is not the key of the certificate "
                                 "in signing.certificate")
    return keys.PrivateKeyInfo.load(loaded.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _refused(exc: Exception, description: str) -> HrambaError:
    """Missing revocation data may come later (a CA's OCSP responder down: retry); a PDF
    pyhanko cannot read is the input's fault; any other refusal is the certificates' (not
    trusted, revoked, expired, the wrong key usage), and configuration must change."""
    reason = exc.__cause__ if isinstance(exc, SigningError) and exc.__cause__ else exc
    detail = f"{exc}: {reason}" if reason is not exc else str(exc)
    if isinstance(reason, InsufficientRevinfoError | OSError):
        return ServiceUnavailable(f"signing with {description}: revocation data not to be "
                                  f"had now: {detail}")
    if isinstance(reason, PdfError):
        return RejectedInput(f"not a PDF that can be signed: {detail}")
    return ConfigurationError(f"signing with {description}: {detail}")
