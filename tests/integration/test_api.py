"""The HTTP API against the real server (uvicorn, on a free loopback port), on the
embedded default and on PostgreSQL + S3: sign-in, search, a unit and its files, the
problem details of every refusal, and one tenant's session asking for another's unit."""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from plugins.cli import Cli, clean_env
from plugins.portal import PASSWORD, Server, actions, archive_invoice, budget_user, served
from plugins.sftp import SftpServer

from hramba.core.types import FixedClock
from hramba.domain.access import Role
from hramba.domain.report import ReportKind
from hramba.services.accounts import NewAccount, add_account, issue_token, set_password
from hramba.services.context import Archive
from hramba.services.export import build_queued
from hramba.services.migrate import stage_and_import
from hramba.services.reports import make_report
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, add_tenant
from hramba.web.app import PROBLEM

from .principals import acting_as, principal
from .test_migrate import export, remote
from .test_search import OTHER_TAX


def test_a_budget_user_signs_in_finds_reads_and_downloads(archive: Archive,
                                                          portal: Server) -> None:
    ids = [archive_invoice(archive, "OBCINA1", n) for n in range(3)]
    budget_user(archive, "ana", "OBCINA1")
    token = portal.token("ana")
    me = portal.get("/api/v1/me", token).json()
    assert (me["login"], me["roles"]) == ("ana", ["budget-user"])

    first = portal.get("/api/v1/units", token, limit=2)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["units"]) == 2
    rest = requests.get(page["next"], headers={"Authorization": f"Bearer {token}"},
                        timeout=30).json()
    assert rest["next"] is None
    found = [u["unit_id"] for u in page["units"] + rest["units"]]
    assert sorted(found) == sorted(ids)

    shown = portal.get(f"/api/v1/units/{ids[0]}", token).json()
    assert shown["unit_id"] == ids[0]
    for f in shown["files"]:
        download = portal.get(f"/api/v1/units/{ids[0]}/files/{f['position']}", token)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == f["sha256"]
        assert download.headers["content-disposition"].startswith("attachment;")
        assert download.headers["content-security-policy"] == "sandbox"
    assert actions(archive, "ana") == ["session.opened", "units.searched", "units.searched",
                                       "unit.shown", *["unit.read"] * len(shown["files"])]


def test_another_tenants_unit_is_not_found_and_the_attempt_recorded(
        archive: Archive, portal: Server) -> None:
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    theirs = archive_invoice(archive, "OBCINA2", 1)
    budget_user(archive, "ana", "OBCINA1")
    token = portal.token("ana")
    for path in (f"/api/v1/units/{theirs}", f"/api/v1/units/{theirs}/files/0"):
        refused = portal.get(path, token)
        assert refused.status_code == 404
        assert refused.headers["content-type"] == PROBLEM
        body = refused.json()
        assert (body["status"], body["exit_code"]) == (404, 4)
        assert theirs in body["detail"]
    unknown = portal.get("/api/v1/units/" + "0" * 32, token).json()
    assert unknown["detail"] == f"unit {'0' * 32} does not exist"
    assert actions(archive, "ana").count("access.denied") == 2
    assert portal.get("/api/v1/units", token, tenant="OBCINA2").status_code == 404


def test_refusals_are_problem_details_with_the_cli_codes(archive: Archive, portal: Server,
                                                          clock: FixedClock) -> None:
    budget_user(archive, "ana", "OBCINA1")
    anonymous = portal.get("/api/v1/units")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["exit_code"] == 8
    for delay in (0.25, 0.5, 1.0):  # each failure for a login waits twice as long
        started = time.monotonic()
        wrong = portal.sign_in("ana", "not the password")
        assert time.monotonic() - started < 5  # refused at once: no server thread sleeps
        assert (wrong.status_code, wrong.json()["exit_code"]) == (403, 8)
        assert wrong.json()["detail"] == ("not permitted: unknown account, wrong "
                                          "credentials or disabled")
        soon = portal.sign_in("ana")  # even the right password, before the delay ran out
        assert (soon.status_code, soon.json()["exit_code"]) == (429, 8)
        assert soon.headers["retry-after"] == "1"
        assert f"try again in {delay:.1f} s" in soon.json()["detail"]
        clock.at += timedelta(seconds=delay)
    assert actions(archive, "(nobody)").count("access.denied") == 3
    token = portal.token("ana")
    bad = portal.get("/api/v1/units", token, date_from="yesterday")
    assert (bad.status_code, bad.json()["exit_code"]) == (400, 2)
    assert "date_from" in bad.json()["detail"]
    assert portal.get("/api/v1/nothing", token).json()["status"] == 404
    openapi = portal.get("/api/openapi.json").json()
    assert {"/api/v1/session", "/api/v1/units", "/api/v1/units/{unit_id}"} <= set(
        openapi["paths"])
    headers = portal.get("/api/v1/me", token).headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert float(headers["server-timing"].removeprefix("app;dur=")) > 0
    requests.delete(f"{portal.url}/api/v1/session", timeout=30,
                    headers={"Authorization": f"Bearer {token}"})
    ended = portal.get("/api/v1/me", token)
    assert (ended.status_code, ended.json()["detail"]) == (403, "session ended: sign in again")


def test_guesses_sent_at_once_are_tried_one_at_a_time(archive: Archive, portal: Server,
                                                       clock: FixedClock) -> None:
    budget_user(archive, "ana", "OBCINA1")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: portal.sign_in("ana", f"ugibanje-{n}"), range(8)))
    assert sorted(a.status_code for a in answers) == [403] + [429] * 7, [a.text for a in answers]
    assert actions(archive, "(nobody)").count("access.denied") == 1
    assert portal.sign_in("ana").status_code == 429  # the first guess's delay runs
    clock.at += timedelta(seconds=1)
    assert portal.sign_in("ana").status_code == 201


def test_an_idle_session_ends_and_an_api_token_needs_none(archive: Archive, portal: Server,
                                                          clock: FixedClock) -> None:
    from datetime import timedelta

    budget_user(archive, "ana", "OBCINA1")
    session = portal.token("ana")
    api_token = issue_token(archive, "ana")
    clock.at += timedelta(minutes=31)
    assert portal.get("/api/v1/me", session).status_code == 403
    assert portal.get("/api/v1/me", api_token).json()["login"] == "ana"


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
@pytest.mark.parametrize("workers", [1, 2])
def test_hramba_serve_answers_on_its_port(archive: Archive, workers: int) -> None:
    budget_user(archive, "ana", "OBCINA1")
    unit_id = archive_invoice(archive, "OBCINA1", 1)
    archive.close()
    with served(Cli(archive.home, clean_env()), "--workers", str(workers)) as url:
        assert requests.get(f"{url}/api/openapi.json", timeout=30).json()["info"][
            "title"] == "e-hramba"
        token = Server(url).token("ana")  # a session one worker opens, every worker knows
        shown = [Server(url).get(f"/api/v1/units/{unit_id}", token) for _ in range(6)]
    assert {answer.status_code for answer in shown} == {200}


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_an_export_requested_built_and_downloaded_over_the_api(archive: Archive,
                                                                portal: Server) -> None:
    ids = [archive_invoice(archive, "OBCINA1", n) for n in range(2)]
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    budget_user(archive, "ana", "OBCINA1")
    budget_user(archive, "bojan", "OBCINA2")
    token = portal.token("ana")
    asked = requests.post(f"{portal.url}/api/v1/exports", timeout=30,
                          headers={"Authorization": f"Bearer {token}"},
                          json={"tenant": "OBCINA1", "reason": "revizija"})
    assert asked.status_code == 201, asked.text
    export_id = asked.json()["export_id"]
    assert (asked.json()["state"], asked.json()["matched"]) == ("queued", len(ids))
    early = portal.get(f"/api/v1/exports/{export_id}/package", token)
    assert (early.status_code, early.json()["exit_code"]) == (404, 4)
    with acting_as(archive, principal("scheduler", Role.OPERATOR)):
        build_queued(archive)
    listed = portal.get("/api/v1/exports", token).json()["exports"]
    assert [(e["export_id"], e["state"]) for e in listed] == [(export_id, "ready")]
    package = portal.get(f"/api/v1/exports/{export_id}/package", token)
    assert package.headers["content-type"] == "application/zip"
    assert hashlib.sha256(package.content).hexdigest() == listed[0]["sha256"]
    other = portal.token("bojan")
    assert portal.get(f"/api/v1/exports/{export_id}/package", other).status_code == 404
    assert portal.get(f"/api/v1/exports/{export_id}", other).status_code == 404
    none = requests.post(f"{portal.url}/api/v1/exports", timeout=30,
                         headers={"Authorization": f"Bearer {other}"},
                         json={"tenant": "OBCINA1", "reason": "radovednost"})
    assert none.status_code == 404


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_migrations_reviewed_and_confirmed_and_reports_fetched(
        archive: Archive, portal: Server, sftp_server: SftpServer) -> None:
    path, _ = export(sftp_server)
    migration = stage_and_import(archive, "OBCINA1", remote(sftp_server, path))["id"]
    stored, _report = make_report(archive, ReportKind.HOLDINGS, "OBCINA1")
    budget_user(archive, "ana", "OBCINA1")
    token = portal.token("ana")
    (listed,) = portal.get("/api/v1/migrations", token).json()["migrations"]
    assert (listed["id"], listed["archived"], listed["missing"]) == (migration, 5, 1)
    confirm = f"{portal.url}/api/v1/migrations/{migration}/confirm"
    auth = {"Authorization": f"Bearer {token}"}
    gaps = requests.post(confirm, json={}, headers=auth, timeout=30)
    assert (gaps.status_code, gaps.json()["exit_code"]) == (409, 5)
    done = requests.post(confirm, json={"accept_gaps": "pojasnjeno"}, headers=auth, timeout=30)
    assert done.status_code == 200, done.text
    assert done.json()["confirmed_at"] is not None
    (report,) = portal.get("/api/v1/reports", token).json()["reports"]
    for name, f in report["files"].items():
        got = portal.get(f"/api/v1/reports/{report['report_id']}/files/{name}", token)
        assert hashlib.sha256(got.content).hexdigest() == f["sha256"] == \
            stored.files[name]["sha256"]
    assert portal.get(f"/api/v1/reports/{report['report_id']}/files/nothing.pdf",
                      token).status_code == 404


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_an_auditor_fetches_a_units_evidence_and_verifies_it_offline(
        archive: Archive, portal: Server, tmp_path: Path) -> None:
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production"))
    unit = archive_invoice(archive, "OBCINA2", 3)
    seal(archive)
    add_account(archive, NewAccount("revizor", "Računsko sodišče", ("auditor",)))
    set_password(archive, "revizor", PASSWORD)
    budget_user(archive, "ana", "OBCINA1")
    got = portal.get(f"/api/v1/units/{unit}/evidence", portal.token("revizor"))
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.content)) as bag:
        bag.extractall(tmp_path)
    folder = tmp_path / f"evidence-{unit}"
    data = sorted(str(p) for p in (folder / "data").iterdir())
    assert len(data) == 3  # the invoice, its PDF, the manifest
    checked = Cli(tmp_path / "nowhere", clean_env())(
        "verify-evidence", "--er", str(folder / "evidence.ers"), "--trust",
        str(folder / "validation" / "trust-anchors.pem"), "--accept-unqualified", *data)
    assert "PASSED" in checked.out
    assert "unit.exported" in actions(archive, "revizor")
    refused = portal.get(f"/api/v1/units/{unit}/evidence", portal.token("ana"))
    assert refused.status_code == 404
    deadline = time.monotonic() + 10  # the temporary folder goes once the answer is sent
    while list(Path(tempfile.gettempdir()).glob("hramba-evidence-*")):
        assert time.monotonic() < deadline, "the evidence package's folder stayed"
        time.sleep(0.1)
