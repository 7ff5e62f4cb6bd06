"""Object key layout: a pure function of tenant, unit id and file name.

    units/<tenant>/<unit_id>/manifest.json
    units/<tenant>/<unit_id>/files/<safe name>
    units/<tenant>/<unit_id>/evidence/<first 16 hex of the record's sha256>.ers
    disposals/<tenant>/disposal-<id>-<first 16 hex of its sha256>.json   (certificates)
    disposals/<tenant>/disposal-<id>.pdf                 (the same, as a signed zapisnik)
    disposals/<tenant>/migration-<id>-staging-purge.pdf  (a staging purge's certificate)
    exports/<tenant>/export-<id>-<first 16 hex of its sha256>.zip        (until purged)
    reports/<tenant>/<kind>-<time>[-<table>].<pdf|json|csv>~<16 hex>     (one tenant's)
    reports-archive/<kind>-<time>[-<table>].<pdf|json|csv>~<16 hex>      (several tenants')

A file name from input is never used raw: anything outside [A-Za-z0-9._-] becomes "_",
and a name that had to change (or could clash) gets a short digest of the original, so
two different names never share a key. Any string has a key, even one that is not valid
Unicode (a Linux file name's bytes that are not UTF-8 reach Python as lone surrogates).

Every key of a unit or a certificate names its tenant: `tenant_of` reads it back, so the
store of the tenant's environment can be chosen from the key alone (storage.environments).
"""

from __future__ import annotations

import hashlib
import re

from hramba.core.types import ObjectKey
from hramba.domain.tenant import CODE_PATTERN

UNITS = "units/"
DISPOSALS = "disposals/"
EXPORTS = "exports/"
REPORTS, ARCHIVE_REPORTS = "reports/", "reports-archive/"
_REPORT_NAME = re.compile(r"[a-z]+-\d{8}T\d{6}(-[a-z0-9_]+)?\.(pdf|json|csv)")
_SAFE_ID = re.compile(r"[a-z0-9]{8,64}")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_NAME = 120


def check_tenant_code(code: str) -> str:
    if not CODE_PATTERN.fullmatch(code):  # the same rule tenant registration applies
        raise ValueError(f"tenant code {code!r} must be 1-64 of A-Z a-z 0-9 _ - ")
    return code


def unit_prefix(tenant: str, unit_id: str) -> str:
    if not _SAFE_ID.fullmatch(unit_id):
        raise ValueError(f"unit id {unit_id!r} is not a hramba unit id")
    return f"{UNITS}{check_tenant_code(tenant)}/{unit_id}/"


def tenant_prefix(tenant: str) -> str:
    return f"{UNITS}{check_tenant_code(tenant)}/"


def tenant_of(key: str) -> str | None:
    """The tenant code a key (or a prefix that goes as far as the code's "/") belongs to;
    None for a key of no tenant (the audit log's heads)."""
    for top in (UNITS, DISPOSALS, EXPORTS, REPORTS):
        code, slash, _ = key.removeprefix(top).partition("/")
        if key.startswith(top) and slash and CODE_PATTERN.fullmatch(code):
            return code
    return None


def safe_name(name: str) -> str:
    safe = _UNSAFE.sub("_", name).lstrip(".")[:MAX_NAME] or "_"
    if safe != name:  # "surrogatepass": one byte string per str, lone surrogates included
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        safe = f"{safe}~{digest[:12]}"
    return safe


def file_key(tenant: str, unit_id: str, name: str) -> ObjectKey:
    return ObjectKey(f"{unit_prefix(tenant, unit_id)}files/{safe_name(name)}")


def manifest_key(tenant: str, unit_id: str) -> ObjectKey:
    return ObjectKey(f"{unit_prefix(tenant, unit_id)}manifest.json")


def evidence_key(tenant: str, unit_id: str, record_sha256: str) -> ObjectKey:
    """Each version of a unit's Evidence Record (renewals add one) has its own key."""
    if not re.fullmatch(r"[0-9a-f]{64}", record_sha256):
        raise ValueError("evidence keys are named by the record's sha256")
    return ObjectKey(f"{unit_prefix(tenant, unit_id)}evidence/{record_sha256[:16]}.ers")


def disposal_key(tenant: str, disposal_id: int, certificate_sha256: str) -> ObjectKey:
    """A destruction certificate: outside units/, so it outlives the units it names."""
    if not re.fullmatch(r"[0-9a-f]{64}", certificate_sha256):
        raise ValueError("certificate keys are named by the certificate's sha256")
    return ObjectKey(f"{DISPOSALS}{check_tenant_code(tenant)}/disposal-{int(disposal_id)}-"
                     f"{certificate_sha256[:16]}.json")


def disposal_pdf_key(tenant: str, disposal_id: int) -> ObjectKey:
    """The signed zapisnik of a disposal: one per disposal, whatever its bytes."""
    return ObjectKey(f"{DISPOSALS}{check_tenant_code(tenant)}/disposal-{int(disposal_id)}.pdf")


def staging_purge_key(tenant: str, migration_id: int) -> ObjectKey:
    """The signed certificate of a migration's staging purge (one per migration)."""
    return ObjectKey(f"{DISPOSALS}{check_tenant_code(tenant)}/"
                     f"migration-{int(migration_id)}-staging-purge.pdf")


def export_prefix(tenant: str, export_id: int) -> str:
    """Every package built for one export (a crashed build may leave one unrecorded)."""
    return f"{EXPORTS}{check_tenant_code(tenant)}/export-{int(export_id)}-"


def export_key(tenant: str, export_id: int, package_sha256: str) -> ObjectKey:
    if not re.fullmatch(r"[0-9a-f]{64}", package_sha256):
        raise ValueError("export keys are named by the package's sha256")
    return ObjectKey(f"{export_prefix(tenant, export_id)}{package_sha256[:16]}.zip")


def report_key(tenant: str | None, name: str, sha256: str) -> ObjectKey:
    """A report's file: under its tenant, or (covering several) the archive's."""
    if not _REPORT_NAME.fullmatch(name) or not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"{name!r} is not a report file name, or no sha256 given")
    top = f"{REPORTS}{check_tenant_code(tenant)}/" if tenant else ARCHIVE_REPORTS
    return ObjectKey(f"{top}{name}~{sha256[:16]}")
