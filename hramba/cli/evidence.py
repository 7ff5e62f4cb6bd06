"""hramba seal, verify, verify-evidence and the evidence group: integrity proofs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hramba.cli.common import JSON_OPTION, command_group, counted, emit_json, state, when
from hramba.cli.errors import ProblemsFound
from hramba.cli.progress import progress_bar

if TYPE_CHECKING:
    from hramba.trust.evidence import EvidenceReport
    from hramba.trust.report import Trust

app = command_group("Evidence Records: export, renew.")
AT_OPTION = typer.Option(None, "--at", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
                         help="Judge as of this moment, UTC (default: now).")


def seal(ctx: typer.Context,
         anchor: bool = typer.Option(False, "--anchor", help=(
             "With nothing to seal, anchor the audit log's head now (otherwise only when "
             "the last anchor is a day old).")),
         as_json: bool = JSON_OPTION) -> None:
    """Timestamp every unit not yet sealed: one TSA request per batch (exit 75 if the TSA
    is down; the units stay pending for the next run). With nothing pending, the audit
    log's head is timestamped when its last anchor is a day old."""
    from hramba.core.errors import ServiceUnavailable
    from hramba.services.seal import seal as seal_units

    archive = state(ctx).archive
    with progress_bar("sealing", unit="units", enabled=not as_json) as progress:
        report = seal_units(archive, anchor=anchor, progress=progress)
    if as_json:
        emit_json(report.as_dict())
    elif report.already_running:
        typer.echo(f"another process is sealing now (its lock is held): nothing done; "
                   f"{report.pending} pending")
    else:
        n = report.certificates
        certificates = f" and {counted(n, 'destruction certificate')}" if n else ""
        head = f"; audit log anchored, head event {report.audit_head}" if report.audit_head else ""
        typer.echo(f"sealed {counted(report.sealed, 'unit')}{certificates} in "
                   f"{counted(report.batches, 'batch')} "
                   f"({counted(report.tsa_requests, 'TSA request')}, {report.seconds:.1f} s); "
                   f"{report.pending} pending{head}")
    if report.error:
        raise ServiceUnavailable(report.error)


def verify(ctx: typer.Context,
           unit_id: str = typer.Argument(..., help="Unit id, as `hramba ls` prints it."),
           at: datetime | None = AT_OPTION, as_json: bool = JSON_OPTION) -> None:
    """Re-hash a unit's objects and check its Evidence Record and every token (exit 1)."""
    from hramba.services.evidence import verify_unit

    render(verify_unit(state(ctx).archive, unit_id, _utc(at)), as_json)


def verify_evidence(
    files: list[Path] = typer.Argument(None, help="The unit's files: its data group."),
    er: Path | None = typer.Option(None, "--er", help="Evidence Record (DER)."),
    bag: Path | None = typer.Option(None, "--bag", help=(
        "Instead of --er and files: a whole export package (its folder or its ZIP); "
        "checks the bag's manifests and every unit's record.")),
    trust: Path = typer.Option(..., "--trust", help="Trust anchors (PEM)."),
    sha256: list[str] = typer.Option([], "--sha256", help=(
        "Instead of files: the SHA-256 (hex) of each file of a disposed unit, as its "
        "tombstone and destruction certificate record them; repeat per file.")),
    validation: Path | None = typer.Option(None, "--validation", help=(
        "Folder of validation data (an export's validation/): *.crl, *.ocsp, and *.pem "
        "certificates that help build paths (never trusted as anchors).")),
    policy: list[str] = typer.Option([], "--policy", metavar="OID", help=(
        "Accept only tokens under this TSA policy (repeatable).")),
    accept_unqualified: bool = typer.Option(False, "--accept-unqualified", help=(
        "Let tokens that are not qualified (ETSI EN 319 422) pass; without it they are "
        "INDETERMINATE.")),
    at: datetime | None = AT_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """Check an Evidence Record against exactly a unit's files (or their recorded digests),
    or a whole export package with --bag, offline: no database, no configuration, no
    network. Exit 0 only if every check passed; 1 if one failed or could not be decided
    (INDETERMINATE)."""
    from hramba.core.errors import RejectedInput
    from hramba.trust.certs import certificates_in
    from hramba.trust.evidence import DataGroup
    from hramba.trust.evidence import verify_evidence as verify_record
    from hramba.trust.report import Trust

    def anchors() -> Trust:
        found = certificates_in(trust.read_bytes(), f"--trust {trust}")
        return _with_folder(Trust(found, policies=policy,
                                  accept_unqualified=accept_unqualified), validation)

    if bag is not None:
        if er or files or sha256:
            raise RejectedInput("--bag checks a whole package: give no --er, files or --sha256")
        _render_bag(bag, anchors(), _utc(at), as_json)
        return
    if er is None:
        raise RejectedInput("give --er (with the unit's files or --sha256), or --bag")
    if bool(files) == bool(sha256):
        raise RejectedInput("give the files, or with --sha256 their digests; not both")
    if any(not re.fullmatch(r"[0-9a-fA-F]{64}", h) for h in sha256):
        raise RejectedInput("--sha256 takes a SHA-256 in hex (64 digits)")
    group = (DataGroup.of_paths(files) if files else
             DataGroup.of_recorded("sha256", [bytes.fromhex(h) for h in sha256]))
    record = er.read_bytes()
    report = verify_record(record, group, anchors(), _utc(at))
    render(report, as_json)


def _render_bag(path: Path, trust: Trust, at: datetime | None, as_json: bool) -> None:
    """A line per unit, the bag's checks that did not pass, the totals; exit 1 unless
    everything passed."""
    from hramba.trust.bag import verify_bag
    from hramba.trust.report import Status

    report = verify_bag(path, trust, at)
    if as_json:
        emit_json(report.as_dict())
    else:
        for unit in report.units:
            proven = f"existed at {when(unit.proven_at)}" if unit.proven_at else ""
            typer.echo(f"{unit.result.value:<13} {unit.unit_id}  {unit.where}  {proven}".rstrip())
            for problem in unit.problems:
                typer.echo(f"    {problem}")
        for check in report.checks:
            if check.status is not Status.PASSED:
                typer.echo(f"{check.status.value:<13} {check.code} {check.subject}: "
                           f"{check.detail}")
        counts = report.as_dict()["units"]
        bag_ok = all(c.status is Status.PASSED for c in report.checks)
        rate = len(report.units) / report.seconds if report.seconds else 0
        typer.echo(f"{report.result.value}: {counted(len(report.units), 'unit')} "
                   f"({counts['PASSED']} passed, {counts['FAILED']} failed, "
                   f"{counts['INDETERMINATE']} indeterminate), "
                   f"{counted(report.files, 'file')}, {report.bytes:,} bytes, bag checks "
                   f"{'passed' if bag_ok else 'FAILED'}"
                   f"; {report.seconds:.1f} s ({rate:.0f} units/s)")
    if not report.passed:
        raise ProblemsFound()


def _with_folder(trust: Trust, folder: Path | None) -> Trust:
    """`trust` plus the revocation data and helper certificates in `folder`."""
    if folder is None:
        return trust
    if not folder.is_dir():
        raise FileNotFoundError(2, "No such folder", str(folder))
    return trust.with_validation_files((str(p), p.read_bytes())
                                       for p in sorted(folder.iterdir()) if p.is_file())


@app.command("export")
def export(ctx: typer.Context,
           unit_id: str = typer.Argument(..., help="Unit id, as `hramba ls` prints it."),
           out: Path = typer.Option(..., "--out", help="Empty folder for the export."),
           as_json: bool = JSON_OPTION) -> None:
    """Write data/, evidence.ers, validation/ and README.txt for an auditor."""
    from hramba.services.evidence import export_evidence

    folder = export_evidence(state(ctx).archive, unit_id, out)
    if as_json:
        emit_json({"unit_id": unit_id, "out": str(folder)})
    else:
        typer.echo(f"evidence of {unit_id} in {folder} (see README.txt there)")


@app.command("renew")
def renew(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Add a new timestamp to every chain whose TSA certificate expires within
    renew.margin_days or whose hash is listed in renew.weak_algorithms (one TSA request)."""
    from hramba.services.renewal import renew as renew_records

    archive = state(ctx).archive
    with progress_bar("checking evidence", unit="records", enabled=not as_json) as progress:
        report = renew_records(archive, progress=progress)
    if as_json:
        emit_json(report.as_dict())
    elif report.already_running:
        typer.echo("another process is renewing now (its lock is held): nothing done")
    else:
        typer.echo(f"renewed {report.renewed} of {counted(report.checked, 'evidence record')} "
                   f"({counted(report.tsa_requests, 'TSA request')})")
        for reason, count in report.reasons.items():
            typer.echo(f"  {count}: {reason}")


def render(report: EvidenceReport, as_json: bool) -> None:
    """Every step, what each token claims, which digests were checked, the result; a
    proven time only for PASSED. Exit 1 unless PASSED."""
    if as_json:
        emit_json(report.as_dict())
    else:
        for line in report_lines(report):
            typer.echo(line)
    if not report.passed:
        raise ProblemsFound()


def report_lines(report: EvidenceReport) -> list[str]:
    lines = [f"{c.status.value:<13} {c.code} {c.name}" + (f": {c.detail}" if c.detail else "")
             for c in report.checks]
    lines += [f"token {t.label}: {when(t.gen_time)}, TSA {t.tsa}, serial {t.serial_number}, "
              f"policy {t.policy}, {'qualified' if t.qualified else 'NOT qualified'}; "
              f"revocation data: {'; '.join(t.revocation) or 'none'}" for t in report.tokens]
    lines += [f"data group checked: {d}" for d in report.digests]
    if report.passed:
        lines.append(f"PASSED as of {when(report.judged_at)}; existence proven at "
                     f"{when(report.proven_at)}")
    else:
        claims = ", ".join(when(t.gen_time) for t in report.tokens) or "none"
        lines.append(f"{report.result.value} as of {when(report.judged_at)}: nothing is "
                     f"proven; the tokens claim {claims}")
    return lines


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at and at.tzinfo is None else at
