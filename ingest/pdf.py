"""PDF inspection for intake: embedded files (Factur-X, ZUGFeRD), active content, XMP.

A received PDF is untrusted. It is read with pyHanko's reader and only the few places
that matter to an archive are walked: the catalog, its /Names trees (/EmbeddedFiles,
/JavaScript), its /AF array, /OpenAction and /AA, and every page's /AA and annotations
(their /A and /AA actions, file-attachment annotations). The walk is a queue, not
recursion, with a depth counter, a budget of objects and a set of references already seen
(PDF object graphs may be cyclic). Embedded file streams are inflated here, from the raw
stream bytes, by a zlib decompressor capped at the first byte past the limit; the only
filters decoded are none and /FlateDecode without a predictor. Nothing is written, nothing
is fetched, no password is tried: an encrypted PDF is reported as such and not inspected.

Every failure of pyHanko on damaged input, whatever its type, becomes a PdfRejected that
names the file; nothing else escapes `inspect_pdf`.

Codes raised here (as PdfRejected.code):

* HRB-I021  over the limits (objects, embedded file size, their total, compression ratio,
            XMP size)
* HRB-I030  not a readable PDF (not a PDF, damaged, nested too deeply, an embedded file in
            a filter intake does not decode)

`facturx_invoice` picks the invoice XML of a hybrid invoice (Factur-X, ZUGFeRD 1.0/2.x,
XRechnung in ZUGFeRD 2.1+) and compares it with what the XMP metadata declares.
"""

from __future__ import annotations

import io
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader

from hramba.core.errors import CodedRejection

MiB = 1024 * 1024
_RATIO_FLOOR = MiB  # smaller embedded files may compress as well as they like
_CHUNK = MiB  # of inflated output at a time
_MESSAGE_CHARS = 200  # of a pyHanko error in our reason

ACTIVE_JAVASCRIPT = "JavaScript"
ACTIVE_OPEN_ACTION = "/OpenAction"
ACTIVE_LAUNCH = "/Launch action"
ACTIVE_ADDITIONAL = "/AA additional actions"
_ACTIVE_ORDER = (ACTIVE_JAVASCRIPT, ACTIVE_OPEN_ACTION, ACTIVE_LAUNCH, ACTIVE_ADDITIONAL)


@dataclass(frozen=True)
class PdfLimits:
    """How much one PDF may make intake read; sizes are decoded bytes."""

    max_objects: int = 200_000  # in the cross-reference sections, and walked
    max_depth: int = 100  # of the trees walked (name trees, page tree, action chains)
    max_embedded_total: int = 50 * MiB  # all embedded files together
    max_embedded_bytes: int = 50 * MiB  # one embedded file (the attachment limit)
    max_ratio: int = 100  # decoded / encoded, for embedded files over 1 MiB
    max_xmp_bytes: int = 4 * MiB

    def __post_init__(self) -> None:
        if min(self.max_objects, self.max_depth, self.max_embedded_total,
               self.max_embedded_bytes, self.max_ratio, self.max_xmp_bytes) < 1:
            raise ValueError(f"PDF limits must be positive: {self}")


@dataclass(frozen=True)
class EmbeddedFile:
    """One file embedded in the PDF, decoded; names and types as the PDF declares them."""

    name: str  # /UF, else /F, else the key in the /EmbeddedFiles name tree
    data: bytes
    media_type: str | None  # the stream's /Subtype, e.g. "text/xml"
    relationship: str | None  # the file specification's /AFRelationship, e.g. "Alternative"


@dataclass(frozen=True)
class PdfFacts:
    """What intake needs to know about a PDF. An encrypted one is not inspected further."""

    encrypted: bool
    embedded: tuple[EmbeddedFile, ...] = ()
    active: tuple[str, ...] = ()  # the ACTIVE_* reasons found, in that order
    xmp: bytes | None = None  # the catalog's /Metadata stream, decoded


class PdfRejected(CodedRejection):
    """Raised when a PDF is unreadable or over the limits; `code` says why, the message
    where."""


def inspect_pdf(data: bytes, name: str, limits: PdfLimits = PdfLimits()) -> PdfFacts:
    """The facts of one PDF, or PdfRejected (HRB-I021 over the limits, HRB-I030 unreadable).

    `name` is only used in messages.
    """
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if _is_encrypted(reader):
            return PdfFacts(encrypted=True)
        _check_object_count(reader, name, limits)
        return _Walk(name, limits).run(reader)
    except PdfRejected:
        raise
    except RecursionError as exc:  # pyHanko parses nested arrays and dictionaries recursively
        raise PdfRejected("HRB-I030", f"{name}: objects nested too deeply to read") from exc
    except Exception as exc:  # pyHanko raises many types on damaged input; all mean the same
        raise PdfRejected("HRB-I030", f"{name}: not a readable PDF: {_brief(exc)}") from exc


def _brief(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."


def _is_encrypted(reader: PdfFileReader) -> bool:
    # The trailer and cross-reference data are never encrypted (ISO 32000-2 §7.6.1), so
    # this needs no password; the security handler is not even built.
    try:
        reader.trailer.raw_get("/Encrypt")
    except KeyError:
        return False
    return True


def _check_object_count(reader: PdfFileReader, name: str, limits: PdfLimits) -> None:
    refs: set[generic.Reference] = set()
    for revision in range(reader.xrefs.total_revisions):
        refs |= reader.xrefs.explicit_refs_in_revision(revision)
        if len(refs) > limits.max_objects:
            raise PdfRejected("HRB-I021", f"{name}: more than {limits.max_objects} objects")


# --- the walk ------------------------------------------------------------------------------

_Role = Literal["names", "files", "scripts", "filespec", "action", "additional", "pages",
                "annotation"]


@dataclass(frozen=True)
class _Task:
    role: _Role
    raw: generic.PdfObject
    depth: int
    label: str = ""  # a name-tree key: the file name if the file specification has none


@dataclass
class _Walk:
    """One walk over one document; its state lives only as long as the call."""

    pdf: str
    limits: PdfLimits
    queue: deque[_Task] = field(default_factory=deque)
    seen: set[tuple[int, int]] = field(default_factory=set)
    visited: int = 0
    embedded: list[EmbeddedFile] = field(default_factory=list)
    active: set[str] = field(default_factory=set)
    decoded_total: int = 0

    def run(self, reader: PdfFileReader) -> PdfFacts:
        catalog = self.resolve(reader.trailer.raw_get("/Root"), 0)
        if not isinstance(catalog, generic.DictionaryObject):
            raise PdfRejected("HRB-I030", f"{self.pdf}: no document catalog")
        xmp = self.catalog(catalog)
        while self.queue:
            task = self.queue.popleft()
            obj = self.resolve(task.raw, task.depth)
            if obj is not None:
                _HANDLERS[task.role](self, obj, task)
        active = tuple(reason for reason in _ACTIVE_ORDER if reason in self.active)
        return PdfFacts(False, tuple(self.embedded), active, xmp)

    def resolve(self, raw: generic.PdfObject, depth: int) -> generic.PdfObject | None:
        """The object behind `raw`, or None if it was walked already (a cycle or a
        shared object)."""
        if depth > self.limits.max_depth:
            raise PdfRejected("HRB-I030", f"{self.pdf}: nested deeper than "
                                          f"{self.limits.max_depth} levels")
        self.visited += 1
        if self.visited > self.limits.max_objects:
            raise PdfRejected("HRB-I021", f"{self.pdf}: more than {self.limits.max_objects} "
                                          f"objects to walk")
        if isinstance(raw, generic.IndirectObject):
            key = (raw.reference.idnum, raw.reference.generation)
            if key in self.seen:
                return None
            self.seen.add(key)
            obj: generic.PdfObject = raw.get_object()
            return obj
        return raw

    def push(self, role: _Role, parent: generic.DictionaryObject, key: str,
             depth: int) -> None:
        if key in parent:
            self.queue.append(_Task(role, parent.raw_get(key), depth + 1))

    def push_all(self, role: _Role, array: generic.PdfObject | None, depth: int) -> None:
        if isinstance(array, generic.ArrayObject):
            self.queue.extend(_Task(role, item, depth + 1) for item in array.iterate())

    # --- one handler per role ---------------------------------------------------------

    def catalog(self, catalog: generic.DictionaryObject) -> bytes | None:
        self.push("names", catalog, "/Names", 0)
        self.push("pages", catalog, "/Pages", 0)
        self.push("additional", catalog, "/AA", 0)
        if "/AF" in catalog:
            self.push_all("filespec", self.resolve(catalog.raw_get("/AF"), 1), 1)
        if "/OpenAction" in catalog:
            self.open_action(self.resolve(catalog.raw_get("/OpenAction"), 1))
        return self.metadata(catalog)

    def open_action(self, action: generic.PdfObject | None) -> None:
        # An /OpenAction that is a destination (an array) or a GoTo only opens a page;
        # any other action runs when the document opens.
        if isinstance(action, generic.DictionaryObject):
            if _name(action, "/S") != "/GoTo":
                self.active.add(ACTIVE_OPEN_ACTION)
            self.action(action, _Task("action", action, 1))

    def names(self, names: generic.PdfObject, task: _Task) -> None:
        if isinstance(names, generic.DictionaryObject):
            self.push("files", names, "/EmbeddedFiles", task.depth)
            self.push("scripts", names, "/JavaScript", task.depth)

    def files(self, node: generic.PdfObject, task: _Task) -> None:
        for key, value in self.tree_node("files", node, task.depth):
            label = _text(key) or ""
            self.queue.append(_Task("filespec", value, task.depth + 1, label))

    def scripts(self, node: generic.PdfObject, task: _Task) -> None:
        for _key, value in self.tree_node("scripts", node, task.depth):
            self.active.add(ACTIVE_JAVASCRIPT)
            self.queue.append(_Task("action", value, task.depth + 1))

    def tree_node(self, role: _Role, node: generic.PdfObject,
                  depth: int) -> list[tuple[generic.PdfObject, generic.PdfObject]]:
        """A name-tree node's (key, value) pairs; its kids are queued (ISO 32000-2 §7.9.6)."""
        if not isinstance(node, generic.DictionaryObject):
            return []
        if "/Kids" in node:
            self.push_all(role, self.resolve(node.raw_get("/Kids"), depth + 1), depth + 1)
        pairs = self.resolve(node.raw_get("/Names"), depth + 1) if "/Names" in node else None
        if not isinstance(pairs, generic.ArrayObject):
            return []
        items = list(pairs.iterate())
        return list(zip(items[0::2], items[1::2], strict=False))

    def action(self, action: generic.PdfObject, task: _Task) -> None:
        if isinstance(action, generic.ArrayObject):  # /Next may hold several (§12.6.2)
            self.push_all("action", action, task.depth)
            return
        if not isinstance(action, generic.DictionaryObject):
            return
        kind = _name(action, "/S")
        if kind == "/JavaScript":
            self.active.add(ACTIVE_JAVASCRIPT)
        elif kind == "/Launch":
            self.active.add(ACTIVE_LAUNCH)
        self.push("action", action, "/Next", task.depth)

    def additional(self, actions: generic.PdfObject, task: _Task) -> None:
        if isinstance(actions, generic.DictionaryObject) and actions:
            self.active.add(ACTIVE_ADDITIONAL)
            self.queue.extend(_Task("action", actions.raw_get(key), task.depth + 1)
                              for key in actions)

    def pages(self, node: generic.PdfObject, task: _Task) -> None:
        if not isinstance(node, generic.DictionaryObject):
            return
        if "/Kids" in node:
            self.push_all("pages", self.resolve(node.raw_get("/Kids"), task.depth + 1),
                          task.depth + 1)
            return
        self.push("additional", node, "/AA", task.depth)
        if "/Annots" in node:
            annotations = self.resolve(node.raw_get("/Annots"), task.depth + 1)
            self.push_all("annotation", annotations, task.depth + 1)

    def annotation(self, annotation: generic.PdfObject, task: _Task) -> None:
        if not isinstance(annotation, generic.DictionaryObject):
            return
        self.push("action", annotation, "/A", task.depth)
        self.push("additional", annotation, "/AA", task.depth)
        if _name(annotation, "/Subtype") == "/FileAttachment":
            self.push("filespec", annotation, "/FS", task.depth)

    # --- embedded files and metadata -------------------------------------------------

    def filespec(self, spec: generic.PdfObject, task: _Task) -> None:
        if not isinstance(spec, generic.DictionaryObject) or "/EF" not in spec:
            return  # a file specification string, or one that embeds nothing
        streams = self.resolve(spec.raw_get("/EF"), task.depth + 1)
        if not isinstance(streams, generic.DictionaryObject):
            return
        key = "/UF" if "/UF" in streams else "/F"
        if key not in streams:
            return
        stream = self.resolve(streams.raw_get(key), task.depth + 2)
        if stream is None:
            return  # the same stream under another file specification
        name = _spec_name(spec) or task.label
        if not isinstance(stream, generic.StreamObject):
            raise PdfRejected("HRB-I030", f"{self.pdf}: embedded file {name!r} is not a stream")
        data = self.embedded_data(stream, name)
        self.embedded.append(EmbeddedFile(name, data, _media_type(stream),
                                          _relationship(spec)))

    def embedded_data(self, stream: generic.StreamObject, name: str) -> bytes:
        encoded = stream.encoded_data
        limits = self.limits
        remaining = limits.max_embedded_total - self.decoded_total
        cap, limit = min(
            (limits.max_embedded_bytes, f"is larger than {limits.max_embedded_bytes} bytes, "
                                        f"the limit for one embedded file"),
            (remaining, f"brings the embedded files over {limits.max_embedded_total} bytes, "
                        f"their limit together"),
            (max(_RATIO_FLOOR, limits.max_ratio * len(encoded)),
             f"inflates more than {limits.max_ratio} times its compressed size"),
            key=lambda candidate: candidate[0])  # on a tie, the first named
        data = _decode(stream, encoded, cap, f"{self.pdf}: embedded file {name!r}")
        if data is None:
            raise PdfRejected("HRB-I021", f"{self.pdf}: embedded file {name!r} {limit}")
        self.decoded_total += len(data)
        return data

    def metadata(self, catalog: generic.DictionaryObject) -> bytes | None:
        if "/Metadata" not in catalog:
            return None
        stream = self.resolve(catalog.raw_get("/Metadata"), 1)
        if not isinstance(stream, generic.StreamObject):
            return None
        if not _decodable(stream):
            return None  # metadata only informs; an odd encoding does not refuse the PDF
        cap = self.limits.max_xmp_bytes
        data = _decode(stream, stream.encoded_data, cap, f"{self.pdf}: XMP metadata")
        if data is None:
            raise PdfRejected("HRB-I021", f"{self.pdf}: XMP metadata is larger than {cap} "
                                          f"bytes")
        return data


_HANDLERS = {
    "names": _Walk.names,
    "files": _Walk.files,
    "scripts": _Walk.scripts,
    "filespec": _Walk.filespec,
    "action": _Walk.action,
    "additional": _Walk.additional,
    "pages": _Walk.pages,
    "annotation": _Walk.annotation,
}


# --- decoding ------------------------------------------------------------------------------


def _decode(stream: generic.StreamObject, encoded: bytes, cap: int, what: str) -> bytes | None:
    """The stream's decoded bytes, or None if they would exceed `cap`. Decoding stops at
    the first byte past the cap: a deflate bomb costs `cap` bytes of memory, not its size."""
    if not _decodable(stream):
        raise PdfRejected("HRB-I030", f"{what} is encoded with {' '.join(_filters(stream))} "
                                      f"(or its parameters), which intake does not decode")
    if not _filters(stream):
        return encoded if len(encoded) <= cap else None
    return _inflate(encoded, cap, what)


def _decodable(stream: generic.StreamObject) -> bool:
    filters = _filters(stream)
    return not filters or (filters == ["/FlateDecode"] and _no_predictor(stream))


def _inflate(encoded: bytes, cap: int, what: str) -> bytes | None:
    # In chunks: one call with max_length=cap+1 would also stop in time, but CPython
    # gathers its output in blocks and joins them, so a bomb would cost twice the cap.
    inflater = zlib.decompressobj()
    chunks: list[bytes] = []
    size, pending = 0, encoded
    try:
        while not inflater.eof:
            chunk = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            if not chunk:
                break  # the data ended before the stream did: accepted, as readers do
            size += len(chunk)
            if size > cap:
                return None
            chunks.append(chunk)
    except zlib.error as exc:
        raise PdfRejected("HRB-I030", f"{what}: damaged deflate data: {exc}") from exc
    return b"".join(chunks)


def _filters(stream: generic.StreamObject) -> list[str]:
    if "/Filter" not in stream:
        return []
    value = stream.raw_get("/Filter").get_object()
    if isinstance(value, generic.NameObject):
        return [str(value)]
    if isinstance(value, generic.ArrayObject):
        return [str(item) for item in value]
    return ["(a /Filter that is not a name)"]


def _no_predictor(stream: generic.StreamObject) -> bool:
    if "/DecodeParms" not in stream:
        return True
    params = stream.raw_get("/DecodeParms").get_object()
    if isinstance(params, generic.ArrayObject) and len(params) == 1:
        params = params[0]
    if isinstance(params, generic.NullObject):
        return True
    if not isinstance(params, generic.DictionaryObject):
        return False
    predictor = params.raw_get("/Predictor").get_object() if "/Predictor" in params else 1
    return bool(predictor == 1)


# --- small readers -------------------------------------------------------------------------


def _name(obj: generic.DictionaryObject, key: str) -> str | None:
    if key not in obj:
        return None
    value = obj.raw_get(key).get_object()
    return str(value) if isinstance(value, generic.NameObject) else None


def _text(value: generic.PdfObject) -> str | None:
    value = value.get_object()
    if isinstance(value, generic.TextStringObject):
        return str(value)
    if isinstance(value, generic.ByteStringObject):  # not PDFDocEncoding nor UTF-16
        return bytes(value).decode("latin-1")
    return None


def _spec_name(spec: generic.DictionaryObject) -> str | None:
    for key in ("/UF", "/F"):  # §7.11.3: /UF is the Unicode name, /F the portable one
        if key in spec:
            text = _text(spec.raw_get(key))
            if text:
                return text
    return None


def _media_type(stream: generic.StreamObject) -> str | None:
    subtype = _name(stream, "/Subtype")
    return subtype[1:] if subtype else None


def _relationship(spec: generic.DictionaryObject) -> str | None:
    relationship = _name(spec, "/AFRelationship")
    return relationship[1:] if relationship else None


# --- hybrid invoices -----------------------------------------------------------------------

Flavour = Literal["factur-x", "zugferd1", "zugferd2", "xrechnung"]

FACTURX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
ZUGFERD1_NS = "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#"
ZUGFERD2_NS = "urn:zugferd:pdfa:CrossIndustryDocument:invoice:2p0#"
_XMP_FLAVOURS: dict[str, Flavour] = {FACTURX_NS: "factur-x", ZUGFERD2_NS: "zugferd2",
                                     ZUGFERD1_NS: "zugferd1"}
_RDF_DESCRIPTION = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"
# Invoice file names by specification; order-x.xml (an order) is deliberately absent.
_HYBRID_NAMES: dict[str, Flavour] = {
    "factur-x.xml": "factur-x",  # Factur-X 1.0, ZUGFeRD 2.1+
    "zugferd-invoice.xml": "zugferd2",  # ZUGFeRD 2.0; "ZUGFeRD-invoice.xml" in 1.0
    "xrechnung.xml": "xrechnung",  # ZUGFeRD 2.1+, XRechnung profile
}


@dataclass(frozen=True)
class HybridXml:
    """The invoice XML embedded in a hybrid PDF invoice and what the XMP says of it."""

    filename: str
    data: bytes
    flavour: Flavour
    profile: str | None  # the XMP's ConformanceLevel, e.g. "EN 16931", "BASIC"
    xmp_filename: str | None  # the XMP's DocumentFileName
    mismatches: tuple[str, ...]  # each a sentence; empty when XMP and file agree


@dataclass(frozen=True)
class _XmpInvoice:
    namespace: str | None = None
    profile: str | None = None
    filename: str | None = None
    problem: str | None = None  # why nothing could be read


def facturx_invoice(facts: PdfFacts) -> HybridXml | None:
    """The embedded invoice XML of a Factur-X/ZUGFeRD/XRechnung hybrid PDF, or None.

    The file is found by its specified name; failing that, by the name the XMP's invoice
    schema declares. Differences between the two are returned as mismatches.
    """
    xmp = _xmp_invoice(facts.xmp)
    chosen = _invoice_file(facts.embedded, xmp)
    if chosen is None:
        return None
    flavour = _flavour(chosen.name, xmp.namespace)
    return HybridXml(chosen.name, chosen.data, flavour, xmp.profile, xmp.filename,
                     _mismatches(chosen.name, xmp))


def _invoice_file(files: tuple[EmbeddedFile, ...], xmp: _XmpInvoice) -> EmbeddedFile | None:
    named = [file for file in files if file.name.casefold() in _HYBRID_NAMES]
    declared = [file for file in files if xmp.filename is not None and file.name == xmp.filename]
    preferred = [file for file in named if file in declared] or named or declared
    if preferred:
        return preferred[0]
    xml = [file for file in files if file.name.casefold().endswith(".xml")]
    # A PDF whose XMP declares a hybrid invoice, with one XML file under another name.
    return xml[0] if xmp.filename is not None and len(xml) == 1 else None


def _flavour(filename: str, namespace: str | None) -> Flavour:
    flavour = _HYBRID_NAMES.get(filename.casefold())
    if flavour is None:
        return _XMP_FLAVOURS.get(namespace or "", "factur-x")
    if flavour == "zugferd2":  # both ZUGFeRD versions use this name, in different case
        if namespace in (ZUGFERD1_NS, ZUGFERD2_NS):
            return _XMP_FLAVOURS[namespace]
        return "zugferd1" if filename == "ZUGFeRD-invoice.xml" else "zugferd2"
    return flavour


def _mismatches(filename: str, xmp: _XmpInvoice) -> tuple[str, ...]:
    if xmp.problem is not None:
        return (xmp.problem,)
    if xmp.filename is None:
        return ("the XMP metadata names no invoice file (no DocumentFileName in the Factur-X "
                "or ZUGFeRD schema)",)
    if xmp.filename != filename:
        return (f"the XMP metadata names {xmp.filename!r} but the embedded file is "
                f"{filename!r}",)
    return ()


def _xmp_invoice(xmp: bytes | None) -> _XmpInvoice:
    if xmp is None:
        return _XmpInvoice(problem="the PDF has no XMP metadata, so it names no invoice file")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    try:
        root = etree.fromstring(xmp, parser)
    except etree.XMLSyntaxError:
        return _XmpInvoice(problem="the XMP metadata is not well-formed XML")
    if root.getroottree().docinfo.doctype:
        return _XmpInvoice(problem="the XMP metadata has a DOCTYPE (refused, not read)")
    for namespace in _XMP_FLAVOURS:
        found = _xmp_properties(root, namespace)
        if found != (None, None):
            return _XmpInvoice(namespace, *found)
    return _XmpInvoice()


def _xmp_properties(root: etree._Element, namespace: str) -> tuple[str | None, str | None]:
    """ConformanceLevel and DocumentFileName in one schema, as elements or attributes of
    an rdf:Description (both are valid RDF/XML)."""
    values = []
    for prop in ("ConformanceLevel", "DocumentFileName"):
        tag = f"{{{namespace}}}{prop}"
        value = None
        for description in root.iter(_RDF_DESCRIPTION):
            value = description.get(tag) or description.findtext(tag)
            if value:
                break
        values.append(value.strip() if value else None)
    return values[0], values[1]
