"""ZIP package intake: the bad-input corpus, bombs and liars, content sniffing and findings.

tests/data/bad/ holds small named bad packages, `<CODE>_<what>.zip`, written once by
`write_bad_corpus` below (the tests do not run it):

    .venv/bin/python -c "from pathlib import Path; from tests.unit.test_package import \\
        write_bad_corpus; write_bad_corpus(Path('tests/data/bad'))"
"""

from __future__ import annotations

import io
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ingest.package import (
    ARCHIVE_TYPES,
    Limits,
    Member,
    PackageRejected,
    attachment_findings,
    executable_reason,
    is_zip,
    open_package,
    outside_members,
    sniff,
)

BAD = Path(__file__).parents[1] / "data" / "bad"
MiB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ENVELOPE = (b'<?xml version="1.0" encoding="UTF-8"?>\n<envelope><doc_data><doc_type>0002'
            b"</doc_type></doc_data><attachments><count>2</count></attachments></envelope>\n")
INVOICE = '<?xml version="1.0"?><Invoice xmlns="urn:eslog:2.00">Račun</Invoice>'.encode()
PE = b"MZ\x90\x00" + b"\x00" * 56 + b"\x40\x00\x00\x00" + b"PE\x00\x00" + b"\x00" * 64


# --- a ZIP writer that lets a test say every header field ---------------------------


@dataclass
class Entry:
    name: bytes
    payload: bytes  # as stored: deflated or not
    method: int
    crc: int
    size: int
    flags: int = 0x0800
    mode: int = 0o100644
    local_name: bytes | None = None
    local_flags: int | None = None
    local_size: int | None = None
    offset: int | None = None  # point the central entry at this offset instead
    junk: bytes = b""  # written before the local header, held by no entry


def stored(name: str | bytes, data: bytes) -> Entry:
    raw = name.encode() if isinstance(name, str) else name
    return Entry(raw, data, 0, zlib.crc32(data), len(data))


def deflated(name: str | bytes, data: bytes) -> Entry:
    raw = name.encode() if isinstance(name, str) else name
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = packer.compress(data) + packer.flush()
    return Entry(raw, payload, 8, zlib.crc32(data), len(data))


def build(entries: list[Entry], *, prefix: bytes = b"") -> bytes:
    out = bytearray(prefix)
    offsets: list[int] = []
    for e in entries:
        out += e.junk
        offsets.append(len(out) if e.offset is None else e.offset)
        if e.offset is not None:
            continue
        local_name = e.name if e.local_name is None else e.local_name
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20,
                           e.flags if e.local_flags is None else e.local_flags, e.method, 0,
                           0x21, e.crc, len(e.payload),
                           e.size if e.local_size is None else e.local_size,
                           len(local_name), 0)
        out += local_name + e.payload
    start = len(out)
    for e, offset in zip(entries, offsets, strict=True):
        out += struct.pack("<4s6H3I5HII", b"PK\x01\x02", 0x0314, 20, e.flags, e.method, 0,
                           0x21, e.crc, len(e.payload), e.size, len(e.name), 0, 0, 0, 0,
                           e.mode << 16, offset)
        out += e.name
    out += struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                       len(out) - start, start, 0)
    return bytes(out)


def good_package() -> bytes:
    """What a standard writer makes: zipfile, deflated, with a directory entry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("envelope.xml", ENVELOPE), ("invoice.xml", INVOICE),
                           ("priloge/", b""), ("Priloga1.pdf", PDF)]:
            zf.writestr(zipfile.ZipInfo(name, (2026, 3, 5, 10, 30, 0)), data)
    return buffer.getvalue()


def nested_overlap() -> bytes:
    """Entry b.xml's local header sits inside a.xml's data (Fifield's overlapping bomb)."""
    inner = build([stored("b.xml", b"<b/>")])
    inner_header = inner[:inner.index(b"PK\x01\x02")]
    outer = stored("a.xml", inner_header)
    b = replace(stored("b.xml", b"<b/>"), offset=30 + len(b"a.xml"))
    return build([outer, b])


def jar() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (2026, 3, 5, 10, 30, 0)),
                    "Manifest-Version: 1.0\nMain-Class: X\n")
    return buffer.getvalue()


def zeros(count: int, size: int) -> list[Entry]:
    """`count` attachments of `size` zero bytes (deflated once: the payload is shared)."""
    one = deflated("Priloga.pdf", bytes(size))
    return [replace(one, name=f"Priloga{i}.pdf".encode()) for i in range(count)]


def bad_corpus() -> dict[str, bytes]:
    """The named bad inputs; each is refused with the code its name starts with."""
    ok = [stored("envelope.xml", ENVELOPE)]
    lie = deflated("invoice.xml", b" " * 100_000)
    lie.size = lie.local_size = 1000
    short = deflated("invoice.xml", INVOICE)
    short.size = short.local_size = len(INVOICE) + 10
    huge = deflated("invoice.xml", b"\x00" * 10_000)
    huge.size = huge.local_size = 300 * MiB
    bad_crc = stored("invoice.xml", INVOICE)
    bad_crc.crc ^= 1
    local_size = replace(stored("invoice.xml", INVOICE), local_size=len(INVOICE) + 1)
    bzip2 = Entry(b"invoice.xml", b"BZh91AY&SY", 12, 0, 10)
    names = [bytes([a, b]) for a in b"abcdefghijklmnopqrstuvwxyz0123456789"
             for b in b"abcdefghijklmnopqrstuvwxyz0123456789"][:1001]
    # 1001 entries in a real layout would take 80 KB: all but one share the first header
    many = [stored(names[0], b"")] + [replace(stored(n, b""), offset=0) for n in names[1:]]
    return {
        "HRB-I020_dotdot": build([*ok, stored("../invoice.xml", INVOICE)]),
        "HRB-I020_dotdot_inside": build([*ok, stored("priloge/../../invoice.xml", INVOICE)]),
        "HRB-I020_absolute": build([*ok, stored("/etc/cron.d/invoice", INVOICE)]),
        "HRB-I020_drive_letter": build([*ok, stored("C:/Windows/invoice.xml", INVOICE)]),
        "HRB-I020_backslash": build([*ok, stored("..\\..\\invoice.xml", INVOICE)]),
        "HRB-I020_empty_name": build([*ok, stored("", INVOICE)]),
        "HRB-I020_nul_in_name": build([*ok, stored(b"invoice.exe\x00.xml", INVOICE)]),
        "HRB-I020_control_char": build([*ok, stored("invoice\n.xml", INVOICE)]),
        "HRB-I020_bidi_override": build([*ok, stored("Priloga\u202efdp.exe", PDF)]),
        "HRB-I020_trailing_dot": build([*ok, stored("Priloga1.pdf.", PDF)]),
        "HRB-I020_device_name": build([*ok, stored("CON.xml", INVOICE)]),
        "HRB-I020_duplicate": build([*ok, stored("invoice.xml", INVOICE),
                                     stored("invoice.xml", INVOICE)]),
        "HRB-I020_duplicate_case": build([*ok, stored("Invoice.xml", INVOICE),
                                          stored("INVOICE.XML", INVOICE)]),
        "HRB-I020_duplicate_nfd": build([*ok, stored("Ra\u010dun.xml", INVOICE),
                                         stored("Rac\u030cun.xml", INVOICE)]),
        "HRB-I020_file_and_directory": build([*ok, stored("priloge", PDF),
                                              stored("priloge/Priloga1.pdf", PDF)]),
        "HRB-I020_symlink": build([*ok, replace(stored("invoice.xml", b"/etc/passwd"),
                                                       mode=0o120777)]),
        "HRB-I020_fifo": build([*ok, replace(stored("invoice.xml", b""), mode=0o010644)]),
        "HRB-I020_local_name_differs": build([*ok, replace(stored("invoice.xml", INVOICE),
                                                                  local_name=b"invoice.exe")]),
        "HRB-I021_too_many_entries": build(many),
        "HRB-I021_ratio_bomb": build([*ok, deflated("invoice.xml", b" " * (MiB + 1024))]),
        "HRB-I021_declared_too_large": build([*ok, huge]),
        "HRB-I021_size_lie": build([*ok, lie]),
        "HRB-I021_many_small_members": build([*ok, *zeros(32, MiB)]),  # each under 1 MiB + 1
        "HRB-I022_encrypted": build([*ok, replace(stored("invoice.xml", INVOICE), flags=0x0801)]),
        "HRB-I022_encrypted_local_only": build([*ok, replace(stored("invoice.xml", INVOICE),
                                                                    local_flags=0x0801)]),
        "HRB-I022_aes": build([*ok, Entry(b"invoice.xml", b"\x00" * 40, 99, 0, 28)]),
        "HRB-I023_exe_attachment": build([*ok, stored("Priloga1.exe", PE)]),
        "HRB-I023_double_extension": build([*ok, stored("Priloga1.pdf.exe", PDF)]),
        "HRB-I023_pe_named_pdf": build([*ok, stored("Priloga1.pdf", PE)]),
        "HRB-I023_elf": build([*ok, stored("Priloga1.bin", b"\x7fELF\x02\x01\x01" + b"\0" * 57)]),
        "HRB-I023_shebang": build([*ok, stored("Priloga1.txt", b"#!/bin/sh\nrm -rf ~\n")]),
        "HRB-I023_jar_named_zip": build([*ok, stored("Priloga1.zip", jar())]),
        "HRB-I023_app_bundle": build([*ok, stored("Tool.app/Contents/Info.plist", b"<a/>")]),
        "HRB-I027_not_a_zip": PDF,
        "HRB-I027_empty_file": b"",
        "HRB-I027_truncated": good_package()[:300],
        "HRB-I027_self_extracting": build(ok, prefix=PE),
        "HRB-I027_bad_crc": build([*ok, bad_crc]),
        "HRB-I027_shorter_than_declared": build([*ok, short]),
        "HRB-I027_local_size_differs": build([*ok, local_size]),
        "HRB-I027_overlapping_entries": nested_overlap(),
        "HRB-I027_bzip2": build([*ok, bzip2]),
    }


def write_bad_corpus(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in bad_corpus().items():
        assert len(data) < 64 * 1024, name
        (directory / f"{name}.zip").write_bytes(data)


# --- the corpus ----------------------------------------------------------------------


CORPUS = sorted(BAD.glob("*.zip"))


def test_the_corpus_has_every_rejection_code() -> None:
    codes = {p.name.split("_", 1)[0] for p in CORPUS}
    assert codes == {"HRB-I020", "HRB-I021", "HRB-I022", "HRB-I023", "HRB-I027"}


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_each_bad_package_is_refused_with_the_code_in_its_name(path: Path) -> None:
    with pytest.raises(PackageRejected) as caught:
        open_package(path)
    assert caught.value.code == path.name.split("_", 1)[0], str(caught.value)
    assert str(caught.value).startswith(f"{caught.value.code} {path.name}")


# --- bombs and liars -----------------------------------------------------------------


def test_a_2_gib_member_is_refused_from_its_declared_size_without_inflating(
        tmp_path: Path) -> None:
    bomb = deflated("invoice.xml", b"\x00" * MiB)
    bomb.size = bomb.local_size = 2 * 1024 * MiB
    path = tmp_path / "bomb.zip"
    path.write_bytes(build([stored("envelope.xml", ENVELOPE), bomb]))
    assert path.stat().st_size < 4096
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(PackageRejected, match="declares 2147483648 bytes") as caught:
            open_package(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "HRB-I021"
    assert "'invoice.xml'" in str(caught.value)
    assert peak < 50 * MiB
    assert time.monotonic() - started < 5  # a sanity bound, not a benchmark


def test_a_member_that_lies_about_its_size_is_stopped_while_streaming(
        tmp_path: Path) -> None:
    liar = deflated("invoice.xml", b"\x00" * (64 * MiB))  # 64 KiB on disk
    liar.size = liar.local_size = 1000
    path = tmp_path / "liar.zip"
    path.write_bytes(build([liar]))
    tracemalloc.start()
    try:
        with pytest.raises(PackageRejected, match="inflates past its declared 1000") as caught:
            open_package(path, Limits(max_member_bytes=MiB, max_total_bytes=2 * MiB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "HRB-I021"
    assert peak < 2 * MiB  # one chunk past the lie, not 64 MiB


@pytest.mark.parametrize(("limits", "match"), [
    (Limits(max_entries=3), "4 entries, more than 3"),
    (Limits(max_member_bytes=len(ENVELOPE) - 1), "declares .* bytes, more than"),
    (Limits(max_total_bytes=len(ENVELOPE) + len(INVOICE)),
     "members declare .* bytes in all, more than"),
])
def test_each_limit_refuses_an_otherwise_good_package(tmp_path: Path, limits: Limits,
                                                      match: str) -> None:
    path = tmp_path / "good.zip"
    path.write_bytes(good_package())
    with pytest.raises(PackageRejected, match=match) as caught:
        open_package(path, limits)
    assert caught.value.code == "HRB-I021"


@pytest.mark.parametrize(("count", "size", "match"), [
    (500, MiB, "members declare 524288000 bytes in all, more than 134217728"),  # issue #16
    (32, MiB, "members declare 33554432 bytes in all from .* compressed, a ratio over 100"),
    (200, 64 * 1024, "members declare 13107200 bytes in all from .* a ratio over 100"),
])
def test_members_under_each_limit_are_refused_by_their_total_before_inflating(
        tmp_path: Path, count: int, size: int, match: str) -> None:
    path = tmp_path / "bomb.zip"
    path.write_bytes(build(zeros(count, size)))
    tracemalloc.start()
    try:
        with pytest.raises(PackageRejected, match=match) as caught:
            open_package(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(caught.value).startswith("HRB-I021 bomb.zip: members declare")
    assert peak < 8 * MiB  # the central directory, not one member inflated


def test_a_large_real_package_passes_the_total_limits(tmp_path: Path) -> None:
    """An invoice XML of 7 MB (it deflates 12 times) and 20 MB of scans in PDF."""
    lines = b"".join(b"<Line><Id>%d</Id><Item>Pisarni\xc5\xa1ki material %d</Item>"
                     b"<Amount>%d.00</Amount></Line>\n" % (i, i % 97, i % 1000)
                     for i in range(80_000))
    scans = [stored(f"Priloga{i}.pdf", random.Random(i).randbytes(5 * MiB))
             for i in range(4)]
    path = tmp_path / "paket.zip"
    path.write_bytes(build([stored("envelope.xml", ENVELOPE), deflated("invoice.xml", lines),
                            *scans]))
    assert [m.size for m in open_package(path)] == [len(ENVELOPE), len(lines),
                                                     *[5 * MiB] * 4]


def test_an_incompressible_member_over_1_mib_passes_the_ratio_check(tmp_path: Path) -> None:
    data = random.Random(1).randbytes(2 * MiB)
    path = tmp_path / "big.zip"
    path.write_bytes(build([deflated("data.bin", data)]))
    assert open_package(path) == [Member("data.bin", len(data), data)]


def test_a_compressible_member_under_the_ratio_limit_inflates_exactly(tmp_path: Path) -> None:
    data = b"".join(b"<Line><Id>%d</Id><Amount>1.00</Amount></Line>\n" % (i % 10)
                    for i in range(100_000))
    path = tmp_path / "lines.zip"
    path.write_bytes(build([deflated("invoice.xml", data)]))
    assert open_package(path, Limits(max_ratio=10_000)) == [Member("invoice.xml", len(data),
                                                                   data)]


# --- the good path -------------------------------------------------------------------


def test_a_good_package_round_trips_names_and_bytes(tmp_path: Path) -> None:
    path = tmp_path / "paket.zip"
    path.write_bytes(good_package())
    members = open_package(path)
    assert [(m.name, m.size, m.data) for m in members] == [
        ("envelope.xml", len(ENVELOPE), ENVELOPE),
        ("invoice.xml", len(INVOICE), INVOICE),
        ("Priloga1.pdf", len(PDF), PDF),
    ]


def test_utf8_names_from_a_standard_writer_are_kept(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("Račun 1.pdf", PDF)
    path = tmp_path / "paket.zip"
    path.write_bytes(buffer.getvalue())
    assert [m.name for m in open_package(path)] == ["Račun 1.pdf"]


def test_every_flipped_byte_or_truncation_is_accepted_or_refused_with_a_code(
        tmp_path: Path) -> None:
    good = good_package()
    path = tmp_path / "flipped.zip"
    variants = [good[:i] for i in range(len(good))]
    variants += [good[:i] + bytes([good[i] ^ 0xFF]) + good[i + 1:] for i in range(len(good))]
    codes: set[str] = set()
    for data in variants:
        path.write_bytes(data)
        try:
            open_package(path)
        except PackageRejected as exc:
            codes.add(exc.code)
    assert "HRB-I027" in codes


def test_is_zip_looks_at_the_magic_not_the_extension(tmp_path: Path) -> None:
    cases = {"a.pdf": good_package(), "b.zip": PDF, "c.zip": b"", "d.zip": build([])}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    assert [is_zip(tmp_path / n) for n in cases] == [True, False, False, True]


# --- content -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("Priloga1.pdf", PDF, None),
    ("invoice.xml", INVOICE, None),
    ("Priloga1.EXE", PDF, "executable extension .EXE"),
    ("invoice.pdf.exe", PDF, "executable extension .exe"),
    ("invoice.exe. . ", PDF, "executable extension .exe"),
    ("dir\\setup.msi", PDF, "executable extension .msi"),
    ("Tool.app/Contents/x", b"", "executable extension .app"),
    ("lib.So", b"", "executable extension .So"),
    ("Priloga1.pdf", PE, "DOS/Windows executable (MZ)"),
    ("Priloga1.pdf", b"\x7fELF\x02", "ELF executable"),
    ("a", b"\xcf\xfa\xed\xfe\x07", "Mach-O executable"),
    ("a", b"\xfe\xed\xfa\xce\x07", "Mach-O executable"),
    ("a", b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    ("a", b"\xbe\xba\xfe\xca", "Mach-O universal binary"),
    ("run.txt", b"#!/usr/bin/env python3\n", "script (#! line)"),
    ("Priloga1.zip", jar(), "Java archive (META-INF/MANIFEST.MF)"),
    ("Priloga1.zip", good_package(), None),
    ("exe", b"text", None),
])
def test_executable_reason(name: str, data: bytes, reason: str | None) -> None:
    assert executable_reason(name, data) == reason


@pytest.mark.parametrize(("data", "media_type"), [
    (PDF, "application/pdf"),
    (ENVELOPE, "application/xml"),
    (b"\xef\xbb\xbf \r\n<envelope/>", "application/xml"),
    ("\ufeff<Invoice/>".encode("utf-16-le"), "application/xml"),
    (b"<Invoice/>", "application/xml"),
    (b"\x89PNG\r\n\x1a\n\0\0", "image/png"),
    (b"\xff\xd8\xff\xe0", "image/jpeg"),
    (b"II*\x00\x08", "image/tiff"),
    (b"MM\x00*\x00", "image/tiff"),
    (b"GIF89a\x01", "image/gif"),
    (good_package(), "application/zip"),
    (b"\x1f\x8b\x08\x00", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c\x00\x04", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07\x01\x00", "application/vnd.rar"),
    ("Račun št. 1\tza marec\r\n".encode(), "text/plain"),
    (b"line\x0cfeed", "application/octet-stream"),
    ("Račun".encode("cp1250"), "application/octet-stream"),
    (PE, "application/octet-stream"),
    (b"", "application/octet-stream"),
])
def test_sniff(data: bytes, media_type: str) -> None:
    assert sniff(data) == media_type


def test_archive_types_are_what_sniff_calls_compressed_archives() -> None:
    assert sorted(ARCHIVE_TYPES) == ["application/gzip", "application/vnd.rar",
                                     "application/x-7z-compressed", "application/zip"]


@pytest.mark.parametrize(("name", "data", "declared", "codes"), [
    ("Priloga1.pdf", PDF, "application/pdf", []),
    ("Priloga1.pdf", PDF, "PDF", []),
    ("Priloga1.pdf", PDF, "pdf", []),
    ("Priloga1.pdf", PDF, None, []),
    ("Priloga1.pdf", PDF, "application/octet-stream", []),
    ("Priloga1.pdf", PDF, "application/x-pdf; name=Priloga1.pdf", []),
    ("eRacun.xml", INVOICE, "xml", []),
    ("eRacun.xml", INVOICE, "text/xml", []),
    ("Racun 1.pdf", PDF, "pdf", ["HRB-W001"]),
    ("Račun 1.pdf", PDF, "pdf", ["HRB-W001"]),
    ("12015_2_1-2015.pdf", PDF, "pdf", ["HRB-W001"]),
    ("Priloga1", PDF, "pdf", ["HRB-W001"]),
    ("Priloga.1.pdf", PDF, "pdf", ["HRB-W001"]),
    ("Priloga1.pdf", PDF, "image/png", ["HRB-W005"]),
    ("Priloga1.pdf", PDF, "xml", ["HRB-W005"]),
    ("Priloga1.pdf", b"garbage", "pdf", ["HRB-W005"]),
    ("Priloga1.zip", good_package(), "application/zip", ["HRB-W002"]),
    ("Priloga1.zip", good_package(), "pdf", ["HRB-W002", "HRB-W005"]),
    ("Priloga1.gz", b"\x1f\x8b\x08\x00", None, ["HRB-W002"]),
    ("Priloga1.docx", good_package(), "docx", ["HRB-W002"]),
    ("Priloga1.doc", b"\xd0\xcf\x11\xe0", "application/msword", []),
    ("Priloga1.txt", "Račun".encode("cp1250"), "text/plain", []),
    ("Priloga1.csv", b"a;b\r\n1;2\r\n", "text/csv", []),
    ("Priloga1.svg", b"<svg/>", "image/svg+xml", []),
    ("Priloga1.doc", PDF, "application/msword", ["HRB-W005"]),
    ("Priloga1.p7m", b"\x30\x82", "p7m", []),
])
def test_attachment_findings(name: str, data: bytes, declared: str | None,
                             codes: list[str]) -> None:
    findings = attachment_findings(name, data, declared)
    assert [code for code, _ in findings] == codes
    assert all(repr(name) in detail for _, detail in findings)


# --- bytes that no member holds ------------------------------------------------------------


def test_a_plain_package_has_nothing_outside_its_members(tmp_path: Path) -> None:
    path = tmp_path / "paket.zip"
    path.write_bytes(good_package())
    assert outside_members(path) == []


def test_bytes_after_the_archive_in_its_comment_or_between_entries_are_named(
        tmp_path: Path) -> None:
    commented = io.BytesIO()
    with zipfile.ZipFile(commented, "w") as zf:
        zf.writestr("racun.xml", INVOICE)
        zf.comment = b"a note from the sender"
    path = tmp_path / "p.zip"
    path.write_bytes(commented.getvalue() + b"\x00" * 7)
    assert outside_members(path) == ["7 bytes after the end of the ZIP archive",
                                     "a ZIP comment of 22 bytes"]
    second = stored("b.pdf", PDF)
    second.junk = b"\xff" * 100
    path.write_bytes(build([stored("a.xml", INVOICE), second]))
    assert outside_members(path) == ["100 bytes after 'a.xml' that no entry holds"]


# --- active content ----------------------------------------------------------------------


def office(*parts: str, content_types: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        if content_types:
            zf.writestr("[Content_Types].xml", "<Types/>")
        for part in parts:
            zf.writestr(part, b"\x00" * 64)
    return buffer.getvalue()


OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500


@pytest.mark.parametrize(("name", "data", "codes"), [
    ("Porocilo.docm", office("word/document.xml", "word/vbaProject.bin"), ["HRB-W008"]),
    ("Tabela.xlsm", office("xl/workbook.xml", "xl/vbaProject.bin"), ["HRB-W008"]),
    ("Porocilo.docx", office("word/document.xml"), []),  # Office, not an archive (W002)
    ("Staro.doc", OLE + "_VBA_PROJECT".encode("utf-16-le") + b"\x00" * 100, ["HRB-W008"]),
    ("Staro.xls", OLE, []),
    ("Slike.zip", office("a.png", content_types=False), ["HRB-W002"]),
])
def test_office_macros_are_active_content(name: str, data: bytes, codes: list[str]) -> None:
    findings = attachment_findings(name, data, None)
    assert [code for code, _ in findings] == codes
    assert all(name in detail for _, detail in findings)
