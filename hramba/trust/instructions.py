"""The README of an export: how to check its Evidence Record with OpenSSL and coreutils.

A pure function of the record (DER), the data group's files (names under data/ and their
digests) and the trust anchors (PEM). It walks every ArchiveTimeStamp in the order and
with the rules of hramba.trust.evidence, and writes for each the shell commands that
recompute what it covers (the files, RFC 4998 §4.3; the earlier tokens of its chain,
§5.2; the files bound to the earlier chains, §5.3), its reduced hash tree up to the root
(§4.3), cut its token out of evidence.ers by byte offset and verify it (RFC 3161), each
with the output it must give.

A command is one line starting with COMMAND; the lines starting with EXPECTED right after
it are text its output must contain. Nothing else starts that way, so a test can run them.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from asn1crypto import tsp, x509

from hramba.core.errors import IntegrityViolation
from hramba.domain.hashtree import node_hash
from hramba.trust.ers import Stamp, chains_der, raw_chains, read_evidence_record
from hramba.trust.tokens import is_qualified, tst_info

COMMAND, EXPECTED = "$ ", "> "
VERIFIED = "Verification: OK"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class DataFile:
    """One file of the data group, in its order: its name (under data/, or as the
    tombstone records it) and what is known of its digests, by algorithm."""

    name: str
    digests: Mapping[str, bytes]


@dataclass(frozen=True)
class Layout:
    """Where the data group's files and the validation data are, seen from the folder the
    commands run in: an evidence export's data/ and validation/, or a unit's folder in an
    export package (its files beside evidence.ers, validation/ three levels up)."""

    data: str = "data/"
    validation: str = "validation/"

    @property
    def anchors(self) -> str:
        return f"{self.validation}trust-anchors.pem"

    @property
    def chain(self) -> str:
        return f"{self.validation}tsa-chain.pem"

    def files(self, files: Sequence[DataFile]) -> str:
        """The files as command arguments: data/* where they have a folder of their own."""
        if self.data:
            return f"{self.data}*"
        return " ".join(shlex.quote(f.name) for f in files)


@dataclass(frozen=True)
class _Span:
    """Where a DER value lies in evidence.ers."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


@dataclass(frozen=True)
class _Record:
    der: bytes
    chains: list[list[Stamp]]
    chain_spans: list[_Span]
    token_spans: list[list[_Span]]
    files: Sequence[DataFile]
    tombstone: bool
    layout: Layout

    def is_last(self, c: int, s: int) -> bool:
        return c == len(self.chains) - 1 and s == len(self.chains[c]) - 1

    def next_token(self, c: int, s: int) -> bytes:
        """The token made after chain c timestamp s: the next of its chain, or the first
        of the next chain (hramba.trust.evidence judges each token as of that time)."""
        if s + 1 < len(self.chains[c]):
            return self.chains[c][s + 1].token
        return self.chains[c + 1][0].token


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, *lines: str) -> None:
        self.lines.extend(lines)

    def heading(self, title: str, underline: str = "-") -> None:
        self.lines.extend(["", title, underline * len(title), ""])

    def run(self, command: str, *expected: str) -> None:
        self.lines.append(COMMAND + command)
        self.lines.extend(EXPECTED + e for e in expected)
        self.lines.append("")


def instructions(record: bytes, files: Sequence[DataFile], anchors_pem: str, *,
                 tombstone: bool = False, layout: Layout = Layout()) -> str:
    """README text: every check of `record` over `files` as commands with their output."""
    chains = read_evidence_record(record)
    chain_spans, token_spans = _layout(record, chains)
    rec = _Record(record, chains, chain_spans, token_spans, files, tombstone, layout)
    text = _Text()
    _preamble(text, rec)
    _anchors(text, anchors_pem, layout)
    for c, chain in enumerate(chains):
        for s in range(len(chain)):
            _timestamp(text, rec, c, s)
    _conclusion(text, rec)
    return "\n".join(text.lines).rstrip("\n") + "\n"


# --- where each value lies in the DER ----------------------------------------------------

def _header(der: bytes, at: int) -> tuple[int, int]:
    """X.690 §8.1.3: the header length and the content length of the value at `at` (DER:
    one-byte tags here, definite lengths)."""
    first = der[at + 1]
    if first < 0x80:
        return 2, first
    size = first & 0x7F
    return 2 + size, int.from_bytes(der[at + 2:at + 2 + size], "big")


def _children(der: bytes, span: _Span) -> list[_Span]:
    header, length = _header(der, span.offset)
    at, end, found = span.offset + header, span.offset + header + length, []
    while at < end:
        child_header, child_length = _header(der, at)
        found.append(_Span(at, child_header + child_length))
        at += child_header + child_length
    return found


def _layout(der: bytes, chains: list[list[Stamp]]) -> tuple[list[_Span], list[list[_Span]]]:
    """Each chain's span and each token's span. archiveTimeStampSequence is the last field
    of the EvidenceRecord, timeStamp the last of an ArchiveTimeStamp (RFC 4998 §3.1, §4.1)."""
    sequence = _children(der, _Span(0, len(der)))[-1]
    chain_spans = _children(der, sequence)
    token_spans = [[_children(der, ats)[-1] for ats in _children(der, chain)]
                   for chain in chain_spans]
    for spans, chain in zip(token_spans, chains, strict=True):
        for span, stamp in zip(spans, chain, strict=True):
            if der[span.offset:span.end] != stamp.token:
                raise IntegrityViolation(f"the token at byte {span.offset} is not the one "
                                         "decoded there: the record is not in DER")
    return chain_spans, token_spans


# --- the parts of the text -----------------------------------------------------------------

def _preamble(text: _Text, rec: _Record) -> None:
    text.heading("Checking without e-hramba: OpenSSL and coreutils", "=")
    tools = "OpenSSL (1.1.1 or 3.x), coreutils (dd, head, tail)"
    text.say(f"Tools needed: bash, {tools}"
             + (", grep." if rec.tombstone else "."),
             "",
             "Each command below is on a line starting with '$ ': run what follows it in",
             "bash, in this folder (its printf understands \\xHH). The lines starting with",
             "'> ' under a command are text its output must contain; any difference is a",
             "failed check. Run them in order: later commands use the token files",
             "(chainC-tsS.tsr) that earlier ones cut out of evidence.ers.",
             "",
             f"evidence.ers holds {len(rec.chains)} chain(s) of timestamps "
             f"({sum(len(c) for c in rec.chains)} in all). To see its structure, with",
             "the byte offset of every value (offset:d=depth hl=header l=length):")
    text.run("openssl asn1parse -inform DER -in evidence.ers -i")


def _anchors(text: _Text, anchors_pem: str, layout: Layout) -> None:
    text.lines.extend(_anchor_lines(anchors_pem, layout))


@lru_cache(maxsize=8)
def _anchor_lines(anchors_pem: str, layout: Layout) -> tuple[str, ...]:
    """Step 0, the same for every unit of a package: made once."""
    text = _Text()
    text.heading("Step 0: the TSA's trust anchor, from a source of your own")
    text.say(f"Do NOT rely on {layout.anchors}: it came with this evidence, and",
             "whoever could change the evidence could change it too. Obtain the TSA's",
             "trust anchor independently: for a qualified TSA, from the EU trusted list",
             "(https://eidas.ec.europa.eu/efda/tl-browser/, the list of the TSA's",
             "country); otherwise the root certificate the TSA publishes (its web site",
             "over HTTPS, its practice statement). Compute its SHA-256 fingerprint:",
             "",
             "    openssl x509 -in YOUR-COPY.pem -noout -fingerprint -sha256",
             "",
             f"and compare it with those of the certificates in {layout.anchors}",
             "below. If none is equal, stop: the timestamps do not chain to the TSA you",
             "trust. Better still, give your own copy to every 'openssl ts -verify' below",
             f"(-CAfile YOUR-COPY.pem instead of -CAfile {layout.anchors}; add",
             "-partial_chain if your copy is the TSA's own or an intermediate certificate).",
             "")
    for n, (first, last, der) in enumerate(_pem_certificates(anchors_pem), 1):
        certificate = x509.Certificate.load(der)
        fingerprint = ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
        text.say(f"Anchor {n}: {certificate.subject.human_friendly}")
        command = (f"openssl x509 -in {layout.anchors} -noout -fingerprint -sha256" if n == 1
                   else f"head -n {last} {layout.anchors} | tail -n {last - first + 1} | "
                   "openssl x509 -noout -fingerprint -sha256")
        text.run(command, fingerprint)
    return tuple(text.lines)


def _pem_certificates(pem: str) -> list[tuple[int, int, bytes]]:
    """Each certificate of a PEM text: its first and last line (from 1) and its DER."""
    found, start = [], 0
    lines = pem.splitlines()
    for n, line in enumerate(lines, 1):
        if line.strip() == "-----BEGIN CERTIFICATE-----":
            start = n
        elif line.strip() == "-----END CERTIFICATE-----" and start:
            found.append((start, n, base64.b64decode("".join(lines[start:n - 1]))))
            start = 0
    return found


def _timestamp(text: _Text, rec: _Record, c: int, s: int) -> None:
    stamp = rec.chains[c][s]
    kind = ("over the files (RFC 4998 section 4.3)" if c == 0 and s == 0 else
            "timestamp renewal (RFC 4998 section 5.2)" if s > 0 else
            "hash-tree renewal (RFC 4998 section 5.3)")
    text.heading(f"Chain {c + 1}, timestamp {s + 1} ({stamp.algorithm}): {kind}")
    data: list[bytes] | None
    if s > 0:
        data = _earlier_tokens(text, rec, c, s)
    elif c > 0:
        data = _earlier_chains(text, rec, c)
    else:
        data = _files(text, rec, stamp.algorithm)
    root = _tree(text, data, stamp)
    _token(text, rec, c, s, root)


def _files(text: _Text, rec: _Record, algorithm: str) -> list[bytes] | None:
    """The data group: the file hashes the first timestamp covers."""
    known = [f.digests.get(algorithm) for f in rec.files]
    hashes = [h for h in known if h is not None]
    if len(hashes) < len(known):
        text.say(f"The files are destroyed and their {algorithm} hashes are not recorded:",
                 "they cannot be recomputed; the first list below is what the record says.",
                 "")
        return None
    if rec.tombstone:
        text.say("The files are destroyed; tombstone.json records their SHA-256 digests:")
        text.run("grep '\"sha256\"' tombstone.json", *(f'"sha256": "{h.hex()}"'
                                                       for h in hashes))
    else:
        text.say(f"Hash the {len(rec.files)} files of the data group with {algorithm}:")
        text.run(f"openssl dgst -{_openssl(algorithm)} -r {rec.layout.files(rec.files)}",
                 *(f"{h.hex()} *{rec.layout.data}{f.name}"
                   for f, h in zip(rec.files, hashes, strict=True)))
    return hashes


def _earlier_tokens(text: _Text, rec: _Record, c: int, s: int) -> list[bytes]:
    """RFC 4998 §5.2: a renewal covers the hash of each earlier token (DER) of its chain."""
    algorithm = rec.chains[c][s].algorithm
    names = [_token_file(c, k) for k in range(s)]
    hashes = [hashlib.new(algorithm, x.token).digest() for x in rec.chains[c][:s]]
    text.say(f"It covers the {algorithm} hash of each earlier token of chain {c + 1} (the",
             "files cut out above); e-hramba covers every one, Bouncy Castle's ERS checks so:")
    text.run(f"openssl dgst -{_openssl(algorithm)} -r {' '.join(names)}",
             *(f"{h.hex()} *{n}" for n, h in zip(names, hashes, strict=True)))
    return hashes


def _earlier_chains(text: _Text, rec: _Record, c: int) -> list[bytes] | None:
    """RFC 4998 §5.3: H(h + H(DER of the ArchiveTimeStampSequence of the earlier chains))
    for each file hash h, in the new chain's algorithm."""
    algorithm = rec.chains[c][0].algorithm
    name, covered = f"chains-before-{c + 1}.der", chains_der(raw_chains(rec.der)[:c])
    span = _Span(rec.chain_spans[0].offset, rec.chain_spans[c - 1].end - rec.chain_spans[0].offset)
    header = covered[:len(covered) - span.length]
    if header + rec.der[span.offset:span.end] != covered:
        raise IntegrityViolation("the record's chains are not in DER")
    digest = hashlib.new(algorithm, covered).digest()
    chains = "chain 1" if c == 1 else f"chains 1 to {c}"
    text.say(f"It covers the files hashed again with {algorithm}, each bound to the earlier",
             f"chains: the DER of an ArchiveTimeStampSequence of {chains}, that is a SEQUENCE",
             f"header ({header.hex()}) followed by the {span.length} bytes from byte "
             f"{span.offset} of", "evidence.ers. Make that file and hash it:")
    text.run(f"printf '%b' '{_escaped(header)}' > {name}")
    text.run(f"dd if=evidence.ers bs=1 skip={span.offset} count={span.length} >> {name}")
    text.run(f"openssl dgst -{_openssl(algorithm)} -r {name}", f"{digest.hex()} *{name}")
    hashes = _files(text, rec, algorithm)
    if hashes is None:
        return None
    text.say(f"Then each file's {algorithm} hash h joined with that one, H(h + it):")
    bound = [hashlib.new(algorithm, h + digest).digest() for h in hashes]
    for f, h, value in zip(rec.files, hashes, bound, strict=True):
        text.run(_bound_command(rec, f, h, digest, algorithm, name), value.hex())
    return bound


def _bound_command(rec: _Record, file: DataFile, h: bytes, chains_hash: bytes,
                   algorithm: str, name: str) -> str:
    """H(h + chains_hash) as a command: from the file itself, or for a tombstone from the
    recorded digest (all that is left)."""
    option = _openssl(algorithm)
    if rec.tombstone:
        return (f"printf '%b' '{_escaped(h)}' '{_escaped(chains_hash)}' | "
                f"openssl dgst -{option} -r")
    path = shlex.quote(f"{rec.layout.data}{file.name}")
    return (f"(openssl dgst -{option} -binary {path}; openssl dgst -{option} -binary {name})"
            f" | openssl dgst -{option} -r")


def _tree(text: _Text, data: list[bytes] | None, stamp: Stamp) -> bytes | None:
    """RFC 4998 §4.3: from the first list up, each list with the value so far, sorted
    binary ascending, concatenated and hashed, gives the next value; the last is the root."""
    algorithm = stamp.algorithm
    if not stamp.reduced:  # RFC 4998 §4.3: without a tree, the token is over the data
        if data is None:
            text.say("The record has no reduced hash tree here, so without those hashes",
                     "there is no root to check the token against.", "")
            return None
        text.say("The record has no reduced hash tree here: the token is over "
                 + ("that hash itself." if len(data) == 1 else "the hash of those hashes:"))
        return data[0] if len(data) == 1 else _combine(text, data, algorithm)
    first = stamp.reduced[0]
    text.say(f"List 1 of the reduced hash tree ({len(first)} value(s), ascending):",
             *(f"    {h.hex()}" for h in first), *_first_list_rule(data, first))
    value = first[0] if len(first) == 1 else _combine(text, first, algorithm)
    for n, siblings in enumerate(stamp.reduced[1:], 2):
        text.say(f"List {n}:", *(f"    {h.hex()}" for h in siblings),
                 "with the value so far, sorted ascending, concatenated and hashed:")
        value = _combine(text, [*siblings, value], algorithm)
    text.say("The root, which the token must be over:", f"    {value.hex()}", "")
    return value


def _first_list_rule(data: list[bytes] | None, first: list[bytes]) -> list[str]:
    """What the first list must hold (hramba.domain.hashtree.root_of)."""
    if data is None:
        return [""]
    if len(data) == 1:
        rule = ["It must hold the value above, alone or with one neighbour in the tree."]
        holds = data[0] in first and len(first) <= 2
    else:
        rule = [f"It must hold exactly the {len(data)} values above."]
        holds = sorted(first) == sorted(data)
    return [*rule, *([] if holds else ["WARNING: it does not: the record does not cover "
                                       "these files."]), ""]


def _combine(text: _Text, values: Sequence[bytes], algorithm: str) -> bytes:
    """RFC 4998 §4.2: the hash of the values sorted binary ascending and concatenated."""
    ordered = sorted(values)
    result = node_hash(ordered, algorithm)
    arguments = " ".join(f"'{_escaped(v)}'" for v in ordered)
    text.run(f"printf '%b' {arguments} | openssl dgst -{_openssl(algorithm)} -r", result.hex())
    return result


def _token(text: _Text, rec: _Record, c: int, s: int, root: bytes | None) -> None:
    span, token, name = rec.token_spans[c][s], rec.chains[c][s].token, _token_file(c, s)
    text.say(f"The token (a CMS ContentInfo) is {span.length} bytes from byte {span.offset} of",
             "evidence.ers (at depth 4 in the asn1parse output). Cut it out:")
    text.run(f"dd if=evidence.ers of={name} bs=1 skip={span.offset} count={span.length}")
    text.run(f"openssl dgst -sha256 -r {name}", f"{hashlib.sha256(token).hexdigest()} *{name}")
    info, raw_time = _token_facts(token)
    text.say("Its time, the moment it proves (the Time stamp line; also its policy, hash",
             "algorithm, serial number and TSA):")
    text.run(f"openssl ts -reply -in {name} -token_in -text",
             *([f"Time stamp: {t}"] if (t := _openssl_time(raw_time)) else []))
    text.say(*_qualification(info))
    if root is None:
        return
    verify = (f"openssl ts -verify -digest {root.hex()} -in {name} -token_in "
              f"-CAfile {rec.layout.anchors} -untrusted {rec.layout.chain}")
    if rec.is_last(c, s):
        _verify_newest(text, verify, raw_time)
    else:
        _verify_renewed(text, verify, raw_time, rec.next_token(c, s))


def _verify_newest(text: _Text, verify: str, raw_time: str) -> None:
    text.say("The newest timestamp: its certificate must be valid now, so no -attime:")
    text.run(verify, VERIFIED)
    text.say("Should it fail only because its TSA certificate has expired meanwhile, the",
             "record was not renewed in time; adding -attime "
             f"{_unix(raw_time)} checks the token as of its own",
             "time, which alone does not carry the proof forward.")


def _verify_renewed(text: _Text, verify: str, raw_time: str, next_token: bytes) -> None:
    """Its certificate may have expired since: a later timestamp took the proof over."""
    next_time = _raw_time(next_token)
    text.say("A later timestamp covers this one, so its TSA certificate may have expired",
             "since: -attime checks the path as of the token's own time (Unix seconds):")
    text.run(f"{verify} -attime {_unix(raw_time)}", VERIFIED)
    text.say("RFC 4998 section 5.2: it must still have been valid when the next timestamp",
             f"was made ({_openssl_time(next_time) or next_time}):")
    text.run(f"{verify} -attime {_unix(next_time)}", VERIFIED)


def _qualification(info: tsp.TSTInfo) -> list[str]:
    """ETSI EN 319 422 §9.1: a qualified token says so with esi4-qtstStatement-1."""
    policy = f"TSA policy {info['policy'].dotted}."
    if is_qualified(info):
        return [policy, "A qualified electronic time stamp (qcStatement esi4-qtstStatement-1,",
                "ETSI EN 319 422 section 9.1).", ""]
    return [policy, "NOT a qualified electronic time stamp (no qcStatement",
            "esi4-qtstStatement-1, ETSI EN 319 422 section 9.1): it proves nothing to whoever",
            "does not trust this TSA, and hramba verify-evidence says INDETERMINATE for it",
            "unless --accept-unqualified.", ""]


def _conclusion(text: _Text, rec: _Record) -> None:
    text.heading("What it proves")
    what = ("files with the digests in tombstone.json" if rec.tombstone else
            f"the files in {rec.layout.data or 'this folder'}")
    first = _raw_time(rec.chains[0][0].token)
    text.say(f"If every command gave its expected output, {what} existed,",
             f"unchanged, at {_openssl_time(first) or first} (chain 1 timestamp 1), and every "
             "later",
             "timestamp carried that proof forward while the one before it still held",
             "(RFC 4998 section 5), all under the trust anchor you compared in step 0.")
    unbound = [c + 1 for c in range(1, len(rec.chains))
               if any(rec.chains[c][0].algorithm not in f.digests for f in rec.files)]
    if unbound:
        text.say("Except: the data are gone, so the hash-tree renewal that starts chain(s) "
                 + ", ".join(map(str, unbound)) + " cannot",
                 "be linked to them; the proof of the digests rests on the chains before, and",
                 "on their hash algorithm as it stands today.")
    text.say("",
             "openssl ts -verify does not check revocation: validation/N.crl and N.ocsp are",
             "the CRLs and OCSP responses fetched when each timestamp was made (read them",
             "with openssl crl -inform DER -in validation/N.crl -noout -text, and",
             "openssl ocsp -respin validation/N.ocsp -resp_text -noverify).")


# --- small conversions ---------------------------------------------------------------------

def _openssl(algorithm: str) -> str:
    """asn1crypto's algorithm name as an openssl dgst option: sha256, sha3-256."""
    return algorithm.replace("_", "-")


_HEX = tuple(f"\\x{b:02x}" for b in range(256))


def _escaped(value: bytes) -> str:
    r"""Bytes as printf escapes, \xHH each: the hex stays readable."""
    return "".join(map(_HEX.__getitem__, value))


def _token_file(c: int, s: int) -> str:
    return f"chain{c + 1}-ts{s + 1}.tsr"


_GENERALIZED = re.compile(r"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?Z")


def _openssl_time(raw: str) -> str | None:
    """A GeneralizedTime (RFC 3161 §2.4.2: UTC, seconds, optional fraction) as OpenSSL
    prints it: 'Mar  5 10:30:00.25 2026 GMT'. None if it is not in that form."""
    match = _GENERALIZED.fullmatch(raw)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    return (f"{MONTHS[int(month) - 1]} {int(day):2d} {hour}:{minute}:{second}"
            f"{fraction or ''} {year} GMT")


def _raw_time(token: bytes) -> str:
    """The token's genTime as encoded (RFC 3161 §2.4.2: YYYYMMDDhhmmss[.f]Z)."""
    return _token_facts(token)[1]


@lru_cache(maxsize=64)
def _token_facts(token: bytes) -> tuple[tsp.TSTInfo, str]:
    """The token's TSTInfo and raw genTime, parsed once: one token of a batch covers
    every unit an export package checks."""
    info = tst_info(token)
    return info, str(info["gen_time"].contents.decode("ascii"))


def _unix(raw: str) -> int:
    """A GeneralizedTime as whole Unix seconds (rounded down), for -attime."""
    match = _GENERALIZED.fullmatch(raw)
    if match is None:
        raise IntegrityViolation(f"genTime {raw!r} is not a GeneralizedTime in UTC")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
