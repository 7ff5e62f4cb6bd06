"""Verify a unit's evidence from the archive, and export it for an auditor."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hramba.core.errors import NotFound
from hramba.core.types import Digest, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import Batch, Evidence
from hramba.domain.access import Action
from hramba.services.context import Archive
from hramba.services.units import describe, load_unit, record_read, write_files
from hramba.trust.certs import load_pem_text, to_pem
from hramba.trust.ers import read_evidence_record
from hramba.trust.evidence import DataGroup, EvidenceReport, verify_evidence
from hramba.trust.instructions import DataFile, instructions
from hramba.trust.report import Check, Status, Trust

README = """Evidence for unit {unit_id} of {tenant}
=========================================================

data/                  the unit's files, byte for byte as archived (the data group,
                       manifest.json included)
evidence.ers           the RFC 4998 Evidence Record of the data group (DER)
validation/tsa-chain.pem   the time-stamping authority's certificates and their chain
validation/trust-anchors.pem  the anchors the archive validated them against: a copy
                       for convenience, not a trust anchor (see step 0 below)
validation/*.crl, *.ocsp   revocation data, when the TSA published any

With e-hramba (no database, no configuration, no network needed), ANCHOR.pem being the
TSA's trust anchor as you obtained it yourself (step 0):

    hramba verify-evidence --er evidence.ers --trust ANCHOR.pem --validation validation \\
        data/*

Add --policy OID to require the TSA policy you expect. A token that is not a qualified
electronic time stamp is INDETERMINATE unless --accept-unqualified (the development TSA
is never qualified); each timestamp below says which it is.
"""


TOMBSTONE_README = """Evidence for unit {unit_id} of {tenant}, disposed of on {disposed}
==========================================================================

The unit's files were destroyed under approved disposal {disposal}; what remains is its
tombstone and its proof.

tombstone.json         the unit's metadata and the SHA-256 of each of its files, in the
                       order of its data group (also in the destruction certificate)
evidence.ers           the RFC 4998 Evidence Record of that data group (DER)
validation/            the TSA's chain, a copy of the trust anchors (not a trust anchor:
                       see step 0 below), revocation data

With e-hramba (no database, no configuration, no network needed), ANCHOR.pem being the
TSA's trust anchor as you obtained it yourself (step 0):

    hramba verify-evidence --er evidence.ers --trust ANCHOR.pem --validation validation \\
        {digests}

Add --policy OID to require the TSA policy you expect. A token that is not a qualified
electronic time stamp is INDETERMINATE unless --accept-unqualified (the development TSA
is never qualified); each timestamp below says which it is.

It proves that files with these digests existed, unchanged, from the time in the first
timestamp; the destruction certificate (hramba dispose certificate {disposal}) proves
what was destroyed, when, and on whose instruction.
"""


def current_record(archive: Archive, unit_id: str) -> tuple[Evidence, Batch]:
    with transaction(archive.db) as session:
        row = session.execute(select(Evidence, Batch).join(Batch).where(
            Evidence.unit_id == unit_id, Evidence.superseded_at.is_(None))).first()
    if row is None:
        raise NotFound(f"unit {unit_id} has no evidence record yet (run hramba seal)")
    return row[0], row[1]


def unit_batches(archive: Archive, unit_id: str) -> list[Batch]:
    """Every batch whose token is in the unit's evidence: the sealing and each renewal."""
    with transaction(archive.db) as session:
        return list(session.scalars(select(Batch).where(Batch.id.in_(
            select(Evidence.batch_id).where(Evidence.unit_id == unit_id))).order_by(Batch.id)))


def unit_trust(archive: Archive, batches: list[Batch]) -> Trust:
    """The configured anchors, plus the certificates and revocation data kept with them."""
    configured = archive.sealing.trust
    trust = Trust(configured.anchors,
                  [c for b in batches for c in load_pem_text(b.certificates)],
                  policies=configured.policies,
                  accept_unqualified=configured.accept_unqualified)
    return trust.with_revocation(
        [base64.b64decode(c) for b in batches for c in b.revocation.get("crls", [])],
        [base64.b64decode(o) for b in batches for o in b.revocation.get("ocsps", [])],
        "the archive's batch records")


def verify_unit(archive: Archive, unit_id: str, at: datetime | None = None) -> EvidenceReport:
    """Re-read the unit's objects, then check its Evidence Record and every token."""
    loaded = load_unit(archive, unit_id, Action.VERIFY)
    unit = describe(loaded)
    evidence, _ = current_record(archive, unit_id)
    disposed = unit["retention"]["disposed_at"]
    group = (DataGroup.of_recorded("sha256", [bytes.fromhex(f["sha256"])
                                              for f in unit["files"]]) if disposed
             else DataGroup([partial(archive.store.open, ObjectKey(f["object_key"]),
                                     f["object_version"]) for f in unit["files"]]))
    trust = unit_trust(archive, unit_batches(archive, unit_id))
    report = verify_evidence(evidence.record, group, trust, at)
    if disposed:
        report = report.adding(Check("HRB-E021", "", Status.PASSED, f"disposed of on "
                                     f"{disposed}"))
    elif evidence.stored_at is not None:
        with archive.store.open(ObjectKey(evidence.object_key),
                                evidence.object_version) as stream:
            same = Digest.of_bytes(stream.read()).hex == evidence.record_sha256
        report = report.adding(Check("HRB-E020", "", Status.PASSED if same else Status.FAILED,
                                     evidence.object_key))
    record_read(archive, "unit.verified", loaded, result=report.result.value)
    return report


def export_evidence(archive: Archive, unit_id: str, out: Path) -> Path:
    """DIR/data/ (for a disposed unit: DIR/tombstone.json), DIR/evidence.ers,
    DIR/validation/, DIR/README.txt (the checks as commands: hramba.trust.instructions)."""
    loaded = load_unit(archive, unit_id, Action.READ)
    unit = describe(loaded)
    evidence, _ = current_record(archive, unit_id)
    disposed = bool(unit["retention"]["disposed_at"])
    if disposed:
        _write_tombstone(unit, out)
        files = [DataFile(f["name"], {"sha256": bytes.fromhex(f["sha256"])})
                 for f in unit["files"]]
    else:
        files = _data_files(write_files(archive, loaded, out / "data"), evidence.record)
    (out / "evidence.ers").write_bytes(evidence.record)
    anchors = to_pem(archive.sealing.trust.anchors)
    _write_validation(unit_batches(archive, unit_id), anchors, out / "validation")
    readme = (TOMBSTONE_README if disposed else README).format(
        unit_id=unit_id, tenant=unit["tenant"], disposed=unit["retention"]["disposed_at"],
        disposal=unit["retention"]["disposal"],
        digests=" ".join(f"--sha256 {f['sha256']}" for f in unit["files"]))
    (out / "README.txt").write_text(readme + instructions(
        evidence.record, files, anchors, tombstone=disposed), "utf-8")
    record_read(archive, "unit.exported", loaded, out=str(out), tombstone=disposed)
    return out


def _data_files(paths: list[Path], record: bytes) -> list[DataFile]:
    """The exported files with their hashes in every algorithm of the record's chains."""
    algorithms = sorted({s.algorithm for chain in read_evidence_record(record) for s in chain})
    group = DataGroup.of_paths(paths)
    return [DataFile(p.name, {a: group.hashes(a)[n] for a in algorithms})
            for n, p in enumerate(paths)]


def _write_validation(batches: list[Batch], anchors: str, validation: Path) -> None:
    """The TSA certificates, the anchors, and the revocation data kept with each batch."""
    validation.mkdir(exist_ok=True)
    (validation / "tsa-chain.pem").write_text("".join(b.certificates for b in batches),
                                              "ascii")
    (validation / "trust-anchors.pem").write_text(anchors, "ascii")
    for kind in ("crls", "ocsps"):
        items = [item for b in batches for item in b.revocation.get(kind, [])]
        for n, item in enumerate(items, 1):
            (validation / f"{n}.{kind[:-1]}").write_bytes(base64.b64decode(item))


def _write_tombstone(unit: dict[str, Any], out: Path) -> None:
    """What is left of a disposed unit: who, when, and the digests of its files."""
    out.mkdir(parents=True, exist_ok=True)
    tombstone = {k: unit[k] for k in ("unit_id", "tenant", "received_at", "content_sha256",
                                      "metadata", "retention")}
    tombstone["files"] = [{k: f[k] for k in ("name", "role", "size", "sha256")}
                          for f in unit["files"]]
    (out / "tombstone.json").write_text(json.dumps(tombstone, indent=1, ensure_ascii=False),
                                        "utf-8")
