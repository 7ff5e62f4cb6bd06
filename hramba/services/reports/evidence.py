"""Evidence: per tenant the units sealed and renewed in the period and those pending at
its end; the TSA certificates the proofs rest on, with the date each must be renewed by;
and the hash algorithms in use.

A proof rests on the batch of its unit's current Evidence Record (the one not superseded
at the period's end, or now): the certificates of that batch's token, the TSA's own and
its chain, and its algorithm. Renewal (hramba.services.renewal) renews a chain once a
certificate of its token's path expires within the margin, so the renewal date of each
is its `not_after` less the margin (renew.margin_days, 365 days by default).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import x509
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from hramba.db.models import Batch, Evidence, Tenant, Unit
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.services.reports import Collected, Scope, by_end
from hramba.trust.certs import load_pem_text
from hramba.trust.tokens import signer_of

SEALING_COLUMNS = (ReportColumn("tenant", 1.0),
                   total_column("sealed", 1.0),
                   total_column("pending", 1.0),
                   total_column("renewed", 1.0))
CERTIFICATE_COLUMNS = (ReportColumn("subject", 2.1), ReportColumn("serial", 2.0),
                       ReportColumn("tsa_signer", 0.6), ReportColumn("not_after", 0.9),
                       ReportColumn("renew_by", 0.9), ReportColumn("batches", 0.7, "right"),
                       ReportColumn("units", 0.7, "right"))
ALGORITHM_COLUMNS = (ReportColumn("algorithm", 1.0),
                     total_column("batches", 1.0),
                     total_column("units", 1.0))

LABELS: dict[str, tuple[str, str]] = {
    "sealing": ("Pečatenje in obnova dokazil", "Sealing and renewal"),
    "sealing_note": (
        "Zapečatene: enote, zapečatene v obdobju; nezapečatene: enote brez dokazila ob "
        "koncu obdobja (izločene niso štete); obnovljene: enote, katerih dokazilo je bilo "
        "v obdobju obnovljeno.",
        "Sealed: units sealed in the period; pending: units without evidence at the "
        "period's end (disposed units not counted); renewed: units whose evidence record "
        "was renewed in the period."),
    "tsa_certificates": ("Potrdila časovnega žigosanja", "TSA certificates"),
    "algorithms": ("Zgoščevalni algoritmi v uporabi", "Hash algorithms in use"),
    "algorithms_note": ("Algoritem paketa, na katerem temelji veljavno dokazilo enote.",
                        "The algorithm of the batch each unit's current evidence rests on."),
    "renewed": ("Obnovljene", "Renewed"),
    "subject": ("Imetnik (CN)", "Subject (CN)"),
    "serial": ("Serijska številka", "Serial number"),
    "tsa_signer": ("Podpisnik žiga", "TSA signer"),
    "not_after": ("Velja do", "Valid until"),
    "renew_by": ("Obnova do", "Renew by"),
    "batches": ("Paketi", "Batches"),
    "algorithm": ("Algoritem", "Algorithm"),
    "earliest_renewal": ("Najzgodnejša obnova", "Earliest renewal"),
}
# The note of tsa_certificates, which says the margin.
TSA_NOTE = ("Datum obnove je datum poteka potrdila, zmanjšan za {days} dni; paketi in enote "
            "so tisti, katerih veljavno dokazilo ob koncu obdobja temelji na potrdilu.",
            "The renewal date is the certificate's expiry less {days} days; the batches and "
            "units are those whose current evidence at the period's end rests on it.")


@dataclass
class _Relied:
    """A certificate and what rests on it."""

    certificate: x509.Certificate
    signer: bool = False
    batches: int = 0
    units: int = 0


def collect(session: Session, scope: Scope) -> Collected:
    margin = scope.renew_margin
    sealing = ReportTable("sealing", SEALING_COLUMNS, _sealing(session, scope),
                          note="sealing_note")
    batches = _current_batches(session, scope)
    certificates = ReportTable("tsa_certificates", CERTIFICATE_COLUMNS,
                               _certificates(batches, margin), note="tsa_note")
    algorithms = ReportTable("algorithms", ALGORITHM_COLUMNS, _algorithms(batches),
                             note="algorithms_note")
    totals = sealing.totals or ()
    renew_by = [row[4] for row in certificates.rows if isinstance(row[4], datetime)]
    return Collected((sealing, certificates, algorithms), summary=(
        ("sealed", totals[1] if sealing.rows else 0),
        ("pending", totals[2] if sealing.rows else 0),
        ("renewed", totals[3] if sealing.rows else 0),
        ("earliest_renewal", min(renew_by) if renew_by else None)),
        labels=LABELS | {"tsa_note": _with_days(margin)})


def _with_days(margin: timedelta) -> tuple[str, str]:
    sl, en = TSA_NOTE
    return sl.format(days=margin.days), en.format(days=margin.days)


def _sealing(session: Session, scope: Scope) -> list[tuple[Value, ...]]:
    """Per tenant: sealed in the period, pending at its end, renewed in the period."""
    tenants = scope.tenants(Unit.tenant_id)
    unsealed = or_(Unit.sealed_at.is_(None), ~by_end(scope, Unit.sealed_at))
    queries = (
        select(Tenant.code, func.count()).select_from(Unit)
        .where(*scope.within(Unit.sealed_at), *tenants),
        select(Tenant.code, func.count()).select_from(Unit)
        .where(Unit.disposed_at.is_(None), by_end(scope, Unit.received_at), unsealed,
               *tenants),
        select(Tenant.code, func.count(Evidence.unit_id.distinct())).select_from(Evidence)
        .join(Unit, Unit.id == Evidence.unit_id)
        .where(*scope.within(Evidence.superseded_at), *tenants))
    counts: dict[str, list[int]] = {}
    for n, query in enumerate(queries):
        for code, count in session.execute(query.join(Tenant, Tenant.id == Unit.tenant_id)
                                           .group_by(Tenant.code)):
            counts.setdefault(code, [0, 0, 0])[n] = int(count)
    return [(code, *counts[code]) for code in sorted(counts)]


@dataclass(frozen=True)
class _Batch:
    algorithm: str
    certificates: str  # PEM
    token: bytes
    units: int  # whose current evidence record it holds


def _current_batches(session: Session, scope: Scope) -> list[_Batch]:
    """The batches holding the current evidence records (at the period's end) of the
    scope's units, with how many."""
    current = (select(Evidence.batch_id, func.count(Evidence.unit_id.distinct()).label("units"))
               .join(Unit, Unit.id == Evidence.unit_id)
               .where(by_end(scope, Evidence.created_at),
                      or_(Evidence.superseded_at.is_(None),
                          ~by_end(scope, Evidence.superseded_at)),
                      *scope.tenants(Unit.tenant_id))
               .group_by(Evidence.batch_id).subquery())
    query = (select(Batch.algorithm, Batch.certificates, Batch.token, current.c.units)
             .join(current, current.c.batch_id == Batch.id).order_by(Batch.id))
    return [_Batch(a, c, t, int(n)) for a, c, t, n in session.execute(query)]


def _certificates(batches: Iterable[_Batch], margin: timedelta) -> list[tuple[Value, ...]]:
    relied: dict[str, _Relied] = {}
    parsed: dict[str, list[x509.Certificate]] = {}  # batches share their TSA's PEM
    for batch in batches:
        signer = signer_of(batch.token)
        for certificate in parsed.setdefault(batch.certificates,
                                             load_pem_text(batch.certificates)):
            entry = relied.setdefault(_fingerprint(certificate), _Relied(certificate))
            entry.signer = entry.signer or (signer is not None and
                                            signer.dump() == certificate.dump())
            entry.batches += 1
            entry.units += batch.units
    rows: list[tuple[Value, ...]] = []
    for entry in sorted(relied.values(), key=_order):
        c = entry.certificate
        rows.append((_name(c), f"{c.serial_number:X}", entry.signer,
                     c.not_valid_after, c.not_valid_after - margin, entry.batches,
                     entry.units))
    return rows


def _name(certificate: x509.Certificate) -> str:
    """Its common name, or the whole subject without one."""
    name = certificate.subject.native.get("common_name")
    return str(name) if name else str(certificate.subject.human_friendly)


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.dump()).hexdigest()


def _order(entry: _Relied) -> Any:
    return (entry.certificate.not_valid_after, _name(entry.certificate))


def _algorithms(batches: Iterable[_Batch]) -> list[tuple[Value, ...]]:
    by_algorithm: dict[str, list[int]] = {}
    for batch in batches:
        counts = by_algorithm.setdefault(batch.algorithm, [0, 0])
        counts[0] += 1
        counts[1] += batch.units
    return [(name, *counts) for name, counts in sorted(by_algorithm.items())]
