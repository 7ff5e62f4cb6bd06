"""Electronic signatures checked at capture: XAdES in e-SLOG XML, PAdES in PDFs.

The archive never refuses a document for its signature; it records what the signature was
worth when the document arrived (`moment`), and keeps the certificate path and the
revocation data of that moment with the unit, so the verdict can be shown again years
later. Each signature comes out as one SignatureCheck:

* valid          the signed content is intact, the signature value verifies, the
                 signer's certificate chains to a trusted root and was not revoked
* invalid        the signed content or the signature itself is wrong (a digest that does
                 not match, a signature value that does not verify, content outside the
                 signed references, a PDF changed after signing)
* indeterminate  the cryptography holds, but trust cannot be established now (no path to
                 a trusted root, revocation status unknown, certificate revoked or
                 expired without proof of the signature's time, a weak algorithm),
                 after ETSI EN 319 102-1's sub-indications, as pyhanko maps them

XAdES (ETSI EN 319 132) in XML: signxml checks the cryptography of each ds:Signature
(SignedInfo, every reference's digest, for XAdES the SigningCertificate digest), given the
signing certificate; the certificate's path, validity and revocation at `moment` are
pyhanko-certvalidator's to judge. A signature must cover the document: every element
outside the signatures lies inside a referenced element (e-SLOG signs #data, the
M_INVOIC element, and puts ds:Signature beside it), and references name nothing but
same-document elements, with no transforms other than enveloped-signature and
canonicalization. PAdES in PDFs: pyhanko's validate_pdf_signature, with the same
validation context, and its difference analysis of what changed after signing.

Revocation data is fetched (OCSP, CRL, over HTTP) only when the context allows it, with a
timeout per request and a bound on the number of requests per signature; data carried by
the document (XAdES RevocationValues, a PDF's Document Security Store) is used as well.
The checks run pyhanko's asyncio code with asyncio.run: call them from a thread that has
no running event loop (a worker thread under the web front end).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO
from typing import Any, Literal

from asn1crypto import crl, ocsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.fetchers.api import FetchLimits
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend
from pyhanko_certvalidator.path import ValidationPath
from signxml.algorithms import CanonicalizationMethod
from signxml.exceptions import InvalidDigest, InvalidInput, SignXMLException
from signxml.exceptions import InvalidSignature as XmlInvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier, XAdESVerifyResult

from hramba.core.errors import ConfigurationError, RejectedInput

Kind = Literal["xades", "pades"]
Status = Literal["valid", "invalid", "indeterminate"]

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}
SIGNATURE = f"{{{DS}}}Signature"
ENVELOPED = f"{DS}enveloped-signature"
ALLOWED_TRANSFORMS = frozenset({ENVELOPED, *(method.value for method in CanonicalizationMethod)})
ID_ATTRIBUTES = ("Id", "ID", "id")  # signxml resolves "#x" by these, in this order
WEAK_ALGORITHMS = ("sha1", "md5")  # in an algorithm URI: refused for signatures made now

MAX_REASON = 400  # characters
MAX_SIGNATURES = 10  # per document; further ones are reported, not checked
MAX_REFERENCES = 10  # per ds:Signature: signxml copies the document once per reference
FETCH_TIMEOUT = 5.0  # seconds per OCSP/CRL/certificate request
FETCH_LIMITS = FetchLimits(max_requests=12, max_cert_requests=4, max_aia_urls_per_object=2)
# Either usage makes a certificate one for signatures (qualified seals often carry only
# nonRepudiation); pyhanko's default would require nonRepudiation.
SIGNING_USAGES = frozenset({"digital_signature", "non_repudiation"})


@dataclass(frozen=True)
class SignatureContext:
    """What a signature is judged against: trusted roots (DER), the moment of capture
    (tz-aware), whether OCSP responses and CRLs may be fetched over HTTP, and certificates
    that may complete a path (DER, e.g. intermediates the sender published)."""

    trust_roots: tuple[bytes, ...]
    moment: datetime
    fetch_revocation: bool = False
    other_certificates: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.moment.utcoffset() is None:
            raise ConfigurationError("signature checks need a tz-aware moment")
        for der in (*self.trust_roots, *self.other_certificates):
            _certificate(der, "a trust root or other certificate")


@dataclass(frozen=True)
class SignatureCheck:
    """The verdict on one signature at capture, and the evidence it rests on."""

    kind: Kind
    status: Status
    reason: str  # one line
    signer: str | None = None  # the signing certificate's subject, CN and O
    signed_at: datetime | None = None  # claimed: XAdES SigningTime, PDF /M or timestamp
    certificates: tuple[bytes, ...] = ()  # DER, the path used: signer first, root last
    revocation: tuple[bytes, ...] = ()  # DER OCSP responses and CRLs obtained then
    label: str | None = None  # ds:Signature/@Id, or the PDF signature field's name

    def __post_init__(self) -> None:
        # Reasons quote library messages, which may run over several lines.
        reason = " ".join(self.reason.split())
        object.__setattr__(self, "reason", reason[:MAX_REASON] if reason else "no reason")

    def as_dict(self) -> dict[str, Any]:
        """For --json and the unit's record: DER as base64."""
        return {"kind": self.kind, "status": self.status, "reason": self.reason,
                "signer": self.signer, "label": self.label,
                "signed_at": self.signed_at.isoformat() if self.signed_at else None,
                "certificates": [base64.b64encode(der).decode() for der in self.certificates],
                "revocation": [base64.b64encode(der).decode() for der in self.revocation]}


@dataclass(frozen=True)
class _Verdict:
    status: Status
    reason: str


@dataclass(frozen=True)
class _Trust:
    """The signing certificate as judged by pyhanko-certvalidator."""

    verdict: _Verdict
    certificates: tuple[bytes, ...]
    revocation: tuple[bytes, ...]


@dataclass(frozen=True)
class _Embedded:
    """Certificates and revocation data the document itself carries."""

    certificates: tuple[x509.Certificate, ...] = ()
    ocsps: tuple[ocsp.OCSPResponse, ...] = ()
    crls: tuple[crl.CertificateList, ...] = ()


def _certificate(der: bytes, what: str) -> x509.Certificate:
    try:
        certificate = x509.Certificate.load(der, strict=True)
        certificate.native  # noqa: B018 - asn1crypto parses lazily: force it here
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{what} is not a DER certificate: {exc}") from exc
    return certificate


def _name(certificate: x509.Certificate) -> str:
    """CN=..., O=... of a certificate's subject."""
    return _short(certificate.subject)


def _short(name: x509.Name) -> str:
    """CN=..., O=... of a distinguished name, or all of it when it has neither."""
    native = name.native
    parts = [f"{key}={native[attribute]}" for key, attribute in
             (("CN", "common_name"), ("O", "organization_name")) if native.get(attribute)]
    return ", ".join(parts) or name.human_friendly


# --- certificate path and revocation, for both formats -------------------------------

def _validation_context(context: SignatureContext, embedded: _Embedded) -> ValidationContext:
    # hard-fail: a certificate that names a CRL or OCSP responder needs its answer, else
    # trust is indeterminate. Revocation data issued just after `moment` counts: fetched
    # at capture, it says whether the certificate was revoked then.
    backend = (RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT, limits=FETCH_LIMITS)
               if context.fetch_revocation else None)
    return ValidationContext(
        trust_roots=[x509.Certificate.load(der) for der in context.trust_roots],
        other_certs=[*embedded.certificates,
                     *(x509.Certificate.load(der) for der in context.other_certificates)],
        crls=list(embedded.crls), ocsps=list(embedded.ocsps), moment=context.moment,
        allow_fetching=context.fetch_revocation, fetcher_backend=backend,
        revocation_mode="hard-fail", retroactive_revinfo=True)


def _judge_certificate(signer: x509.Certificate, validation: ValidationContext) -> _Trust:
    """Path to a trusted root, validity and revocation at the context's moment, usage."""
    validator = CertificateValidator(signer, validation_context=validation)
    path: ValidationPath | None = None
    try:
        path = asyncio.run(validator.async_validate_path())
        verdict = _usage(signer) or _Verdict(
            "valid", "path to a trusted root, not revoked at the moment of capture")
    except PathValidationError as exc:
        path, verdict = exc.original_path, _path_failure(exc, signer)
    except PathBuildingError:
        verdict = _Verdict("indeterminate", f"no trusted root for {_name(signer)} (issued "
                                            f"by {_short(signer.issuer)})")
    except (ValidationError, ValueError, TypeError, LookupError) as exc:
        verdict = _Verdict("indeterminate", f"certificate of {_name(signer)} not usable: {exc}")
    return _Trust(verdict, _path_certificates(signer, path), _revocation(validation))


def _usage(signer: x509.Certificate) -> _Verdict | None:
    usage = signer.key_usage_value
    if usage is None or SIGNING_USAGES & set(usage.native):
        return None
    return _Verdict("indeterminate", f"certificate of {_name(signer)} is not for signatures "
                                     f"(key usage {', '.join(sorted(usage.native))})")


def _path_failure(exc: PathValidationError, signer: x509.Certificate) -> _Verdict:
    """ETSI EN 319 102-1: without proof of the signature's time, each is INDETERMINATE."""
    whose = f"certificate of {_name(signer)}" if exc.is_ee_cert else "a CA certificate"
    if isinstance(exc, RevokedError):
        revoked = f"{exc.revocation_dt:%Y-%m-%d %H:%M:%S} UTC"
        return _Verdict("indeterminate", f"{whose} revoked on {revoked} "
                                         f"({str(exc.reason.native).replace('_', ' ')})")
    if isinstance(exc, InsufficientRevinfoError):
        return _Verdict("indeterminate", f"revocation status unknown: {exc.failure_msg}")
    if isinstance(exc, ExpiredError):
        return _Verdict("indeterminate", f"{whose} expired on {exc.expired_dt:%Y-%m-%d}")
    if isinstance(exc, NotYetValidError):
        return _Verdict("indeterminate", f"{whose} not valid before {exc.valid_from:%Y-%m-%d}")
    if isinstance(exc, DisallowedAlgorithmError):
        return _Verdict("indeterminate", f"weak algorithm in the path: {exc.failure_msg}")
    return _Verdict("indeterminate", f"certificate path not valid: {exc.failure_msg}")


def _path_certificates(signer: x509.Certificate,
                       path: ValidationPath | None) -> tuple[bytes, ...]:
    certificates = list(path.iter_certs(include_root=True))[::-1] if path else [signer]
    return tuple(dict.fromkeys(c.dump() for c in certificates))


def _revocation(validation: ValidationContext) -> tuple[bytes, ...]:
    return tuple(dict.fromkeys([*(o.dump() for o in validation.ocsps),
                                *(c.dump() for c in validation.crls)]))


# --- XAdES in XML -------------------------------------------------------------------

def check_xml_signatures(data: bytes, context: SignatureContext) -> list[SignatureCheck]:
    """Every ds:Signature in the document, in document order; [] when there is none.

    Raises RejectedInput for bytes that are not well-formed XML or carry a DOCTYPE."""
    root = _parse(data)
    signatures = _signatures(root)
    checks = [_check_xml_signature(data, root, index, signature, context)
              for index, signature in enumerate(signatures[:MAX_SIGNATURES])]
    checks += [SignatureCheck("xades", "indeterminate", f"not checked: more than "
                              f"{MAX_SIGNATURES} signatures in the document",
                              label=signature.get("Id"))
               for signature in signatures[MAX_SIGNATURES:]]
    return checks


def _parser() -> etree.XMLParser:
    # No entities, no DTD, no network; lxml's default limits on depth and size stay on.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False)


def _parse(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise RejectedInput(f"not well-formed XML: {exc}") from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise RejectedInput("XML with a DOCTYPE is refused (entities, external DTDs)")
    return root


def _signatures(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(SIGNATURE))  # the root itself too, if it is one


def _check_xml_signature(data: bytes, root: etree._Element, index: int,
                         signature: etree._Element, context: SignatureContext) -> SignatureCheck:
    label = signature.get("Id")
    shape = _shape_problem(root, signature)
    if shape is not None:
        return SignatureCheck("xades", shape.status, shape.reason, label=label)
    try:
        embedded = _xml_embedded(signature)
    except ValueError as exc:
        return SignatureCheck("xades", "invalid", f"unreadable certificate or revocation "
                                                  f"data in the signature: {exc}", label=label)
    candidates = [*embedded.certificates,
                  *(x509.Certificate.load(der) for der in context.other_certificates)]
    signer = _xml_signer(signature, candidates)
    if signer is None:
        return SignatureCheck("xades", "indeterminate", "the signing certificate is neither "
                              "in the signature nor among the known certificates", label=label)
    crypto, signed_at = _verify_xml(data, index, signature, signer)
    if crypto is None:
        crypto = _coverage_problem(root, signature)
    if crypto is not None:
        return SignatureCheck("xades", crypto.status, crypto.reason, _name(signer), signed_at,
                              (signer.dump(),), label=label)
    trust = _judge_certificate(signer, _validation_context(context, embedded))
    return SignatureCheck("xades", trust.verdict.status, trust.verdict.reason, _name(signer),
                          signed_at, trust.certificates, trust.revocation, label)


def _shape_problem(root: etree._Element, signature: etree._Element) -> _Verdict | None:
    """What this module does not accept before any cryptography: an enveloping signature,
    references to other documents or with transforms that could leave content unsigned,
    weak algorithms."""
    if signature is root:
        return _Verdict("indeterminate", "enveloping signature (the document is the "
                                         "signature): not supported")
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    if not references:
        return _Verdict("invalid", "not an XML signature: no ds:SignedInfo/ds:Reference")
    if len(references) > MAX_REFERENCES:
        return _Verdict("indeterminate", f"{len(references)} references: more than "
                                         f"{MAX_REFERENCES} are not checked")
    for reference in references:
        problem = _reference_problem(reference)
        if problem is not None:
            return problem
    return _target_problem(signature) or _weak_algorithm(signature)


def _reference_problem(reference: etree._Element) -> _Verdict | None:
    uri = reference.get("URI")
    if uri is None or (uri and not uri.startswith("#")) or uri.startswith("#xpointer("):
        return _Verdict("invalid", f"reference {uri!r} does not name an element of this "
                                   "document")
    for transform in reference.findall("ds:Transforms/ds:Transform", NS):
        algorithm = transform.get("Algorithm")
        if algorithm not in ALLOWED_TRANSFORMS:
            return _Verdict("invalid", f"reference {uri!r} uses the transform {algorithm}, "
                                       "which may leave content unsigned")
    return None


def _target_problem(signature: etree._Element) -> _Verdict | None:
    """ETSI EN 319 132-1 §4.3.1: QualifyingProperties names the signature it qualifies."""
    target = signature.xpath("ds:Object/xades:QualifyingProperties/@Target", namespaces=NS)
    if not target or target == [f"#{signature.get('Id')}"]:
        return None
    return _Verdict("invalid", f"the XAdES properties qualify another signature ({target[0]!r})")


def _weak_algorithm(signature: etree._Element) -> _Verdict | None:
    algorithms = [method.get("Algorithm") or "" for method in signature.iterfind(
        "ds:SignedInfo//*[@Algorithm]", NS)]
    weak = [a for a in algorithms if any(w in a.rsplit("#", 1)[-1].lower()
                                         for w in WEAK_ALGORITHMS)]
    if weak:
        return _Verdict("indeterminate", f"weak algorithm {weak[0]} (SHA-1 and MD5 are no "
                                         "longer accepted)")
    return None


def _xml_embedded(signature: etree._Element) -> _Embedded:
    """Certificates in ds:KeyInfo and XAdES CertificateValues, revocation data in XAdES
    RevocationValues (XAdES-LT); ValueError for any that cannot be read."""
    values = "ds:Object/xades:QualifyingProperties/xades:UnsignedProperties/" \
             "xades:UnsignedSignatureProperties/"
    certificates = [*_values(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate"),
                    *_values(signature, values + "xades:CertificateValues/"
                                                 "xades:EncapsulatedX509Certificate")]
    ocsps = _values(signature, values + "xades:RevocationValues/xades:OCSPValues/"
                                        "xades:EncapsulatedOCSPValue")
    crls = _values(signature, values + "xades:RevocationValues/xades:CRLValues/"
                                       "xades:EncapsulatedCRLValue")
    return _Embedded(tuple(_loaded(x509.Certificate, der) for der in certificates),
                     tuple(_loaded(ocsp.OCSPResponse, der) for der in ocsps),
                     tuple(_loaded(crl.CertificateList, der) for der in crls))


def _values(signature: etree._Element, path: str) -> list[bytes]:
    try:
        return [base64.b64decode("".join((e.text or "").split()), validate=True)
                for e in signature.iterfind(path, NS)]
    except binascii.Error as exc:
        raise ValueError(f"not base64: {exc}") from exc


def _loaded(kind: Any, der: bytes) -> Any:
    """An asn1crypto value parsed completely now (it parses lazily), or ValueError."""
    try:
        value = kind.load(der, strict=True)
        value.native  # noqa: B018 - forces the parse
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"not a DER {kind.__name__}: {exc}") from exc
    return value


def _xml_signer(signature: etree._Element,
                candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """XAdES: the certificate whose digest SigningCertificate(V2) names first; XMLDSig:
    the first in ds:KeyInfo. signxml then proves it: the signature value must verify with
    it, and XAdESVerifier compares the digest again."""
    digest = signature.find("ds:Object/xades:QualifyingProperties/xades:SignedProperties/"
                            "xades:SignedSignatureProperties/*/xades:Cert/xades:CertDigest", NS)
    if digest is None:
        return candidates[0] if candidates and not _is_xades(signature) else None
    method = digest.find("ds:DigestMethod", NS)
    value = digest.findtext("ds:DigestValue", namespaces=NS) or ""
    algorithm = (method.get("Algorithm") or "") if method is not None else ""
    name = algorithm.rsplit("#", 1)[-1].replace("-", "")  # sha256, sha512, sha1
    for certificate in candidates:
        hashed = _fingerprint(certificate, name)
        if hashed is not None and base64.b64encode(hashed).decode() == "".join(value.split()):
            return certificate
    return None


def _fingerprint(certificate: x509.Certificate, algorithm: str) -> bytes | None:
    try:
        return hashlib.new(algorithm, certificate.dump()).digest()
    except ValueError:  # not a hash hashlib knows
        return None


def _is_xades(signature: etree._Element) -> bool:
    return signature.find("ds:Object/xades:QualifyingProperties", NS) is not None


class _OneSignature:
    """signxml verifies the first ds:Signature under a location path; this one verifies
    the index-th of the document (in the copies signxml makes of it too), so that each
    enveloped transform removes the signature being verified and no other."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self._index = index

    def _get_signature(self, root: etree._Element) -> etree._Element:
        return _signatures(root)[self._index]


class _OneXadesSignature(_OneSignature, XAdESVerifier):
    pass


class _OneXmlSignature(_OneSignature, XMLVerifier):
    pass


# What signxml and lxml raise for signatures they cannot make sense of; each is a verdict.
_SIGNXML_FAILURES = (SignXMLException, CryptoInvalidSignature, UnsupportedAlgorithm,
                     etree.LxmlError, ValueError, TypeError, LookupError, AttributeError,
                     NotImplementedError)


def _verify_xml(data: bytes, index: int, signature: etree._Element,
                signer: x509.Certificate) -> tuple[_Verdict | None, datetime | None]:
    """signxml's verdict on the cryptography (None: it holds), and the signing time."""
    xades = _is_xades(signature)
    verifier = _OneXadesSignature(index) if xades else _OneXmlSignature(index)
    try:
        certificate = cx509.load_der_x509_certificate(signer.dump())
        # The certificate's validity at `moment` is certvalidator's to judge; signxml is
        # asked about a time inside the validity period, so it checks the cryptography only.
        inside = certificate.not_valid_before_utc
        config = (XAdESSignatureConfiguration(expect_references=True, verification_time=inside)
                  if xades else SignatureConfiguration(expect_references=True,
                                                       verification_time=inside))
        results = verifier.verify(data, x509_cert=certificate, expect_config=config,
                                  parser=_parser())
    except _SIGNXML_FAILURES as exc:
        return _xml_failure(exc), _claimed_signing_time(signature)
    return None, _signing_time(results if isinstance(results, list) else [results])


def _xml_failure(exc: Exception) -> _Verdict:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, InvalidDigest) and "certificate" in message:
        return _Verdict("invalid", "the signing certificate is not the one the signed "
                                   "properties name")
    if isinstance(exc, InvalidDigest):
        return _Verdict("invalid", f"digest of the signed content does not match ({message})")
    if isinstance(exc, XmlInvalidSignature | CryptoInvalidSignature):
        return _Verdict("invalid", "signature value does not verify with the signing "
                                   "certificate's key")
    if isinstance(exc, etree.DocumentInvalid):
        return _Verdict("invalid", f"not a valid XML signature (schema): {message}")
    if isinstance(exc, InvalidInput):
        return _Verdict("invalid", f"not a usable XML signature: {message}")
    return _Verdict("invalid", f"not a usable XML signature ({type(exc).__name__}: {message})")


def _signing_time(results: Iterable[Any]) -> datetime | None:
    for result in results:
        if isinstance(result, XAdESVerifyResult):
            return _datetime(result.signed_properties.findtext("xades:SigningTime",
                                                               namespaces=NS))
    return None


def _claimed_signing_time(signature: etree._Element) -> datetime | None:
    """The SigningTime of a signature that did not verify: a claim, shown as such."""
    return _datetime(signature.findtext(
        "ds:Object/xades:QualifyingProperties/xades:SignedProperties/"
        "xades:SignedSignatureProperties/xades:SigningTime", namespaces=NS))


def _datetime(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    # xsd:dateTime without a zone is read as UTC
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _coverage_problem(root: etree._Element, signature: etree._Element) -> _Verdict | None:
    """After signxml: invalid when content of the document lies outside every element the
    signature's references name (signatures themselves aside)."""
    signed = {_referenced(root, r.get("URI") or "")
              for r in signature.iterfind("ds:SignedInfo/ds:Reference", NS)}
    signed.discard(None)
    ancestors = {a for element in signed if element is not None
                 for a in element.iterancestors()}
    outside = _uncovered(root, signed, ancestors)
    if outside is None:
        return None
    return _Verdict("invalid", f"the signature does not cover <{etree.QName(outside).localname}>"
                               " (content outside its references)")


def _referenced(root: etree._Element, uri: str) -> etree._Element | None:
    """The element a same-document reference names, resolved as signxml resolves it."""
    if uri == "":
        return root
    for attribute in ID_ATTRIBUTES:
        found = root.xpath(f"//*[@*[local-name() = '{attribute}'] = $id]", id=uri[1:])
        if isinstance(found, list) and len(found) == 1 and isinstance(found[0], etree._Element):
            return found[0]
    return None


def _uncovered(element: etree._Element, signed: set[etree._Element | None],
               ancestors: set[etree._Element]) -> etree._Element | None:
    """The first element not inside a signed one, where the signed ones' ancestors may
    hold nothing of their own (attributes, text) besides them."""
    if element in signed or element.tag == SIGNATURE:
        return None
    own_text = (element.text or "").strip() or any((c.tail or "").strip() for c in element)
    if element not in ancestors or element.attrib or own_text:
        return element
    for child in element.iterchildren(etree.Element):
        outside = _uncovered(child, signed, ancestors)
        if outside is not None:
            return outside
    return None


# --- PAdES in PDFs ------------------------------------------------------------------

# What pyhanko raises for PDFs and signatures it cannot read (zlib: a damaged stream).
_PDF_FAILURES = (PdfError, SignatureValidationError, ValueError, TypeError, LookupError,
                 AttributeError, NotImplementedError, zlib.error)

def check_pdf_signatures(data: bytes, context: SignatureContext) -> list[SignatureCheck]:
    """Every signed signature field of the PDF, in signing order; [] when there is none.
    Document timestamps are not signatures of a signer and are not reported.

    Raises RejectedInput for bytes pyhanko cannot read as a PDF."""
    reader = _pdf_reader(data)
    try:
        signatures = list(reader.embedded_regular_signatures)
        filled = [name for name, _, _ in enumerate_sig_fields(reader, filled_status=True)]
    except _PDF_FAILURES as exc:
        return [SignatureCheck("pades", "invalid", f"signature fields unreadable: {exc}")]
    embedded = _document_security_store(reader)
    checks = [_check_pdf_signature(signature, context, embedded)
              for signature in signatures[:MAX_SIGNATURES]]
    return checks + list(_unchecked(signatures, filled, reader))


def _pdf_reader(data: bytes) -> PdfFileReader:
    try:
        reader = PdfFileReader(BytesIO(data))
        if reader.encrypted and reader.decrypt("").status == AuthStatus.FAILED:
            raise RejectedInput("encrypted PDF: its signatures cannot be checked without "
                                "the password")
    except _PDF_FAILURES as exc:
        raise RejectedInput(f"not a PDF that can be read: {exc}") from exc
    return reader


def _unchecked(signatures: Sequence[EmbeddedPdfSignature], filled: Sequence[str],
               reader: PdfFileReader) -> Iterator[SignatureCheck]:
    """Signatures beyond MAX_SIGNATURES, and signed fields pyhanko does not validate
    (a SubFilter it does not know)."""
    for signature in signatures[MAX_SIGNATURES:]:
        yield SignatureCheck("pades", "indeterminate", f"not checked: more than "
                             f"{MAX_SIGNATURES} signatures in the PDF",
                             label=signature.field_name)
    known = {signature.field_name for signature in reader.embedded_signatures}
    for name in filled:
        if name not in known:
            yield SignatureCheck("pades", "indeterminate", "signature format (SubFilter) "
                                 "not supported", label=name)


def _document_security_store(reader: PdfFileReader) -> _Embedded:
    """Certificates, OCSP responses and CRLs in the PDF's DSS (PAdES-LT); unreadable
    entries are left out (validation then goes without them)."""
    try:
        store = DocumentSecurityStore.read_dss(reader)
        certificates = tuple(store.load_certs())
        ocsps = tuple(ocsp.OCSPResponse.load(r.get_object().data) for r in store.ocsps)
        crls = tuple(crl.CertificateList.load(r.get_object().data) for r in store.crls)
    except NoDSSFoundError:
        return _Embedded()
    except _PDF_FAILURES:
        return _Embedded()
    return _Embedded(certificates, ocsps, crls)


def _check_pdf_signature(signature: EmbeddedPdfSignature, context: SignatureContext,
                         embedded: _Embedded) -> SignatureCheck:
    label = signature.field_name
    validation = _validation_context(context, embedded)
    try:
        status = validate_pdf_signature(
            signature, signer_validation_context=validation,
            key_usage_settings=KeyUsageConstraints(key_usage=set(SIGNING_USAGES)))
    except _PDF_FAILURES as exc:
        return SignatureCheck("pades", "invalid", f"signature unreadable: {exc}", label=label)
    signer = status.signing_cert
    signed_at = _pdf_signing_time(status)
    problem = _pdf_problem(status)
    if problem is not None:
        return SignatureCheck("pades", problem.status, problem.reason, _name(signer),
                              signed_at, (signer.dump(),), _revocation(validation), label)
    if status.trusted:
        trust = _Trust(_Verdict("valid", f"{_modifications(status)}; path to a trusted root, "
                                         "not revoked at the moment of capture"),
                       _path_certificates(signer, status.validation_path),
                       _revocation(validation))
    else:
        trust = _pdf_distrust(status, validation)
    return SignatureCheck("pades", trust.verdict.status, trust.verdict.reason, _name(signer),
                          signed_at, trust.certificates, trust.revocation, label)


def _pdf_problem(status: PdfSignatureStatus) -> _Verdict | None:
    """What makes a PDF signature invalid whatever its certificate: the content, the
    signature value, changes after signing, its timestamp."""
    if not status.intact:
        return _Verdict("invalid", "digest of the signed content does not match")
    if not status.valid:
        return _Verdict("invalid", "signature value does not verify with the signer's "
                                   "certificate")
    if isinstance(status.diff_result, SuspiciousModification):
        return _Verdict("invalid", f"document modified after signing: {status.diff_result}")
    if status.modification_level == ModificationLevel.OTHER:
        return _Verdict("invalid", "document modified after signing (beyond form filling, "
                                   "annotations and validation data)")
    if status.docmdp_ok is False:
        return _Verdict("invalid", "changes after signing exceed what the signature's "
                                   "modification policy (DocMDP) permits")
    if status.seed_value_constraint_error is not None:
        return _Verdict("invalid", f"seed value constraints not met: "
                                   f"{status.seed_value_constraint_error}")
    timestamp = status.timestamp_validity
    if timestamp is not None and not (timestamp.intact and timestamp.valid):
        return _Verdict("invalid", "the signature timestamp does not match the signature")
    if timestamp is not None and not timestamp.trusted:
        return _Verdict("indeterminate", "the signature timestamp's TSA is not trusted")
    return None


def _pdf_distrust(status: PdfSignatureStatus, validation: ValidationContext) -> _Trust:
    """Why pyhanko does not trust the signer: asked of certvalidator again (with what
    pyhanko fetched already), since pyhanko keeps only the sub-indication."""
    trust = _judge_certificate(status.signing_cert, validation)
    if trust.verdict.status != "valid":
        return trust
    indication = status.trust_problem_indic
    named = indication.standard_name if indication is not None else "no validation path"
    return _Trust(_Verdict("indeterminate", f"certificate of {_name(status.signing_cert)} "
                                            f"not accepted for signatures ({named})"),
                  trust.certificates, trust.revocation)


def _pdf_signing_time(status: PdfSignatureStatus) -> datetime | None:
    timestamp = status.timestamp_validity
    if timestamp is not None and timestamp.trusted:
        return timestamp.timestamp
    return status.signer_reported_dt


def _modifications(status: PdfSignatureStatus) -> str:
    return {ModificationLevel.LTA_UPDATES: "only validation data added after signing",
            ModificationLevel.FORM_FILLING: "form fields filled in after signing",
            ModificationLevel.ANNOTATIONS: "annotations added after signing",
            }.get(status.modification_level or ModificationLevel.NONE,
                  "no changes after signing")
