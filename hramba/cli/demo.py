"""hramba demo: a throwaway archive on the embedded default, end to end."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hramba.cli.common import counted, emit_report, when
from hramba.cli.errors import ProblemsFound

if TYPE_CHECKING:
    from hramba.services.context import Archive

DEMO_TENANT = ("DEMO", "SI12345678", "Občina Demo", "test")
PORTAL_LOGIN = "demo-pu"


def demo(
    home: Path | None = typer.Option(None, "--home", help="Where to build the demo "
                                     "archive (default: a new temporary folder)."),
    count: int = typer.Option(200, "--count", min=1, help="How many packages to generate."),
) -> None:
    """Build a throwaway archive (SQLite, local store), ingest generated packages, seal, check.

    Ignores any configuration: the demo always runs on the embedded default.
    """
    from hramba.config import load_settings
    from hramba.services import audit, fixity, tenants
    from hramba.services.corpus import write_packages
    from hramba.services.ingest import ingest_directory, summarise
    from hramba.services.seal import seal
    from hramba.wiring import init_archive

    home = home or Path(tempfile.mkdtemp(prefix="hramba-demo-"))
    archive = init_archive(load_settings(home=str(home), environ={}))
    tenant = tenants.NewTenant(*DEMO_TENANT)
    tenants.add_tenant(archive, tenant)
    inbox = home / "inbox"
    paths = list(write_packages(inbox, count, (tenant.name, tenant.tax_number)))
    typer.echo(f"generated {len(paths)} UJP-style packages (envelope, e-SLOG 2.0 invoice, "
               f"PDF) in {inbox}")
    started = time.perf_counter()
    # No --tenant: intake routes each package by its receiver's tax number.
    summary = summarise(list(ingest_directory(archive, inbox)))
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in paths)
    typer.echo(f"ingested: {summary['archived']} units, {size / 1e6:.1f} MB in {seconds:.1f} s "
               f"({len(paths) / seconds:.0f} files/s), {summary['duplicates']} duplicates, "
               f"{summary['quarantined']} quarantined")
    sealed = seal(archive)
    typer.echo(f"sealed: {counted(sealed.sealed, 'unit')} in "
               f"{counted(sealed.batches, 'batch')}, {counted(sealed.tsa_requests, 'request')} "
               f"to the development TSA (not qualified), {sealed.seconds:.1f} s")
    _verify_one_offline(archive, home / "evidence")
    emit_report(audit.verify_chain(archive), as_json=False)
    emit_report(fixity.run_fixity(archive), as_json=False)
    _retention_plan(archive)
    password = _portal_account(archive)
    typer.echo(f"the demo archive lives in {home}\n  try: hramba --home {home} ls --limit 5\n"
               f"  the portal: hramba --home {home} serve, then http://127.0.0.1:8080/ as "
               f"{PORTAL_LOGIN} with the password {password} (the budget user "
               f"{DEMO_TENANT[0]}'s account, made for this demo)")


def _portal_account(archive: Archive) -> str:
    """A budget-user account of the demo tenant with a new random password (shown once:
    it guards a throwaway archive of generated invoices)."""
    import secrets

    from hramba.services.accounts import NewAccount, add_account, set_password

    password = secrets.token_urlsafe(12)
    add_account(archive, NewAccount(PORTAL_LOGIN, "Občina Demo, finance", ("budget-user",),
                                    (DEMO_TENANT[0],)))
    set_password(archive, PORTAL_LOGIN, password)
    return password


def _retention_plan(archive: Archive) -> None:
    """Today's plan, and what would be due once the invoices' ten years have run. The
    demo tenant is a test tenant: a plan shows its units only when it names it."""
    from datetime import date

    from hramba.cli.retention import render_plan
    from hramba.domain.retention import end_of_day
    from hramba.services.retention import plan

    code = DEMO_TENANT[0]
    for line in render_plan(plan(archive, code)):
        typer.echo(line)
    later = plan(archive, code, as_of=end_of_day(date(2037, 1, 1)))
    typer.echo(f"  as of 2037-01-01: {len(later['units']['due'])} units due for review "
               f"and disposal, {later['traffic']['due']} traffic records due for purge "
               f"(hramba retention plan --tenant {code} --as-of 2037-01-01)")


def _verify_one_offline(archive: Archive, out: Path) -> None:
    """Export the first unit's evidence and check it as an auditor would, offline."""
    from hramba.services.evidence import export_evidence
    from hramba.services.units import list_units
    from hramba.trust.certs import load_certificates
    from hramba.trust.evidence import DataGroup, verify_evidence
    from hramba.trust.report import Trust

    unit_id = list_units(archive, limit=1)[0]["unit_id"]
    export_evidence(archive, unit_id, out)
    files = sorted((out / "data").iterdir())
    anchors = out / "validation" / "trust-anchors.pem"
    # The development TSA is not qualified: an auditor accepts that only when told to.
    report = verify_evidence((out / "evidence.ers").read_bytes(), DataGroup.of_paths(files),
                             Trust(load_certificates(anchors, "trust anchors"),
                                   accept_unqualified=True))
    typer.echo(f"offline check of unit {unit_id}: {report.result.value} "
               f"({len(report.checks)} checks, the development TSA's unqualified token "
               f"accepted), existence proven at {when(report.proven_at)}\n"
               f"  same check by hand: hramba verify-evidence --er {out}/evidence.ers "
               f"--trust {anchors} --accept-unqualified {out}/data/*")
    if not report.passed:
        raise ProblemsFound()
