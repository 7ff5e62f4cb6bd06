"""Writes the hostile and odd PDFs next to this file, for tests/unit/test_pdf_intake.py.

Run once; the output is committed (the tests do not run this, they import its builders
for the small PDFs they make on the fly):

    .venv/bin/python tests/data/pdf/make_pdfs.py

* pdf-javascript.pdf         an /OpenAction of type /JavaScript (a harmless app.alert)
* pdf-embedded-bomb.pdf      an embedded file whose FlateDecode stream inflates to 1 GiB
                             and 1 MiB of zeros (about 1 MB on disk)
* pdf-deep-nesting.pdf       the /OpenAction is arrays nested 100,000 deep
* pdf-encrypted.pdf          AES-256, standard security handler (pyHanko's writer); the
                             passwords are in PASSWORDS below, the tests never use them
* facturx-name-mismatch.pdf  a Factur-X invoice embedded as invoice.xml whose XMP says
                             factur-x.xml

Everything else is assembled as plain bytes, so that each file says exactly what it
should and nothing a writer would add or repair.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

MiB = 1024 * 1024
PASSWORDS = ("owner-e-hramba", "user-e-hramba")
FACTURX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
INVOICE_NUMBER = "HRB-TEST-2026-1"
CII_INVOICE = f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice
    xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
    xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter>
      <ram:ID>urn:cen.eu:en16931:2017</ram:ID>
    </ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{INVOICE_NUMBER}</ram:ID>
    <ram:TypeCode>380</ram:TypeCode>
  </rsm:ExchangedDocument>
</rsm:CrossIndustryInvoice>
""".encode()


def build_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF 1.7 file of these object bodies, numbered from 1; object 1 is the catalog.
    `trailer` adds entries to the trailer dictionary."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    start = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer, start)
    return bytes(out)


def stream(entries: bytes, data: bytes) -> bytes:
    """A stream object's body: its dictionary entries (without /Length) and its bytes."""
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (entries, len(data), data)


def document(catalog: bytes = b"", objects: tuple[bytes, ...] = (), page: bytes = b"") -> bytes:
    """A one-page PDF: objects 1-3 are the catalog, page tree and page, with these extra
    entries; `objects` follow as 4, 5, ..."""
    return build_pdf([b"<< /Type /Catalog /Pages 2 0 R %s >>" % catalog,
                      b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                      b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s >>" % page,
                      *objects])


def embedded_stream(data: bytes, *, media_type: bytes = b"/text#2Fxml",
                    deflate: bool = True) -> bytes:
    if deflate:
        return stream(b"/Type /EmbeddedFile /Subtype %s /Filter /FlateDecode "
                      b"/Params << /Size %d >>" % (media_type, len(data)), zlib.compress(data))
    return stream(b"/Type /EmbeddedFile /Subtype %s" % media_type, data)


def filespec(name: str, stream_ref: int, relationship: bytes = b"/Alternative") -> bytes:
    literal = _literal(name)
    return (b"<< /Type /Filespec /F %s /UF %s /EF << /F %d 0 R /UF %d 0 R >> "
            b"/AFRelationship %s >>" % (literal, literal, stream_ref, stream_ref, relationship))


def xmp_packet(filename: str | None, profile: str = "EN 16931",
               namespace: str = FACTURX_NS, *, attributes: bool = False) -> bytes:
    """An XMP packet with the invoice schema (Factur-X 1.0 §6.2.2, ZUGFeRD alike)."""
    name = f"<fx:DocumentFileName>{filename}</fx:DocumentFileName>" if filename else ""
    if attributes:
        file_attribute = f' fx:DocumentFileName="{filename}"' if filename else ""
        schema = (f'<rdf:Description rdf:about="" xmlns:fx="{namespace}" '
                  f'fx:ConformanceLevel="{profile}" fx:DocumentType="INVOICE"'
                  f'{file_attribute} fx:Version="1.0"/>')
    else:
        schema = (f'<rdf:Description rdf:about="" xmlns:fx="{namespace}">'
                  f"<fx:DocumentType>INVOICE</fx:DocumentType>{name}"
                  f"<fx:Version>1.0</fx:Version>"
                  f"<fx:ConformanceLevel>{profile}</fx:ConformanceLevel></rdf:Description>")
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">'
            f"<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>"
            f"</rdf:Description>{schema}</rdf:RDF></x:xmpmeta>\n"
            f'<?xpacket end="w"?>').encode()


def hybrid_pdf(xml: bytes, filename: str, xmp: bytes | None) -> bytes:
    """A Factur-X-shaped PDF: the XML embedded under `filename`, listed in /AF and the
    /EmbeddedFiles name tree, and the XMP packet as the catalog's /Metadata."""
    metadata = b"/Metadata 6 0 R" if xmp is not None else b""
    objects = [filespec(filename, 5), embedded_stream(xml)]
    if xmp is not None:
        objects.append(stream(b"/Type /Metadata /Subtype /XML", xmp))
    catalog = (b"/Names << /EmbeddedFiles << /Names [%s 4 0 R] >> >> /AF [4 0 R] %s"
               % (_literal(filename), metadata))
    return document(catalog, tuple(objects))


def javascript_pdf() -> bytes:
    action = b"<< /Type /Action /S /JavaScript /JS (app.alert\\('e-hramba test'\\);) >>"
    return document(b"/OpenAction 4 0 R", (action,))


def bomb_pdf(size: int = 1024 * MiB + MiB) -> bytes:
    compressor = zlib.compressobj(9)
    chunk = bytes(MiB)
    parts = [compressor.compress(chunk) for _ in range(size // MiB)]
    parts.append(compressor.flush())
    deflated = b"".join(parts)
    bomb = stream(b"/Type /EmbeddedFile /Subtype /application#2Foctet-stream "
                  b"/Filter /FlateDecode /Params << /Size %d >>" % size, deflated)
    return document(b"/Names << /EmbeddedFiles << /Names [(zeros.bin) 4 0 R] >> >>",
                    (filespec("zeros.bin", 5, b"/Data"), bomb))


def deep_nesting_pdf(depth: int = 100_000) -> bytes:
    return document(b"/OpenAction 4 0 R", (b"[" * depth + b"]" * depth,))


def encrypted_pdf() -> bytes:
    from pyhanko.pdf_utils.writer import PdfFileWriter

    writer = PdfFileWriter()
    writer.encrypt(*PASSWORDS)  # AES-256, PDF 2.0 standard security handler
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def name_mismatch_pdf() -> bytes:
    return hybrid_pdf(CII_INVOICE, "invoice.xml", xmp_packet("factur-x.xml"))


FILES = {
    "pdf-javascript.pdf": javascript_pdf,
    "pdf-embedded-bomb.pdf": bomb_pdf,
    "pdf-deep-nesting.pdf": deep_nesting_pdf,
    "pdf-encrypted.pdf": encrypted_pdf,
    "facturx-name-mismatch.pdf": name_mismatch_pdf,
}


def _literal(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(%s)" % escaped.encode("latin-1")


def main() -> None:
    folder = Path(__file__).parent
    for name, make in FILES.items():
        (folder / name).write_bytes(make())


if __name__ == "__main__":
    main()
