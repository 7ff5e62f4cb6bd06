"""Validate an RFC 3161 time-stamp token, check by check, with pyhanko-certvalidator.

Each check ends PASSED, FAILED or INDETERMINATE (could not be decided, e.g. no path could
be built from the material at hand). Nothing here fetches anything from a network.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import cms, tsp, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
)
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.sig_validate import (
    DEFAULT_SIGNATURE_VALIDATOR,
    SignatureValidationContext,
)

from hramba.trust.report import Check, Status, Trust

# SHA-1 is never accepted, in an imprint or anywhere else (RFC 3161 clients must not).
ALLOWED_IMPRINTS = {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"


@dataclass
class TokenReport:
    checks: list[Check] = field(default_factory=list)
    gen_time: datetime | None = None
    signer: x509.Certificate | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)

    def add(self, name: str, ok: bool | None, detail: str = "") -> bool:
        status = Status.INDETERMINATE if ok is None else (
            Status.PASSED if ok else Status.FAILED)
        self.checks.append(Check(name, status, detail))
        return ok is True

    @property
    def passed(self) -> bool:
        return all(c.status is Status.PASSED for c in self.checks)

    @staticmethod
    def gen_time_of(token: bytes) -> datetime | None:
        try:
            value = tst_info(token)["gen_time"].native
        except (ValueError, TypeError, KeyError):
            return None
        return value if isinstance(value, datetime) else None


def tst_info(token: bytes) -> tsp.TSTInfo:
    content = cms.ContentInfo.load(token)
    if content["content_type"].native != "signed_data":
        raise ValueError("not a CMS SignedData")
    encap = content["content"]["encap_content_info"]
    if encap["content_type"].dotted != ID_CT_TSTINFO:
        raise ValueError("SignedData does not carry a TSTInfo")
    return encap["content"].parsed


def signer_of(token: bytes) -> x509.Certificate | None:
    """The certificate in the token that signed it (None if the token does not carry it)."""
    signed = cms.ContentInfo.load(token)["content"]
    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    return _find_signer(signed["signer_infos"][0], certs)


def check_token(token: bytes, digest: bytes, trust: Trust, *, label: str = "token",
                at: datetime | None = None) -> TokenReport:
    """Every check of one token over `digest`; `at`: the path must hold then too."""
    report = TokenReport()
    try:
        info = tst_info(token)
        signed = cms.ContentInfo.load(token)["content"]
        (signer_info,) = signed["signer_infos"]
    except (ValueError, TypeError, KeyError) as exc:
        report.add(f"{label}: structure", False, f"not an RFC 3161 token: {exc}")
        return report
    report.gen_time = info["gen_time"].native
    report.certificates = [c.chosen for c in signed["certificates"] or []
                           if c.name == "certificate"]
    _check_imprint(report, label, info, digest)
    if trust.policies:
        policy = info["policy"].dotted
        report.add(f"{label}: TSA policy accepted", policy in trust.policies, policy)
    signer = _find_signer(signer_info, [*report.certificates, *trust.other_certs])
    report.signer = signer
    if signer is None:
        report.add(f"{label}: signature", None, "signer certificate not in the token")
        return report
    _check_signature(report, label, signed, signer_info, signer)
    _check_binding(report, label, signer_info, signer)
    _check_eku(report, label, signer)
    _check_path(report, label, signer, trust, report.certificates, report.gen_time)
    if at:
        # Later moments: the path and every validity period must hold then. Revocation is
        # judged at the token's own time, with the data kept from then: data gathered at
        # sealing cannot be fresh years later, and a later revocation without a key
        # compromise does not undo a timestamp made before it.
        _check_path(report, label, signer, Trust(trust.anchors, trust.other_certs),
                    report.certificates, at)
    return report


def _check_imprint(report: TokenReport, label: str, info: tsp.TSTInfo, digest: bytes) -> None:
    imprint = info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if report.add(f"{label}: hash algorithm", algorithm in ALLOWED_IMPRINTS, algorithm):
        hashed = imprint["hashed_message"].native
        report.add(f"{label}: root equals message imprint", hashed == digest, hashed.hex())


def _find_signer(signer_info: cms.SignerInfo,
                 certs: Iterable[x509.Certificate]) -> x509.Certificate | None:
    sid = signer_info["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (cert.issuer == sid.chosen["issuer"]
                    and cert.serial_number == sid.chosen["serial_number"].native):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _check_signature(report: TokenReport, label: str, signed: cms.SignedData,
                     signer_info: cms.SignerInfo, signer: x509.Certificate) -> None:
    md = signer_info["digest_algorithm"]["algorithm"].native
    econtent = signed["encap_content_info"]["content"].contents
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    if md not in ALLOWED_IMPRINTS or "message_digest" not in attrs:
        report.add(f"{label}: signature", False, f"digest {md}, signed attributes incomplete")
        return
    if attrs["message_digest"].native != hashlib.new(md, econtent).digest():
        report.add(f"{label}: signature", False, "TSTInfo does not match its message digest")
        return
    signed_bytes = b"\x31" + signer_info["signed_attrs"].dump()[1:]  # [0] IMPLICIT -> SET
    try:
        DEFAULT_SIGNATURE_VALIDATOR.validate_signature(
            signer_info["signature"].native, signed_bytes, signer.public_key,
            signer_info["signature_algorithm"], SignatureValidationContext(md))
    except Exception as exc:  # noqa: BLE001 - any failure to verify is a failed check
        report.add(f"{label}: signature", False, type(exc).__name__)
        return
    report.add(f"{label}: signature", True, signer.subject.human_friendly)


def _check_binding(report: TokenReport, label: str, signer_info: cms.SignerInfo,
                   signer: x509.Certificate) -> None:
    """RFC 5816 / RFC 2634: ESSCertIDv2 (or ESSCertID) names the signer certificate."""
    for attr in signer_info["signed_attrs"]:
        if attr["type"].native in ("signing_certificate_v2", "signing_certificate"):
            cert_id = attr["values"][0]["certs"][0]
            algorithm = (cert_id["hash_algorithm"]["algorithm"].native
                         if "hash_algorithm" in cert_id else "sha1")
            ok = cert_id["cert_hash"].native == hashlib.new(algorithm, signer.dump()).digest()
            report.add(f"{label}: signer certificate binding", ok,
                       f"{attr['type'].native} ({algorithm})")
            return
    report.add(f"{label}: signer certificate binding", False, "no ESSCertID/ESSCertIDv2")


def _check_eku(report: TokenReport, label: str, signer: x509.Certificate) -> None:
    """RFC 3161 §2.3: extendedKeyUsage present, critical, id-kp-timeStamping only."""
    eku = next((e for e in signer["tbs_certificate"]["extensions"] or []
                if e["extn_id"].native == "extended_key_usage"), None)
    ok = eku is not None and eku["critical"].native and eku["extn_value"].native == [
        "time_stamping"]
    report.add(f"{label}: critical EKU id-kp-timeStamping", bool(ok),
               "" if eku is None else ", ".join(eku["extn_value"].native))


def _check_path(report: TokenReport, label: str, signer: x509.Certificate, trust: Trust,
                token_certs: Sequence[x509.Certificate], moment: datetime | None) -> None:
    context = ValidationContext(
        trust_roots=list(trust.anchors), other_certs=[*token_certs, *trust.other_certs],
        crls=list(trust.crls), ocsps=list(trust.ocsps), moment=moment, allow_fetching=False,
        revocation_mode="soft-fail")
    validator = CertificateValidator(signer, validation_context=context)
    name = f"{label}: path to trust anchor at {moment:%Y-%m-%dT%H:%M:%SZ}" if moment else (
        f"{label}: path to trust anchor")
    if moment and not signer.not_valid_before <= moment <= signer.not_valid_after:
        report.add(name, False, f"the TSA certificate is valid only from "
                                f"{signer.not_valid_before} to {signer.not_valid_after}")
        return
    try:
        path = asyncio.run(validator.async_validate_usage(  # type: ignore[no-untyped-call]
            set(), extended_key_usage={"time_stamping"}))
    except PathBuildingError as exc:
        report.add(name, False, f"no path to a trust anchor: {exc}")
    except (RevokedError, ExpiredError, NotYetValidError, DisallowedAlgorithmError) as exc:
        report.add(name, False, str(exc))
    except (InsufficientRevinfoError, PathValidationError) as exc:
        report.add(name, None, str(exc))
    else:
        report.add(name, True, " <- ".join(c.subject.human_friendly for c in path))


def fetch_revocation(report: TokenReport, trust: Trust) -> tuple[list[bytes], list[bytes]]:
    """At sealing time only: fetch the CRLs and OCSP responses the TSA's certificates point
    to, so they can be kept with the batch for validation years later. Whatever cannot be
    fetched is simply not kept (a later check then says INDETERMINATE, not PASSED)."""
    if report.signer is None:
        return [], []
    backend = RequestsFetcherBackend(per_request_timeout=10)
    context = ValidationContext(
        trust_roots=list(trust.anchors), other_certs=[*report.certificates, *trust.other_certs],
        allow_fetching=True, revocation_mode="soft-fail", fetchers=backend.get_fetchers())
    validator = CertificateValidator(report.signer, validation_context=context)
    with contextlib.suppress(Exception):  # best effort: the token is validated already
        asyncio.run(validator.async_validate_usage(  # type: ignore[no-untyped-call]
            set(), extended_key_usage={"time_stamping"}))
    asyncio.run(backend.close())  # type: ignore[no-untyped-call]
    return [c.dump() for c in context.crls], [o.dump() for o in context.ocsps]
