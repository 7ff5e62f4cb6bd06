"""The export's README.txt as an auditor follows it: every command it gives, run with bash
in the export folder, prints what the README says it will, for the first timestamp, a
timestamp renewal (RFC 4998 §5.2) and a hash-tree renewal (§5.3); and a changed file or
token makes its commands say so. Only OpenSSL and coreutils (grep for a tombstone)."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import NOW
from plugins.services import missing
from plugins.tsa import TsaServer

from hramba.core.types import FixedClock
from hramba.services import disposal
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.evidence import export_evidence
from hramba.services.renewal import renew
from hramba.services.seal import seal
from hramba.trust.certs import load_certificates
from hramba.trust.devtsa import YEARS, DevTimestamper, create_dev_tsa
from hramba.trust.ers import read_evidence_record
from hramba.trust.instructions import COMMAND, EXPECTED

from .principals import approve
from .test_seal import http_sealing

LOCAL = pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
DAY = timedelta(days=1)
# The development TSA's certificate runs YEARS: renewing a day later with a new one, this
# margin makes the old due and the new not (a renewal never takes a TSA due itself).
MARGIN = timedelta(days=365 * YEARS) - DAY / 2


@dataclass(frozen=True)
class Step:
    command: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    step: Step
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(e in self.stdout for e in self.step.expected)


def readme_steps(readme: str) -> list[Step]:
    """Each line starting with COMMAND, with the EXPECTED lines right after it."""
    lines = readme.splitlines()
    steps = []
    for n, line in enumerate(lines):
        if line.startswith(COMMAND):
            expected = []
            for following in lines[n + 1:]:
                if not following.startswith(EXPECTED):
                    break
                expected.append(following.removeprefix(EXPECTED))
            steps.append(Step(line.removeprefix(COMMAND), tuple(expected)))
    return steps


def run_readme(folder: Path) -> list[Outcome]:
    """Every command of folder/README.txt, in order, with bash in that folder."""
    if shutil.which("openssl") is None:
        missing("openssl is not installed")
    outcomes = []
    for step in readme_steps((folder / "README.txt").read_text("utf-8")):
        done = subprocess.run(["bash", "-c", step.command], cwd=folder, capture_output=True,
                              text=True, timeout=60)
        outcomes.append(Outcome(step, done.returncode, done.stdout, done.stderr))
    return outcomes


def failures(outcomes: list[Outcome]) -> list[str]:
    return [f"$ {o.step.command}\n  expected {o.step.expected}\n  exit {o.returncode}\n"
            f"  stdout: {o.stdout[-800:]}\n  stderr: {o.stderr[-800:]}"
            for o in outcomes if not o.ok]


def archive_invoices(archive: Archive, n: int) -> list[str]:
    return [archive_unit(archive, "OBCINA1", [
        IncomingFile(f"racun{i}.xml", "invoice", "application/xml",
                     lambda i=i: io.BytesIO(f"<Invoice n='{i}'/>".encode())),
        IncomingFile(f"Priloga {i}.pdf", "attachment", "application/pdf",
                     lambda i=i: io.BytesIO(b"%PDF-1.4 " + bytes([i]) * 40)),
    ], metadata={"issue_date": "2026-03-01", "document_type": "380",
                 "invoice_number": f"2026-{i}"}).unit_id for i in range(n)]


def next_development_tsa(archive: Archive, clock: FixedClock) -> None:
    """A new development TSA made as of the clock, its CA trusted beside the others."""
    files = create_dev_tsa(archive.home / f"tsa-{clock.now():%Y%m%d%H%M}", clock.now())
    archive.sealing.timestamper = DevTimestamper(files, clock)
    archive.sealing.trust = replace(archive.sealing.trust, anchors=[
        *archive.sealing.trust.anchors, *load_certificates(files.ca, "anchor")])


def renewed_twice_over(archive: Archive, clock: FixedClock) -> None:
    """Chain 1: sealing and a timestamp renewal; chain 2 (sha512): a hash-tree renewal
    and a timestamp renewal. Development TSAs sign as of the clock."""
    assert seal(archive).sealed >= 1
    clock.at = NOW + DAY
    next_development_tsa(archive, clock)
    assert renew(archive, margin=MARGIN).renewed >= 1
    clock.at = NOW + 2 * DAY
    archive.sealing.algorithm = "sha512"
    assert renew(archive, weak_algorithms=["sha256"]).renewed >= 1
    clock.at = NOW + 3 * DAY
    next_development_tsa(archive, clock)
    assert renew(archive, margin=MARGIN).renewed >= 1


@LOCAL
def test_every_readme_command_gives_its_expected_output(
        archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    unit_id = archive_invoices(archive, 3)[0]
    renewed_twice_over(archive, clock)
    export = export_evidence(archive, unit_id, tmp_path / "export")
    record = (export / "evidence.ers").read_bytes()
    assert [len(chain) for chain in read_evidence_record(record)] == [2, 2]

    outcomes = run_readme(export)
    assert not failures(outcomes), "\n".join(failures(outcomes))
    commands = [o.step.command for o in outcomes]
    assert sum("openssl ts -verify" in c for c in commands) == 7  # 3 renewed tokens twice
    assert sum("-attime" in c for c in commands) == 6
    assert sum(c.startswith("dd if=evidence.ers of=chain") for c in commands) == 4
    assert all(o.step.expected for o in outcomes if "openssl" in o.step.command
               and "asn1parse" not in o.step.command)

    readme = (export / "README.txt").read_text("utf-8")
    for section in ("Chain 1, timestamp 1 (sha256): over the files",
                    "Chain 1, timestamp 2 (sha256): timestamp renewal",
                    "Chain 2, timestamp 1 (sha512): hash-tree renewal",
                    "Chain 2, timestamp 2 (sha512): timestamp renewal"):
        assert section in readme
    assert "Do NOT rely on validation/trust-anchors.pem" in readme
    assert "hramba verify-evidence --er evidence.ers --trust ANCHOR.pem" in readme
    assert "--accept-unqualified" in readme
    for anchor in archive.sealing.trust.anchors:  # three development TSAs, three roots
        fingerprint = hashlib.sha256(anchor.dump()).hexdigest().upper()
        assert ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)) in readme


@LOCAL
@pytest.mark.parametrize("change", ["a data file", "a token"])
def test_a_change_fails_the_readme_commands(archive: Archive, clock: FixedClock,
                                            tmp_path: Path, change: str) -> None:
    unit_id = archive_invoices(archive, 2)[0]
    renewed_twice_over(archive, clock)
    export = export_evidence(archive, unit_id, tmp_path / "export")
    if change == "a data file":
        target = export / "data" / "racun0.xml"
        target.write_bytes(target.read_bytes() + b" ")
        failed = {"openssl dgst -sha256 -r data/*", "openssl dgst -sha512 -r data/*"}
    else:  # inside the signature of the newest token, the last value of the record
        record = bytearray((export / "evidence.ers").read_bytes())
        record[-40] ^= 0x01
        (export / "evidence.ers").write_bytes(bytes(record))
        failed = {"openssl dgst -sha256 -r chain2-ts2.tsr"}
    outcomes = run_readme(export)
    assert failed <= {o.step.command for o in outcomes if not o.ok}
    verified = [o for o in outcomes if "openssl ts -verify" in o.step.command]
    assert verified[-1].ok is (change == "a data file")


@LOCAL
def test_a_tombstone_readme_checks_the_recorded_digests(
        archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    """The files are gone: their recorded SHA-256 stand in for them; what a later chain
    in another algorithm bound them to cannot be recomputed, but its tree and token can."""
    unit_id = archive_invoices(archive, 1)[0]
    renewed_twice_over(archive, clock)
    clock.at = datetime(2037, 1, 2, 9, tzinfo=UTC)  # past the ten years of an invoice
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-1")
    approve(archive, proposal["id"])  # four eyes: another account
    assert {u["state"] for u in disposal.execute(archive, proposal["id"])["units"]} == {
        "disposed"}
    export = export_evidence(archive, unit_id, tmp_path / "tombstone")
    assert not (export / "data").exists()

    outcomes = run_readme(export)
    assert not failures(outcomes), "\n".join(failures(outcomes))
    commands = [o.step.command for o in outcomes]
    assert "grep '\"sha256\"' tombstone.json" in commands
    assert sum("openssl ts -verify" in c for c in commands) == 7
    assert "sha512 hashes are not recorded" in (export / "README.txt").read_text("utf-8")


@LOCAL
def test_the_readme_of_a_record_from_a_tsa_over_http(
        archive: Archive, tsa_server: TsaServer, short_lived_tsa: TsaServer,
        tmp_path: Path) -> None:
    """A TSA with an issuing CA under the root and revocation data: -untrusted supplies
    the intermediate, and the short-lived certificate is checked as of its own time."""
    archive.sealing = http_sealing(short_lived_tsa.url, tsa_server.trust_anchor)
    unit_id = archive_invoices(archive, 2)[0]
    assert seal(archive).sealed == 2
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    assert renew(archive).renewed == 2  # the short-lived certificate expires soon
    archive.sealing.algorithm = "sha512"
    assert renew(archive, weak_algorithms=["sha256"]).renewed == 2
    export = export_evidence(archive, unit_id, tmp_path / "export")
    assert [len(c) for c in read_evidence_record((export / "evidence.ers").read_bytes())
            ] == [2, 1]

    outcomes = run_readme(export)
    assert not failures(outcomes), "\n".join(failures(outcomes))
    assert sum("openssl ts -verify" in o.step.command for o in outcomes) == 5
