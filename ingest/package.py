"""Intake of a UJP-style ZIP package: the envelope, the invoice and the attachments it lists.

The package is untrusted, so it is checked before anything is read out of it (shared/
FORMATS.md section c). The central directory is checked first, from the declared names and
sizes alone; only then are members inflated, each through a streaming cap of its declared
size, so a member that lies about its size is stopped after one chunk past the lie. Nothing
is ever written to disk. Members are inflated here with zlib rather than through
`zipfile.ZipExtFile`, which silently truncates output at the declared size and reports a
lie, at best, as a bad CRC.

Codes raised here (as PackageRejected.code):

* HRB-I020  unsafe entry name or type (absolute, drive letter, backslash, `..`, control
            character, duplicate after case folding, link or device, local header disagrees)
* HRB-I021  over the limits (entries, member size, a member's compression ratio, the
            package's total size or overall ratio, or a member that inflates past its
            declared size)
* HRB-I022  encrypted entry (flag bit 0, strong or central-directory encryption, AES)
* HRB-I023  executable content (by extension of any path component, or by magic bytes)
* HRB-I027  not a ZIP, or a corrupt one (bad CRC, truncated, overlapping or inconsistent
            entries, compression method other than stored or deflate)

Findings (warnings, the package is still archived) from `attachment_findings`, and
HRB-W007 from `outside_members` (bytes of the package that no member holds):

* HRB-W001  attachment name is not "Name.ext" of English letters and digits (UJP rule)
* HRB-W002  attachment is a compressed archive
* HRB-W005  declared media type disagrees with the content
* HRB-W008  active content: an Office document with macros, a PDF's JavaScript or actions
* HRB-W009  a PDF that could not be inspected: encrypted, or over the limits of ingest.pdf
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from hramba.core.errors import CodedRejection

if TYPE_CHECKING:
    from ingest.pdf import PdfFacts

MiB = 1024 * 1024
_CHUNK = 64 * 1024
_RATIO_FLOOR = MiB  # smaller members (and packages) may compress as well as they like

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_ZIP_MAGICS = (_LOCAL_MAGIC, b"PK\x05\x06")  # an archive, or an empty one
_FLAG_ENCRYPTED = 0x0001
_FLAG_DATA_DESCRIPTOR = 0x0008
_FLAG_STRONG_ENCRYPTION = 0x0040
_FLAG_UTF8 = 0x0800
_FLAG_MASKED_HEADERS = 0x2000  # central-directory encryption
_ENCRYPTION_FLAGS = _FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_MASKED_HEADERS
_METHOD_AES = 99  # WinZip AES
_OLE_MAGIC, _OLE_VBA = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "_VBA_PROJECT".encode("utf-16-le")
ACTIVE_CONTENT, PDF_NOT_INSPECTED = "HRB-W008", "HRB-W009"
_EOCD_MAGIC, _EOCD_SIZE = b"PK\x05\x06", 22
_EOCD_SEARCH = _EOCD_SIZE + 0xFFFF  # the record and the longest comment
_DESCRIPTOR_MAX = 24  # a ZIP64 data descriptor with its signature
_SIZE_IN_ZIP64 = 0xFFFFFFFF


@dataclass(frozen=True)
class Limits:
    """How much one package may hold; sizes are uncompressed bytes. A UJP package (an
    invoice and a few PDF attachments) is at most tens of MB, and its members are held
    in memory while intake reads them: the totals leave it several times that."""

    max_entries: int = 1000
    max_total_bytes: int = 128 * MiB
    max_member_bytes: int = 64 * MiB
    max_ratio: int = 100  # uncompressed / compressed, of members and packages over 1 MiB

    def __post_init__(self) -> None:
        if min(self.max_entries, self.max_total_bytes, self.max_member_bytes,
               self.max_ratio) < 1:
            raise ValueError(f"package limits must be positive: {self}")


class PackageRejected(CodedRejection):
    """Raised when a package is unsafe or unreadable; `code` says why, the message where."""


@dataclass(frozen=True)
class Member:
    """One file of a package, exactly as received."""

    name: str
    size: int
    data: bytes


def is_zip(path: Path) -> bool:
    """Whether the file starts like a ZIP archive (magic bytes; the extension is ignored)."""
    with path.open("rb") as fp:
        return fp.read(4) in _ZIP_MAGICS


def open_package(path: Path, limits: Limits = Limits()) -> list[Member]:
    """Every file in the package, in central-directory order, after every check passed.

    Directory entries are skipped. Raises PackageRejected on the first unsafe thing.
    """
    if not is_zip(path):
        raise PackageRejected("HRB-I027", f"{path.name}: not a ZIP archive")
    with path.open("rb") as fp:
        infos = _central_directory(path, fp, limits)
        offsets = _data_offsets(path, fp, infos)
        members: list[Member] = []
        budget = limits.max_total_bytes
        for info in infos:
            if info.is_dir():
                continue
            data = _inflate(path, info, fp, offsets[info.header_offset], budget)
            budget -= len(data)
            reason = executable_reason(info.orig_filename, data)
            if reason is not None:
                raise _rejected("HRB-I023", path, info, reason)
            members.append(Member(info.orig_filename, len(data), data))
    return members


def outside_members(path: Path) -> list[str]:
    """Bytes of a package (one open_package accepted) that no member holds: after the
    end of the archive, in its comment, or between entries (a data descriptor aside).
    Each as a sentence; none: an empty list. Such bytes are kept (the package is stored
    as received) but nothing reads them, so they are worth a finding."""
    with path.open("rb") as fp:
        with zipfile.ZipFile(fp) as archive:
            infos, start_dir, comment = archive.infolist(), archive.start_dir, archive.comment
        offsets = _data_offsets(path, fp, infos)
        size = fp.seek(0, 2)
        fp.seek(max(0, size - _EOCD_SEARCH))
        tail = fp.read()
    found = []
    at = tail.rfind(_EOCD_MAGIC)
    if at >= 0 and at + _EOCD_SIZE <= len(tail):
        end = size - len(tail) + at + _EOCD_SIZE + int.from_bytes(tail[at + 20:at + 22],
                                                                  "little")
        if size > end:
            found.append(f"{size - end} bytes after the end of the ZIP archive")
    if comment:
        found.append(f"a ZIP comment of {len(comment)} bytes")
    entries = sorted(infos, key=lambda i: i.header_offset)
    for info, following in zip(entries, [*entries[1:], None], strict=True):
        end = offsets[info.header_offset] + info.compress_size
        slack = _DESCRIPTOR_MAX if info.flag_bits & _FLAG_DATA_DESCRIPTOR else 0
        nxt = following.header_offset if following else start_dir
        if nxt - end > slack:
            after = f"after {info.orig_filename!r}"
            found.append(f"{nxt - end - slack if slack else nxt - end} bytes {after} that "
                         "no entry holds")
    return found


# --- checks on the central directory: names, types, encryption, declared sizes ---------


def _central_directory(path: Path, fp: BinaryIO, limits: Limits) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(fp) as archive:  # closing it leaves our `fp` open
            infos = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError,
            struct.error) as exc:  # OSError is not the package's fault: let it through
        raise PackageRejected("HRB-I027", f"{path.name}: corrupt ZIP: {exc}") from exc
    if len(infos) > limits.max_entries:
        raise PackageRejected("HRB-I021", f"{path.name}: {len(infos)} entries, more than "
                              f"{limits.max_entries}")
    for info in infos:
        _check_entry(path, info, limits)
    problem = _total_problem(infos, limits)
    if problem is not None:
        raise PackageRejected("HRB-I021", f"{path.name}: {problem}")
    _check_collisions(path, infos)
    return infos


def _check_entry(path: Path, info: zipfile.ZipInfo, limits: Limits) -> None:
    problem = _name_problem(info.orig_filename) or _type_problem(info)
    if problem is not None:
        raise _rejected("HRB-I020", path, info, problem)
    if info.flag_bits & _ENCRYPTION_FLAGS or info.compress_type == _METHOD_AES:
        raise _rejected("HRB-I022", path, info, "encrypted entry")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _rejected("HRB-I027", path, info, f"compression method {info.compress_type} "
                        "is not supported (stored or deflate only)")
    if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
        raise _rejected("HRB-I027", path, info, f"stored entry of {info.compress_size} "
                        f"bytes declares {info.file_size}")
    problem = _size_problem(info, limits)
    if problem is not None:
        raise _rejected("HRB-I021", path, info, problem)


_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_DEVICE_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                           *(f"lpt{i}" for i in range(10))})


def _name_problem(name: str) -> str | None:
    """Why `name` is unsafe to use as a path anywhere, or None (after bagit's check)."""
    if not name:
        return "empty name"
    bad = next((c for c in name if unicodedata.category(c) in _INVISIBLE), None)
    if bad is not None:
        return f"control or invisible character U+{ord(bad):04X}"
    if "\\" in name:
        return "backslash in name"
    if name.startswith("/"):
        return "absolute path"
    if ":" in name:  # "C:x" is relative to drive C's cwd on Windows; "a:b" an NTFS stream
        return "drive letter or stream name (':')"
    parts = name.removesuffix("/").split("/")
    if ".." in parts:
        return "'..' component"
    if "" in parts or "." in parts:
        return "empty or '.' component"
    if any(p.endswith((".", " ")) for p in parts):  # Windows drops them: "a.exe." is a.exe
        return "component ends with a dot or a space"
    if any(p.split(".", 1)[0].casefold() in _DEVICE_NAMES for p in parts):
        return "Windows device name"
    normal = posixpath.normpath(name)
    if normal == ".." or normal.startswith(("/", "../")):
        return "escapes the package after normalisation"
    return None


def _type_problem(info: zipfile.ZipInfo) -> str | None:
    kind = stat.S_IFMT(info.external_attr >> 16)  # Unix mode, where the writer recorded one
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        return f"special file (mode {kind:#o})"
    if kind == stat.S_IFDIR and not info.is_dir():
        return "directory mode on a name without a trailing '/'"
    if info.is_dir() and info.file_size:
        return "directory entry carries data"
    return None


def _size_problem(info: zipfile.ZipInfo, limits: Limits) -> str | None:
    if info.file_size > limits.max_member_bytes:
        return f"declares {info.file_size} bytes, more than {limits.max_member_bytes}"
    if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * info.compress_size:
        return (f"compression ratio {info.file_size} / {info.compress_size} is over "
                f"{limits.max_ratio}")
    return None


def _total_problem(infos: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """The limits on the package as a whole: members each under the per-member limits
    (500 members of 1 MiB of zeros) still add up. Declared sizes suffice: each member is
    inflated through a cap of its declared size, and the compressed sizes must fit in
    the file without overlapping (_data_offsets), so neither can lie its way past."""
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > limits.max_total_bytes:
        return f"members declare {total} bytes in all, more than {limits.max_total_bytes}"
    if total > _RATIO_FLOOR and total > limits.max_ratio * packed:
        return (f"members declare {total} bytes in all from {packed} compressed, a ratio "
                f"over {limits.max_ratio}")
    return None


def _check_collisions(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Two names for one file on a case-insensitive or normalising file system."""
    seen: set[str] = set()
    files: set[str] = set()
    for info in infos:
        key = _fold(info.orig_filename)
        if key in seen:
            raise _rejected("HRB-I020", path, info, "duplicate name (after case folding)")
        seen.add(key)
        if not info.is_dir():
            files.add(key)
    for key in seen:
        for parent in _parents(key):
            if parent in files:
                raise PackageRejected("HRB-I020", f"{path.name}: entry {parent!r} is both "
                                      "a file and a directory")


def _fold(name: str) -> str:
    return unicodedata.normalize("NFC", name.removesuffix("/")).casefold()


def _parents(key: str) -> Iterator[str]:
    parts = key.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i])


# --- checks on the local headers: they must agree with the central directory ---------


def _data_offsets(path: Path, fp: BinaryIO, infos: list[zipfile.ZipInfo]) -> dict[int, int]:
    """Where each entry's data starts, keyed by header offset; entries may not overlap."""
    size = fp.seek(0, 2)
    offsets: dict[int, int] = {}
    end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.header_offset < 0:
            raise _rejected("HRB-I027", path, info, "header offset before the file")
        if info.header_offset < end:
            raise _rejected("HRB-I027", path, info,
                            "overlaps the entry before it (a zip-bomb construction)")
        offsets[info.header_offset] = start = _local_header(path, fp, info)
        end = start + info.compress_size
        if end > size:
            raise _rejected("HRB-I027", path, info, "truncated")
    return offsets


def _local_header(path: Path, fp: BinaryIO, info: zipfile.ZipInfo) -> int:
    fp.seek(info.header_offset)
    raw = fp.read(_LOCAL_HEADER.size)
    if len(raw) != _LOCAL_HEADER.size:
        raise _rejected("HRB-I027", path, info, "truncated local header")
    magic, _, flags, method, _, _, crc, csize, usize, name_len, extra_len = (
        _LOCAL_HEADER.unpack(raw))
    if magic != _LOCAL_MAGIC or method != info.compress_type:
        raise _rejected("HRB-I027", path, info,
                        "local header does not match the central directory")
    if flags & _ENCRYPTION_FLAGS:
        raise _rejected("HRB-I022", path, info, "encrypted entry (local header)")
    encoding = "utf-8" if flags & _FLAG_UTF8 else "cp437"  # as zipfile decodes names
    local_name = fp.read(name_len).decode(encoding, errors="replace")
    if local_name != info.orig_filename:
        raise _rejected("HRB-I020", path, info, f"local header names it {local_name!r}")
    if not flags & _FLAG_DATA_DESCRIPTOR and _SIZE_IN_ZIP64 not in (csize, usize) and (
            crc, csize, usize) != (info.CRC, info.compress_size, info.file_size):
        raise _rejected("HRB-I027", path, info,
                        "local header declares other sizes than the central directory")
    return int(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)


# --- reading: inflate through a cap of the declared size -----------------------------


def _inflate(path: Path, info: zipfile.ZipInfo, fp: BinaryIO, offset: int,
             budget: int) -> bytes:
    """The member's bytes; stops as soon as the output passes its declared size."""
    cap = min(info.file_size, budget)
    pieces: list[bytes] = []
    produced = crc = 0
    for piece in _decompressed(path, info, fp, offset):
        produced += len(piece)
        if produced > cap:
            raise _rejected("HRB-I021", path, info,
                            f"inflates past its declared {info.file_size} bytes")
        crc = zlib.crc32(piece, crc)
        pieces.append(piece)
    if produced != info.file_size:
        raise _rejected("HRB-I027", path, info,
                        f"inflates to {produced} bytes, declares {info.file_size}")
    if crc != info.CRC:
        raise _rejected("HRB-I027", path, info, "bad CRC-32")
    return b"".join(pieces)


def _decompressed(path: Path, info: zipfile.ZipInfo, fp: BinaryIO,
                  offset: int) -> Iterator[bytes]:
    """Output in pieces of at most _CHUNK bytes (the final flush adds at most one match)."""
    fp.seek(offset)
    left = info.compress_size
    inflater = (zlib.decompressobj(-zlib.MAX_WBITS)
                if info.compress_type == zipfile.ZIP_DEFLATED else None)
    try:
        while left:
            data = fp.read(min(_CHUNK, left))
            if not data:
                raise _rejected("HRB-I027", path, info, "truncated data")
            left -= len(data)
            if inflater is None:
                yield data
                continue
            while data and not inflater.eof:
                yield inflater.decompress(data, _CHUNK)
                data = inflater.unconsumed_tail
            if inflater.eof and (left or inflater.unused_data):
                raise _rejected("HRB-I027", path, info, "data after the deflate stream")
        if inflater is not None:
            yield inflater.flush()
            if not inflater.eof:
                raise _rejected("HRB-I027", path, info, "deflate stream ends early")
    except zlib.error as exc:
        raise _rejected("HRB-I027", path, info, f"corrupt deflate stream: {exc}") from exc


def _where(path: Path, info: zipfile.ZipInfo) -> str:
    return f"{path.name}: entry {info.orig_filename!r}"


def _rejected(code: str, path: Path, info: zipfile.ZipInfo, problem: str) -> PackageRejected:
    return PackageRejected(code, f"{_where(path, info)}: {problem}")


# --- content: executables, media types, attachment findings --------------------------


_EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "dll", "com", "bat", "cmd", "ps1", "vbs", "js", "jar", "msi", "scr", "sh", "app",
    "apk", "elf", "so", "dylib", "lnk", "hta", "wsf",
})
_EXECUTABLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "DOS/Windows executable (MZ)"),
    (b"\x7fELF", "ELF executable"),
    (b"\xfe\xed\xfa\xce", "Mach-O executable"),
    (b"\xce\xfa\xed\xfe", "Mach-O executable"),
    (b"\xfe\xed\xfa\xcf", "Mach-O executable"),
    (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class"),
    (b"\xbe\xba\xfe\xca", "Mach-O universal binary"),
    (b"#!", "script (#! line)"),
    (b"L\x00\x00\x00\x01\x14\x02\x00", "Windows shortcut (LNK)"),
)


def executable_reason(name: str, data: bytes) -> str | None:
    """Why `name` with content `data` is executable, or None.

    Every path component's last extension counts (`invoice.pdf.exe`, `Tool.app/x`);
    trailing dots and spaces are ignored, as Windows ignores them.
    """
    for part in name.replace("\\", "/").split("/"):
        _, dot, extension = part.rstrip(". ").rpartition(".")
        if dot and extension.casefold() in _EXECUTABLE_EXTENSIONS:
            return f"executable extension .{extension}"
    for magic, what in _EXECUTABLE_MAGIC:
        if data.startswith(magic):
            return what
    if data.startswith(_LOCAL_MAGIC) and b"META-INF/MANIFEST.MF" in data:
        return "Java archive (META-INF/MANIFEST.MF)"
    return None


PDF = "application/pdf"
XML = "application/xml"
ZIP = "application/zip"
TEXT = "text/plain"
OCTET_STREAM = "application/octet-stream"
ARCHIVE_TYPES = frozenset({ZIP, "application/gzip", "application/x-7z-compressed",
                           "application/vnd.rar"})

_SNIFF_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (_LOCAL_MAGIC, ZIP),
    (b"PK\x05\x06", ZIP),
    (b"\x1f\x8b", "application/gzip"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sniff(data: bytes) -> str:
    """The media type the content shows; application/octet-stream when it shows none."""
    for magic, media_type in _SNIFF_MAGIC:
        if data.startswith(magic):
            return media_type
    if _looks_like_xml(data):
        return XML
    if data and _is_text(data):
        return TEXT
    return OCTET_STREAM


def _looks_like_xml(data: bytes) -> bool:
    encoding = "utf-8"
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom):], bom_encoding
            break
    head = data[:1024].decode(encoding, errors="ignore")
    return head.lstrip(" \t\r\n").startswith("<")


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None


_UJP_NAME = re.compile(r"[A-Za-z0-9]+\.[A-Za-z0-9]+")
_ENVELOPE_TYPES = {  # envelope attachment/type is an extension ("pdf", "PDF", "xml")
    "pdf": PDF, "xml": XML, "txt": TEXT, "png": "image/png", "jpg": "image/jpeg",
    "jpeg": "image/jpeg", "tif": "image/tiff", "tiff": "image/tiff", "gif": "image/gif",
    "zip": ZIP, "gz": "application/gzip", "gzip": "application/gzip",
    "7z": "application/x-7z-compressed", "rar": "application/vnd.rar",
    "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}
_ALIASES = {
    "text/xml": XML, "application/x-pdf": PDF, "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg", "application/x-zip-compressed": ZIP,
    "application/x-zip": ZIP, "application/x-gzip": "application/gzip",
    "application/x-rar-compressed": "application/vnd.rar",
}
_SNIFFABLE = frozenset(media_type for _, media_type in _SNIFF_MAGIC) | {XML, TEXT}
_ZIP_CONTAINERS = ("application/vnd.openxmlformats-officedocument.",
                   "application/vnd.oasis.opendocument.", "application/java-archive")


def macros(data: bytes) -> str | None:
    """Why an Office document carries macros (VBA), or None: an Office Open XML file
    (a ZIP) with a vbaProject.bin part, or an OLE2 file (.doc, .xls) with a VBA project
    stream. Read from the central directory and the bytes; nothing is run or unpacked."""
    if data.startswith(_LOCAL_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as office:
                names = [n for n in office.namelist() if n.lower().endswith("vbaproject.bin")]
        except (zipfile.BadZipFile, ValueError, EOFError, struct.error):
            return None
        return f"a VBA macro project ({names[0]})" if names else None
    if data.startswith(_OLE_MAGIC) and _OLE_VBA in data:
        return "a VBA macro project (_VBA_PROJECT stream)"
    return None


def pdf_findings(name: str, data: bytes) -> list[tuple[str, str]]:
    """A PDF's JavaScript and actions (HRB-W008), and why it could not be looked into
    (HRB-W009: encrypted, or over the limits: a PDF bomb); a program embedded in it is
    refused (HRB-I023). One that cannot be read at all is archived as received without a
    word: a damaged PDF is not a hostile one."""
    from ingest.pdf import PdfRejected, inspect_pdf  # pyHanko: only when a PDF comes

    if not data.startswith(b"%PDF-"):
        return []
    try:
        facts = inspect_pdf(data, name)
    except PdfRejected as exc:
        return [] if exc.code == "HRB-I030" else [
            (PDF_NOT_INSPECTED, f"{name!r} was not inspected: {exc.reason}")]
    if facts.encrypted:
        return [(PDF_NOT_INSPECTED, f"{name!r} is encrypted: its content was not inspected")]
    check_embedded_executables(name, facts)
    return [(ACTIVE_CONTENT, f"{name!r} holds active content: {reason}")
            for reason in facts.active]


def check_embedded_executables(name: str, facts: PdfFacts) -> None:
    """A program embedded in a PDF is a program in the package (HRB-I023)."""
    for embedded in facts.embedded:
        reason = executable_reason(embedded.name, embedded.data)
        if reason is not None:
            raise PackageRejected("HRB-I023", f"{name}: embedded {embedded.name!r}: {reason}")


def attachment_findings(name: str, data: bytes,
                        declared_type: str | None) -> list[tuple[str, str]]:
    """Warnings (code, detail) about one attachment; an empty list when it keeps the rules."""
    findings: list[tuple[str, str]] = []
    active = macros(data)
    if active:
        findings.append((ACTIVE_CONTENT, f"{name!r} holds active content: {active}"))
    findings += pdf_findings(name, data)
    if not _UJP_NAME.fullmatch(name):
        findings.append(("HRB-W001", f"{name!r} is not Name.ext of English letters and "
                                     "digits"))
    sniffed = sniff(data)
    if sniffed in ARCHIVE_TYPES and not active and not _is_office(data):
        findings.append(("HRB-W002", f"{name!r} is a compressed archive ({sniffed})"))
    declared = _media_type(declared_type)
    if declared is not None and _agrees(declared, sniffed) is False:
        findings.append(("HRB-W005", f"{name!r} is declared {declared_type!r}, the content "
                                     f"is {sniffed}"))
    return findings


def _is_office(data: bytes) -> bool:
    """An Office Open XML or OpenDocument file: a ZIP by its bytes, not an archive."""
    head = data[:_CHUNK]
    return data.startswith(_LOCAL_MAGIC) and (b"[Content_Types].xml" in head
                                              or b"mimetypeapplication/vnd.oasis" in head)


def _media_type(declared: str | None) -> str | None:
    """A full media type, or None where the declaration says nothing we can check."""
    value = (declared or "").split(";", 1)[0].strip().casefold()
    if "/" not in value:
        return _ENVELOPE_TYPES.get(value)
    return _ALIASES.get(value, value)


def _agrees(declared: str, sniffed: str) -> bool | None:
    """Whether the content fits the declaration; None where sniffing cannot tell."""
    if declared in (sniffed, OCTET_STREAM):
        return True
    if sniffed == XML and (declared.endswith("+xml") or declared.startswith("text/")):
        return True
    if sniffed == TEXT and (declared.startswith("text/") or declared == "application/json"
                            or declared.endswith("+json")):
        return True
    if sniffed == ZIP and (declared.endswith("+zip") or declared.startswith(_ZIP_CONTAINERS)):
        return True
    if sniffed == OCTET_STREAM and declared.startswith("text/"):
        return None  # text in another charset than UTF-8 (windows-1250) looks binary
    if declared in _SNIFFABLE or sniffed not in (OCTET_STREAM, TEXT):
        return False
    return None
