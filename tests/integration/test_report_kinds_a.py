"""The integrity, evidence and quarantine reports (issue #13) on both profiles: over a
small archive whose facts the test made (units sealed, renewed and pending, a fixity run
and a sweep that find one changed object, checks of known ages, quarantined input of two
codes at several ages, released and discarded), every number equals the test's own
count or a direct query, each totals row the sum of its rows, the stored JSON the same
rows; a period reads the state at its end; an empty period gives no rows and a PDF that
says so; the PDF's headings read back in Slovenian and English."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW
from cryptography import x509 as cx509
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select, update

from hramba.core.findings import CODES
from hramba.core.findings import Report as Findings
from hramba.core.types import FixedClock, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import Evidence, File, Quarantined, Unit
from hramba.domain.access import Action
from hramba.domain.report import LABELS, LANGS, Report, ReportKind, ReportTable
from hramba.services import access, quarantine
from hramba.services.context import Archive
from hramba.services.fixity import run_fixity, sweep
from hramba.services.renewal import renew
from hramba.services.reports import get_report, integrity, make_report
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import load_unit

from . import tamper
from .test_export_readme import MARGIN, next_development_tsa
from .test_search import OTHER_TAX, archive_invoice

DAY = timedelta(days=1)
AT = NOW + 130 * DAY  # when the reports are made
EMPTY = date(2020, 1, 1)  # a period before anything happened
I010, I024 = "HRB-I010", "HRB-I024"


@dataclass
class Facts:
    units: dict[str, str] = field(default_factory=dict)  # label -> unit id
    tenant: dict[str, str] = field(default_factory=dict)  # label -> tenant code
    files: dict[str, int] = field(default_factory=dict)  # label -> files
    checked: dict[str, datetime | None] = field(default_factory=dict)
    run: Findings | None = None
    swept: Findings | None = None
    run_objects: int = 0  # counted directly: OBCINA1's files and stored evidence records
    run_bytes: int = 0
    tsa: list[Path] = field(default_factory=list)  # the TSA folder of each batch, in order
    items: dict[str, str] = field(default_factory=dict)  # label -> quarantine id


def archived(archive: Archive, facts: Facts, label: str, tenant: str) -> None:
    facts.units[label] = archive_invoice(archive, tenant, "eslog20", {
        "issue_date": "2026-01-05", "invoice_number": label}, f"<Invoice n='{label}'/>")
    facts.tenant[label] = tenant
    facts.checked[label] = None


def held(archive: Archive, facts: Facts, label: str, code: str, tenant: str | None) -> None:
    facts.items[label] = quarantine.quarantine(
        archive, source=f"inbox/{label}.xml", code=code, reason="test", tenant=tenant,
        data=f"<bad n='{label}'/>".encode())


@pytest.fixture
def facts(archive: Archive, clock: FixedClock) -> Facts:
    """a, b, c (OBCINA1) and d (OBCINA2) sealed at NOW and renewed a day later; c's file
    changed, found by a fixity run of OBCINA1 and by the sweep of everything; then checks
    of known ages set (a 10, b 60, c 100 days before AT; d keeps the sweep's, 127); e
    archived after the sweep, and g released from quarantine, sealed with sha512 five days
    before AT; f archived after that (pending). Quarantine: q1 (I010, OBCINA1, NOW), q2
    (I010, OBCINA1, AT-10d), q3 (I024, OBCINA2, AT-2d), q4 (I024, no tenant, AT-40d) held;
    q5 (I010, OBCINA1) released at AT-20d, q6 (I024, OBCINA2) discarded at AT-3d."""
    known = Facts()
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    for label, tenant in (("a", "OBCINA1"), ("b", "OBCINA1"), ("c", "OBCINA1"),
                          ("d", "OBCINA2")):
        archived(archive, known, label, tenant)
    held(archive, known, "q1", I010, "OBCINA1")
    held(archive, known, "q5", I010, "OBCINA1")
    held(archive, known, "q6", I024, "OBCINA2")
    assert seal(archive).sealed == 4
    known.tsa.append(archive.home / "tsa")

    clock.at = NOW + DAY
    next_development_tsa(archive, clock)
    known.tsa.append(archive.home / f"tsa-{clock.now():%Y%m%d%H%M}")
    assert renew(archive, margin=MARGIN).renewed == 4

    clock.at = NOW + 2 * DAY
    changed = ObjectKey(load_unit(archive, known.units["c"], Action.READ).files[0].object_key)
    tamper.flip_byte(archive.store, changed)
    known.run = run_fixity(archive, "OBCINA1")
    known.run_objects, known.run_bytes = stored_objects(archive, "OBCINA1")
    clock.at = NOW + 3 * DAY
    known.swept = sweep(archive, period_days=1)  # all four
    known.checked.update(a=AT - 10 * DAY, b=AT - 60 * DAY, c=AT - 100 * DAY, d=clock.now())
    with transaction(archive.db) as session:
        for label in "abc":
            session.execute(update(Unit).where(Unit.id == known.units[label])
                            .values(fixity_checked_at=known.checked[label]))

    clock.at = NOW + 4 * DAY
    archived(archive, known, "e", "OBCINA1")
    clock.at = AT - 40 * DAY
    held(archive, known, "q4", I024, None)
    clock.at = AT - 20 * DAY
    known.units["g"] = quarantine.release(archive, known.items["q5"])
    known.tenant["g"], known.checked["g"] = "OBCINA1", None
    clock.at = AT - 10 * DAY
    held(archive, known, "q2", I010, "OBCINA1")
    clock.at = AT - 5 * DAY
    archive.sealing.algorithm = "sha512"
    assert seal(archive).sealed == 2  # e and g
    known.tsa.append(known.tsa[-1])
    clock.at = AT - 4 * DAY
    archived(archive, known, "f", "OBCINA1")
    clock.at = AT - 3 * DAY
    quarantine.discard(archive, known.items["q6"], "not an invoice")
    clock.at = AT - 2 * DAY
    held(archive, known, "q3", I024, "OBCINA2")
    clock.at = AT
    known.files = {label: len(load_unit(archive, unit_id, Action.READ).files)
                   for label, unit_id in known.units.items()}
    return known


def stored_objects(archive: Archive, tenant: str) -> tuple[int, int]:
    """What a fixity run of `tenant` reads, counted by a direct query: the files and the
    stored evidence records of its units, and their bytes."""
    of_tenant = Unit.tenant_id == access.tenant(archive, tenant, Action.TENANT_READ).id
    with transaction(archive.db) as session:
        files = session.execute(select(func.count(), func.sum(File.size)).join(Unit)
                                .where(of_tenant)).one()
        records = session.execute(select(func.count(), func.sum(func.length(Evidence.record)))
                                  .join(Unit).where(of_tenant, Evidence.stored_at.is_not(None))
                                  ).one()
    return int(files[0] + records[0]), int(files[1] + records[1])


# -- helpers shared by the three kinds


def table(report: Report, name: str) -> ReportTable:
    (found,) = [t for t in report.tables if t.name == name]
    return found


def assert_totals(report: Report) -> None:
    """Each totals row is the sum of its rows, column by column."""
    for t in report.tables:
        if t.totals is not None:
            assert t.totals == tuple(sum(r[n] or 0 for r in t.rows) if c.total else None
                                     for n, c in enumerate(t.columns)), t.name


def assert_stored_json(archive: Archive, tmp_path: Path, report_id: int,
                       report: Report) -> None:
    (got,) = get_report(archive, report_id, tmp_path / f"json-{report_id}", ("json",))
    body = json.loads(got.read_text("utf-8"))
    for t in report.tables:
        assert body["tables"][t.name]["rows"] == t.as_dicts(), t.name
    assert body["codes"] == report.codes


def pdf_text(archive: Archive, tmp_path: Path, report_id: int,
             look: str | None = None) -> str | None:
    """The stored PDF's text, words joined by single spaces; None without pdftotext.
    With `look`, its pages also rendered to /tmp/report-<look>-*.png for a person to see."""
    if shutil.which("pdftotext") is None:
        return None
    (pdf,) = get_report(archive, report_id, tmp_path / f"pdf-{report_id}", ("pdf",))
    if look and shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), f"/tmp/report-{look}"],
                       check=True)
    done = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True)
    return " ".join(done.stdout.split())


def assert_labelled(report: Report) -> None:
    """Every table, column, note and summary figure has its words in both languages."""
    words = LABELS | report.labels
    keys = {k for k, _ in report.summary} | {report.kind.value}
    for t in report.tables:
        keys |= {t.name, *(c.name for c in t.columns), *([t.note] if t.note else [])}
    assert {k: words.get(k) for k in keys if k not in words} == {}
    assert all(len(words[k]) == 2 and all(words[k]) for k in keys)


def assert_pdfs(archive: Archive, tmp_path: Path, kind: ReportKind,
                headings: tuple[str, ...]) -> None:
    """Every word labelled; the headings in both languages; an empty period has no rows
    and its PDF says so (the PDF's text only where pdftotext is installed)."""
    for lang in LANGS:
        stored, report = make_report(archive, kind, lang=lang)
        assert_labelled(report)
        words = LABELS | report.labels
        text = pdf_text(archive, tmp_path, stored.report_id, f"{kind.value}-{lang}")
        index = LANGS.index(lang)
        for key in (kind.value, *headings, "total"):
            assert text is None or " ".join(words[key][index].split()) in text, (lang, key)
    stored, empty = make_report(archive, kind, period_to=EMPTY)
    assert empty.empty
    assert [t.rows for t in empty.tables] == [[] for _ in empty.tables]
    text = pdf_text(archive, tmp_path, stored.report_id)
    assert text is None or LABELS["no data"][0] in text
    assert text is None or text.count(LABELS["no rows"][0]) == len(empty.tables)


# -- integrity


def coverage_of(facts: Facts, at: datetime, labels: str = "abcdefg"
                ) -> dict[str, tuple[int, ...]]:
    """Objects per tenant by the age of their unit's last check, as the test set them:
    all, within 30 days, 30 to 90, older, never, after `at`."""
    rows: dict[str, list[int]] = {}
    for label, checked in sorted(facts.checked.items()):
        if label not in labels:
            continue
        n = facts.files[label]
        row = rows.setdefault(facts.tenant[label], [0] * 6)
        row[0] += n
        if checked is None:
            row[4] += n
        elif checked > at:
            row[5] += n
        elif checked >= at - 30 * DAY:
            row[1] += n
        elif checked >= at - 90 * DAY:
            row[2] += n
        else:
            row[3] += n
    return {code: tuple(row) for code, row in rows.items()}


def problems(findings: Findings) -> dict[str, int]:
    counted: dict[str, int] = {}
    for f in findings.findings:
        counted[f.code] = counted.get(f.code, 0) + 1
    return counted


def test_integrity(archive: Archive, facts: Facts, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert facts.run is not None
    assert facts.swept is not None
    changed = ObjectKey(load_unit(archive, facts.units["c"], Action.READ).files[0].object_key)
    code = tamper.changed_code(archive.store, changed)
    assert problems(facts.run) == {code: 1}
    assert facts.run.counts["objects checked"] == facts.run_objects
    stored, report = make_report(archive, ReportKind.INTEGRITY)
    runs = table(report, "fixity_runs")
    expected_runs = []
    for action, tenant, found in (("fixity.run", "OBCINA1", facts.run),
                                  ("fixity.sweep", "*", facts.swept)):
        by_code = problems(found)
        expected_runs.append((action, tenant, found.counts["objects checked"],
                              found.counts["bytes read"],
                              ", ".join(f"{c}: {n}" for c, n in sorted(by_code.items())),
                              len(found.findings)))
    assert [r[2:] for r in runs.rows] == expected_runs
    assert [r[0] for r in runs.rows] == [NOW + 2 * DAY, NOW + 3 * DAY]
    assert {r[1] for r in runs.rows} == {archive.actor}
    assert runs.rows[0][4:6] == (facts.run_objects, facts.run_bytes)
    assert {r[0]: r[1:] for r in table(report, "coverage").rows} == coverage_of(facts, AT)
    overdue = ["d", "e", "c"]  # longest unchecked first; e never, counted from its receipt
    assert table(report, "not_checked").rows == [
        (facts.units[u], facts.tenant[u], received(archive, facts.units[u]), facts.checked[u])
        for u in overdue]
    assert dict(report.summary) == {
        "runs": 2, "objects_checked": sum(r[2] for r in expected_runs),
        "problems": sum(r[5] for r in expected_runs), "units_not_checked_90d": 3}
    assert set(report.codes) == set(problems(facts.run)) | set(problems(facts.swept))
    assert report.codes[code] == CODES[code][1]
    assert_totals(report)
    assert_stored_json(archive, tmp_path, stored.report_id, report)

    # One tenant: its run, not the sweep over every tenant.
    _, own = make_report(archive, ReportKind.INTEGRITY, tenant="OBCINA1")
    assert [r[2] for r in table(own, "fixity_runs").rows] == ["fixity.run"]
    assert [r[0] for r in table(own, "coverage").rows] == ["OBCINA1"]
    assert [r[0] for r in table(own, "not_checked").rows] == [facts.units[u]
                                                                  for u in ("e", "c")]
    # As of a period's end: the checks made since are counted apart.
    end = (NOW + 3 * DAY).date()
    _, then = make_report(archive, ReportKind.INTEGRITY, period_to=end)
    assert len(table(then, "fixity_runs").rows) == 2
    end_at = datetime.combine(end + DAY, time(), ZoneInfo("Europe/Ljubljana"))
    assert {r[0]: r[1:] for r in table(then, "coverage").rows} == coverage_of(
        facts, end_at, "abcd")  # received by then; a, b, c checked since
    assert table(then, "not_checked").rows == []
    # A list longer than its cap says how many in all.
    monkeypatch.setattr(integrity, "LISTED", 2)
    _, cut = make_report(archive, ReportKind.INTEGRITY)
    listed = table(cut, "not_checked")
    assert len(listed.rows) == 2
    assert dict(cut.summary)["units_not_checked_90d"] == 3
    assert "The first 2 of 3 are listed." in cut.labels[listed.note][1]
    assert "prvih 2 od 3" in cut.labels[listed.note][0]
    assert_pdfs(archive, tmp_path, ReportKind.INTEGRITY,
                ("fixity_runs", "coverage", "not_checked"))


def received(archive: Archive, unit_id: str) -> datetime:
    return load_unit(archive, unit_id, Action.READ).received_at


# -- evidence


MARGIN_DEFAULT = timedelta(days=365)  # renew.margin_days


def certificate_rows(folder: Path, batches: int, units: int) -> list[tuple[object, ...]]:
    """The rows of a development TSA's certificate and its CA's, read from the files it
    was made with, soonest expiry first."""
    rows = []
    for name, signer in (("dev-tsa.pem", True), ("dev-ca.pem", False)):
        (c,) = cx509.load_pem_x509_certificates((folder / name).read_bytes())
        cn = c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        rows.append((cn, f"{c.serial_number:X}", signer, c.not_valid_after_utc,
                     c.not_valid_after_utc - MARGIN_DEFAULT, batches, units))
    return sorted(rows, key=lambda r: r[3])


def test_evidence(archive: Archive, facts: Facts, tmp_path: Path) -> None:
    stored, report = make_report(archive, ReportKind.EVIDENCE)
    assert table(report, "sealing").rows == [("OBCINA1", 5, 1, 3), ("OBCINA2", 1, 0, 1)]
    # Batches 2 (the renewal of a-d) and 3 (e, g) rest on the second TSA, batch 1 no more.
    expected = certificate_rows(facts.tsa[1], 2, 6)
    assert table(report, "tsa_certificates").rows == expected
    assert table(report, "algorithms").rows == [("sha256", 1, 4), ("sha512", 1, 2)]
    with transaction(archive.db) as session:  # a direct count of the current records
        current = session.scalar(select(func.count()).select_from(Evidence)
                                 .where(Evidence.superseded_at.is_(None)))
    assert sum(r[2] for r in table(report, "algorithms").rows) == current == 6
    assert dict(report.summary) == {"sealed": 6, "pending": 1, "renewed": 4,
                                    "earliest_renewal": expected[0][4]}
    assert "365" in report.labels["tsa_note"][1]
    assert_totals(report)
    assert_stored_json(archive, tmp_path, stored.report_id, report)

    # The day of sealing: four sealed, none renewed yet; the first TSA's certificate.
    _, first = make_report(archive, ReportKind.EVIDENCE, period_from=NOW.date(),
                           period_to=NOW.date())
    assert table(first, "sealing").rows == [("OBCINA1", 3, 0, 0), ("OBCINA2", 1, 0, 0)]
    assert table(first, "tsa_certificates").rows == certificate_rows(facts.tsa[0], 1, 4)
    assert table(first, "algorithms").rows == [("sha256", 1, 4)]
    # From the renewal on, OBCINA1 alone: renewed three, sealed e and g, f pending.
    _, later = make_report(archive, ReportKind.EVIDENCE, tenant="OBCINA1",
                           period_from=(NOW + DAY).date(), period_to=AT.date())
    assert table(later, "sealing").rows == [("OBCINA1", 2, 1, 3)]
    assert table(later, "algorithms").rows == [("sha256", 1, 3), ("sha512", 1, 2)]
    assert_pdfs(archive, tmp_path, ReportKind.EVIDENCE,
                ("sealing", "tsa_certificates", "algorithms"))


# -- quarantine


def test_quarantine(archive: Archive, facts: Facts, tmp_path: Path) -> None:
    stored, report = make_report(archive, ReportKind.QUARANTINE)
    # tenant, code: items, under 7 days, 7 to 30, over 30 (at AT)
    assert table(report, "waiting").rows == [
        ("OBCINA1", I010, 2, 0, 1, 1),  # q2 (10 days), q1 (130)
        ("OBCINA2", I024, 1, 1, 0, 0),  # q3 (2 days)
        (None, I024, 1, 0, 0, 1)]  # q4 (40 days), of no tenant
    with transaction(archive.db) as session:  # a direct count of what is held
        held_now = session.scalar(select(func.count()).select_from(Quarantined)
                                  .where(Quarantined.status == quarantine.HELD))
    assert sum(r[2] for r in table(report, "waiting").rows) == held_now == 4
    assert table(report, "decided_in_period").rows == [("OBCINA1", I010, 1, 0, 0),
                                                       ("OBCINA2", I024, 0, 1, 0)]
    assert dict(report.summary) == {"waiting_items": 4, "waiting_over_30d": 2,
                                    "released": 1, "discarded": 1, "resolved": 0}
    assert report.codes == {I010: CODES[I010][1], I024: CODES[I024][1]}
    assert_totals(report)
    assert_stored_json(archive, tmp_path, stored.report_id, report)

    _, own = make_report(archive, ReportKind.QUARANTINE, tenant="OBCINA1")
    assert [r[:3] for r in table(own, "waiting").rows] == [("OBCINA1", I010, 2)]
    assert table(own, "decided_in_period").rows == [("OBCINA1", I010, 1, 0, 0)]
    # As of AT-15d: q1 and q6 (discarded later) waiting over 30 days, q4 25 days; q5
    # released in the period.
    _, then = make_report(archive, ReportKind.QUARANTINE, period_to=(AT - 15 * DAY).date())
    assert table(then, "waiting").rows == [("OBCINA1", I010, 1, 0, 0, 1),
                                           ("OBCINA2", I024, 1, 0, 0, 1),
                                           (None, I024, 1, 0, 1, 0)]
    assert table(then, "decided_in_period").rows == [("OBCINA1", I010, 1, 0, 0)]
    assert_pdfs(archive, tmp_path, ReportKind.QUARANTINE, ("waiting", "decided_in_period"))
