"""Retention arithmetic and the released policy files."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from hramba.core.errors import ConfigurationError, NotFound
from hramba.domain.retention import (
    Period,
    PolicySet,
    add_months,
    end_of_year_plus,
    parse_policy,
    storage_lock,
)
from hramba.resources import shipped_dir
from hramba.services.policies import load_policies, shipped_policies

# A released policy file never changes: a change is a new file with a new version. Add a
# new file here when it is released; never edit a line of this list.
RELEASED = {
    "audit-report-10y.v1.yaml":
        "aa7f353f2fcd292beb3e83a0232d7591e9342d06f4b50b0e8ec13b3e3829e446",
    "export-delivery-30d.v1.yaml":
        "6426d3c56141bcdd960971b7ef552af8218aaddcfc3ec63f5d6c7f25960649e1",
    "immovable-property-20y.v1.yaml":
        "fe4b699ae9ac9f291f29b7bd3cd167ec3f9edad189970f4e5750e4b36a87bfdd",
    "invoice-10y.v1.yaml": "a47cb8a637f91752af75cdaf3249e05003e0dad058e8f3c7f3dc1a4d39f215db",
    "migration-staging-60d.v1.yaml":
        "f283a421e87e25123993ba91ed104759df083fe78eced15fe29191bfb354837c",
    "migration-staging-60d.v2.yaml":
        "a920f1a63faf4ed0cd45a61841367878c5e2b0649099de93c00f261440a594e1",
    "migration-unimported-90d.v1.yaml":
        "0788d59174fca8a7b874b11d9d44c13bbece9baf07f7f81be4db232920bad030",
    "traffic-2y.v1.yaml": "4f01957f210a53222c064c2816e6509aa3ca9c174e20be2e83a7d40259401927",
}
EOY = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)
POLICIES = shipped_policies()
INVOICE, PROPERTY = POLICIES.get("invoice-10y"), POLICIES.get("immovable-property-20y")
TRAFFIC, STAGING = POLICIES.for_kind("traffic"), POLICIES.for_kind("staging")


def test_released_policy_files_never_change() -> None:
    folder = shipped_dir("policies")
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in folder.glob("*.yaml")}
    assert found == RELEASED


def test_every_policy_records_its_file_and_digest() -> None:
    for policy in POLICIES.all:
        assert RELEASED[policy.source] == policy.sha256
        assert policy.ref == f"{policy.id}@v{policy.version}"


@pytest.mark.parametrize(("issued", "until"), [
    (date(2026, 3, 5), EOY),  # the issue's example
    (date(2026, 1, 1), EOY),
    (date(2026, 12, 31), EOY),
    (date(2024, 2, 29), datetime(2034, 12, 31, 23, 59, 59, tzinfo=UTC)),  # leap day
])
def test_invoices_are_kept_ten_years_after_the_end_of_the_year_of_issue(
        issued: date, until: datetime) -> None:
    received = datetime(2027, 1, 15, tzinfo=UTC)  # receipt a year later does not count
    got = POLICIES.for_unit({"issue_date": issued.isoformat(), "document_type": "380"},
                            received)
    assert (got.retain_until, got.policy, got.basis) == (until, INVOICE, "issue_date")
    assert got.trigger_date == issued
    assert not got.needs_classification


@pytest.mark.parametrize(("received", "until"), [
    (datetime(2026, 3, 5, 12, tzinfo=UTC), EOY),
    (datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC), EOY),
    # 23:30 UTC on 31 December is already 1 January in Ljubljana: the new year counts.
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
     datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_a_unit_without_issue_date_counts_from_receipt_and_is_flagged(
        received: datetime, until: datetime) -> None:
    got = POLICIES.for_unit({"issue_date": None}, received)
    assert (got.retain_until, got.basis, got.needs_classification) == (
        until, "received_at", True)
    assert "no issue date" in got.reason


@pytest.mark.parametrize("metadata", [
    {"issue_date": "2026-03-05", "document_type": "325"},  # a proforma is not an invoice
    {"issue_date": "2026-03-05"},
    {"issue_date": "5.3.2026", "document_type": "380"},  # unreadable: receipt date
])
def test_unknown_document_types_keep_the_default_and_are_flagged(
        metadata: dict[str, str]) -> None:
    got = POLICIES.for_unit(metadata, datetime(2026, 3, 5, tzinfo=UTC))
    assert got.policy == INVOICE
    assert got.needs_classification
    assert got.retain_until == EOY


@pytest.mark.parametrize("doc_type", ["380", "381", "383", "384", "386"])
def test_invoices_credit_debit_corrected_and_prepayment_are_invoices(doc_type: str) -> None:
    got = POLICIES.for_unit({"issue_date": "2026-03-05", "document_type": doc_type},
                            datetime(2026, 3, 6, tzinfo=UTC))
    assert not got.needs_classification


def test_immovable_property_is_twenty_years_and_never_a_default() -> None:
    got = POLICIES.for_unit({"issue_date": "2026-03-05", "document_type": "380"},
                            datetime(2026, 3, 6, tzinfo=UTC), PROPERTY)
    assert got.retain_until == datetime(2046, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert not got.needs_classification
    assert not PROPERTY.default


@pytest.mark.parametrize(("received", "until"), [
    (datetime(2026, 3, 5, 10, tzinfo=UTC), datetime(2028, 3, 5, 10, tzinfo=UTC)),
    # 29 February has no twin two years on: the 1st of March, never the 28th.
    (datetime(2024, 2, 29, 10, tzinfo=UTC), datetime(2026, 3, 1, 10, tzinfo=UTC)),
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2028, 12, 31, 23, 30, tzinfo=UTC)),
])
def test_traffic_data_is_kept_two_years_from_receipt(received: datetime,
                                                     until: datetime) -> None:
    assert TRAFFIC.due(received) == until
    assert TRAFFIC.action == "purge"


@pytest.mark.parametrize(("confirmed", "until"), [
    (datetime(2026, 3, 5, 10, tzinfo=UTC), datetime(2026, 5, 4, 10, tzinfo=UTC)),
    (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),  # leap year
    (datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC)),
])
def test_staging_is_purged_sixty_days_after_confirmation(confirmed: datetime,
                                                         until: datetime) -> None:
    assert STAGING.due(confirmed) == until


@pytest.mark.parametrize(("start", "months", "end"), [
    (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 3, 1, tzinfo=UTC)),
    (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
    (datetime(2024, 2, 29, tzinfo=UTC), 48, datetime(2028, 2, 29, tzinfo=UTC)),
    (datetime(2026, 5, 31, tzinfo=UTC), 13, datetime(2027, 7, 1, tzinfo=UTC)),
])
def test_months_never_end_early(start: datetime, months: int, end: datetime) -> None:
    assert add_months(start, months) == end


def test_a_whole_day_counts_to_its_end_in_ljubljana() -> None:
    policy = parse_policy(_policy_text(anchor="none", period="days: 1", kind="unit",
                                       trigger="issue_date"), "x.yaml")
    # 2026-03-05 ends at midnight Ljubljana (23:00 UTC); one day more.
    assert policy.due(date(2026, 3, 5)) == datetime(2026, 3, 6, 23, 0, tzinfo=UTC)


def test_end_of_year_plus_any_period() -> None:
    assert end_of_year_plus(date(2026, 6, 1), 20) == datetime(2046, 12, 31, 23, 59, 59,
                                                              tzinfo=UTC)


def test_storage_lock_has_a_floor_for_documents_already_expired() -> None:
    now = datetime(2026, 3, 5, tzinfo=UTC)
    expired = POLICIES.for_unit({"issue_date": "2013-04-01", "document_type": "380"}, now)
    assert expired.retain_until == datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert storage_lock(expired.retain_until, now, timedelta(days=365)) == now + timedelta(
        days=365)
    assert storage_lock(EOY, now, timedelta(days=365)) == EOY


def _policy_text(**overrides: str) -> str:
    fields = {"id": "x", "version": "1", "kind": "traffic", "trigger": "received_at",
              "period": "years: 2", "anchor": "none", "action": "purge", **overrides}
    return (f"id: {fields['id']}\nversion: {fields['version']}\ntitle: T\n"
            "legal_basis: {act: A, article: '1'}\n"
            f"applies_to: {{kind: {fields['kind']}}}\ntrigger: {fields['trigger']}\n"
            f"period: {{{fields['period']}}}\nanchor: {fields['anchor']}\n"
            f"action: {fields['action']}\n")


@pytest.mark.parametrize(("overrides", "message"), [
    ({"kind": "everything"}, "applies_to.kind"),
    ({"trigger": "issue_date"}, "trigger must be"),
    ({"anchor": "end_of_month"}, "anchor must be"),
    ({"action": "shred"}, "action one of"),
    ({"anchor": "end_of_year", "period": "days: 5"}, "whole years"),
    ({"period": "years: 0"}, "positive"),
    ({"version": "one"}, "ValueError"),
])
def test_bad_policy_files_are_refused_naming_the_file(overrides: dict[str, str],
                                                      message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        parse_policy(_policy_text(**overrides), "bad.v1.yaml")
    assert "bad.v1.yaml" in str(raised.value)


def test_missing_and_unknown_fields_are_named() -> None:
    text = _policy_text().replace("action: purge\n", "shred_after: 2\n")
    with pytest.raises(ConfigurationError, match=r"missing \['action'\], unknown "
                                                 r"\['shred_after'\]"):
        parse_policy(text, "bad.yaml")


def test_a_policy_set_needs_one_current_policy_per_kind(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(_policy_text(), "utf-8")
    with pytest.raises(ConfigurationError, match="exactly one current unit policy"):
        load_policies(tmp_path)
    twice = [parse_policy(_policy_text(), "a.yaml"), parse_policy(_policy_text(), "b.yaml")]
    with pytest.raises(ConfigurationError, match="appears twice"):
        PolicySet(twice)


def test_lookups_by_id_take_the_latest_version_and_by_ref_the_exact_one() -> None:
    newer = parse_policy(_policy_text(id="traffic-2y", version="2", period="years: 3"),
                         "traffic-2y.v2.yaml")
    policies = PolicySet([*POLICIES.all, newer])
    assert policies.get("traffic-2y") is newer
    assert policies.get("traffic-2y@v1") == TRAFFIC
    assert policies.for_kind("traffic") is newer
    assert Period(years=3) == newer.period
    with pytest.raises(NotFound, match="known: audit-report-10y@v1, export-delivery-30d@v1, "
                                       "immovable"):
        policies.get("nope@v1")


# --- e-documents (ZPJS): orders, despatch advices, responses ----------------------------


@pytest.mark.parametrize(("doc_class", "doc_type"), [
    ("order", "220"), ("despatch-advice", "351"), ("application-response", None)])
def test_an_e_document_gets_the_invoice_policy_unflagged_with_the_reason(
        doc_class: str, doc_type: str | None) -> None:
    got = POLICIES.for_unit({"issue_date": "2026-03-05", "document_type": doc_type,
                             "document_class": doc_class}, datetime(2026, 3, 6, tzinfo=UTC))
    assert (got.policy, got.retain_until, got.needs_classification) == (INVOICE, EOY, False)
    assert got.reason == (f"e-document '{doc_class}': no period of its own in law, the "
                          "invoice-10y@v1 policy applies")


def test_an_e_document_without_an_issue_date_is_flagged_as_any_unit() -> None:
    got = POLICIES.for_unit({"document_type": "220", "document_class": "order"},
                            datetime(2026, 3, 5, 12, tzinfo=UTC))
    assert (got.policy, got.basis, got.needs_classification) == (INVOICE, "received_at", True)
    assert "no issue date" in got.reason


@pytest.mark.parametrize("named", ["order", "220"])
def test_a_unit_policy_naming_an_e_documents_class_or_type_is_its_policy(named: str) -> None:
    orders = parse_policy(_policy_text(id="orders-5y", kind="unit", trigger="issue_date",
                                       period="years: 5", anchor="end_of_year",
                                       action="review").replace(
        "applies_to: {kind: unit}", f"applies_to: {{kind: unit, document_types: ['{named}']}}"),
        "orders-5y.v1.yaml")
    policies = PolicySet([*POLICIES.all, orders])
    got = policies.for_unit({"issue_date": "2026-03-05", "document_type": "220",
                             "document_class": "order"}, datetime(2026, 3, 6, tzinfo=UTC))
    assert (got.policy, got.needs_classification, got.reason) == (orders, False, "")
    assert got.retain_until == datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)
    despatch = policies.for_unit({"issue_date": "2026-03-05", "document_type": "351",
                                  "document_class": "despatch-advice"},
                                 datetime(2026, 3, 6, tzinfo=UTC))
    assert despatch.policy == INVOICE


def test_an_invoice_class_unit_keeps_the_invoice_rules() -> None:
    got = POLICIES.for_unit({"issue_date": "2026-03-05", "document_type": "325",
                             "document_class": "invoice"}, datetime(2026, 3, 6, tzinfo=UTC))
    assert (got.policy, got.needs_classification) == (INVOICE, True)
