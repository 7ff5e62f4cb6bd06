"""Retention against the real stores: policies at ingest, reclassification, holds,
approved disposal, purges and the rolling fixity sweep. The clock moves; nothing sleeps
except where the S3 server's own clock must pass a retain-until."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import NOW, TENANT
from plugins.tsa import TsaServer
from sqlalchemy import select, text

from hramba.config import load_settings
from hramba.core.errors import (
    Conflict,
    NotFound,
    RejectedInput,
    RetentionLocked,
    ServiceUnavailable,
)
from hramba.core.types import FixedClock, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Disposal, Tenant, TrafficRecord
from hramba.domain.access import Role
from hramba.ports import ObjectStore
from hramba.services import disposal, holds, retention
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.audit import verify_chain
from hramba.services.context import Archive
from hramba.services.corpus import ujp_package, write_corpus
from hramba.services.evidence import export_evidence, verify_unit
from hramba.services.fixity import run_fixity, sweep
from hramba.services.ingest import ingest_directory
from hramba.services.locks import exclusive
from hramba.services.purge import list_purges, purge_traffic
from hramba.services.renewal import renew
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import get_unit, show_unit
from hramba.trust.evidence import DataGroup, verify_evidence
from hramba.wiring import init_archive

from . import tamper
from .principals import acting_as, approve, principal
from .test_seal import http_sealing

BUYER = ("Občina Primer", "SI21423512")
DAY = timedelta(days=1)


def invoice_file(issued: str, n: int = 1, doc_type: str = "380") -> dict[str, object]:
    return {"files": [IncomingFile(f"racun{n}.xml", "invoice", "application/xml",
                                   lambda: io.BytesIO(f"<Invoice n='{n}' d='{issued}'/>"
                                                      .encode()))],
            "metadata": {"issue_date": issued, "document_type": doc_type,
                         "invoice_number": f"2026-{n}"}}


def archive_invoice(archive: Archive, issued: str, n: int = 1, doc_type: str = "380") -> str:
    return archive_unit(archive, "OBCINA1", **invoice_file(issued, n, doc_type)).unit_id


def object_keys(archive: Archive, unit_id: str) -> list[ObjectKey]:
    return holds.unit_objects(archive, unit_id)


@pytest.fixture(params=["sqlite", "postgres"])
def local_archive(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock,
                  tsa_server: TsaServer) -> Iterator[Archive]:
    """The local object store follows the archive's clock, so ten years can pass; the
    TSA that seals is a real one over HTTP. It keeps real time, and its certificate would
    have expired when ten years have passed on the archive's clock: the certificates are
    signed with the development TSA's timestamps, which follow that clock."""
    env = request.getfixturevalue("pg_database_env") if request.param == "postgres" else {}
    archive = init_archive(load_settings(home=str(tmp_path / "home"), environ=env), clock)
    add_tenant(archive, TENANT)
    archive.signing = archive.connect_signing(archive.sealing)
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    yield archive
    archive.close()


@pytest.fixture
def s3_archive(tmp_path: Path, pg_database_env: dict[str, str], s3_env: dict[str, str]
               ) -> Iterator[tuple[Archive, FixedClock]]:
    """PostgreSQL and the S3 server, on the wall clock (the S3 server keeps its own), with
    a storage floor of 3 seconds, so an already expired document becomes deletable soon."""
    clock = FixedClock(datetime.now(UTC))
    archive = init_archive(load_settings(home=str(tmp_path / "home"),
                                         environ={**pg_database_env, **s3_env}), clock)
    add_tenant(archive, TENANT)
    archive.minimum_lock = timedelta(seconds=3)
    yield archive, clock
    archive.close()


def test_retention_follows_the_issue_date_and_flags_what_lacks_one(archive: Archive) -> None:
    issued = show_unit(archive, archive_invoice(archive, "2026-03-05"))["retention"]
    assert (issued["retain_until"], issued["basis"], issued["needs_classification"]) == (
        "2036-12-31T23:59:59+00:00", "issue_date", False)
    unknown = archive_unit(archive, "OBCINA1", [IncomingFile(
        "scan.pdf", "document", "application/pdf", lambda: io.BytesIO(b"%PDF scan"))]).unit_id
    flagged = show_unit(archive, unknown)["retention"]
    assert (flagged["basis"], flagged["trigger_date"], flagged["needs_classification"]) == (
        "received_at", NOW.date().isoformat(), True)


def test_an_expired_document_gets_the_storage_floor(archive: Archive) -> None:
    unit = show_unit(archive, archive_invoice(archive, "2013-04-01"))
    assert unit["retention"]["retain_until"] == "2023-12-31T23:59:59+00:00"
    for key in object_keys(archive, unit["unit_id"]):
        assert archive.store.stat(key).retain_until == NOW + archive.minimum_lock


def test_classify_extends_storage_and_refuses_to_shorten(archive: Archive) -> None:
    unit_id = archive_invoice(archive, "2026-03-05")
    changed = retention.classify(archive, unit_id, "immovable-property-20y")
    assert changed["after"] == {"policy": "immovable-property-20y@v1",
                                "retain_until": "2046-12-31T23:59:59+00:00"}
    for key in object_keys(archive, unit_id):
        assert archive.store.stat(key).retain_until == datetime(2046, 12, 31, 23, 59, 59,
                                                                tzinfo=UTC)
    with pytest.raises(Conflict, match="only be extended"):
        retention.classify(archive, unit_id, "invoice-10y@v1")
    with pytest.raises(RejectedInput, match="applies to traffic"):
        retention.classify(archive, unit_id, "traffic-2y")
    assert show_unit(archive, unit_id)["retention"]["policy"] == "immovable-property-20y@v1"
    events = _events(archive, "unit.classified")
    assert [e["after"]["policy"] for e in events] == ["immovable-property-20y@v1"]


def test_classifying_a_flagged_unit_under_its_own_policy_clears_the_flag(
        archive: Archive) -> None:
    unit_id = archive_invoice(archive, "2026-03-05", doc_type="325")
    assert show_unit(archive, unit_id)["retention"]["needs_classification"]
    retention.classify(archive, unit_id, "invoice-10y")
    assert not show_unit(archive, unit_id)["retention"]["needs_classification"]


def test_holds_cover_units_by_date_range_and_mirror_to_storage(archive: Archive) -> None:
    old, new = archive_invoice(archive, "2024-05-01", 1), archive_invoice(archive, "2026-02-01", 2)
    hold = holds.add_hold(archive, tenant="OBCINA1", from_date=datetime(2024, 1, 1).date(),
                          to_date=datetime(2024, 12, 31).date(), reason="court case 12/2026")
    assert hold["units"] == 1
    assert all(archive.store.stat(k).legal_hold for k in object_keys(archive, old))
    assert not any(archive.store.stat(k).legal_hold for k in object_keys(archive, new))
    later = archive_invoice(archive, "2024-07-01", 3)  # archived after the hold was placed
    assert retention.sweep(archive)["holds set"] == 1
    assert all(archive.store.stat(k).legal_hold for k in object_keys(archive, later))
    unit_hold = holds.add_hold(archive, unit_id=old, reason="audit")
    with acting_as(archive, principal("boris", Role.ARCHIVIST)):
        released = holds.release_hold(archive, hold["id"], reason="case closed")
    assert (released["by"], released["released_by"]) == (archive.actor, "boris")
    assert all(archive.store.stat(k).legal_hold for k in object_keys(archive, old))
    assert not any(archive.store.stat(k).legal_hold for k in object_keys(archive, later))
    with pytest.raises(Conflict, match="released"):
        holds.release_hold(archive, hold["id"], reason="again")
    assert [h["id"] for h in holds.list_holds(archive)] == [unit_hold["id"]]
    assert _actors(archive, "hold.released") == ["boris"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"reason": " ", "tenant": "OBCINA1"}, "needs a reason"),
    ({"reason": "r"}, "one unit .* or on a tenant"),
    ({"reason": "r", "tenant": "OBCINA1", "unit_id": "x"}, "one unit"),
    ({"reason": "r", "tenant": "OBCINA1",
      "from_date": datetime(2025, 1, 1).date(), "to_date": datetime(2024, 1, 1).date()},
     "after"),
])
def test_bad_holds_are_refused(archive: Archive, kwargs: dict[str, object],
                               message: str) -> None:
    with pytest.raises(RejectedInput, match=message):
        holds.add_hold(archive, **kwargs)  # type: ignore[arg-type]


def test_full_lifecycle_ten_years_on(local_archive: Archive, tmp_path: Path,
                                     qualified_tsa: TsaServer) -> None:
    archive, clock = local_archive, local_archive.clock
    assert isinstance(clock, FixedClock)
    list(write_corpus(tmp_path / "in", 3, BUYER))  # e-SLOG 2.0 invoices issued in 2026
    assert [r.outcome for r in ingest_directory(archive, tmp_path / "in", "OBCINA1")] == [
        "archived"] * 3
    scan = archive_unit(archive, "OBCINA1", [IncomingFile(
        "scan.pdf", "document", "application/pdf", lambda: io.BytesIO(b"%PDF scan"))]).unit_id
    assert seal(archive).sealed == 4
    now_plan = retention.plan(archive)
    assert now_plan["units"]["due"] == []
    assert now_plan["units"]["upcoming"] == [{"year": 2036, "policy": "invoice-10y@v1",
                                              "units": 4}]

    clock.at = datetime(2037, 1, 2, 9, tzinfo=UTC)  # ten years pass
    due = retention.plan(archive, "OBCINA1")["units"]
    assert len(due["due"]) == 4
    assert due["needs_classification"] == 1
    held_unit = next(u["unit_id"] for u in due["due"] if u["unit_id"] != scan)
    holds.add_hold(archive, unit_id=held_unit, reason="pending appeal")
    assert [u["unit_id"] for u in retention.plan(archive)["units"]["held"]] == [held_unit]

    with pytest.raises(RejectedInput, match="instruction"):
        disposal.propose(archive, "OBCINA1", instruction=" ")
    proposal = disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2036/7")
    assert proposal["left_out"] == {"held": 1, "needs classification": 1}
    listed = [u["unit_id"] for u in proposal["units"]]
    assert len(listed) == 2
    assert held_unit not in listed
    assert scan not in listed
    with pytest.raises(Conflict, match=r"in an open|nothing"):
        disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2036/7")
    with pytest.raises(Conflict, match="proposed"):
        disposal.execute(archive, proposal["id"])
    with pytest.raises(Conflict, match="another account"):  # the proposer, an admin
        disposal.approve(archive, proposal["id"])
    assert approve(archive, proposal["id"])["approved_by"] == "boris"

    done = disposal.execute(archive, proposal["id"])
    assert {u["state"] for u in done["units"]} == {"disposed"}
    for unit_id in listed:
        assert not any(archive.store.exists(k) for k in _file_keys(archive, unit_id))
        assert show_unit(archive, unit_id)["retention"]["disposal"] == proposal["id"]
        with pytest.raises(NotFound, match="tombstone"):
            get_unit(archive, unit_id, tmp_path / "out")
        assert verify_unit(archive, unit_id).passed  # against the recorded digests
    assert all(archive.store.exists(k) for k in object_keys(archive, held_unit))
    with pytest.raises(Conflict, match="nothing left to hold"):
        holds.add_hold(archive, unit_id=listed[0], reason="too late")

    sealed = seal(archive)
    assert (sealed.certificates, sealed.sealed) == (1, 0)
    certificate, record, _pdf = disposal.certificate_files(archive, proposal["id"],
                                                           tmp_path / "cert")
    offline = verify_evidence(record.read_bytes(), DataGroup.of_paths([certificate]),
                              archive.sealing.trust)
    assert offline.passed, offline.as_dict()
    assert _certificate_names(certificate.read_bytes()) == sorted(listed)
    fixity = run_fixity(archive)
    assert fixity.ok, fixity.as_dict()
    assert verify_chain(archive).ok
    assert [e["counts"]["disposed"] for e in _events(archive, "disposal.executed")] == [2]
    _verify_tombstone_offline(archive, listed[0], tmp_path / "tombstone")
    # A tombstone's timestamps are still renewed; its new records stay in the database.
    # Back on the TSA's (real) time: the main TSA's certificate (3 years left) falls in a
    # 4-year margin, the qualified one's (8 years) does not, so it may renew them.
    clock.at = datetime.now(UTC)
    archive.sealing = http_sealing(qualified_tsa.url, qualified_tsa.trust_anchor)
    assert renew(archive, margin=timedelta(days=4 * 365)).renewed == 4
    assert renew(archive, margin=timedelta(days=4 * 365)).renewed == 0  # nothing due now
    assert verify_unit(archive, listed[0]).passed
    assert run_fixity(archive).ok


def test_storage_refuses_disposal_before_retain_until_even_if_the_database_is_wrong(
        s3_archive: tuple[Archive, FixedClock]) -> None:
    archive, _ = s3_archive
    unit_id = archive_invoice(archive, "2026-03-05")
    seal(archive)
    with transaction(archive.db) as session:  # someone or something corrupts the row
        session.execute(text("UPDATE units SET retain_until = :past"),
                        {"past": datetime(2020, 1, 1, tzinfo=UTC)})
    key = object_keys(archive, unit_id)[0]
    with pytest.raises(RetentionLocked):
        archive.store.delete(key)
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-1")
    approve(archive, proposal["id"])
    done = disposal.execute(archive, proposal["id"])
    assert [u["state"] for u in done["units"]] == ["locked"]
    assert "2036-12-31" in done["units"][0]["detail"]
    assert all(archive.store.exists(k) for k in object_keys(archive, unit_id))
    assert show_unit(archive, unit_id)["retention"]["disposed_at"] is None


def test_a_legal_hold_blocks_deletion_in_s3_after_retention_ends(
        s3_archive: tuple[Archive, FixedClock]) -> None:
    archive, _clock = s3_archive
    unit_id = archive_invoice(archive, "2013-04-01")  # expired: only the 3-second floor
    hold = holds.add_hold(archive, unit_id=unit_id, reason="court order")
    key = object_keys(archive, unit_id)[0]
    assert archive.store.stat(key).legal_hold
    _wait_past(archive, key)
    with pytest.raises(RetentionLocked):
        archive.store.delete(key)  # the server says no, whatever the database says
    holds.release_hold(archive, hold["id"], reason="order lifted")
    assert not archive.store.stat(key).legal_hold
    archive.store.delete(key)
    assert not archive.store.exists(key)


def test_disposal_in_s3_removes_every_version_and_keeps_a_verifiable_tombstone(
        s3_archive: tuple[Archive, FixedClock]) -> None:
    archive, clock = s3_archive
    unit_id = archive_invoice(archive, "2013-04-01")
    assert seal(archive).sealed == 1
    keys = object_keys(archive, unit_id)
    _wait_past(archive, keys[0])
    clock.at = datetime.now(UTC)
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-2")
    approve(archive, proposal["id"])
    assert [u["state"] for u in disposal.execute(archive, proposal["id"])["units"]] == [
        "disposed"]
    s3 = archive.store.route(keys[0])  # type: ignore[attr-defined]  # the tenant's bucket
    client, bucket = s3.client, s3.bucket
    left = list(client.list_objects(bucket, prefix=f"units/OBCINA1/{unit_id}/",
                                    recursive=True, include_version=True))
    assert left == []
    assert seal(archive).certificates == 1
    assert verify_unit(archive, unit_id).passed
    assert run_fixity(archive).ok
    with transaction(archive.db) as session:
        row = session.scalars(select(Disposal)).one()
        assert row.certificate_key
        assert row.batch_id
    assert archive.store.exists(ObjectKey(row.certificate_key))


def test_traffic_records_are_purged_two_years_after_receipt(archive: Archive,
                                                            tmp_path: Path) -> None:
    clock = archive.clock
    assert isinstance(clock, FixedClock)
    (tmp_path / "in").mkdir()
    for i in (1, 2):
        (tmp_path / "in" / f"p{i}.zip").write_bytes(ujp_package(i, random.Random(i), BUYER))
    units = [r.unit_id for r in ingest_directory(archive, tmp_path / "in", "OBCINA1")]
    holds.add_hold(archive, unit_id=str(units[0]), reason="inquiry")
    clock.at = NOW + timedelta(days=365 * 2) - DAY  # not yet
    assert purge_traffic(archive) == {"traffic records purged": 0}
    assert retention.plan(archive)["traffic"]["due"] == 0
    clock.at = NOW + timedelta(days=365 * 2 + 1)
    assert retention.plan(archive)["traffic"]["due"] == 2
    assert retention.sweep(archive)["traffic records purged"] == 1  # the held one stays
    with transaction(archive.db) as session:
        assert list(session.scalars(select(TrafficRecord.unit_id))) == [units[0]]
    [record] = list_purges(archive)
    assert (record["kind"], record["policy"], record["counts"]) == (
        "traffic", "traffic-2y@v1", {"records": 1})
    assert len(record["sha256"]) == 64
    assert _events(archive, "traffic.purged")[0]["purge"] == record["id"]


def test_rolling_fixity_sweep_covers_every_unit_within_the_period(archive: Archive) -> None:
    clock = archive.clock
    assert isinstance(clock, FixedClock)
    units = [archive_invoice(archive, "2026-01-10", n) for n in range(10)]
    seen: set[str] = set()
    for day in range(5):  # period 5 days: a fifth a day, every unit within the period
        clock.at = NOW + day * DAY
        report = sweep(archive, period_days=5)
        assert report.ok
        assert report.counts["units checked"] == 2
        seen |= _checked_on(archive, clock.at)
    assert seen == set(units)
    clock.at = NOW + 30 * DAY  # the sweep did not run for weeks: all are overdue
    assert sweep(archive, period_days=5).counts["units checked"] == 10
    victim = _file_keys(archive, units[3])[0]
    tamper.flip_byte(archive.store, victim)
    clock.at += 30 * DAY
    found = sweep(archive, period_days=5)
    assert [(f.code, f.subject) for f in found.findings] == [
        (tamper.changed_code(archive.store, victim), victim)]
    assert _events(archive, "fixity.sweep")[-1]["ok"] is False


def _file_keys(archive: Archive, unit_id: str) -> list[ObjectKey]:
    return [ObjectKey(f["object_key"]) for f in show_unit(archive, unit_id)["files"]]


def _checked_on(archive: Archive, at: datetime) -> set[str]:
    with transaction(archive.db) as session:
        rows = session.execute(text("SELECT id, fixity_checked_at FROM units")).all()
    return {i for i, checked in rows if checked is not None and
            str(checked)[:10] == at.date().isoformat()}


def _wait_past(archive: Archive, key: ObjectKey) -> None:
    """Until the S3 server's clock has passed the object's retain-until."""
    until = archive.store.stat(key).retain_until
    assert until is not None
    assert until - datetime.now(UTC) < timedelta(seconds=10)
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.5)


def _actors(archive: Archive, action: str) -> list[str]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)))


def _events(archive: Archive, action: str) -> list[dict[str, object]]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)))


def _certificate_names(data: bytes) -> list[str]:
    import json

    return sorted(u["unit_id"] for u in json.loads(data)["disposed"])


class FailingDeletes:
    """The archive's store, until storage goes away after `allowed` deletes."""

    def __init__(self, store: ObjectStore, allowed: int) -> None:
        self.inner, self.allowed = store, allowed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete(self, key: ObjectKey) -> None:
        if self.allowed == 0:
            raise ServiceUnavailable(f"delete {key}: connection refused")
        self.allowed -= 1
        self.inner.delete(key)


def test_storage_failing_mid_disposal_then_a_rerun_finishes_it(local_archive: Archive) -> None:
    archive, clock = local_archive, local_archive.clock
    assert isinstance(clock, FixedClock)
    units = [archive_invoice(archive, "2026-02-01", n) for n in range(3)]
    seal(archive)
    clock.at = datetime(2037, 1, 2, tzinfo=UTC)
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-3")
    approve(archive, proposal["id"])
    store = archive.store
    archive.store = FailingDeletes(store, allowed=4)  # dies inside the second unit
    with pytest.raises(ServiceUnavailable):
        disposal.execute(archive, proposal["id"])
    archive.store = store
    half = disposal.show(archive, proposal["id"])  # objects went, the page was not recorded
    assert half["status"] == "approved"
    assert {u["state"] for u in half["units"]} == {"deleting"}
    assert sum(not store.exists(k) for u in units for k in _file_keys(archive, u)) >= 2
    meanwhile = run_fixity(archive)  # missing, but known to be going: no false alarm
    assert meanwhile.ok, meanwhile.as_dict()
    assert meanwhile.counts["objects gone with a disposal in progress"] >= 2
    done = disposal.execute(archive, proposal["id"])
    assert {u["state"] for u in done["units"]} == {"disposed"}
    assert all(show_unit(archive, u)["retention"]["disposed_at"] for u in units)
    assert seal(archive).certificates == 1
    assert run_fixity(archive).ok
    assert verify_chain(archive).ok
    assert len(_events(archive, "disposal.executed")) == 1


def test_a_storage_hold_the_database_does_not_know_still_stops_disposal(
        local_archive: Archive) -> None:
    archive, clock = local_archive, local_archive.clock
    assert isinstance(clock, FixedClock)
    unit_id = archive_invoice(archive, "2026-02-01")
    seal(archive)
    archive.store.set_legal_hold(object_keys(archive, unit_id)[1], True)  # behind our back
    clock.at = datetime(2037, 1, 2, tzinfo=UTC)
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-4")
    approve(archive, proposal["id"])
    [unit] = disposal.execute(archive, proposal["id"])["units"]
    assert (unit["state"], unit["detail"].endswith("(legal hold)")) == ("locked", True)
    assert all(archive.store.exists(k) for k in object_keys(archive, unit_id))


def _verify_tombstone_offline(archive: Archive, unit_id: str, out: Path) -> None:
    """An auditor checks a disposed unit's proof from its export, with the command-line
    verifier and the recorded digests: no data, no database."""
    import json
    import subprocess

    from plugins.cli import HRAMBA

    export_evidence(archive, unit_id, out)
    assert not (out / "data").exists()
    digests = [f["sha256"] for f in json.loads((out / "tombstone.json").read_text())["files"]]
    assert "--sha256 " + digests[0] in (out / "README.txt").read_text()

    def verify(hexes: list[str]) -> int:
        args = [HRAMBA, "verify-evidence", "--er", str(out / "evidence.ers"), "--trust",
                str(out / "validation" / "trust-anchors.pem"), "--accept-unqualified"]
        return subprocess.run([*args, *[a for h in hexes for a in ("--sha256", h)]],
                              capture_output=True, timeout=60).returncode

    assert verify(digests) == 0
    assert verify([digests[0], "0" * 64]) == 1


def test_one_process_at_a_time_executes_a_disposal(archive: Archive) -> None:
    archive_invoice(archive, "2026-02-01")
    seal(archive)
    proposal = disposal.propose(archive, "OBCINA1", instruction="N-5",
                                as_of=datetime(2037, 1, 2, tzinfo=UTC))
    approve(archive, proposal["id"])
    with exclusive(archive, f"disposal:{proposal['id']}") as mine:  # another operator
        assert mine
        with pytest.raises(Conflict, match="being executed by another process"):
            disposal.execute(archive, proposal["id"])
    assert disposal.show(archive, proposal["id"])["status"] == "approved"
    assert disposal.execute(archive, proposal["id"])["status"] == "executed"


def test_an_account_of_some_tenants_sees_only_their_part_of_a_purge(
        archive: Archive, tmp_path: Path) -> None:
    clock = archive.clock
    assert isinstance(clock, FixedClock)
    add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Občina Druga"))
    for n, (code, buyer) in enumerate([("OBCINA1", BUYER), ("OBCINA2", (
            "Občina Druga", "SI39705684")), ("OBCINA2", ("Občina Druga", "SI39705684"))]):
        folder = tmp_path / f"in{n}"
        folder.mkdir()
        (folder / "p.zip").write_bytes(ujp_package(n + 1, random.Random(n), buyer))
        list(ingest_directory(archive, folder, code))
    clock.at = NOW + timedelta(days=365 * 2 + 1)
    assert purge_traffic(archive) == {"traffic records purged": 3}
    with transaction(archive.db) as session:
        own = session.scalars(select(Tenant.id).where(Tenant.code == "OBCINA1")).one()
    with acting_as(archive, principal("revizor", Role.AUDITOR, tenants=frozenset({own}))):
        [seen] = list_purges(archive)
    assert (seen["counts"], seen["details"]) == ({"records": 1}, {"tenants": {"OBCINA1": 1}})
    assert list_purges(archive)[0]["details"] == {"tenants": {"OBCINA1": 1, "OBCINA2": 2}}
