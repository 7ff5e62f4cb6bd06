"""Search (issue #12, part 1): every criterion alone and combined, keyset pages across ties
and units without an issue date, tenant scope through every criterion, the audit event,
the columns intake fills, and `hramba search` on the command line; on both profiles."""

from __future__ import annotations

import io
import itertools
import random
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from plugins.cli import Cli, clean_env
from plugins.samples import samples_dir

from hramba.core.errors import NotFound, NotPermitted, RejectedInput
from hramba.core.types import FixedClock
from hramba.domain.access import Action, Principal, Role
from hramba.domain.search import Direction, Party, Position
from hramba.services import access
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.corpus import SELLERS, ujp_package
from hramba.services.ingest import ingest_directory
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria, search_units
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import list_units

from .principals import acting_as

OWN_TAX, OTHER_TAX = "SI21423512", "SI56251009"  # OBCINA1 (the fixture's) and OBCINA2
KOMUNALA = ("SI39705684", "Komunala Primer d.o.o.")  # a seller of both tenants
ELEKTRO = ("SI11111111", "Elektro Ljubljana d.d.")
SOLA = ("22222222", "Šola Ptuj")  # a buyer the tenant invoices; its VAT id without SI
FOREIGN = ("NL8200.98.395.B.01", "De Koksmaat")

# label: tenant, unit format, metadata as intake records it (ingest.formats).
UNITS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "water": ("OBCINA1", "eslog20", {
        "issue_date": "2026-01-10", "invoice_number": "R-1", "payable_amount": "120.50",
        "seller": KOMUNALA}),
    "power": ("OBCINA1", "eslog20", {
        "issue_date": "2026-01-10", "invoice_number": "E-77", "payable_amount": "99.99",
        "seller": ELEKTRO}),
    "rent": ("OBCINA1", "eslog16", {
        "issue_date": "2026-02-01", "invoice_number": "I-1", "payable_amount": "500.00",
        "seller": ("SI 2142 3512", "Občina Primer"), "buyer": SOLA}),
    "refund": ("OBCINA1", "eslog20", {
        "issue_date": "2026-02-15", "invoice_number": "CN-1", "payable_amount": "-20.00",
        "document_type": "381", "seller": KOMUNALA}),
    "undated": ("OBCINA1", "eslog20", {
        "issue_date": None, "invoice_number": "X-1", "payable_amount": "1000.00",
        "currency": "USD", "seller": KOMUNALA}),
    "foreign": ("OBCINA1", "ubl", {
        "issue_date": "2026-03-01", "invoice_number": "12115118", "payable_amount": "250.33",
        "seller": FOREIGN, "buyer": (None, "ODIN 59")}),
    "theirs": ("OBCINA2", "eslog20", {
        "issue_date": "2026-01-10", "invoice_number": "R-1", "payable_amount": "120.50",
        "seller": KOMUNALA, "buyer": (OTHER_TAX, "Občina Druga")}),
}
OWN = {label for label, (tenant, _, _) in UNITS.items() if tenant == "OBCINA1"}


def metadata(fields: dict[str, Any]) -> dict[str, Any]:
    seller, buyer = fields.get("seller", (None, None)), fields.get("buyer",
                                                                   (OWN_TAX, "Občina Primer"))
    plain = {k: v for k, v in fields.items() if k not in ("seller", "buyer")}
    return {"document_type": "380", "currency": "EUR", "seller_vat": seller[0],
            "seller_name": seller[1], "buyer_vat": buyer[0], "buyer_name": buyer[1]} | plain


def archive_invoice(archive: Archive, tenant: str, unit_format: str, fields: dict[str, Any],
                    content: str) -> str:
    return archive_unit(archive, tenant, [IncomingFile(
        "racun.xml", "invoice", "application/xml", lambda: io.BytesIO(content.encode()))],
        metadata=metadata(fields), unit_format=unit_format).unit_id


@pytest.fixture
def corpus(archive: Archive) -> dict[str, str]:
    """Unit ids by label: UNITS archived (OBCINA2 registered for "theirs")."""
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    return {label: archive_invoice(archive, tenant, fmt, fields, f"<Invoice l='{label}'/>")
            for label, (tenant, fmt, fields) in UNITS.items()}


def found(archive: Archive, corpus: dict[str, str], **criteria: Any) -> set[str]:
    labels = {unit_id: label for label, unit_id in corpus.items()}
    page = search_units(archive, SearchCriteria(**criteria))
    assert page.next_after is None
    return {labels[hit.unit_id] for hit in page.hits}


def budget_user(archive: Archive, code: str = "OBCINA1") -> Principal:
    return Principal("bu", frozenset({Role.BUDGET_USER}),
                     frozenset({access.tenant(archive, code, Action.TENANT_READ).id}))


CRITERIA: list[tuple[dict[str, Any], set[str]]] = [
    ({}, OWN),
    ({"date_from": date(2026, 2, 1)}, {"rent", "refund", "foreign"}),
    ({"date_to": date(2026, 1, 31)}, {"water", "power"}),
    ({"date_from": date(2026, 1, 11), "date_to": date(2026, 2, 14)}, {"rent"}),
    ({"party": "SI39705684"}, {"water", "refund", "undated"}),  # a VAT id, exactly
    ({"party": "39705684"}, {"water", "refund", "undated"}),  # a tax number: SI added
    ({"party": "si 3970 5684"}, {"water", "refund", "undated"}),
    ({"party": "3970568"}, set()),  # ids match whole, never by their start
    ({"party": "komunala"}, {"water", "refund", "undated"}),  # the start of a name
    ({"party": "KOMUNALA  PRIMER"}, {"water", "refund", "undated"}),
    ({"party": "primer"}, set()),  # the start, not any word: "Občina Primer" neither
    ({"party": "SOLA"}, {"rent"}),  # the buyer "Šola Ptuj": diacritics ignored
    ({"party": "šola p"}, {"rent"}),
    ({"party": "SI22222222"}, {"rent"}),  # written 22222222 in the invoice
    ({"party": "NL820098395B01"}, {"foreign"}),  # punctuation ignored
    ({"party": "odin"}, {"foreign"}),
    ({"party": "obcina"}, {"water", "power", "rent", "refund", "undated"}),  # the tenant
    ({"party": "%"}, set()), ({"party": "_"}, set()),  # no LIKE wildcards
    ({"number": "R-1"}, {"water"}),
    ({"number": "r-1"}, set()),  # numbers are exact
    ({"document_type": "credit-note"}, {"refund"}),
    ({"document_type": "381"}, {"refund"}),
    ({"document_type": "invoice"}, OWN - {"refund"}),
    ({"direction": Direction.ISSUED}, {"rent"}),
    ({"direction": Direction.RECEIVED}, {"water", "power", "refund", "undated"}),
    ({"amount_min": Decimal("120.50")}, {"water", "rent", "undated", "foreign"}),
    ({"amount_max": Decimal("99.99")}, {"power", "refund"}),
    ({"amount_min": Decimal("-50"), "amount_max": Decimal(0)}, {"refund"}),
    ({"currency": "usd"}, {"undated"}),
    ({"unit_format": "ubl"}, {"foreign"}),
    ({"unit_format": "eslog16"}, {"rent"}),
    # combined
    ({"party": "komunala", "date_from": date(2026, 2, 1)}, {"refund"}),
    ({"party": "komunala", "document_type": "invoice", "currency": "EUR"}, {"water"}),
    ({"direction": Direction.RECEIVED, "amount_min": Decimal(100)}, {"water", "undated"}),
    ({"date_from": date(2026, 1, 1), "date_to": date(2026, 12, 31), "unit_format": "eslog20",
      "amount_max": Decimal(100), "document_type": "invoice"}, {"power"}),
    ({"number": "R-1", "party": "elektro"}, set()),
]


@pytest.mark.parametrize(("criteria", "expected"), CRITERIA,
                         ids=[str(criteria) for criteria, _ in CRITERIA])
def test_each_criterion_alone_and_combined(archive: Archive, corpus: dict[str, str],
                                           criteria: dict[str, Any], expected: set[str]
                                           ) -> None:
    assert found(archive, corpus, tenant="OBCINA1", **criteria) == expected


def test_sealed_and_pending(archive: Archive, corpus: dict[str, str],
                            clock: FixedClock) -> None:
    clock.at += timedelta(hours=1)
    assert seal(archive).sealed == len(UNITS)
    late = archive_invoice(archive, "OBCINA1", "cii", {"issue_date": "2026-04-01"}, "<late/>")
    both = corpus | {"late": late}
    assert found(archive, both, tenant="OBCINA1", sealed=True) == OWN
    assert found(archive, both, tenant="OBCINA1", sealed=False) == {"late"}
    hits = search_units(archive, SearchCriteria(tenant="OBCINA1")).hits
    assert [(hit.unit_id, hit.sealed) for hit in hits][-2:] == [(late, False),
                                                                (corpus["undated"], True)]


def test_what_a_hit_says(archive: Archive, corpus: dict[str, str]) -> None:
    [rent] = search_units(archive, SearchCriteria(number="I-1")).hits
    assert rent.as_dict() == {
        "unit_id": corpus["rent"], "tenant": "OBCINA1", "issue_date": "2026-02-01",
        "document_type": "380", "type": "invoice", "invoice_number": "I-1",
        "seller": {"tax_id": OWN_TAX, "name": "Občina Primer"},
        "buyer": {"tax_id": "SI22222222", "name": "Šola Ptuj"},
        "counterparty": {"tax_id": "SI22222222", "name": "Šola Ptuj"},  # it issued: buyer
        "payable_amount": "500.00", "currency": "EUR", "direction": "issued",
        "format": "eslog16", "received_at": rent.received_at.isoformat(),
        "sealed": False, "disposed": False}
    [foreign] = search_units(archive, SearchCriteria(party="de koks")).hits
    assert (foreign.direction, foreign.counterparty.name) == (None, "De Koksmaat")


def test_pages_follow_tenant_date_and_id_with_undated_units_last(
        archive: Archive) -> None:
    """Ties on the issue date, units without one, two tenants: pages of every size give
    the whole order, each unit once."""
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    rng = random.Random(12)
    dates = ["2026-01-10", "2026-01-10", "2026-01-10", "2026-01-11", None, None, "2025-12-31"]
    units = [(tenant, day, archive_invoice(archive, tenant, "eslog20", {"issue_date": day},
                                           f"<i t='{tenant}' n='{n}'/>"))
             for tenant in ("OBCINA1", "OBCINA2") for n, day in enumerate(rng.sample(dates, 7))]
    ids = {code: access.tenant(archive, code, Action.READ).id for code in ("OBCINA1", "OBCINA2")}
    order = [unit_id for _, _, unit_id in sorted(
        units, key=lambda u: (ids[u[0]], u[1] is None, u[1] or "", u[2]))]
    both = Principal("bu2", frozenset({Role.BUDGET_USER}), frozenset(ids.values()))
    for who, limit in itertools.product((archive.principal, both), (1, 2, 3, 5, 14, 20)):
        seen, after, pages = [], None, 0
        with acting_as(archive, who):  # every tenant at once, or the two one by one
            while True:
                page = search_units(archive, SearchCriteria(after=after, limit=limit))
                seen += [hit.unit_id for hit in page.hits]
                pages += 1
                if page.next_after is None:
                    break
                after = page.next_after
        assert seen == order, (who.login, limit)
        assert pages == max(1, -(-len(order) // limit)), limit  # no empty last page
    theirs = search_units(archive, SearchCriteria(tenant="OBCINA2", limit=20)).hits
    assert [hit.unit_id for hit in theirs] == order[7:]


def test_a_budget_user_never_finds_another_tenants_units(archive: Archive,
                                                         corpus: dict[str, str]) -> None:
    """Through every criterion, the party both tenants buy from included, and a position
    made up to point into the other tenant."""
    theirs = access.tenant(archive, "OBCINA2", Action.READ).id
    other_position = Position(theirs, None, "0").token()
    with acting_as(archive, budget_user(archive)):
        for criteria, expected in CRITERIA:
            assert found(archive, corpus, **criteria) == expected, criteria
        assert found(archive, corpus, party="komunala", number="R-1") == {"water"}
        assert found(archive, corpus, after=other_position) == set()
        assert found(archive, corpus, after=Position(0, None, "0").token()) == OWN
        with pytest.raises(NotFound, match=r"^tenant OBCINA2 is not registered"):
            search_units(archive, SearchCriteria(tenant="OBCINA2", party="komunala"))
    with acting_as(archive, budget_user(archive, "OBCINA2")):
        assert found(archive, corpus, party="SI39705684") == {"theirs"}
    assert found(archive, corpus, party="SI39705684") == {"water", "refund", "undated",
                                                          "theirs"}  # an admin: every tenant
    denied = [e.details for e in list_events(archive, EventCriteria(limit=1000)).events
              if e.action == "access.denied"]
    assert denied == [{"action": "read", "why": "tenant scope"}]


def test_nothing_found_is_an_empty_page(archive: Archive, corpus: dict[str, str]) -> None:
    page = search_units(archive, SearchCriteria(tenant="OBCINA1", number="nobody's"))
    assert page.as_dict() == {"units": [], "next_after": None}


def test_searching_is_an_audit_event_with_the_criteria_and_the_count(
        archive: Archive, corpus: dict[str, str]) -> None:
    with acting_as(archive, budget_user(archive)):
        search_units(archive, SearchCriteria(tenant="OBCINA1", party="komunala",
                                             date_from=date(2026, 1, 1),
                                             amount_min=Decimal("-100.5"), limit=2))
    [event] = [e for e in list_events(archive, EventCriteria(actor="bu")).events]
    assert (event.action, event.subject, event.tenant) == ("units.searched", "units",
                                                           "OBCINA1")
    assert event.details == {
        "tenant": "OBCINA1", "date_from": "2026-01-01", "date_to": None, "party": "komunala",
        "number": None, "document_type": None, "direction": None, "amount_min": "-100.5",
        "amount_max": None, "currency": None, "unit_format": None, "sealed": None,
        "after": None, "limit": 2, "count": 2}


def test_refusals(archive: Archive, corpus: dict[str, str]) -> None:
    with pytest.raises(RejectedInput, match=r"unknown document type 'bill' \(one of: invoice"):
        search_units(archive, SearchCriteria(document_type="bill"))
    for bad in ("1:2026-13-01:abc", "x", "1:2026-01-01:../a"):
        with pytest.raises(RejectedInput, match=r"is not a position `hramba search` printed"):
            search_units(archive, SearchCriteria(after=bad))
    with pytest.raises(RejectedInput, match=r"1 to 1000 units, not 0"):
        search_units(archive, SearchCriteria(limit=0))
    with (acting_as(archive, Principal("op", frozenset({Role.OPERATOR}))),
          pytest.raises(NotPermitted, match=r"^not permitted: op \(operator\) may not read")):
        search_units(archive, SearchCriteria())


def test_intake_fills_the_columns_and_ls_shows_the_invoice(archive: Archive,
                                                           tmp_path: Path) -> None:
    """A UJP package for the tenant (received, routed by the envelope), and a public
    sample addressed to someone else, archived for the tenant all the same."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "p.zip").write_bytes(ujp_package(1, random.Random(1), ("Občina Primer",
                                                                      OWN_TAX)))
    (inbox / "cii.xml").write_bytes((samples_dir() / "cii/CII_example1.xml").read_bytes())
    results = {r.path: r.unit_id for r in ingest_directory(archive, inbox, "OBCINA1")}
    [package] = search_units(archive, SearchCriteria(number="2026-000001")).hits
    assert (package.unit_id, package.direction, package.buyer) == (
        results["p.zip"], "received", Party(OWN_TAX, "Občina Primer"))
    assert package.seller in {Party(tax_id, name) for name, tax_id in SELLERS}
    [cii] = search_units(archive, SearchCriteria(party="de koksmaat")).hits
    assert (cii.unit_id, cii.issue_date, cii.payable_amount, cii.direction, cii.buyer) == (
        results["cii.xml"], date(2015, 1, 9), Decimal("250.33"), None,
        Party(None, "ODIN 59"))  # addressed to neither party: no direction
    listed = {row["unit_id"]: row for row in list_units(archive)}[results["cii.xml"]]
    assert {k: listed[k] for k in ("issue_date", "invoice_number", "counterparty",
                                   "payable_amount", "currency")} == {
        "issue_date": "2015-01-09", "invoice_number": "12115118",
        "counterparty": "De Koksmaat", "payable_amount": "250.33", "currency": "EUR"}


def test_search_on_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", clean_env())
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", OWN_TAX, "--name", "Občina Primer")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for seq in (1, 2, 3):
        (inbox / f"p{seq}.zip").write_bytes(ujp_package(seq, random.Random(seq),
                                                        ("Občina Primer", OWN_TAX)))
    cli("ingest", "dir", str(inbox))
    everything = cli("search", "--tenant", "OBCINA1", "--json").json()
    assert everything["next_after"] is None
    order = [(u["issue_date"], u["unit_id"]) for u in everything["units"]]
    assert len(order) == 3
    assert order == sorted(order)
    first = cli("search", "--tenant", "OBCINA1", "--limit", "2", "--direction", "received",
                "--amount-min", "0,01").out.splitlines()
    assert len(first) == 3
    for line, unit in zip(first[:2], everything["units"], strict=False):
        assert re.match(rf"{unit['unit_id']}  OBCINA1    {unit['issue_date']}  "
                        rf"{unit['invoice_number']} +{re.escape(unit['seller']['name'])} +"
                        rf"{unit['payable_amount']} EUR  invoice     received pending$",
                        line), line
    nxt = re.fullmatch(r"next page: hramba search --tenant OBCINA1 --direction received "
                       r"--amount-min 0\.01 --after (\S+) --limit 2", first[-1])
    assert nxt, first[-1]
    second = cli("search", "--tenant", "OBCINA1", "--direction", "received", "--amount-min",
                 "0.01", "--after", nxt[1], "--limit", "2", "--json").json()
    assert [u["unit_id"] for u in second["units"]] == [everything["units"][2]["unit_id"]]
    assert second["next_after"] is None
    none = cli("search", "--party", "nobody", "--pending")
    assert (none.code, none.out) == (0, "no units match\n")
    for amount in ("lots", "NaN", "1.234,50"):
        assert cli("search", "--amount-min", amount, check=False).code == 2
    assert cli("search", "--type", "bill", check=False).code == 6
    assert cli("search", "--tenant", "NOBODY", check=False).code == 4
    listed = cli("ls").out.splitlines()
    assert all(re.search(r"  2026-\d\d-\d\d  2026-00000\d +\S.* \d+\.\d\d EUR  eslog20$",
                         line) for line in listed), listed
    shown = cli("show", everything["units"][0]["unit_id"]).out.splitlines()
    assert f"  invoice_number     {everything['units'][0]['invoice_number']}" in shown
