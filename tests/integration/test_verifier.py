"""What the offline verifier tells an auditor: never PASSED when it should not be, never a
proven time unless PASSED, and every step coded. Records come from the embedded default's
development TSA; the cases that need revocation data are in test_verifier_revocation.py."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env

from hramba.config import load_settings
from hramba.core.types import FixedClock
from hramba.domain.hashtree import Leaf, build_tree, root_of
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.evidence import export_evidence
from hramba.services.renewal import renew
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, add_tenant
from hramba.trust.certs import load_certificates
from hramba.trust.evidence import DataGroup, EvidenceReport, verify_evidence
from hramba.trust.report import Status, Trust
from hramba.wiring import init_archive

SEALED_AT = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)
FILES = ("racun.xml", "Priloga1.pdf", "Priloga2.pdf", "Priloga3.pdf")


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[tuple[Archive, str]]:
    """One sealed unit of five files (four and the manifest) on the embedded default."""
    archive = init_archive(load_settings(home=str(tmp_path / "home"), environ={}),
                           FixedClock(SEALED_AT))
    add_tenant(archive, NewTenant("OBCINA1", "SI21423512", "Občina Primer", "production"))
    unit_id = archive_unit(archive, "OBCINA1", [
        IncomingFile(name, "invoice" if i == 0 else "attachment", "application/xml",
                     lambda i=i: io.BytesIO(f"<file n='{i}'/>".encode()))
        for i, name in enumerate(FILES)]).unit_id
    seal(archive)
    yield archive, unit_id
    archive.close()


@pytest.fixture
def exported(sealed: tuple[Archive, str], tmp_path: Path) -> Path:
    """That unit exported for an auditor."""
    return export_evidence(*sealed, tmp_path / "export")


def verify(out: Path, files: list[Path] | None = None, *, accept_unqualified: bool = True,
           at: datetime | None = None, record: bytes | None = None) -> EvidenceReport:
    trust = Trust(load_certificates(out / "validation" / "trust-anchors.pem", "anchors"),
                  accept_unqualified=accept_unqualified)
    group = DataGroup.of_paths(files if files is not None else sorted((out / "data").iterdir()))
    return verify_evidence(record or (out / "evidence.ers").read_bytes(), group, trust,
                           at or SEALED_AT + timedelta(days=1))


def statuses(report: EvidenceReport) -> dict[str, Status]:
    return {c.code: c.status for c in report.checks}


def test_the_whole_data_group_passes_with_a_proven_time(exported: Path) -> None:
    report = verify(exported)
    assert report.result is Status.PASSED, report.as_dict()
    assert report.proven_at == SEALED_AT
    assert len(report.digests) == 5
    assert report.tokens[0].gen_time == SEALED_AT
    assert not report.tokens[0].qualified


@pytest.mark.parametrize("given", [1, 2, 4])
def test_a_part_of_the_data_group_fails(exported: Path, given: int) -> None:
    files = sorted((exported / "data").iterdir())[:given]
    report = verify(exported, files)
    assert report.result is Status.FAILED
    assert statuses(report)["HRB-E002"] is Status.FAILED
    assert report.proven_at is None
    assert report.as_dict()["proven_existence"] is None


def test_a_single_document_record_stays_valid() -> None:
    """A leaf of one document: [hash, neighbour] first (Bouncy Castle's layout) or alone."""
    doc, *group = (bytes([n]) * 32 for n in (1, 2, 3, 4))
    tree = build_tree([Leaf("doc", (doc,)), Leaf("group", tuple(group))])
    assert root_of([doc], tree.reduced["doc"]) == tree.root
    assert root_of(group, tree.reduced["group"]) == tree.root
    with pytest.raises(ValueError, match="holds 3 hashes: this file is not a whole data"):
        root_of(group[:1], tree.reduced["group"])
    alone = build_tree([Leaf("doc", (doc,))])
    assert root_of([doc], alone.reduced["doc"] or [[doc]]) == alone.root


def test_an_unqualified_token_is_indeterminate_unless_accepted(exported: Path) -> None:
    report = verify(exported, accept_unqualified=False)
    assert report.result is Status.INDETERMINATE
    assert statuses(report)["HRB-E014"] is Status.INDETERMINATE
    assert report.proven_at is None
    assert "NOT qualified" in next(c.detail for c in report.checks if c.code == "HRB-E014")


def test_a_forged_signature_fails_and_proves_nothing(exported: Path) -> None:
    record = bytearray((exported / "evidence.ers").read_bytes())
    record[-40] ^= 0x01  # inside the token's signature value, the record's last bytes
    report = verify(exported, record=bytes(record))
    assert report.result is Status.FAILED
    assert statuses(report)["HRB-E015"] is Status.FAILED
    assert report.proven_at is None
    assert report.as_dict()["claimed_times"] == [SEALED_AT.isoformat()]


def test_before_the_first_timestamp_nothing_existed(exported: Path) -> None:
    report = verify(exported, at=SEALED_AT - timedelta(seconds=1))
    assert report.result is Status.FAILED
    assert [c.code for c in report.checks] == ["HRB-E005"]
    assert verify(exported, at=SEALED_AT).passed


def test_timestamps_made_after_the_time_judged_are_not_used(
        sealed: tuple[Archive, str], tmp_path: Path) -> None:
    archive, unit_id = sealed
    assert isinstance(archive.clock, FixedClock)  # the development TSA's clock too
    archive.clock.at = SEALED_AT + timedelta(days=30)
    archive.sealing.algorithm = "sha512"  # a hash-tree renewal: a second chain, 30 days on
    assert renew(archive, weak_algorithms=["sha256"]).renewed == 1
    out = export_evidence(archive, unit_id, tmp_path / "renewed")
    before = verify(out, at=SEALED_AT + timedelta(days=1))
    assert before.passed, before.as_dict()
    assert len(before.tokens) == 1
    assert any(c.code == "HRB-E005" and "1 later timestamp" in c.detail for c in before.checks)
    after = verify(out, at=SEALED_AT + timedelta(days=31))
    assert after.passed
    assert [t.gen_time for t in after.tokens] == [SEALED_AT, SEALED_AT + timedelta(days=30)]
    assert statuses(after)["HRB-E004"] is Status.PASSED


def test_the_cli_prints_codes_tokens_and_claims(exported: Path, tmp_path: Path) -> None:
    auditor = Cli(tmp_path / "none", clean_env())
    args = ["verify-evidence", "--er", str(exported / "evidence.ers"), "--trust",
            str(exported / "validation" / "trust-anchors.pem"),
            *map(str, sorted((exported / "data").iterdir()))]
    undecided = auditor(*args, "--at", "2026-03-06", check=False)
    assert undecided.code == 1
    assert "INDETERMINATE HRB-E014" in undecided.out
    assert "nothing is proven; the tokens claim 2026-03-05 10:30:00 UTC" in undecided.out
    passed = auditor(*args, "--at", "2026-03-06", "--accept-unqualified",
                     "--validation", str(exported / "validation"), "--json").json()
    assert passed["result"] == "PASSED"
    assert passed["proven_existence"] == SEALED_AT.isoformat()
    assert passed["tokens"][0]["serial_number"]
    assert {c["code"] for c in passed["checks"]} >= {"HRB-E002", "HRB-E015", "HRB-E018"}
    one = auditor(*args[:5], args[5], "--accept-unqualified", check=False)
    assert one.code == 1
    assert "FAILED        HRB-E002" in one.out
    policy = auditor(*args, "--accept-unqualified", "--policy", "1.2.3.4", check=False)
    assert "FAILED        HRB-E013" in policy.out



def test_sha2_algorithm_identifiers_are_written_without_parameters(exported: Path) -> None:
    """RFC 5754 §2: absent, not NULL, in the record and the development TSA's token."""
    sha256_oid = bytes.fromhex("0609608648016503040201")
    record = (exported / "evidence.ers").read_bytes()
    # digestAlgorithms, the ArchiveTimeStamp, the imprint, SignedData and SignerInfo
    assert record.count(sha256_oid) >= 5
    assert sha256_oid + b"\x05\x00" not in record
