"""Check an export package offline, as its recipient would: no database, no network.

The bag first (RFC 8493): its declaration, that every file is in every manifest and
every listed file is there, each file's digests, the Payload-Oxum; then each unit of
metadata.json: its Evidence Record over exactly its files. Each payload file is read
once, hashed with every manifest's algorithm, and those digests are the data group's
hashes for its record (a chain in another algorithm reads the files again). The units of
one batch share a token, so each token is validated once per root and time.

A folder (the bag, or a folder holding it) or the ZIP as delivered; the ZIP is read in
place, never extracted, and an entry that claims to inflate beyond MAX_RATIO is refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import zipfile
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from hramba.core.errors import RejectedInput
from hramba.core.types import CHUNK
from hramba.domain.export import BAGIT_VERSION, parse_manifest_line
from hramba.trust.evidence import DataGroup, EvidenceReport, TokenCheck, verify_evidence
from hramba.trust.report import Check, Status, Trust, overall
from hramba.trust.tokens import TokenReport, check_token

MAX_RATIO = 1000  # uncompressed / compressed size of a ZIP entry above 1 MiB
_SUPPORTED = ("sha256", "sha512", "sha384", "sha3_256", "sha3_512")


# --- where the bag's files are ---------------------------------------------------------

class _Folder:
    def __init__(self, root: Path) -> None:
        self.root, self.description = root, str(root)

    def names(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file())

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        return (self.root / name).open("rb")

    def close(self) -> None:
        pass


class _Zip:
    def __init__(self, path: Path) -> None:
        self.zip, self.description = zipfile.ZipFile(path), str(path)
        declarations = [n for n in self.zip.namelist() if PurePosixPath(n).name == "bagit.txt"]
        tops = sorted(declarations, key=len)
        self.prefix = tops[0][:-len("bagit.txt")] if tops else ""
        for info in self.zip.infolist():
            if info.file_size > 2**20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise RejectedInput(f"{path}: {info.filename} would inflate {info.file_size} "
                                    f"bytes from {info.compress_size}: refused as a ZIP bomb")

    def names(self) -> list[str]:
        return sorted(n[len(self.prefix):] for n in self.zip.namelist()
                      if n.startswith(self.prefix) and not n.endswith("/"))

    def open(self, name: str) -> AbstractContextManager[BinaryIO]:
        return self.zip.open(self.prefix + name)  # type: ignore[return-value]

    def close(self) -> None:
        self.zip.close()


Source = _Folder | _Zip


def open_bag(path: Path) -> Source:
    """The bag at `path`: its folder, a folder holding only it, or its ZIP."""
    if path.is_file():
        try:
            return _Zip(path)
        except zipfile.BadZipFile as exc:
            raise RejectedInput(f"{path}: not a ZIP file ({exc})") from exc
    if not path.is_dir():
        raise FileNotFoundError(2, "No such file or folder", str(path))
    inner = [p for p in path.iterdir() if (p / "bagit.txt").is_file()]
    return _Folder(inner[0] if not (path / "bagit.txt").exists() and len(inner) == 1 else path)


# --- the report ------------------------------------------------------------------------

@dataclass(frozen=True)
class UnitResult:
    unit_id: str
    where: str  # its folder, or its tombstone
    result: Status
    proven_at: datetime | None
    problems: tuple[str, ...]  # the checks that did not pass, as "CODE subject: detail"

    def as_dict(self) -> dict[str, Any]:
        return {"unit_id": self.unit_id, "where": self.where, "result": self.result.value,
                "proven_at": self.proven_at.isoformat() if self.proven_at else None,
                "problems": list(self.problems)}


@dataclass(frozen=True)
class BagReport:
    bag: str
    checks: tuple[Check, ...]
    units: tuple[UnitResult, ...]
    files: int
    bytes: int
    seconds: float
    judged_at: datetime

    @property
    def result(self) -> Status:
        return overall([c.status for c in self.checks] + [u.result for u in self.units])

    @property
    def passed(self) -> bool:
        return self.result is Status.PASSED

    def as_dict(self) -> dict[str, Any]:
        counts = {s.value: sum(u.result is s for u in self.units) for s in Status}
        return {"bag": self.bag, "result": self.result.value, "units": counts,
                "files": self.files, "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "judged_at": self.judged_at.isoformat(),
                "checks": [c.as_dict() for c in self.checks],
                "unit_results": [u.as_dict() for u in self.units]}


@dataclass
class _Hashed:
    """What the manifests say and what the files are, by path."""

    listed: dict[str, dict[str, str]] = field(default_factory=dict)  # path -> alg -> hex
    actual: dict[str, dict[str, bytes]] = field(default_factory=dict)
    bytes: int = 0


# --- checking --------------------------------------------------------------------------

def verify_bag(path: Path, trust: Trust, at: datetime | None = None) -> BagReport:
    """Every check of the bag at `path`, and of each unit's evidence, in one report."""
    started, at = time.monotonic(), at or datetime.now(UTC)
    source = open_bag(path)
    try:
        checks = [_declaration(source)]
        names = source.names()
        payload = _manifests(source, names, "manifest-")
        tags = _manifests(source, names, "tagmanifest-")
        checks += _complete(names, payload, tags)
        hashed = _hash(source, payload, "data/")
        checks.append(_matches("HRB-B003", hashed, "payload file"))
        checks.append(_matches("HRB-B004", _hash(source, tags, ""), "tag file"))
        checks.append(_oxum(source, hashed))
        units, listing = _units(source, hashed, _with_validation(trust, source, names), at)
        checks.append(listing)
    finally:
        source.close()
    return BagReport(source.description, tuple(checks), tuple(units), len(hashed.actual),
                     hashed.bytes, time.monotonic() - started, at)


def _declaration(source: Source) -> Check:
    try:
        with source.open("bagit.txt") as stream:
            text = stream.read(4096).decode("utf-8-sig")
    except (KeyError, OSError) as exc:
        return Check("HRB-B001", "bagit.txt", Status.FAILED, f"missing ({exc})")
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    if fields.get("BagIt-Version") != BAGIT_VERSION:
        return Check("HRB-B001", "bagit.txt", Status.FAILED,
                     f"BagIt-Version {fields.get('BagIt-Version')!r}, not {BAGIT_VERSION}")
    return Check("HRB-B001", "bagit.txt", Status.PASSED, f"BagIt {BAGIT_VERSION}")


def _manifests(source: Source, names: list[str], prefix: str) -> dict[str, dict[str, str]]:
    """path -> algorithm -> hex digest, from every `prefix`<algorithm>.txt."""
    listed: dict[str, dict[str, str]] = {}
    for name in names:
        algorithm = name.removeprefix(prefix).removesuffix(".txt").replace("-", "_")
        if "/" in name or not name.startswith(prefix) or algorithm not in _SUPPORTED:
            continue
        with source.open(name) as stream:
            for line in stream.read().decode("utf-8").splitlines():
                if line.strip():
                    digest, path = _line(name, line)
                    listed.setdefault(path, {})[algorithm] = digest
    return listed


def _line(manifest: str, line: str) -> tuple[str, str]:
    try:
        return parse_manifest_line(line)
    except ValueError as exc:
        raise RejectedInput(f"{manifest}: {exc}") from exc


def _safe(path: str) -> bool:
    """bagit-python's rule: no absolute path, no `..`, nothing outside the bag."""
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith(("/", "\\")) and ".." not in parts \
        and ":" not in parts[0]


def _complete(names: list[str], payload: dict[str, dict[str, str]],
              tags: dict[str, dict[str, str]]) -> list[Check]:
    """HRB-B006 (paths stay inside) and HRB-B002 (listed and present, in every manifest)."""
    unsafe = [p for p in [*payload, *tags] if not _safe(p)]
    on_disk = {n for n in names if n.startswith("data/")}
    algorithms = {a for digests in payload.values() for a in digests}
    problems = [f"{p} not in the manifests" for p in sorted(on_disk - payload.keys())]
    problems += [f"{p} listed but missing" for p in sorted(payload.keys() - on_disk)]
    problems += [f"{p} missing from the {a} manifest" for p, d in sorted(payload.items())
                 for a in sorted(algorithms - d.keys())]
    problems += [f"{p} listed in a tag manifest but missing" for p in sorted(tags)
                 if p not in names]
    return [
        Check("HRB-B006", "manifests", Status.FAILED if unsafe else Status.PASSED,
              "; ".join(unsafe[:5]) if unsafe else "every path inside the bag"),
        Check("HRB-B002", "manifests", Status.FAILED if problems or not payload
              else Status.PASSED, "; ".join(problems[:5]) + (
                  f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
              if problems else f"{len(payload)} files, {', '.join(sorted(algorithms))}"),
    ]


def _hash(source: Source, listed: dict[str, dict[str, str]], under: str) -> _Hashed:
    hashed = _Hashed(listed={p: d for p, d in listed.items() if p.startswith(under)})
    present = set(source.names())
    for path, digests in hashed.listed.items():
        if not _safe(path) or path not in present:
            continue
        hashers = {a: hashlib.new(a) for a in {*digests, "sha256", "sha512"}}
        with source.open(path) as stream:
            while chunk := stream.read(CHUNK):
                hashed.bytes += len(chunk)
                for hasher in hashers.values():
                    hasher.update(chunk)
        hashed.actual[path] = {a: h.digest() for a, h in hashers.items()}
    return hashed


def _matches(code: str, hashed: _Hashed, what: str) -> Check:
    wrong = [f"{path} ({algorithm})" for path, digests in sorted(hashed.listed.items())
             if path in hashed.actual for algorithm, hex_digest in sorted(digests.items())
             if hashed.actual[path][algorithm].hex() != hex_digest]
    if wrong:
        return Check(code, "manifests", Status.FAILED,
                     f"{len(wrong)} {what} digest(s) differ: {'; '.join(wrong[:5])}")
    return Check(code, "manifests", Status.PASSED,
                 f"{len(hashed.actual)} {what}s match their digests")


def _oxum(source: Source, hashed: _Hashed) -> Check:
    with source.open("bag-info.txt") as stream:
        info = stream.read().decode("utf-8")
    declared = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                     if line.startswith("Payload-Oxum:")), None)
    found = f"{hashed.bytes}.{len(hashed.actual)}"
    if declared is None:
        return Check("HRB-B005", "bag-info.txt", Status.PASSED, "no Payload-Oxum given")
    return Check("HRB-B005", "bag-info.txt", Status.PASSED if declared == found
                 else Status.FAILED, f"declared {declared}, found {found}")


def _with_validation(trust: Trust, source: Source, names: list[str]) -> Trust:
    """`trust` plus the bag's validation/ (Trust.with_validation_files)."""
    def read(name: str) -> bytes:
        with source.open(name) as stream:
            return stream.read()

    return trust.with_validation_files((n, read(n)) for n in names
                                       if n.startswith("validation/"))


def _units(source: Source, hashed: _Hashed, trust: Trust, at: datetime
           ) -> tuple[list[UnitResult], Check]:
    """Each unit of metadata.json against its Evidence Record."""
    try:
        with source.open("metadata.json") as stream:
            rows = json.load(stream)["units"]
    except (KeyError, OSError, ValueError) as exc:
        return [], Check("HRB-B007", "metadata.json", Status.FAILED, f"unreadable: {exc}")
    tokens = _token_memo()
    results = [_unit(source, hashed, row, trust, at, tokens) for row in rows]
    return results, Check("HRB-B007", "metadata.json", Status.PASSED,
                          f"{len(rows)} units listed")


def _token_memo() -> TokenCheck:
    """check_token, once per token, root, label and time (one Trust per bag)."""
    seen: dict[tuple[bytes, bytes, str, datetime | None], TokenReport] = {}

    def checked(token: bytes, digest: bytes, trust: Trust, label: str,
                at: datetime | None) -> TokenReport:
        key = (hashlib.sha256(token).digest(), digest, label, at)
        if key not in seen:
            seen[key] = check_token(token, digest, trust, label=label, at=at)
        return seen[key]

    return checked


def _unit(source: Source, hashed: _Hashed, row: dict[str, Any], trust: Trust,
          at: datetime, tokens: TokenCheck) -> UnitResult:
    unit_id = str(row.get("unit_id"))
    if row.get("tombstone"):
        return _tombstone(source, row, trust, at, tokens)
    paths = [f["path"] for f in row.get("files", [])]
    if not row.get("evidence") and not row.get("sealed_at"):
        return UnitResult(unit_id, str(row.get("folder")), Status.INDETERMINATE, None,
                          ("HRB-B007: not sealed yet when the package was made: no "
                           "Evidence Record proves it",))
    if not row.get("evidence") or any(p not in hashed.actual for p in paths):
        return UnitResult(unit_id, str(row.get("folder")), Status.FAILED, None,
                          ("HRB-B007: its files or its Evidence Record are not in the bag",))
    known = {a: [hashed.actual[p][a] for p in paths] for a in ("sha256", "sha512")}
    group = DataGroup([partial(source.open, p) for p in paths], known)
    with source.open(row["evidence"]) as stream:
        record = stream.read()
    report = verify_evidence(record, group, trust, at, token_check=tokens)
    return _result(unit_id, str(row["folder"]), report)


def _tombstone(source: Source, row: dict[str, Any], trust: Trust, at: datetime,
               tokens: TokenCheck) -> UnitResult:
    """A disposed unit: its record against the recorded digests of its files."""
    with source.open(row["tombstone"]) as stream:
        tombstone = json.load(stream)
    record = base64.b64decode(tombstone.get("evidence_der_base64") or "")
    group = DataGroup.of_recorded("sha256", [bytes.fromhex(f["sha256"])
                                             for f in tombstone.get("files", [])])
    report = verify_evidence(record, group, trust, at, token_check=tokens)
    return _result(str(row.get("unit_id")), row["tombstone"], report)


def _result(unit_id: str, where: str, report: EvidenceReport) -> UnitResult:
    problems = tuple(f"{c.code} {c.subject}: {c.detail}".replace(" :", ":")
                     for c in report.checks if c.status is not Status.PASSED)
    return UnitResult(unit_id, where, report.result,
                      report.proven_at if report.passed else None, problems)
