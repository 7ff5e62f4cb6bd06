"""Audit reports (issue #13), the frame every kind shares, shown with the holdings report
on both profiles: its numbers equal an independent count, its totals the sum of its rows;
it is stored (PDF, JSON, CSV) with its SHA-256 and an event, listed, fetched with its
digests checked; the PDF reads back in Slovenian and English, says when a period has no
data, and its signature validates offline, also once the signing certificate has expired
(the signature timestamp and the embedded validation data carry it); tenant scope (exit
8 for a tenant the account may not see); an unknown kind is exit 2 with the list."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
from datetime import date, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env
from plugins.services import missing
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore

from hramba.core.errors import NotFound, NotPermitted
from hramba.core.types import FixedClock
from hramba.domain.access import Action, Role
from hramba.domain.report import LABELS, LANGS, ReportKind
from hramba.services import holds
from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.locks import exclusive
from hramba.services.reports import get_report, list_reports, make_periodic, make_report
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import load_unit
from hramba.trust.certs import load_certificates
from hramba.trust.pdf import PadesPdfSigner, SigningKey

from .principals import acting_as, principal
from .signing import short_lived_key
from .test_search import OTHER_TAX, archive_invoice, budget_user

KINDS_DONE = [k for k in ReportKind
              if (Path(__file__).parents[2] / "hramba/services/reports" / f"{k.value}.py")
              .is_file()]


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm")):
        missing("poppler-utils (pdftotext, pdftoppm) is not installed")


def facts(archive: Archive) -> dict[str, list[str]]:
    """OBCINA1: three 2026 invoices (two sealed, one of them held) and a 2025 credit note
    archived after sealing (pending); OBCINA2: one invoice."""
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    own = [archive_invoice(archive, "OBCINA1", "eslog20", {"issue_date": f"2026-01-0{n}",
                                                           "invoice_number": f"R-{n}"},
                           f"<Invoice n='{n}'/>") for n in (1, 2, 3)]
    theirs = [archive_invoice(archive, "OBCINA2", "ubl", {"issue_date": "2026-01-05"},
                              "<Invoice of='2'/>")]
    seal(archive)
    holds.add_hold(archive, reason="inquiry", unit_id=own[0])
    late = archive_invoice(archive, "OBCINA1", "eslog20", {
        "issue_date": "2025-12-30", "document_type": "381"}, "<CreditNote/>")
    return {"own": own, "late": [late], "theirs": theirs}


def independent(archive: Archive, units: list[str]) -> tuple[int, int]:
    """Files and bytes of these units, read from the objects themselves."""
    files = [f for u in units for f in load_unit(archive, u, Action.READ).files]
    sizes = []
    for f in files:
        with archive.store.open(f.object_key) as stream:
            sizes.append(len(stream.read()))
    return len(files), sum(sizes)


def test_holdings_equal_an_independent_count(archive: Archive) -> None:
    known = facts(archive)
    stored, report = make_report(archive, ReportKind.HOLDINGS)
    (table,) = report.tables
    rows = {(r[0], r[1], r[2], r[3]): r[4:] for r in table.rows}
    files, size = independent(archive, known["own"])
    late_files, late_size = independent(archive, known["late"])
    their_files, their_size = independent(archive, known["theirs"])
    assert rows == {
        ("OBCINA1", "2026", "eslog20", "invoice"): (3, files, size, 3, 0, 1),
        ("OBCINA1", "2025", "eslog20", "credit-note"): (1, late_files, late_size, 0, 1, 0),
        ("OBCINA2", "2026", "ubl", "invoice"): (1, their_files, their_size, 1, 0, 0),
    }
    assert table.totals == (None, None, None, None,
                            *(sum(r[n] for r in table.rows) for n in range(4, 10)))
    assert dict(report.summary)["units"] == 5

    mine, _ = make_report(archive, ReportKind.HOLDINGS, tenant="OBCINA2")
    got = get_report(archive, mine.report_id, archive.home / "got", ("json", "csv"))
    body = json.loads(next(p for p in got if p.suffix == ".json").read_text("utf-8"))
    assert body["tenants"] == ["OBCINA2"]
    assert [r["units"] for r in body["tables"]["holdings_by_year"]["rows"]] == [1]
    rows_csv = list(csv.DictReader(io.StringIO(
        next(p for p in got if p.suffix == ".csv").read_text("utf-8"))))
    assert rows_csv == [{k: str(v) for k, v in r.items()}
                        for r in body["tables"]["holdings_by_year"]["rows"]]
    assert stored.report_id != mine.report_id


def test_a_period_picks_what_was_received_in_it(archive: Archive, clock: FixedClock) -> None:
    facts(archive)
    today = clock.now().date()
    _, same_day = make_report(archive, ReportKind.HOLDINGS, period_from=today,
                              period_to=today)
    assert sum(r[4] for r in same_day.tables[0].rows) == 5
    _, before = make_report(archive, ReportKind.HOLDINGS, period_to=today - timedelta(days=1))
    assert before.empty
    assert before.tables[0].rows == []


def test_stored_listed_fetched_and_audited(archive: Archive, tmp_path: Path) -> None:
    facts(archive)
    first, _ = make_report(archive, ReportKind.HOLDINGS, tenant="OBCINA1")
    stored, _ = make_report(archive, ReportKind.HOLDINGS, tenant="OBCINA1")  # same second
    assert [r.report_id for r in list_reports(archive)] == [stored.report_id, first.report_id]
    same_csv = [n for n in stored.files if n.endswith(".csv")]
    assert [stored.files[n]["key"] for n in same_csv] == [first.files[n]["key"]
                                                          for n in same_csv]
    written = get_report(archive, stored.report_id, tmp_path / "out")
    assert sorted(p.suffix for p in written) == [".csv", ".json", ".pdf"]
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == stored.sha256
    for name, f in stored.files.items():
        assert archive.store.stat(f["key"]).retain_until is None or \
            archive.store.stat(f["key"]).retain_until.year >= 2036, name
    events = list_events(archive, EventCriteria(limit=1000)).events
    made = [e for e in events if e.action == "report.generated"][-1]
    assert made.details["sha256"][pdf.name] == stored.sha256
    assert len([e for e in events if e.action == "report.generated"]) == 2
    (read,) = [e for e in events if e.action == "report.read"]
    assert read.subject == f"report {stored.report_id}"


def test_tenant_scope(archive: Archive) -> None:
    facts(archive)
    theirs, _ = make_report(archive, ReportKind.HOLDINGS, tenant="OBCINA2")
    everything, _ = make_report(archive, ReportKind.HOLDINGS)
    with acting_as(archive, budget_user(archive)):
        for code in ("OBCINA2", "NOSUCH"):  # the same answer: existence is not told
            with pytest.raises(NotPermitted, match=f"may not see reports of tenant {code}"):
                make_report(archive, ReportKind.HOLDINGS, tenant=code)
        own, report = make_report(archive, ReportKind.HOLDINGS)
        assert report.tenants == ("OBCINA1",)
        assert {r[0] for r in report.tables[0].rows} == {"OBCINA1"}
        assert [r.report_id for r in list_reports(archive)] == [own.report_id]
        for other in (theirs, everything):
            with pytest.raises(NotFound, match=f"report {other.report_id} does not exist"):
                get_report(archive, other.report_id, archive.home / "x")
    with pytest.raises(NotFound, match="tenant NOSUCH is not registered"):
        make_report(archive, ReportKind.HOLDINGS, tenant="NOSUCH")


@pytest.mark.parametrize("lang", LANGS)
def test_the_pdf_reads_back_in_both_languages(poppler: None, archive: Archive,
                                              tmp_path: Path, lang: str) -> None:
    facts(archive)
    stored, _ = make_report(archive, ReportKind.HOLDINGS, lang=lang)
    (pdf,) = get_report(archive, stored.report_id, tmp_path, ("pdf",))
    text = " ".join(pdftotext(pdf).split())
    index = LANGS.index(lang)
    for key in ("holdings", "holdings_by_year", "total", "units", "summary", "archive"):
        assert LABELS[key][index] in text, key
    assert "5 4" not in text  # numbers are not run together: the totals row is "5"
    assert f"{LABELS['total'][index]} 5" in text
    _, _empty = make_report(archive, ReportKind.HOLDINGS, period_to=date(2020, 1, 1),
                           lang=lang)
    stored_empty = list_reports(archive)[0]
    (pdf_empty,) = get_report(archive, stored_empty.report_id, tmp_path / "e", ("pdf",))
    assert LABELS["no data"][index] in " ".join(pdftotext(pdf_empty).split())
    page = tmp_path / f"holdings-{lang}"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(page)],
                   check=True)
    shutil.copy(next(tmp_path.glob(f"holdings-{lang}*.png")), Path("/tmp") /
                f"report-holdings-{lang}.png")


def test_the_scheduler_makes_the_periodic_reports_once(archive: Archive) -> None:
    facts(archive)
    with acting_as(archive, principal("op", Role.OPERATOR)):
        with exclusive(archive, "reports") as held:  # a run elsewhere makes them now
            assert held
            assert make_periodic(archive) == {"already running": True}
        assert make_periodic(archive) == {"reports made": 2 * 4}  # two tenants
        assert make_periodic(archive) == {"reports made": 0}
        made = {(r.kind, r.tenants, r.period_from, r.period_to) for r in list_reports(archive)}
    february, year = (date(2026, 2, 1), date(2026, 2, 28)), (date(2025, 1, 1),
                                                              date(2025, 12, 31))
    assert made == {(kind, (code,), *period) for code in ("OBCINA1", "OBCINA2")
                    for kind, period in (("integrity", february), ("evidence", february),
                                         ("access", february), ("holdings", year))}


def test_every_label_is_in_both_languages() -> None:
    assert all(len(words) == 2 and all(words) for words in LABELS.values())


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_the_signature_outlives_the_signing_certificate(archive: Archive,
                                                         clock: FixedClock) -> None:
    """B-LT: a certificate valid two days signs; a month later, validation as of the
    signature timestamp's time with the embedded data holds, and the document timestamp
    (B-LTA) holds now; validation as of the later time alone fails, so expiry is real."""
    facts(archive)
    key_path, certificate_path, anchor = short_lived_key(archive.home / "short", clock.now())
    archive.signing = PadesPdfSigner(SigningKey(key_path, certificate_path),
                                     archive.sealing.timestamper,
                                     archive.sealing.trust.anchors, clock)
    stored, _ = make_report(archive, ReportKind.HOLDINGS)
    (pdf,) = get_report(archive, stored.report_id, archive.home / "pdf", ("pdf",))
    anchors = [*load_certificates(anchor, "signing CA"),
               *load_certificates(archive.home / "tsa" / "dev-ca.pem", "TSA CA")]
    later = clock.now() + timedelta(days=30)
    reader = PdfFileReader(BytesIO(pdf.read_bytes()))
    dss = DocumentSecurityStore.read_dss(reader)
    (signature,) = reader.embedded_regular_signatures
    (document_timestamp,) = reader.embedded_timestamp_signatures

    def context(moment: datetime):  # type: ignore[no-untyped-def]
        return dss.as_validation_context({"trust_roots": anchors, "allow_fetching": False,
                                          "revocation_mode": "hard-fail", "moment": moment})

    expired = validate_pdf_signature(signature, context(later),
                                     ts_validation_context=context(later))
    assert not expired.valid or not expired.trusted
    signed_at = expired.timestamp_validity.timestamp if expired.timestamp_validity else None
    assert signed_at == clock.now()
    then = validate_pdf_signature(signature, context(signed_at),
                                  ts_validation_context=context(later))
    assert then.intact, then.pretty_print_details()
    assert then.valid, then.pretty_print_details()
    assert then.trusted, then.pretty_print_details()
    assert validate_pdf_timestamp(document_timestamp, validation_context=context(later)).valid


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_on_the_command_line(archive: Archive, tmp_path: Path) -> None:
    facts(archive)
    archive.close()
    cli = Cli(archive.home, clean_env())
    made = cli("report", "holdings", "--tenant", "OBCINA1", "--out", str(tmp_path / "o"),
               "--format", "pdf,json", "--lang", "en", "--json").json()
    assert sorted(Path(p).suffix for p in made["written"]) == [".json", ".pdf"]
    listed = cli("report", "ls").out
    assert f"{made['report_id']:>6}  holdings" in listed
    unknown = cli("report", "holdingz", check=False)
    assert unknown.code == 2
    for kind in KINDS_DONE:
        assert kind.value in unknown.err + cli("report", "--help").out


def pdftotext(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
