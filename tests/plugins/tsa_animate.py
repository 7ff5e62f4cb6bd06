"""certomancer's `animate`, with TSAs that answer as a current qualified TSA does.

certomancer binds the signer certificate with ESSCertID (v1, SHA-1), which e-hramba
refuses; here every token binds it with ESSCertIDv2 over SHA-256 instead (RFC 5816, as
ETSI EN 319 422 §5.2 asks). A TSA whose certificate's common name ends in "(qualified)"
also puts the qcStatement esi4-qtstStatement-1 into its TSTInfo extensions (ETSI EN 319
422 §9.1), which is what makes a token qualified. The response is re-signed with the
TSA's key; nothing else changes. Run: `python tsa_animate.py <certomancer arguments>`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from asn1crypto import cms, core, tsp
from certomancer import services
from certomancer.__main__ import launch

QC_STATEMENTS = "1.3.6.1.5.5.7.1.3"
QTST_STATEMENT = "0.4.0.19422.1.1"
QUALIFIED_MARK = "(qualified)"
_certomancer_response = services.TimeStamper.request_tsa_response


def _qualified(info: tsp.TSTInfo) -> tsp.TSTInfo:
    statements = core.SequenceOf(spec=core.Sequence)  # SEQUENCE OF QCStatement
    statements.append(core.Sequence(contents=core.ObjectIdentifier(QTST_STATEMENT).dump()))
    extension = tsp.Extensions._child_spec({  # the TSTInfo's own Extension type
        "extn_id": QC_STATEMENTS, "critical": False,
        "extn_value": statements.dump()})
    native: dict[str, Any] = {name: info[name] for name, _, *_ in info._fields
                              if info[name].native is not None}
    native["extensions"] = [extension]
    return tsp.TSTInfo(native)


def _attribute(kind: str, value: Any) -> cms.CMSAttribute:
    return cms.CMSAttribute({"type": kind, "values": [value]})


def request_tsa_response(self: services.TimeStamper, req: tsp.TimeStampReq
                         ) -> tsp.TimeStampResp:
    response = _certomancer_response(self, req)
    signed = response["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    if self.tsa_cert.subject.native.get("common_name", "").endswith(QUALIFIED_MARK):
        info = _qualified(info)
    content = info.dump()
    signer = signed["signer_infos"][0]
    digest = signer["digest_algorithm"]["algorithm"].native
    kept = [a for a in signer["signed_attrs"]
            if a["type"].native not in ("signing_certificate", "message_digest")]
    cert_id = tsp.ESSCertIDv2({"cert_hash": hashlib.sha256(self.tsa_cert.dump()).digest()})
    attrs = cms.CMSAttributes([
        *kept,
        _attribute("signing_certificate_v2", tsp.SigningCertificateV2({"certs": [cert_id]})),
        _attribute("message_digest", hashlib.new(digest, content).digest())])
    new_signer = cms.SignerInfo({
        **{name: signer[name] for name in ("version", "sid", "digest_algorithm",
                                           "signature_algorithm")},
        "signed_attrs": attrs,
        "signature": services.generic_sign(self.tsa_key, attrs.dump(), self.signature_algo)})
    new_signed = cms.SignedData({
        **{name: signed[name] for name in ("version", "digest_algorithms", "certificates")},
        "encap_content_info": {"content_type": "tst_info",
                               "content": cms.ParsableOctetString(content)},
        "signer_infos": [new_signer]})
    return tsp.TimeStampResp({"status": response["status"], "time_stamp_token": {
        "content_type": "signed_data", "content": new_signed}})


services.TimeStamper.request_tsa_response = request_tsa_response  # type: ignore[method-assign]

if __name__ == "__main__":
    launch()
