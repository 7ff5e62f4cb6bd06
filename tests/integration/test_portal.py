"""The portal's pages in headless Chromium (sign in, find, read, download, sign out) and
over HTTP (CSRF, another tenant's unit, escaping, the language switch)."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests
from plugins.browser import download, screenshot, sign_in_with, wait_for
from plugins.portal import PASSWORD, Server, actions, archive_invoice, budget_user
from plugins.sftp import SftpServer
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from hramba.db.engine import transaction
from hramba.db.models import EXPORT_STATES, Migration
from hramba.domain.access import Role
from hramba.domain.report import ReportKind
from hramba.domain.search import DOCUMENT_TYPES
from hramba.services.archive import ROLES, IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.corpus import write_packages
from hramba.services.export import build_queued, show_export
from hramba.services.ingest import ingest_directory
from hramba.services.migrate import stage, status
from hramba.services.reports import make_report
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import readable
from hramba.web.pages import LOGIN_COOKIE, MIGRATION_COUNTS, SESSION_COOKIE, TEMPLATES
from hramba.web.words import LANGS, WORDS, amount

from .principals import acting_as, principal
from .test_migrate import export, remote
from .test_search import OTHER_TAX

MARKUP = "<script>alert(1)</script>"
LOCAL = pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)


def hostile_invoice(archive: Archive) -> str:
    """A unit whose every text field is markup: the page must show it as text."""
    files = [IncomingFile(f"{MARKUP}.xml", "invoice", "application/xml",
                          lambda: __import__("io").BytesIO(b"<Invoice/>"))]
    return archive_unit(archive, "OBCINA1", files, metadata={
        "issue_date": "2026-02-03", "invoice_number": MARKUP, "seller_name": MARKUP,
        "buyer_name": f"<img src=x onerror=alert(2)>{MARKUP}", "currency": "EUR",
        "payable_amount": "12.50"}).unit_id


def test_a_budget_user_signs_in_finds_an_invoice_reads_and_downloads_it(
        archive: Archive, portal: Server, browser: Any, tmp_path: Path) -> None:
    ids = [archive_invoice(archive, "OBCINA1", n) for n in range(3)]
    hostile = hostile_invoice(archive)
    budget_user(archive, "ana", "OBCINA1")
    browser.get(f"{portal.url}/units")
    assert "/login" in browser.current_url  # signed out: the sign-in page, then back
    screenshot(browser, tmp_path, "portal-1-sign-in")
    sign_in_with(browser, None, "ana", PASSWORD)
    wait_for(browser, lambda b: "/login" not in b.current_url)
    assert browser.current_url == f"{portal.url}/units", browser.find_element(
        By.TAG_NAME, "main").text
    assert "Prijavljeni ste kot ana" in browser.find_element(By.TAG_NAME, "header").text
    rows = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert len(rows) == 4
    screenshot(browser, tmp_path, "portal-2-documents")

    browser.find_element(By.NAME, "number").send_keys("2026-1")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    wait_for(browser, lambda b: "number=2026-1" in b.current_url and len(
        b.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 1)
    (row,) = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    row.find_element(By.LINK_TEXT, "2026-1").click()
    wait_for(browser, lambda b: "Račun št. 1.pdf" in b.find_element(By.TAG_NAME, "main").text)
    assert browser.current_url.endswith(f"/units/{ids[1]}")
    main = browser.find_element(By.TAG_NAME, "main").text
    assert "Račun št. 1.pdf" in main
    screenshot(browser, tmp_path, "portal-3-document")
    target = download(browser, browser.find_elements(By.LINK_TEXT, "Prenesi")[1],
                      tmp_path / "downloads", "Račun št. 1.pdf")
    assert target.read_bytes() == b"%PDF-1.4 " + bytes(1) * 1000

    browser.get(f"{portal.url}/units/{hostile}")
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - no script ran
    assert MARKUP in browser.find_element(By.TAG_NAME, "h1").text
    assert f"{MARKUP}.xml" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img")
    screenshot(browser, tmp_path, "portal-4-markup-is-text")

    browser.find_element(By.CSS_SELECTOR, "header form button").click()
    wait_for(browser, lambda b: "/login" in b.current_url)
    browser.get(f"{portal.url}/units")
    assert "/login" in browser.current_url  # the session ended
    seen = actions(archive, "ana")
    assert seen[:3] == ["session.opened", "units.searched", "units.searched"]
    assert {"unit.shown", "unit.read", "session.closed"} <= set(seen)


@LOCAL
def test_a_budget_user_requests_an_export_and_downloads_it_once_built(
        archive: Archive, portal: Server, browser: Any, tmp_path: Path) -> None:
    ids = [archive_invoice(archive, "OBCINA1", n) for n in range(3)]
    budget_user(archive, "ana", "OBCINA1")
    sign_in_with(browser, f"{portal.url}/login?next=/exports", "ana", PASSWORD)
    wait_for(browser, lambda b: b.current_url.endswith("/exports"))
    browser.find_element(By.NAME, "number").send_keys("2026-2")
    browser.find_element(By.NAME, "reason").send_keys("revizija računskega sodišča")
    browser.find_element(By.CSS_SELECTOR, "form.search button").click()
    wait_for(browser,
        lambda b: "v pripravi" in b.find_element(By.TAG_NAME, "main").text)
    screenshot(browser, tmp_path, "portal-5-export-requested")
    with acting_as(archive, principal("scheduler", Role.OPERATOR)):
        assert build_queued(archive)["exports built"] == 1
    browser.refresh()
    (row,) = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert "pripravljen" in row.text
    screenshot(browser, tmp_path, "portal-6-export-ready")
    package = download(browser, row.find_element(By.LINK_TEXT, "Prenesi"),
                       tmp_path / "downloads", "export-1.zip")
    assert hashlib.sha256(package.read_bytes()).hexdigest() == show_export(archive, 1).sha256
    with zipfile.ZipFile(package) as bag:
        names = bag.namelist()
    assert any(ids[2] in name for name in names)
    assert not any(ids[0] in name or ids[1] in name for name in names)
    seen = actions(archive, "ana")
    assert {"export.requested", "export.downloaded"} <= set(seen)


@LOCAL
def test_a_budget_user_confirms_a_migration_and_downloads_a_report(
        archive: Archive, portal: Server, browser: Any, sftp_server: SftpServer,
        tmp_path: Path) -> None:
    path, _ = export(sftp_server)
    migration = stage(archive, "OBCINA1", remote(sftp_server, path))["id"]  # to review
    stored, _report = make_report(archive, ReportKind.HOLDINGS, "OBCINA1")
    budget_user(archive, "ana", "OBCINA1")
    sign_in_with(browser, f"{portal.url}/login?next=/migrations", "ana", PASSWORD)
    wait_for(browser, lambda b: b.current_url.endswith("/migrations"))
    section = browser.find_element(By.CSS_SELECTOR, "section.migration")
    assert f"Migracija {migration}: OBCINA1" in section.text
    assert "Stanje: čaka na vašo potrditev" in section.text
    assert not section.find_elements(By.NAME, "written_word")  # the budget user's own word
    screenshot(browser, tmp_path, "portal-7-migration")
    section.find_element(By.NAME, "accept_gaps").send_keys("neujemanje pojasnjeno")
    section.find_element(By.CSS_SELECTOR, "button").click()
    wait_for(browser,
        lambda b: "Potrjeno" in b.find_element(By.TAG_NAME, "main").text)
    confirmed = status(archive, migration)
    assert (confirmed["step"], confirmed["archived"]) == ("confirmed, to import", 0)
    with transaction(archive.db) as session:
        row = session.get_one(Migration, migration)
        assert (row.confirmed_by, row.accepted_gaps) == ("ana", "neujemanje pojasnjeno")

    browser.get(f"{portal.url}/reports")
    (row_,) = browser.find_elements(By.CSS_SELECTOR, "main tbody tr")
    assert "Hramba" in row_.text  # the holdings report, by its Slovenian name
    screenshot(browser, tmp_path, "portal-8-reports")
    (name,) = [n for n in stored.files if n.endswith(".pdf")]
    target = download(browser, row_.find_element(By.LINK_TEXT, "PDF"), tmp_path / "downloads", name)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == stored.files[name]["sha256"]
    assert {"migration.confirmed", "report.read"} <= set(actions(archive, "ana"))


def sign_in(portal: Server, login: str = "ana") -> dict[str, str]:
    """Through the sign-in form, as a browser does: the session's cookies."""
    form = requests.get(f"{portal.url}/login", timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    answer = requests.post(f"{portal.url}/login", timeout=30, allow_redirects=False,
                           cookies={LOGIN_COOKIE: form.cookies[LOGIN_COOKIE]},
                           data={"login": login, "password": PASSWORD,
                                 "csrf": token.group(1)})
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    for flag in ("HttpOnly", "Secure", "SameSite=strict", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    return {SESSION_COOKIE: answer.cookies[SESSION_COOKIE]}


def page_csrf(portal: Server, cookies: dict[str, str]) -> str:
    page = requests.get(f"{portal.url}/units", cookies=cookies, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    return token.group(1)


@LOCAL
def test_a_form_without_its_csrf_token_or_from_another_site_is_refused(
        archive: Archive, portal: Server) -> None:
    budget_user(archive, "ana", "OBCINA1")
    no_cookie = requests.post(f"{portal.url}/login", timeout=30, allow_redirects=False,
                              data={"login": "ana", "password": PASSWORD, "csrf": "x"})
    assert no_cookie.status_code == 403
    assert SESSION_COOKIE not in no_cookie.cookies
    cookies = sign_in(portal)
    csrf = page_csrf(portal, cookies)
    logout = f"{portal.url}/logout"
    for data, headers in (({"csrf": "not-the-token"}, {}),
                          ({"csrf": csrf}, {"Origin": "https://evil.example"})):
        refused = requests.post(logout, data=data, headers=headers, cookies=cookies,
                                timeout=30, allow_redirects=False)
        assert refused.status_code == 403
        assert "text/html" in refused.headers["content-type"]
    assert requests.post(logout, cookies=cookies, timeout=30).status_code == 400  # none
    assert page_csrf(portal, cookies)  # the session still stands
    done = requests.post(logout, data={"csrf": csrf}, cookies=cookies, timeout=30,
                         allow_redirects=False)
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    after = requests.get(f"{portal.url}/units", cookies=cookies, timeout=30,
                         allow_redirects=False)
    assert after.status_code == 303


@LOCAL
def test_another_tenants_unit_is_a_page_not_found(archive: Archive, portal: Server) -> None:
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    theirs = archive_invoice(archive, "OBCINA2", 1)
    budget_user(archive, "ana", "OBCINA1")
    cookies = sign_in(portal)
    for path in (f"/units/{theirs}", f"/units/{theirs}/files/0"):
        refused = requests.get(portal.url + path, cookies=cookies, timeout=30)
        assert refused.status_code == 404
        assert f"unit {theirs} does not exist" in refused.text
    assert actions(archive, "ana").count("access.denied") == 2
    listed = requests.get(f"{portal.url}/units", cookies=cookies, timeout=30).text
    assert theirs not in listed


@LOCAL
def test_english_on_request_and_markup_escaped(archive: Archive, portal: Server) -> None:
    hostile = hostile_invoice(archive)
    budget_user(archive, "ana", "OBCINA1")
    cookies = sign_in(portal)
    english = requests.get(f"{portal.url}/units?lang=en", cookies=cookies, timeout=30)
    assert "<h1>Documents</h1>" in english.text
    assert '<html lang="en">' in english.text
    page = requests.get(f"{portal.url}/units/{hostile}", timeout=30,
                        cookies=cookies | {"hramba_lang": "en"}).text
    assert "Kept until" in page
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", page)  # Ljubljana's time
    assert MARKUP not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "12.50 EUR" in page
    slovenian = requests.get(f"{portal.url}/units/{hostile}", cookies=cookies, timeout=30)
    assert "12,50 EUR" in slovenian.text
    assert "<img" not in page
    assert "default-src 'none'" in requests.get(f"{portal.url}/login",
                                                timeout=30).headers["content-security-policy"]


def test_every_word_of_every_template_is_in_both_languages() -> None:
    folder = Path(TEMPLATES.loader.get_source(TEMPLATES, "base.html")[1]).parent  # type: ignore[union-attr]
    used = {key for template in folder.glob("*.html")
            for key in re.findall(r't\("([a-z_]+)"\)', template.read_text())}
    used |= {f"role_{role}" for role in (*ROLES, "manifest")}  # t("role_" + f.role)
    used |= {f"type_{name}" for name in DOCUMENT_TYPES}  # document_kind
    used |= {f"export_{state}" for state in EXPORT_STATES}  # t("export_" + e.state)
    used |= {f"m_{key}" for key in MIGRATION_COUNTS}  # t("m_" + key)
    assert used <= set(WORDS), used - set(WORDS)
    assert all(len(pair) == len(LANGS) and all(pair) for pair in WORDS.values())


@LOCAL
def test_an_invoice_reads_as_a_person_reads_it_in_both_languages(
        archive: Archive, portal: Server, browser: Any, tmp_path: Path) -> None:
    """A generated UJP package (envelope, e-SLOG 2.0, PDF): parties, lines, VAT, totals,
    payment, and the XML as received one click away."""
    list(write_packages(tmp_path / "in", 1, ("Občina Primer", "SI21423512")))
    (outcome,) = list(ingest_directory(archive, tmp_path / "in", "OBCINA1"))
    unit_id = outcome.unit_id
    assert unit_id is not None
    invoice = readable(archive, unit_id)
    assert invoice is not None
    budget_user(archive, "ana", "OBCINA1")
    cookies = sign_in(portal)
    for lang, heading in (("sl", "Postavke"), ("en", "Lines")):
        page = requests.get(f"{portal.url}/units/{unit_id}?lang={lang}", cookies=cookies,
                            timeout=30)
        assert page.status_code == 200, page.text
        assert heading in page.text
    text = page.text
    assert invoice.seller.name
    assert invoice.seller.name in text
    assert invoice.lines
    assert invoice.lines[0].name
    assert invoice.lines[0].name in text
    assert invoice.totals.payable is not None
    assert amount(invoice.totals.payable, "en") in text
    assert invoice.payment.accounts
    assert invoice.payment.accounts[0] in text
    sign_in_with(browser, f"{portal.url}/login?next=/units/{unit_id}", "ana", PASSWORD)
    wait_for(browser, lambda b: "Postavke" in b.find_element(By.TAG_NAME, "main").text)
    screenshot(browser, tmp_path, "portal-9-invoice")
    xml = browser.find_element(By.LINK_TEXT, "Izvorni XML, kot je bil prejet")
    assert xml.get_attribute("href").endswith(f"/units/{unit_id}/files/1")
