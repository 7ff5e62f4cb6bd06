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
from datetime import datetime, timedelta

from asn1crypto import cms, core, crl, ocsp, tsp, x509
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

from hramba.trust.report import AlgorithmPolicy, Check, Status, TokenInfo, Trust, overall

# SHA-1 is never accepted, in an imprint or anywhere else (RFC 3161 clients must not).
ALLOWED_IMPRINTS = {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"


# ETSI EN 319 422 §9.1: a qualified token carries, in its TSTInfo extensions, the
# qcStatements extension with esi4-qtstStatement-1.
QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"
QTST_STATEMENT = "0.4.0.19422.1.1"


class QcStatement(core.Sequence):  # type: ignore[misc]
    _fields = [("statement_id", core.ObjectIdentifier),  # noqa: RUF012 - asn1crypto schema
               ("statement_info", core.Any, {"optional": True})]


class QcStatements(core.SequenceOf):  # type: ignore[misc]
    _child_spec = QcStatement


@dataclass
class TokenReport:
    label: str = "token"
    checks: list[Check] = field(default_factory=list)
    gen_time: datetime | None = None
    signer: x509.Certificate | None = None
    certificates: list[x509.Certificate] = field(default_factory=list)
    serial_number: int | None = None
    policy: str = ""
    qualified: bool = False
    revocation: tuple[str, ...] = ()

    def add(self, code: str, ok: bool | None, detail: str = "") -> bool:
        status = Status.INDETERMINATE if ok is None else (
            Status.PASSED if ok else Status.FAILED)
        self.checks.append(Check(code, self.label, status, detail))
        return ok is True

    @property
    def passed(self) -> bool:
        return overall(c.status for c in self.checks) is Status.PASSED

    def info(self) -> TokenInfo:
        tsa = self.signer.subject.human_friendly if self.signer else "(signer not in token)"
        return TokenInfo(self.label, self.gen_time, tsa, self.serial_number, self.policy,
                         self.qualified, self.revocation)

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


def is_qualified(info: tsp.TSTInfo) -> bool:
    """Whether the TSA says the token is a qualified electronic time stamp."""
    for extension in info["extensions"] or []:
        if extension["extn_id"].dotted == QC_STATEMENTS:
            statements = QcStatements.load(extension["extn_value"].contents)
            return any(s["statement_id"].dotted == QTST_STATEMENT for s in statements)
    return False


def signer_of(token: bytes) -> x509.Certificate | None:
    """The certificate in the token that signed it (None if the token does not carry it)."""
    signed = cms.ContentInfo.load(token)["content"]
    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    return _find_signer(signed["signer_infos"][0], certs)


def renewal_reason(token: bytes, deadline: datetime, anchors: Sequence[x509.Certificate],
                   policy: AlgorithmPolicy) -> str | None:
    """Why a chain whose newest token is `token` needs a new timestamp by `deadline`, or
    None: a certificate of the TSA's path expiring by then (its own, a CA's, the anchor's),
    or a signature algorithm or key the policy calls weak."""
    signed = cms.ContentInfo.load(token)["content"]
    signer_info = signed["signer_infos"][0]
    certs = [c.chosen for c in signed["certificates"] or [] if c.name == "certificate"]
    signer = _find_signer(signer_info, certs)
    if signer is None:
        return "the token does not carry its TSA certificate"
    if signer.not_valid_after <= deadline:
        return EXPIRING
    issuers = {c.issuer.dump() for c in certs}
    path = [c for c in certs if c is not signer] + [a for a in anchors
                                                    if a.subject.dump() in issuers]
    if any(c.not_valid_after <= deadline for c in path):
        return "a CA certificate of the TSA's chain expires within the margin"
    digest = signer_info["digest_algorithm"]["algorithm"].native
    name = f"{digest}_{signer_info['signature_algorithm'].signature_algo}"
    if name in policy.weak_signatures:
        return f"signature algorithm {name} is weakening"
    key = signer.public_key
    least = {"rsa": policy.min_rsa_bits, "ec": policy.min_ec_bits}.get(key.algorithm, 0)
    if key.bit_size < least:
        return f"TSA key {key.algorithm.upper()} {key.bit_size} bits is below {least}"
    return None


EXPIRING = "TSA certificate expires within the margin"

# How far the clocks of the TSA, its OCSP responder or CA and this host may disagree.
# pyhanko-certvalidator's default of 1 s refused good tokens under load: a response
# that expired 2 s before the token's time by the responder's clock is a matter of skew.
TIME_TOLERANCE = timedelta(minutes=5)


def check_token(token: bytes, digest: bytes, trust: Trust, *, label: str = "token",
                at: datetime | None = None) -> TokenReport:
    """Every check of one token over `digest`; `at`: the path must hold then too."""
    report = TokenReport(label)
    try:
        info = tst_info(token)
        signed = cms.ContentInfo.load(token)["content"]
        (signer_info,) = signed["signer_infos"]
    except (ValueError, TypeError, KeyError) as exc:
        report.add("HRB-E010", False, f"not an RFC 3161 token: {exc}")
        return report
    report.gen_time = info["gen_time"].native
    report.serial_number = info["serial_number"].native
    report.policy = info["policy"].dotted
    report.qualified = is_qualified(info)
    report.certificates = [c.chosen for c in signed["certificates"] or []
                           if c.name == "certificate"]
    _check_imprint(report, info, digest)
    _check_policy(report, trust)
    signer = _find_signer(signer_info, [*report.certificates, *trust.other_certs])
    report.signer = signer
    if signer is None:
        report.add("HRB-E015", None, "signer certificate not in the token")
        return report
    _check_signature(report, signed, signer_info, signer)
    _check_binding(report, signer_info, signer)
    _check_eku(report, signer)
    _check_path(report, "HRB-E018", signer, trust, report.gen_time)
    report.revocation = _revocation_used(report, trust)
    if at:
        # Later moments: the path and every validity period must hold then. Revocation is
        # judged at the token's own time, with the data kept from then: data gathered at
        # sealing cannot be fresh years later, and a later revocation without a key
        # compromise does not undo a timestamp made before it.
        _check_path(report, "HRB-E019", signer, Trust(
            trust.anchors, trust.other_certs, require_revocation=False), at)
    return report


def _check_imprint(report: TokenReport, info: tsp.TSTInfo, digest: bytes) -> None:
    imprint = info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if report.add("HRB-E011", algorithm in ALLOWED_IMPRINTS, algorithm):
        hashed = imprint["hashed_message"].native
        report.add("HRB-E012", hashed == digest, hashed.hex())


def _check_policy(report: TokenReport, trust: Trust) -> None:
    if trust.policies:
        report.add("HRB-E013", report.policy in trust.policies, report.policy)
    if report.qualified:
        report.add("HRB-E014", True, f"qualified (policy {report.policy})")
    elif trust.accept_unqualified:
        report.add("HRB-E014", True, f"NOT qualified (policy {report.policy}): accepted "
                                     "as asked (--accept-unqualified)")
    else:
        report.add("HRB-E014", None, f"NOT qualified (policy {report.policy}): no "
                                     "qcStatement esi4-qtstStatement-1; proves nothing to a "
                                     "third party unless accepted (--accept-unqualified)")


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


def _check_signature(report: TokenReport, signed: cms.SignedData,
                     signer_info: cms.SignerInfo, signer: x509.Certificate) -> None:
    md = signer_info["digest_algorithm"]["algorithm"].native
    econtent = signed["encap_content_info"]["content"].contents
    attrs = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    if md not in ALLOWED_IMPRINTS or "message_digest" not in attrs:
        report.add("HRB-E015", False, f"digest {md}, signed attributes incomplete")
        return
    if attrs["message_digest"].native != hashlib.new(md, econtent).digest():
        report.add("HRB-E015", False, "TSTInfo does not match its message digest")
        return
    signed_bytes = b"\x31" + signer_info["signed_attrs"].dump()[1:]  # [0] IMPLICIT -> SET
    try:
        DEFAULT_SIGNATURE_VALIDATOR.validate_signature(
            signer_info["signature"].native, signed_bytes, signer.public_key,
            signer_info["signature_algorithm"], SignatureValidationContext(md))
    except Exception as exc:  # noqa: BLE001 - any failure to verify is a failed check
        report.add("HRB-E015", False, type(exc).__name__)
        return
    report.add("HRB-E015", True, signer.subject.human_friendly)


def _check_binding(report: TokenReport, signer_info: cms.SignerInfo,
                   signer: x509.Certificate) -> None:
    """RFC 5816: ESSCertIDv2 names the signer certificate. ESSCertID (v1) hashes it with
    SHA-1, which is refused here as everywhere else."""
    for attr in signer_info["signed_attrs"]:
        if attr["type"].native == "signing_certificate":
            report.add("HRB-E016", False, "ESSCertID (v1) binds the certificate with SHA-1")
            return
        if attr["type"].native == "signing_certificate_v2":
            cert_id = attr["values"][0]["certs"][0]
            algorithm = cert_id["hash_algorithm"]["algorithm"].native
            if algorithm not in ALLOWED_IMPRINTS:
                report.add("HRB-E016", False, f"ESSCertIDv2 with {algorithm}")
                return
            ok = cert_id["cert_hash"].native == hashlib.new(algorithm, signer.dump()).digest()
            report.add("HRB-E016", ok, f"ESSCertIDv2 ({algorithm})")
            return
    report.add("HRB-E016", False, "no ESSCertIDv2")


def _check_eku(report: TokenReport, signer: x509.Certificate) -> None:
    """RFC 3161 §2.3: extendedKeyUsage present, critical, id-kp-timeStamping only."""
    eku = next((e for e in signer["tbs_certificate"]["extensions"] or []
                if e["extn_id"].native == "extended_key_usage"), None)
    ok = eku is not None and eku["critical"].native and eku["extn_value"].native == [
        "time_stamping"]
    report.add("HRB-E017", bool(ok), "" if eku is None else ", ".join(eku["extn_value"].native))


def _check_path(report: TokenReport, code: str, signer: x509.Certificate, trust: Trust,
                moment: datetime | None) -> None:
    # hard-fail: a certificate that names a CRL or OCSP responder needs its data, else
    # the step is INDETERMINATE. Revocation data issued after `moment` counts: it was
    # gathered just after the token, and says whether the certificate was revoked then.
    context = ValidationContext(
        trust_roots=list(trust.anchors), other_certs=[*report.certificates, *trust.other_certs],
        crls=list(trust.crls), ocsps=list(trust.ocsps), moment=moment, allow_fetching=False,
        revocation_mode="hard-fail" if trust.require_revocation else "soft-fail",
        retroactive_revinfo=True, time_tolerance=TIME_TOLERANCE)
    validator = CertificateValidator(signer, validation_context=context)
    at = f"at {moment:%Y-%m-%d %H:%M:%S %Z}: " if moment else ""
    if moment and not signer.not_valid_before <= moment <= signer.not_valid_after:
        report.add(code, False, f"{at}the TSA certificate is valid only from "
                                f"{signer.not_valid_before} to {signer.not_valid_after}")
        return
    try:
        path = asyncio.run(validator.async_validate_usage(
            set(), extended_key_usage={"time_stamping"}))
    except PathBuildingError as exc:
        report.add(code, False, f"{at}no path to a trust anchor: {exc}")
    except (RevokedError, ExpiredError, NotYetValidError, DisallowedAlgorithmError) as exc:
        report.add(code, False, f"{at}{exc}")
    except (InsufficientRevinfoError, PathValidationError) as exc:
        report.add(code, None, f"{at}{exc}")
    else:
        report.add(code, True, at + " <- ".join(c.subject.human_friendly for c in path))


def _revocation_used(report: TokenReport, trust: Trust) -> tuple[str, ...]:
    """The CRLs and OCSP responses at hand that speak of the token's certificates."""
    certs = [*report.certificates, *trust.other_certs]
    issuers = {c.issuer.dump() for c in certs}
    serials = {c.serial_number for c in certs}
    used = []
    for der in trust.crls:
        item = crl.CertificateList.load(der)["tbs_cert_list"]
        if item["issuer"].dump() in issuers:
            used.append(f"CRL of {item['issuer'].human_friendly}, issued "
                        f"{item['this_update'].native:%Y-%m-%d %H:%M:%S %Z} "
                        f"({trust.sources.get(der, 'given')})")
    for der in trust.ocsps:
        data = ocsp.OCSPResponse.load(der).basic_ocsp_response["tbs_response_data"]
        for single in data["responses"]:
            serial = single["cert_id"]["serial_number"].native
            if serial in serials:
                used.append(f"OCSP response for certificate {serial:x} "
                            f"({single['cert_status'].name}), produced "
                            f"{data['produced_at'].native:%Y-%m-%d %H:%M:%S %Z} "
                            f"({trust.sources.get(der, 'given')})")
    return tuple(dict.fromkeys(used))


def fetch_revocation(report: TokenReport, trust: Trust) -> tuple[list[bytes], list[bytes]]:
    """At sealing time only: fetch the CRLs and OCSP responses the TSA's certificates point
    to, so they can be kept with the batch for validation years later. Whatever cannot be
    fetched is simply not kept (a later check then says INDETERMINATE, not PASSED)."""
    if report.signer is None:
        return [], []
    backend = RequestsFetcherBackend(per_request_timeout=10)
    # Judged as check_token judges them (at the token's time, data made after it good),
    # so a response fetched a few seconds later is not dropped as "too recent".
    context = ValidationContext(
        trust_roots=list(trust.anchors), other_certs=[*report.certificates, *trust.other_certs],
        allow_fetching=True, revocation_mode="soft-fail", fetchers=backend.get_fetchers(),
        moment=report.gen_time, retroactive_revinfo=True, time_tolerance=TIME_TOLERANCE)
    validator = CertificateValidator(report.signer, validation_context=context)
    with contextlib.suppress(Exception):  # best effort: the token is validated already
        asyncio.run(validator.async_validate_usage(
            set(), extended_key_usage={"time_stamping"}))
    asyncio.run(backend.close())
    return [c.dump() for c in context.crls], [o.dump() for o in context.ocsps]
