"""Sealing against real TSAs: one request per batch, Evidence Records that our verifier and
Bouncy Castle accept, and that both refuse once anything is changed."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from plugins.bouncycastle import BcVerify
from plugins.services import free_port
from plugins.tsa import TsaServer, loopback_http, timestamp_query

from hramba.core.errors import ConfigurationError, IntegrityViolation
from hramba.core.types import ObjectKey
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive, Sealing
from hramba.services.evidence import current_record, export_evidence, verify_unit
from hramba.services.fixity import run_fixity
from hramba.services.seal import count_pending, seal
from hramba.services.units import show_unit
from hramba.trust.certs import load_certificates, to_pem
from hramba.trust.ers import read_evidence_record
from hramba.trust.evidence import DataGroup, verify_evidence
from hramba.trust.report import Trust
from hramba.trust.tokens import check_token, signer_of
from hramba.trust.tsa import Rfc3161Timestamper

from . import tamper


class Counting:
    """The real timestamper, counting requests."""

    def __init__(self, inner: Rfc3161Timestamper) -> None:
        self.inner, self.requests = inner, 0
        self.description = inner.description

    def timestamp(self, digest: bytes, algorithm: str) -> bytes:
        self.requests += 1
        return self.inner.timestamp(digest, algorithm)


def http_sealing(url: str, anchors: Path, *, accept_unqualified: bool = True) -> Sealing:
    """Sealing with a certomancer TSA; only `qualified_tsa` issues qualified tokens."""
    return Sealing(Counting(Rfc3161Timestamper(url, timeout=5)),
                   Trust(load_certificates(anchors, "anchors"),
                         accept_unqualified=accept_unqualified), batch_size=10_000)


def archive_units(archive: Archive, n: int) -> list[str]:
    return [archive_unit(archive, "OBCINA1", [
        IncomingFile(f"racun{i}.xml", "invoice", "application/xml",
                     lambda i=i: io.BytesIO(f"<Invoice n='{i}'>{'x' * 100}</Invoice>".encode())),
        IncomingFile(f"Priloga{i}.pdf", "attachment", "application/pdf",
                     lambda i=i: io.BytesIO(b"%PDF-1.4 " + bytes([i]) * 50)),
    ]).unit_id for i in range(n)]


@pytest.fixture
def sealed(archive: Archive, tsa_server: TsaServer) -> tuple[Archive, list[str]]:
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    units = archive_units(archive, 5)
    report = seal(archive)
    assert (report.batches, report.sealed, report.pending, report.error) == (1, 5, 0, None)
    return archive, units


def test_one_tsa_request_per_batch_and_every_record_verifies(
        sealed: tuple[Archive, list[str]]) -> None:
    archive, units = sealed
    assert isinstance(archive.sealing.timestamper, Counting)
    assert archive.sealing.timestamper.requests == 1
    for unit_id in units:
        report = verify_unit(archive, unit_id)
        assert report.passed, report.as_dict()
        assert report.proven_at is not None
    assert run_fixity(archive).ok  # the stored evidence records are known objects
    again = seal(archive)
    assert (again.sealed, again.tsa_requests) == (0, 0)


def test_bouncy_castle_accepts_ours_and_refuses_changes(
        sealed: tuple[Archive, list[str]], bc_verify: BcVerify, tmp_path: Path) -> None:
    archive, units = sealed
    exports = [export_evidence(archive, u, tmp_path / u) for u in units[:2]]
    validation = {p.suffix for p in (exports[0] / "validation").iterdir()}
    assert {".crl", ".ocsp"} & validation  # the TSA's revocation data is kept and exported
    evidence, batch = current_record(archive, units[0])
    signer = check_token(batch.token, bytes.fromhex(batch.root),
                         archive.sealing.trust).signer
    assert signer is not None
    cert = tmp_path / "tsa.pem"
    cert.write_text(to_pem([signer]))
    for unit_id in units:
        unit_files = sorted(export_evidence(archive, unit_id, tmp_path / "all" / unit_id)
                            .joinpath("data").iterdir())
        ok, said = bc_verify(current_record(archive, unit_id)[0].record, cert, unit_files)
        assert ok, said
    files = sorted((exports[0] / "data").iterdir())
    flipped = bytearray(evidence.record)
    flipped[-40] ^= 0x01  # inside the token's signature
    assert not bc_verify(bytes(flipped), cert, files)[0]
    other, _ = current_record(archive, units[1])
    swapped, said = bc_verify(other.record, cert, files)
    assert not swapped, said
    files[0].write_bytes(files[0].read_bytes() + b" ")
    changed, said = bc_verify(evidence.record, cert, files)
    assert not changed, said


def test_any_change_fails_our_verifier(sealed: tuple[Archive, list[str]]) -> None:
    archive, units = sealed
    first, second = current_record(archive, units[0])[0], current_record(archive, units[1])[0]
    trust = archive.sealing.trust
    members = DataGroup([partial(archive.store.open, ObjectKey(f["object_key"]))
                         for f in show_unit(archive, units[0])["files"]])
    assert verify_evidence(first.record, members, trust).passed
    assert not verify_evidence(second.record, members, trust).passed  # swapped records
    flipped = bytearray(first.record)
    flipped[-40] ^= 0x01  # inside the token's signature
    assert not verify_evidence(bytes(flipped), members, trust).passed
    key = ObjectKey(show_unit(archive, units[0])["files"][0]["object_key"])
    tamper.flip_byte(archive.store, key)
    # S3: a new version over the locked one, which the archive does not read (fixity
    # reports it, HRB-F006)
    assert verify_unit(archive, units[0]).passed is tamper.reads_recorded_bytes(
        archive.store, key)


def test_tsa_down_leaves_units_pending_and_a_later_run_seals_them(
        archive: Archive, tsa_server: TsaServer) -> None:
    archive.sealing = http_sealing(f"http://127.0.0.1:{free_port()}/tsa",
                                   tsa_server.trust_anchor)
    archive_units(archive, 3)
    report = seal(archive)
    assert (report.sealed, report.pending) == (0, 3)
    assert report.error is not None
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    assert seal(archive).sealed == 3
    assert count_pending(archive) == 0


def test_a_token_from_an_untrusted_tsa_is_refused(archive: Archive, tsa_server: TsaServer,
                                                  untrusted_tsa: TsaServer) -> None:
    archive.sealing = http_sealing(untrusted_tsa.url, tsa_server.trust_anchor)
    archive_units(archive, 2)
    with pytest.raises(IntegrityViolation, match="path to a trust anchor"):
        seal(archive)
    assert count_pending(archive) == 2


def test_a_token_from_a_revoked_tsa_is_refused(archive: Archive, revoked_tsa: TsaServer
                                               ) -> None:
    """Its token is well signed and chains to the anchor; only the revocation data fetched
    at sealing (the CRL and OCSP say: revoked since yesterday) shows it must be refused."""
    archive.sealing = http_sealing(revoked_tsa.url, revoked_tsa.trust_anchor)
    archive_units(archive, 2)
    with pytest.raises(IntegrityViolation, match="revoked"):
        seal(archive)
    assert count_pending(archive) == 2


@pytest.fixture
def replaying_tsa(tsa_server: TsaServer) -> Iterator[str]:
    """A TSA that answers every request with one old response (another nonce)."""
    old = loopback_http(tsa_server.url, timestamp_query(b"old", 12345),
                        "application/timestamp-query")

    class Replay(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(old)))
            self.end_headers()
            self.wfile.write(old)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Replay)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa"
    server.shutdown()
    server.server_close()


def test_a_token_with_a_wrong_nonce_is_refused(archive: Archive, tsa_server: TsaServer,
                                               replaying_tsa: str) -> None:
    archive.sealing = http_sealing(replaying_tsa, tsa_server.trust_anchor)
    archive_units(archive, 1)
    with pytest.raises(IntegrityViolation, match="wrong nonce"):
        seal(archive)
    assert count_pending(archive) == 1


def test_audit_verify_checks_each_batch_anchor(sealed: tuple[Archive, list[str]]) -> None:
    from sqlalchemy import text

    from hramba.services.audit import verify_chain

    archive, _ = sealed
    report = verify_chain(archive)
    assert report.ok, report.as_dict()
    assert report.counts["batch anchors"] == 1
    with archive.db.begin() as session:  # someone rewrites which event was anchored
        session.execute(text("UPDATE batches SET audit_seq = audit_seq - 1"))
    # ... and the events after it, now one more, are not yet anchored (info, no error)
    assert [f.code for f in verify_chain(archive).findings] == ["HRB-A004", "HRB-A006"]


def test_timestamp_renewal_before_the_tsa_certificate_expires(
        archive: Archive, tsa_server: TsaServer, short_lived_tsa: TsaServer,
        bc_verify: BcVerify, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from hramba.services.renewal import renew

    archive.sealing = http_sealing(short_lived_tsa.url, tsa_server.trust_anchor)
    units = archive_units(archive, 3)
    assert seal(archive).sealed == 3
    later = datetime.now(UTC) + timedelta(days=60)  # the short-lived certificate is gone
    assert verify_unit(archive, units[0]).passed
    before = verify_unit(archive, units[0], at=later)
    assert "FAILED" in {c.status.value for c in before.checks}  # expired by then

    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    report = renew(archive)
    assert (report.checked, report.renewed, report.tsa_requests) == (3, 3, 1)
    assert isinstance(archive.sealing.timestamper, Counting)
    assert archive.sealing.timestamper.requests == 1
    for unit_id in units:
        renewed = verify_unit(archive, unit_id)
        assert renewed.passed, renewed.as_dict()
        assert any(c.code == "HRB-E003" for c in renewed.checks)  # the renewal link
        at_later = verify_unit(archive, unit_id, at=later)  # the old certificate is gone
        assert at_later.passed, at_later.as_dict()
    assert renew(archive).renewed == 0  # the new certificate is good for years
    assert run_fixity(archive).ok  # old and new record versions are both known objects

    export = export_evidence(archive, units[0], tmp_path / "export")
    evidence, _ = current_record(archive, units[0])
    last = read_evidence_record(evidence.record)[-1][-1]
    signer = signer_of(last.token)
    assert signer is not None
    cert = tmp_path / "renewal-tsa.pem"
    cert.write_text(to_pem([signer]))
    ok, said = bc_verify(evidence.record, cert, sorted((export / "data").iterdir()))
    assert ok, said


def test_hash_tree_renewal_rehashes_the_data_into_a_new_chain(
        sealed: tuple[Archive, list[str]], bc_verify: BcVerify, tmp_path: Path) -> None:
    from hramba.services.audit import verify_chain
    from hramba.services.renewal import renew

    archive, units = sealed
    archive.sealing.algorithm = "sha512"
    report = renew(archive, weak_algorithms=["sha256"])
    assert (report.renewed, report.tsa_requests) == (5, 1)
    assert report.reasons == {"hash algorithm sha256 is weakening": 5}
    for unit_id in units:
        verified = verify_unit(archive, unit_id)
        assert verified.passed, verified.as_dict()
        assert any(c.code == "HRB-E004" and "sha512" in c.detail for c in verified.checks)
    evidence, _ = current_record(archive, units[0])
    chains = read_evidence_record(evidence.record)
    assert [[s.algorithm for s in chain] for chain in chains] == [["sha256"], ["sha512"]]
    assert renew(archive, weak_algorithms=["sha256"]).renewed == 0  # now sha512 throughout
    assert verify_chain(archive).ok
    export = export_evidence(archive, units[0], tmp_path / "export")
    signer = signer_of(chains[-1][-1].token)
    assert signer is not None
    cert = tmp_path / "tsa.pem"
    cert.write_text(to_pem([signer]))
    files = sorted((export / "data").iterdir())
    ok, said = bc_verify(evidence.record, cert, files)
    assert ok, said
    files[-1].write_bytes(files[-1].read_bytes() + b"\n")
    assert not bc_verify(evidence.record, cert, files)[0]


def test_a_token_under_a_policy_not_accepted_is_refused(archive: Archive,
                                                        tsa_server: TsaServer) -> None:
    sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    sealing.trust = Trust(sealing.trust.anchors, policies=["1.2.3.4.5"],
                          accept_unqualified=True)
    archive.sealing = sealing
    archive_units(archive, 1)
    with pytest.raises(IntegrityViolation, match="TSA policy is one of those accepted FAILED"):
        seal(archive)
    assert count_pending(archive) == 1


def test_records_carry_the_revocation_data_of_their_timestamps(
        sealed: tuple[Archive, list[str]]) -> None:
    """RFC 4998 cryptoInfos: the CRLs and OCSP responses kept with the batch travel in
    every record, so an exported record validates without the archive."""
    import base64

    from hramba.trust.ers import read_revocation

    archive, units = sealed
    evidence, batch = current_record(archive, units[0])
    kept = read_revocation(evidence.record)
    assert kept.crls or kept.ocsps
    assert set(kept.crls) == {base64.b64decode(c) for c in batch.revocation["crls"]}
    assert set(kept.ocsps) == {base64.b64decode(o) for o in batch.revocation["ocsps"]}


def test_unqualified_tokens_are_refused_unless_accepted(archive: Archive, tsa_server: TsaServer,
                                                         qualified_tsa: TsaServer) -> None:
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor,
                                   accept_unqualified=False)
    units = archive_units(archive, 1)
    with pytest.raises(ConfigurationError, match=r"tsa\.accept_unqualified"):
        seal(archive)
    assert count_pending(archive) == 1
    archive.sealing = http_sealing(qualified_tsa.url, qualified_tsa.trust_anchor,
                                   accept_unqualified=False)
    assert seal(archive).sealed == 1
    report = verify_unit(archive, units[0])
    assert report.passed, report.as_dict()
    assert report.tokens[0].qualified
    assert report.tokens[0].revocation  # the CRL or OCSP response it was judged with
    assert "qualified" in next(c.detail for c in report.checks if c.code == "HRB-E014")


def test_a_revoked_tsa_without_its_revocation_data_is_indeterminate_with_it_failed(
        revoked_tsa: TsaServer, tmp_path: Path) -> None:
    """The record's cryptoInfos stripped (or never there): nothing says the TSA was revoked
    before the token, so the verifier must not say PASSED; given the CRL, it says FAILED."""
    import secrets

    from asn1crypto import tsp

    from hramba.trust.ers import archive_time_stamp, evidence_record
    from hramba.trust.report import Status

    data = tmp_path / "invoice.xml"
    data.write_bytes(b"<Invoice/>")
    answer = revoked_tsa.request(timestamp_query(data.read_bytes(), secrets.randbits(63)))
    token = tsp.TimeStampResp.load(answer)["time_stamp_token"].dump()
    record = evidence_record([[archive_time_stamp([], token)]], ["sha256"])
    trust = Trust(load_certificates(revoked_tsa.trust_anchor, "anchors"),
                  accept_unqualified=True)
    group = DataGroup.of_paths([data])
    stripped = verify_evidence(record, group, trust)
    path = next(c for c in stripped.checks if c.code == "HRB-E018")
    assert (stripped.result, path.status) == (Status.INDETERMINATE, Status.INDETERMINATE), (
        stripped.as_dict())
    assert stripped.proven_at is None
    chain = load_certificates(revoked_tsa.chain, "chain")
    crls = [loopback_http(point.url) for cert in chain
            for point in cert.crl_distribution_points if point.url]
    assert len(crls) == 2  # the issuing CA's (the TSA is on it) and the root's
    judged = verify_evidence(record, group, trust.with_revocation(crls, [], "the CRLs"))
    assert judged.result is Status.FAILED, judged.as_dict()
    assert "revoked" in next(c.detail for c in judged.checks if c.code == "HRB-E018")
    assert judged.proven_at is None


def test_renewal_refuses_a_tsa_that_would_weaken_the_proof(
        archive: Archive, tsa_server: TsaServer, short_lived_tsa: TsaServer) -> None:
    """Sealed with the main TSA (3 years left), renewal as if 3 years had passed: the
    short-lived TSA (30 days) is refused, nothing is written; the main TSA's renewal holds,
    and a second run renews nothing."""
    from datetime import UTC, datetime, timedelta

    from hramba.services.renewal import renew

    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    units = archive_units(archive, 2)
    assert seal(archive).sealed == 2
    before = [current_record(archive, u)[0].record for u in units]
    archive.sealing = http_sealing(short_lived_tsa.url, tsa_server.trust_anchor)
    margin = timedelta(days=4 * 365)  # the main TSA's certificate expires within it
    with pytest.raises(ConfigurationError, match="refused as renewal TSA"):
        renew(archive, margin=margin)  # the short-lived one would be due itself at once
    assert [current_record(archive, u)[0].record for u in units] == before
    later = datetime.now(UTC) + timedelta(days=60)
    assert verify_unit(archive, units[0], at=later).passed  # the proof was not weakened
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    with pytest.raises(ConfigurationError, match="refused as renewal TSA"):
        renew(archive, margin=margin)  # the same certificate cannot outlive itself
    assert renew(archive, margin=timedelta(days=30)).renewed == 0
    assert [current_record(archive, u)[0].record for u in units] == before
