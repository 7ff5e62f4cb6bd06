"""RFC 4998 Evidence Record Syntax in DER (asn1crypto), module ERS with IMPLICIT TAGS:

    EvidenceRecord ::= SEQUENCE {
        version                   INTEGER { v1(1) },
        digestAlgorithms          SEQUENCE OF AlgorithmIdentifier,
        cryptoInfos               [0] CryptoInfos OPTIONAL,
        encryptionInfo            [1] EncryptionInfo OPTIONAL,
        archiveTimeStampSequence  ArchiveTimeStampSequence }
    ArchiveTimeStampSequence ::= SEQUENCE OF ArchiveTimeStampChain
    ArchiveTimeStampChain    ::= SEQUENCE OF ArchiveTimeStamp
    ArchiveTimeStamp ::= SEQUENCE {
        digestAlgorithm  [0] AlgorithmIdentifier OPTIONAL,
        attributes       [1] Attributes OPTIONAL,
        reducedHashtree  [2] SEQUENCE OF PartialHashtree OPTIONAL,
        timeStamp        ContentInfo }
    PartialHashtree ::= SEQUENCE OF OCTET STRING

cryptoInfos carries "data useful in the validation of the archiveTimeStampSequence"
(RFC 4998 §2.1): here one attribute, id-aa-ets-revocationValues (RFC 5126 §6.3.4), with
the CRLs and OCSP responses of the TSA certificates, fetched when each timestamp was made,
so a record can be validated years later without the archive or a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import algos, cms, core, crl, ocsp

from hramba.core.errors import IntegrityViolation
from hramba.domain.hashtree import ReducedTree


class PartialHashtree(core.SequenceOf):  # type: ignore[misc]
    _child_spec = core.OctetString


class ReducedHashtree(core.SequenceOf):  # type: ignore[misc]
    _child_spec = PartialHashtree


class ArchiveTimeStamp(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("digest_algorithm", algos.DigestAlgorithm, {"implicit": 0, "optional": True}),
        ("attributes", cms.CMSAttributes, {"implicit": 1, "optional": True}),
        ("reduced_hashtree", ReducedHashtree, {"implicit": 2, "optional": True}),
        ("time_stamp", cms.ContentInfo),
    ]


class ArchiveTimeStampChain(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ArchiveTimeStamp


class ArchiveTimeStampSequence(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ArchiveTimeStampChain


class DigestAlgorithms(core.SequenceOf):  # type: ignore[misc]
    _child_spec = algos.DigestAlgorithm


REVOCATION_VALUES = "1.2.840.113549.1.9.16.2.24"  # id-aa-ets-revocationValues


class AttributeValues(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class CryptoInfo(core.Sequence):  # type: ignore[misc]
    """Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF ANY }"""

    _fields = [("type", core.ObjectIdentifier), ("values", AttributeValues)]


class CryptoInfos(core.SequenceOf):  # type: ignore[misc]
    _child_spec = CryptoInfo


class CertificateLists(core.SequenceOf):  # type: ignore[misc]
    _child_spec = crl.CertificateList


class BasicOcspResponses(core.SequenceOf):  # type: ignore[misc]
    _child_spec = ocsp.BasicOCSPResponse


class RevocationValues(core.Sequence):  # type: ignore[misc]
    """RFC 5126 (explicitly tagged module): crlVals [0], ocspVals [1], otherRevVals [2]."""

    _fields = [
        ("crl_vals", CertificateLists, {"explicit": 0, "optional": True}),
        ("ocsp_vals", BasicOcspResponses, {"explicit": 1, "optional": True}),
        ("other_rev_vals", core.Any, {"explicit": 2, "optional": True}),
    ]


@dataclass(frozen=True)
class Revocation:
    """CRLs and OCSP responses (full OCSPResponse DER, as validators take them)."""

    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()

    def __or__(self, other: Revocation) -> Revocation:
        return Revocation(_unique(self.crls + other.crls), _unique(self.ocsps + other.ocsps))


class EncryptionInfo(core.Sequence):  # type: ignore[misc]
    _fields = [("encryption_info_type", core.ObjectIdentifier),
               ("encryption_info_value", core.Any)]


class EvidenceRecord(core.Sequence):  # type: ignore[misc]
    _fields = [
        ("version", core.Integer),
        ("digest_algorithms", DigestAlgorithms),
        ("crypto_infos", CryptoInfos, {"implicit": 0, "optional": True}),
        ("encryption_info", EncryptionInfo, {"implicit": 1, "optional": True}),
        ("archive_time_stamp_sequence", ArchiveTimeStampSequence),
    ]


@dataclass(frozen=True)
class Stamp:
    """One ArchiveTimeStamp, decoded: its hash algorithm, reduced tree and token (DER)."""

    algorithm: str
    reduced: ReducedTree
    token: bytes


def digest_algorithm(name: str) -> algos.DigestAlgorithm:
    """An AlgorithmIdentifier for a hash, parameters absent: RFC 5754 §2 (SHA-2) says
    implementations SHOULD write them absent; asn1crypto would write NULL."""
    with_null = algos.DigestAlgorithm({"algorithm": name}).dump()
    return algos.DigestAlgorithm.load(_sequence(_without_null(with_null)))


def _without_null(der: bytes) -> bytes:
    """The contents of an AlgorithmIdentifier without a trailing NULL (05 00)."""
    content = der[2:]  # short form: an AlgorithmIdentifier of a hash is < 128 bytes
    return content[:-2] if content.endswith(b"\x05\x00") else content


def archive_time_stamp(reduced: ReducedTree, token: bytes, algorithm: str = "sha256") -> bytes:
    """One ArchiveTimeStamp (DER). The token is embedded byte for byte, never re-encoded."""
    cms.ContentInfo.load(token, strict=True)  # refuse anything that is not one DER value
    digest = _retag(digest_algorithm(algorithm).dump(), 0xA0)
    tree = _retag(ReducedHashtree([[bytes(h) for h in p] for p in reduced]).dump(), 0xA2)
    return _sequence(digest + tree + token)


def evidence_record(chains: Sequence[Sequence[bytes]], algorithms: Sequence[str],
                    revocation: Revocation = Revocation()) -> bytes:
    """An EvidenceRecord (DER) of `chains` of ArchiveTimeStamps (DER), oldest first, with
    `revocation` in its cryptoInfos when there is any."""
    version = core.Integer(1).dump()
    digests = DigestAlgorithms([digest_algorithm(a) for a in sorted(set(algorithms))]).dump()
    return _sequence(version + digests + _crypto_infos(revocation) + chains_der(chains))


def _crypto_infos(revocation: Revocation) -> bytes:
    if not (revocation.crls or revocation.ocsps):
        return b""
    values = RevocationValues({
        "crl_vals": [crl.CertificateList.load(c) for c in revocation.crls] or None,
        "ocsp_vals": [ocsp.OCSPResponse.load(o)["response_bytes"]["response"].parsed
                      for o in revocation.ocsps] or None})
    info = CryptoInfo({"type": REVOCATION_VALUES, "values": [core.Any.load(values.dump())]})
    return _retag(CryptoInfos([info]).dump(), 0xA0)


def read_revocation(der: bytes) -> Revocation:
    """The revocation data a record's cryptoInfos carry (none if it has none)."""
    found = Revocation()
    for info in EvidenceRecord.load(der)["crypto_infos"] or []:
        if info["type"].dotted != REVOCATION_VALUES:
            continue
        for value in info["values"]:
            values = RevocationValues.load(value.dump())
            found |= Revocation(
                tuple(c.dump() for c in values["crl_vals"] or []),
                tuple(_full_ocsp(b) for b in values["ocsp_vals"] or []))
    return found


def _full_ocsp(basic: ocsp.BasicOCSPResponse) -> bytes:
    return bytes(ocsp.OCSPResponse({"response_status": "successful", "response_bytes": {
        "response_type": "basic_ocsp_response", "response": basic}}).dump())


def _unique(items: tuple[bytes, ...]) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys(items))


def _sequence(content: bytes) -> bytes:
    return b"\x30" + _length(len(content)) + content


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(size)]) + size


def _retag(der: bytes, tag: int) -> bytes:
    """A constructed universal value as [n] IMPLICIT (same length and content)."""
    return bytes([tag]) + der[1:]


def raw_chains(der: bytes) -> list[list[bytes]]:
    """The ArchiveTimeStamps of each chain as their original DER, to extend a record."""
    record = EvidenceRecord.load(der, strict=True)
    return [[bytes(ats.dump()) for ats in chain]
            for chain in record["archive_time_stamp_sequence"]]


def chains_der(chains: Sequence[Sequence[bytes]]) -> bytes:
    """DER of an ArchiveTimeStampSequence of `chains`: what a hash-tree renewal covers."""
    return _sequence(b"".join(_sequence(b"".join(chain)) for chain in chains))


def read_evidence_record(der: bytes) -> list[list[Stamp]]:
    """Decode an EvidenceRecord into its chains of stamps; refuse anything malformed."""
    try:
        record = EvidenceRecord.load(der, strict=True)
        if record["version"].native != 1:
            raise ValueError(f"version {record['version'].native}")
        return [[_stamp(ats) for ats in chain]
                for chain in record["archive_time_stamp_sequence"]]
    except (ValueError, TypeError, KeyError) as exc:
        raise IntegrityViolation(f"not a valid RFC 4998 Evidence Record: {exc}") from exc


def _stamp(ats: ArchiveTimeStamp) -> Stamp:
    token = ats["time_stamp"]
    algorithm = ats["digest_algorithm"]
    if algorithm.native is None:  # RFC 4998 §4.1: then the token's imprint algorithm rules
        signed = token["content"]
        tst = signed["encap_content_info"]["content"].parsed
        name = tst["message_imprint"]["hash_algorithm"]["algorithm"].native
    else:
        name = algorithm["algorithm"].native
    tree = ats["reduced_hashtree"]
    reduced = [] if tree.native is None else [[bytes(h.native) for h in p] for p in tree]
    return Stamp(str(name), reduced, bytes(token.dump()))
