"""Tenants over their life: test and production apart, a code or tax number that changes,
offboarding; on the embedded default and on PostgreSQL + S3."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from conftest import TENANT
from plugins.cli import Cli, clean_env
from sqlalchemy import select

from hramba.core.errors import Conflict, NotFound, NotPermitted, RejectedInput, RetentionLocked
from hramba.core.types import ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Tenant
from hramba.domain.access import Role
from hramba.services import holds, migrate, quarantine, tenants
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.corpus import write_packages
from hramba.services.ingest import ingest_directory
from hramba.services.quarantine import list_quarantine
from hramba.services.tenants import NewTenant, TenantChange
from hramba.services.units import show_unit
from ingest.sftp import Endpoint
from storage.environments import EnvironmentStore
from storage.s3 import S3ObjectStore

from .principals import acting_as, principal

TEST = NewTenant("OBCINA1T", TENANT.tax_number, "Občina Primer (test)", "test")
NOBODY_THERE = migrate.Remote(Endpoint("127.0.0.1", 9, "u", Path("/nonexistent"),
                                       Path("/nonexistent")), "/export")


def archive_one(archive: Archive, code: str, content: bytes = b"<Invoice/>") -> str:
    return archive_unit(archive, code, [IncomingFile(
        "racun.xml", "invoice", "application/xml", lambda: io.BytesIO(content))],
        metadata={"issue_date": "2025-06-01", "document_type": "380"}).unit_id


def stores(archive: Archive) -> EnvironmentStore:
    assert isinstance(archive.store, EnvironmentStore)
    return archive.store


def lock_headers(store: S3ObjectStore, key: ObjectKey) -> dict[str, str]:
    """The Object Lock headers the S3 server sends for the object (read with the SDK)."""
    metadata = store.client.stat_object(store.bucket, key).metadata
    return {k.lower(): v for k, v in metadata.items() if "object-lock" in k.lower()}


def events(archive: Archive, action: str) -> list[dict[str, Any]]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)))


def tenant_id(archive: Archive, code: str) -> int:
    with transaction(archive.db) as session:
        return session.scalars(select(Tenant.id).where(Tenant.code == code)).one()


def test_a_test_and_a_production_tenant_share_a_tax_number(archive: Archive) -> None:
    tenants.add_tenant(archive, TEST)
    assert {(t.code, t.tax_number, t.environment) for t in tenants.list_tenants(archive)} == {
        ("OBCINA1", TENANT.tax_number, "production"), ("OBCINA1T", TENANT.tax_number, "test")}
    with pytest.raises(Conflict, match="in test"):
        tenants.add_tenant(archive, NewTenant("OBCINA1T2", TENANT.tax_number, "Druga", "test"))


def test_a_test_tenants_objects_are_apart_and_unlocked(archive: Archive) -> None:
    tenants.add_tenant(archive, TEST)
    real, trial = archive_one(archive, "OBCINA1"), archive_one(archive, "OBCINA1T")
    store = stores(archive)
    for key in holds.unit_objects(archive, trial):
        assert store.test.exists(key)
        assert not store.production.exists(key)
        assert store.stat(key).retain_until is None
        if isinstance(store.test, S3ObjectStore):
            assert lock_headers(store.test, key) == {}
    for key in holds.unit_objects(archive, real):
        assert store.production.exists(key)
        assert not store.test.exists(key)
        assert store.stat(key).retain_until is not None
        assert store.stat(key).retain_until.year == 2035
        if isinstance(store.production, S3ObjectStore):
            assert lock_headers(store.production, key)["x-amz-object-lock-mode"] == "COMPLIANCE"
        with pytest.raises(RetentionLocked):
            store.delete(key)
    for key in holds.unit_objects(archive, trial):
        store.delete(key)  # test data can go
        assert not store.exists(key)


def test_a_change_of_code_name_and_tax_number_is_recorded(archive: Archive) -> None:
    old_unit = archive_one(archive, "OBCINA1")
    changed = tenants.update_tenant(archive, "OBCINA1", TenantChange(
        code="OBCINA9", name="Občina Nova", tax_number="SI39705684"))
    assert (changed.code, changed.name, changed.tax_number, changed.former_codes) == (
        "OBCINA9", "Občina Nova", "SI39705684", ("OBCINA1",))
    assert events(archive, "tenant.changed") == [{
        "before": {"code": "OBCINA1", "name": "Občina Primer", "tax_number": "SI21423512"},
        "after": {"code": "OBCINA9", "name": "Občina Nova", "tax_number": "SI39705684"}}]
    unit = show_unit(archive, old_unit)  # its objects keep their keys under the old code
    assert unit["tenant"] == "OBCINA9"
    assert all(f["object_key"].startswith("units/OBCINA1/") for f in unit["files"])
    with archive.store.open(ObjectKey(unit["files"][0]["object_key"])) as stream:
        assert stream.read() == b"<Invoice/>"
    new_unit = show_unit(archive, archive_one(archive, "OBCINA9", b"<Invoice n='2'/>"))
    assert new_unit["files"][0]["object_key"].startswith("units/OBCINA9/")
    with transaction(archive.db) as session:
        assert tenants.codes_of(session, "OBCINA1") == ["OBCINA9", "OBCINA1"]


def test_a_former_code_stays_its_tenants(archive: Archive) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(code="OBCINA9"))
    with pytest.raises(Conflict, match="OBCINA9"):
        tenants.add_tenant(archive, NewTenant("OBCINA1", "SI39705684", "Druga"))
    tenants.add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Druga"))
    with pytest.raises(Conflict):
        tenants.update_tenant(archive, "OBCINA2", TenantChange(code="OBCINA1"))
    with pytest.raises(Conflict):
        tenants.update_tenant(archive, "OBCINA2", TenantChange(code="OBCINA9"))
    back = tenants.update_tenant(archive, "OBCINA9", TenantChange(code="OBCINA1"))
    assert (back.code, back.former_codes) == ("OBCINA1", ("OBCINA9",))


def test_an_update_is_checked_and_one_that_changes_nothing_records_nothing(
        archive: Archive) -> None:
    with pytest.raises(RejectedInput, match="nothing to change"):
        tenants.update_tenant(archive, "OBCINA1", TenantChange())
    with pytest.raises(RejectedInput, match="check digit"):
        tenants.update_tenant(archive, "OBCINA1", TenantChange(tax_number="SI12345678"))
    with pytest.raises(RejectedInput):
        tenants.update_tenant(archive, "OBCINA1", TenantChange(code="../x"))
    same = tenants.update_tenant(archive, "OBCINA1", TenantChange(name=" Občina Primer "))
    assert same.name == "Občina Primer"
    assert events(archive, "tenant.changed") == []
    with pytest.raises(NotFound):
        tenants.update_tenant(archive, "NOPE", TenantChange(name="x"))


def test_a_renamed_test_tenant_stays_in_the_test_store(archive: Archive) -> None:
    tenants.add_tenant(archive, TEST)
    before = archive_one(archive, "OBCINA1T")
    tenants.update_tenant(archive, "OBCINA1T", TenantChange(code="OBCINA1TEST"))
    after = archive_one(archive, "OBCINA1TEST", b"<Invoice n='2'/>")
    for unit_id in (before, after):
        for key in holds.unit_objects(archive, unit_id):
            assert stores(archive).test.exists(key)
            assert archive.store.stat(key).retain_until is None


def test_an_offboarded_tenant_takes_no_new_intake_and_keeps_its_holdings(
        archive: Archive, tmp_path: Path) -> None:
    kept = archive_one(archive, "OBCINA1")
    with pytest.raises(RejectedInput, match="reason"):
        tenants.offboard_tenant(archive, "OBCINA1", " ")
    gone = tenants.offboard_tenant(archive, "OBCINA1", "merged into OBCINA2")
    assert (gone.offboarded_at, gone.offboard_reason) == (archive.clock.now(),
                                                          "merged into OBCINA2")
    assert events(archive, "tenant.offboarded") == [{
        "before": {"offboarded_at": None, "offboard_reason": None},
        "after": {"offboarded_at": archive.clock.now().isoformat(),
                  "offboard_reason": "merged into OBCINA2"}}]
    with pytest.raises(Conflict, match="merged into OBCINA2"):
        archive_one(archive, "OBCINA1", b"<Invoice n='new'/>")
    with pytest.raises(Conflict, match="offboarded"):
        list(ingest_directory(archive, tmp_path, "OBCINA1"))
    with pytest.raises(Conflict, match="offboarded"):  # before any connection is tried
        migrate.stage_and_import(archive, "OBCINA1", NOBODY_THERE)
    inbox = tmp_path / "feed"
    list(write_packages(inbox, 2, (TENANT.name, TENANT.tax_number)))
    routed = list(ingest_directory(archive, inbox))  # by its tax number, as the feed does
    assert [(r.outcome, r.codes) for r in routed] == [("quarantined", ["HRB-I004"])] * 2
    held = list_quarantine(archive)
    assert [(q["tenant"], "merged into OBCINA2" in q["reason"]) for q in held] == [
        ("OBCINA1", True)] * 2
    with pytest.raises(Conflict, match="offboarded"):  # nor by releasing it from quarantine
        quarantine.release(archive, held[0]["id"])
    assert show_unit(archive, kept)["unit_id"] == kept
    with pytest.raises(Conflict, match="already"):
        tenants.offboard_tenant(archive, "OBCINA1", "again")


def test_tenants_are_read_and_changed_as_the_rule_book_says(archive: Archive) -> None:
    tenants.add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Občina Druga"))
    own = principal("bu", Role.BUDGET_USER, tenants=frozenset({tenant_id(archive, "OBCINA1")}))
    with acting_as(archive, own):
        assert [t.code for t in tenants.list_tenants(archive)] == ["OBCINA1"]
        assert tenants.show_tenant(archive, "OBCINA1").code == "OBCINA1"
        with pytest.raises(NotFound, match="OBCINA2 is not registered"):
            tenants.show_tenant(archive, "OBCINA2")
        for change in (lambda: tenants.update_tenant(archive, "OBCINA1", TenantChange(name="x")),
                       lambda: tenants.offboard_tenant(archive, "OBCINA1", "x"),
                       lambda: tenants.add_tenant(archive, TEST)):
            with pytest.raises(NotPermitted):
                change()
    assert [d["why"] for d in events(archive, "access.denied")] == ["tenant scope"] + [
        "role"] * 3
    with acting_as(archive, principal("ana", Role.ARCHIVIST)):
        assert tenants.update_tenant(archive, "OBCINA2", TenantChange(name="Druga")).name == (
            "Druga")
    with acting_as(archive, principal("rita", Role.AUDITOR)):
        assert [t.code for t in tenants.list_tenants(archive)] == ["OBCINA1", "OBCINA2"]


def test_a_contact_address_is_checked_shown_and_its_change_recorded(archive: Archive) -> None:
    added = tenants.add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Občina Druga",
                                                  contact=" info@obcina-druga.si "))
    assert added.contact == "info@obcina-druga.si"
    assert events(archive, "tenant.added")[-1]["contact"] == "info@obcina-druga.si"
    changed = tenants.update_tenant(archive, "OBCINA1", TenantChange(
        contact="racuni@obcina-primer.si"))
    assert changed.as_dict()["contact"] == "racuni@obcina-primer.si"
    assert events(archive, "tenant.changed") == [{
        "before": {"contact": None}, "after": {"contact": "racuni@obcina-primer.si"}}]
    with pytest.raises(RejectedInput, match="not a plain e-mail address"):
        tenants.update_tenant(archive, "OBCINA1", TenantChange(
            contact="racuni@obcina-primer.si\r\nBcc: vsi@drugje.si"))
    assert tenants.show_tenant(archive, "OBCINA1").contact == "racuni@obcina-primer.si"


def test_tenant_commands(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", clean_env())
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer",
        "--contact", "racuni@obcina-primer.si")
    cli("tenant", "add", "OBCINA1T", "--tax-number", "SI21423512", "--name", "Test",
        "--env", "test")
    shown = cli("tenant", "show", "OBCINA1T", "--json").json()
    assert (shown["environment"], shown["former_codes"], shown["offboarded_at"]) == (
        "test", [], None)
    refused = cli("tenant", "update", "OBCINA1T", "--env", "production", check=False)
    assert refused.code == 6
    assert "never changes" in refused.err
    updated = cli("tenant", "update", "OBCINA1", "--code", "OBCINA9", "--contact",
                  "info@obcina-primer.si", "--json").json()
    assert (updated["code"], updated["former_codes"], updated["contact"]) == (
        "OBCINA9", ["OBCINA1"], "info@obcina-primer.si")
    assert "former codes: OBCINA1" in cli("tenant", "show", "OBCINA9").out
    assert "contact:      info@obcina-primer.si" in cli("tenant", "show", "OBCINA9").out
    bad = cli("tenant", "update", "OBCINA9", "--contact", "a b@c.si", check=False)
    assert (bad.code, "not a plain e-mail address" in bad.err) == (6, True)
    assert cli("tenant", "show", "OBCINA1", check=False).code == 4
    cli("tenant", "offboard", "OBCINA9", "--reason", "merged")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_bytes(b"<Invoice xmlns='urn:eslog:2.00'/>")
    ingest = cli("ingest", "dir", str(tmp_path / "in"), "--tenant", "OBCINA9", check=False)
    assert ingest.code == 5
    assert "offboarded" in ingest.err
    assert "merged" in ingest.err
    listed = cli("tenant", "list").out
    assert "OBCINA9" in listed
    assert "(offboarded)" in listed


def test_held_input_follows_its_tenant_to_a_new_code(archive: Archive) -> None:
    qid = quarantine.quarantine(archive, source="inbox/empty.xml", code="HRB-I001",
                                reason="empty file", tenant="OBCINA1", data=b"")
    tenants.update_tenant(archive, "OBCINA1", TenantChange(code="OBCINA9"))
    with transaction(archive.db) as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.code == "OBCINA9")).one()
    with acting_as(archive, principal("ana", Role.ARCHIVIST,
                                      tenants=frozenset({tenant_id}))):
        assert [(q["id"], q["tenant"]) for q in list_quarantine(archive)] == [(qid, "OBCINA9")]
