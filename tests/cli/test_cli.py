"""The `hramba` command as an archivist uses it: outputs, JSON shapes and exit codes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import requests
from plugins.cli import Cli, clean_env
from plugins.portal import served
from plugins.samples import samples_dir
from plugins.services import free_port

from hramba.core.types import Digest

INVOICE = b"\xef\xbb\xbf<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'/>\n"


def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.xml").write_bytes(INVOICE)
    (folder / "sub" / "b.xml").write_bytes(INVOICE.replace(b"'/>", b"'><!-- 2 --></Invoice>"))
    (folder / "empty.xml").write_bytes(b"")
    os.symlink("/etc/passwd", folder / "link.xml")
    return folder


def test_tenant_add_and_list(cli: Cli) -> None:
    rows = cli("tenant", "list", "--json").json()
    assert [(t["code"], t["tax_number"], t["environment"]) for t in rows] == [
        ("OBCINA1", "SI21423512", "production")]
    bad = cli("tenant", "add", "X", "--tax-number", "SI12345678", "--name", "X", check=False)
    assert bad.code == 6
    assert "check digit" in bad.err
    cli("tenant", "add", "TEST1", "--tax-number", "SI12345678", "--name", "T", "--env", "test")
    twice = cli("tenant", "add", "TEST1", "--tax-number", "SI12345678", "--name", "T",
                "--env", "test", check=False)
    assert twice.code == 5


def test_ingest_dir_reports_every_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", "--json",
                 check=False)
    assert result.code == 1  # something was quarantined
    summary = result.json()
    assert (summary["archived"], summary["duplicates"], summary["quarantined"]) == (2, 0, 2)
    by_path = {r["path"]: r for r in summary["results"]}
    assert by_path["a.xml"]["outcome"] == "archived"
    assert by_path["empty.xml"]["codes"] == ["HRB-I001"]
    assert by_path["link.xml"]["codes"] == ["HRB-I002"]
    assert "quarantine" in by_path["link.xml"]["reason"]
    again = cli("ingest", "dir", str(tmp_path / "inbox"), "--tenant", "OBCINA1", "--json",
                check=False).json()
    assert again["duplicates"] == 2
    assert again["archived"] == 0
    assert {r["unit_id"] for r in again["results"] if r["outcome"] == "duplicate"} == {
        by_path["a.xml"]["unit_id"], by_path["sub/b.xml"]["unit_id"]}


def test_ls_show_get_round_trip(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", check=False)
    units = cli("ls", "--json").json()
    assert len(units) == 2
    unit = cli("show", units[0]["unit_id"], "--json").json()
    assert set(unit) >= {"unit_id", "tenant", "received_at", "files", "retention", "findings"}
    assert set(unit["files"][0]) >= {"name", "role", "size", "sha256", "object_key"}
    assert set(unit["retention"]) == {"retain_until", "legal_hold", "policy", "basis",
                                      "trigger_date", "needs_classification",
                                      "disposed_at", "disposal"}
    cli("get", unit["unit_id"], "--out", str(tmp_path / "out"))
    original = tmp_path / "inbox" / unit["metadata"]["source_path"]
    assert (tmp_path / "out" / unit["files"][0]["name"]).read_bytes() == original.read_bytes()
    manifest = (tmp_path / "out" / "manifest.json").read_bytes()
    assert Digest.of_bytes(manifest).hex == unit["files"][1]["sha256"]


def test_fixity_exit_code_names_the_problem(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", check=False)
    assert cli("fixity").code == 0
    key = cli("show", cli("ls", "--json").json()[0]["unit_id"], "--json").json()[
        "files"][0]["object_key"]
    path = cli.home / "objects" / "objects" / key
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"Invoice", b"Invoicf"))
    bad = cli("fixity", "--json", check=False)
    assert bad.code == 1
    assert [(f["code"], f["subject"]) for f in bad.json()["findings"]] == [("HRB-F001", key)]
    assert cli("audit", "verify").code == 0
    refused = cli("get", key.split("/")[2], "--out", str(tmp_path / "out"), check=False)
    assert refused.code == 7
    assert "does not match" in refused.err
    assert not any((tmp_path / "out").iterdir())  # no partial or wrong file left behind


def test_errors_have_their_own_exit_codes(cli: Cli, tmp_path: Path) -> None:
    missing = cli("show", "0" * 32, check=False)
    assert (missing.code, missing.err.strip()) == (
        4, f"hramba: error: unit {'0' * 32} does not exist")
    assert cli("no-such-command", check=False).code == 2
    config = tmp_path / "bad.toml"
    config.write_text('[storage]\nbukcet = "x"\n')
    bad = cli("--config", str(config), "ls", check=False)
    assert bad.code == 3
    assert "storage.bukcet" in bad.err
    assert cli("ingest", "dir", str(tmp_path / "nowhere"), "--tenant", "OBCINA1",
               check=False).code == 4


def test_help_needs_no_configuration(tmp_path: Path) -> None:
    env = clean_env() | {"HRAMBA_CONFIG": str(tmp_path / "absent.toml")}
    result = Cli(tmp_path / "none", env)("ingest", "dir", "--help")
    assert "--tenant" in result.out
    assert not (tmp_path / "none").exists()


def test_commands_refuse_an_uninitialised_archive(tmp_path: Path) -> None:
    result = Cli(tmp_path / "fresh", clean_env())("ls", check=False)
    assert result.code == 3
    assert "hramba init" in result.err


def test_demo_runs_end_to_end_on_the_embedded_default(tmp_path: Path) -> None:
    env = clean_env() | {"HRAMBA_DATABASE_URL": "postgresql://must-be-ignored/x"}
    result = Cli(tmp_path / "unused", env)("demo", "--home", str(tmp_path / "demo"),
                                           "--count", "25")
    assert "ingested: 25 units" in result.out
    assert "sealed: 25 units in 1 batch, 1 request to" in result.out
    assert "offline check of unit" in result.out
    assert "PASSED" in result.out
    assert "audit: OK" in result.out
    assert "fixity: OK (150 objects checked" in result.out  # 3 files, package, manifest, record
    assert f"lives in {tmp_path / 'demo'}" in result.out
    # The portal on the embedded default: the demo's budget user signs in and finds them.
    portal = re.search(r"http://127.0.0.1:8080/ as (\S+) with the password (\S+) ", result.out)
    assert portal is not None, result.out
    with served(Cli(tmp_path / "demo", clean_env())) as url:
        signed = requests.post(f"{url}/api/v1/session", timeout=30, json={
            "login": portal.group(1), "password": portal.group(2)})
        assert signed.status_code == 201, signed.text
        found = requests.get(f"{url}/api/v1/units", timeout=30, params={"tenant": "DEMO"},
                             headers={"Authorization": f"Bearer {signed.json()['token']}"})
        assert len(found.json()["units"]) == 25


def test_real_samples_go_through_intake(cli: Cli, tmp_path: Path) -> None:
    samples = samples_dir()
    summary = cli("ingest", "dir", str(samples), "--tenant", "OBCINA1", "--json",
                  check=False).json()
    invoices = ("eslog20/", "eslog16/", "ubl/", "cii/")
    for result in summary["results"]:
        if result["path"].startswith(invoices):
            # a second variant (signed, commented, another syntax) of an archived document
            # is a conflict, never a silent second unit
            assert result["outcome"] == "archived" or result["codes"] == ["HRB-I025"], result
        elif result["path"] == "xsd/xmldsig-core-schema.xsd":  # it carries a DOCTYPE
            assert (result["outcome"], result["codes"]) == ("quarantined", ["HRB-I011"])
        else:  # envelope alone, XSDs, loose attachments, PROVENANCE.md: no e-invoice
            assert (result["outcome"], result["codes"]) == ("quarantined", ["HRB-I024"])
    archived = [r for r in summary["results"] if r["outcome"] == "archived"]
    assert len(archived) == 21  # 39 invoices; the rest repeat a document (signed, BT, twins;
    # a credit note and an invoice that share a number are two documents)
    for result in archived[:: max(1, len(archived) // 6)]:
        out = tmp_path / "out" / result["unit_id"]
        cli("get", result["unit_id"], "--out", str(out))
        name = Path(result["path"]).name
        assert (out / name).read_bytes() == (samples / result["path"]).read_bytes()
    huf = next(r for r in archived if r["path"] == "cii/huf_example_cii.xml")
    unit = cli("show", huf["unit_id"], "--json").json()
    assert unit["format"] == "cii"
    assert [f["role"] for f in unit["files"]] == ["invoice", "attachment", "manifest"]
    pdf = (samples / "attachments" / "extracted_from_huf_example_cii.pdf").read_bytes()
    assert unit["files"][1]["sha256"] == Digest.of_bytes(pdf).hex


def test_seal_verify_export_and_offline_verification(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", check=False)
    sealed = cli("seal", "--json").json()
    assert (sealed["sealed"], sealed["batches"], sealed["tsa_requests"]) == (2, 1, 1)
    unit_id = cli("ls", "--json").json()[0]["unit_id"]
    report = cli("verify", unit_id, "--json").json()
    assert report["result"] == "PASSED"
    assert report["proven_existence"]
    out = tmp_path / "export"
    cli("evidence", "export", unit_id, "--out", str(out))
    auditor = Cli(tmp_path / "no-archive-here", clean_env())  # no database, no settings
    args = ["verify-evidence", "--er", str(out / "evidence.ers"), "--trust",
            str(out / "validation" / "trust-anchors.pem"), "--accept-unqualified",
            *map(str, sorted((out / "data").iterdir()))]
    offline = auditor(*args, "--json").json()
    assert offline["result"] == "PASSED"
    assert {c["status"] for c in offline["checks"]} == {"PASSED"}
    assert not (tmp_path / "no-archive-here").exists()
    data = sorted((out / "data").iterdir())[0]
    data.write_bytes(data.read_bytes().replace(b"Invoice", b"Invoicf"))
    failed = auditor(*args, check=False)
    assert failed.code == 1
    assert "FAILED" in failed.out


def test_seal_with_the_tsa_down_exits_75_and_keeps_units_pending(cli: Cli,
                                                                  tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", check=False)
    anchors = cli.home / "tsa" / "dev-ca.pem"
    down = Cli(cli.home, cli.env | {"HRAMBA_TSA_URL": f"http://127.0.0.1:{free_port()}/tsa",
                                    "HRAMBA_TSA_TRUST_ANCHORS": str(anchors)})
    result = down("seal", "--json", check=False)
    assert result.code == 75
    assert result.json()["pending"] == 2
    assert cli("seal", "--json").json()["sealed"] == 2


def test_quarantine_ls_release_and_discard(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1", check=False)
    held = cli("quarantine", "ls", "--json").json()
    assert sorted(q["code"] for q in held) == ["HRB-I001", "HRB-I002"]
    link = next(q for q in held if q["code"] == "HRB-I002")
    empty = next(q for q in held if q["code"] == "HRB-I001")
    missing_bytes = cli("quarantine", "release", link["id"], check=False)
    assert missing_bytes.code == 4  # a link's target was never copied: nothing to archive
    cli("quarantine", "discard", link["id"], "--reason", "points at /etc")
    released = cli("quarantine", "release", empty["id"], "--json").json()
    unit = cli("show", released["unit_id"], "--json").json()
    assert [f["code"] for f in unit["findings"]] == ["HRB-I001"]  # archived with the finding
    assert unit["files"][0]["size"] == 0
    assert cli("quarantine", "ls", "--json").json() == []
    everything = cli("quarantine", "ls", "--all", "--json").json()
    assert {q["status"] for q in everything} == {"released", "discarded"}
    twice = cli("quarantine", "discard", link["id"], "--reason", "again",
                check=False)
    assert twice.code == 5
