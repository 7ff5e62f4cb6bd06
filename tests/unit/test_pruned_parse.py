"""Intake's memory-saving reads give what the whole reads gave (issue #16, memory per
batch): a document parsed pruned has the same format, metadata and embedded attachments
(or the same refusal), and base64 decoded piece by piece the same bytes (or error)."""

from __future__ import annotations

import base64
import binascii
import random
from pathlib import Path

import pytest
from plugins.samples import samples_dir

from hramba.services.corpus import invoice
from ingest import formats
from ingest.formats import XmlRejected, detect, embedded_attachments, parse_xml, unit_metadata

DATA = Path(__file__).resolve().parents[1] / "data"
UNIT_FORMATS = formats.INVOICE_FORMATS + formats.EDOCUMENT_FORMATS
XML_FILES = sorted([*samples_dir().rglob("*.xml"), *DATA.rglob("*.xml")])


def _read(source: bytes | Path, pruned: bool) -> object:
    try:
        root = parse_xml(source, "t.xml", pruned=pruned)
    except XmlRejected as exc:
        return exc.code, exc.reason
    fmt = detect(root)
    if fmt not in UNIT_FORMATS:
        return fmt, root.tag
    return fmt, unit_metadata(fmt, root), [
        (e.filename, e.mime_code, e.data) for e in embedded_attachments(fmt, root)]


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_a_pruned_tree_reads_as_the_whole_one(path: Path) -> None:
    whole = _read(path.read_bytes(), pruned=False)
    assert _read(path, pruned=False) == whole  # from the file, in pieces
    assert _read(path.read_bytes(), pruned=True) == whole
    assert _read(path, pruned=True) == whole


def test_a_pruned_invoice_keeps_what_intake_reads_not_its_lines() -> None:
    data = invoice(7, random.Random(7), ("Občina", "SI21423512"), 2_000_000, 2_000_000)
    whole, pruned = parse_xml(data, "t.xml"), parse_xml(data, "t.xml", pruned=True)
    assert unit_metadata("eslog20", pruned) == unit_metadata("eslog20", whole)
    assert len(pruned.xpath("//*")) < 100 < 10_000 < len(whole.xpath("//*"))


def _decoded(text: str) -> tuple[int, object]:
    try:
        data: object = formats._b64decode(text)
    except (binascii.Error, ValueError) as exc:
        data = str(exc)
    return formats._decoded_size(text), data


def _at_once(text: str) -> tuple[int, object]:
    compact = "".join(text.split())
    try:
        data: object = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        data = str(exc)
    size = len(compact) * 3 // 4 - len(compact[-2:]) + len(compact[-2:].rstrip("="))
    return size, data


def test_base64_in_pieces_decodes_as_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "_B64_PIECE", 7)  # pieces that split groups and padding
    rng = random.Random(16)
    alphabet = "AB=+/ \n\tQx\u00a0é"
    for i in range(5000):
        if i % 2:
            text = base64.encodebytes(rng.randbytes(rng.randrange(40))).decode()
            text = "".join(c if rng.random() > 0.05 else rng.choice(alphabet) for c in text)
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(30)))
        assert _decoded(text) == _at_once(text), repr(text)
