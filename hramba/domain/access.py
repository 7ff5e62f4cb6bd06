"""Who may do what: roles, actions and the one table between them (the rule book).

Every front end (CLI, jobs, later the web application) acts for a principal; services
ask `permits()` before they act and filter what they read by `Principal.tenant_ids`.

Tenant scope: an account names the tenants it serves (a budget user always, an auditor
or any other role when limited to some); an account naming none serves every tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"              # accounts, configuration; may do anything (the superuser)
    ARCHIVIST = "archivist"      # ingest, migrations, quarantine, holds, proposing disposal
    APPROVER = "approver"        # approving disposal, never one's own proposal
    AUDITOR = "auditor"          # read-only: verify, audit log, reports
    BUDGET_USER = "budget-user"  # its own tenant(s): search, view, download, exports
    OPERATOR = "operator"        # scheduler, seal, fixity, renewal


class Action(StrEnum):
    ACCOUNTS = "manage accounts"
    CONFIGURE = "configure the archive"
    TENANT_MANAGE = "register or change tenants"
    TENANT_READ = "read tenants"
    INGEST = "ingest"
    MIGRATE = "run migrations"
    MIGRATE_CONFIRM = "review and confirm a migration"
    QUARANTINE = "decide on quarantined input"
    HOLD = "place or release legal holds"
    RETENTION_READ = "read retention plans, holds and purges"
    CLASSIFY = "classify units under a policy"
    DISPOSE_PROPOSE = "propose, cancel or execute disposal"
    DISPOSE_APPROVE = "approve disposal"
    DISPOSE_READ = "read disposals"
    READ = "read units"
    VERIFY = "verify units"
    SEAL = "seal"
    FIXITY = "run fixity checks"
    RENEW = "renew evidence"
    SCHEDULE = "run scheduled jobs"
    AUDIT_LOG = "read the audit log"
    AUDIT_VERIFY = "verify the audit log"
    EXPORT_REQUEST = "request retrieval exports"
    EXPORT_APPROVE = "approve retrieval exports"
    EXPORT_READ = "read and download retrieval exports"
    REPORT = "make and read audit reports"


_A, _R, _P, _U, _O = (Role.ARCHIVIST, Role.APPROVER, Role.AUDITOR, Role.BUDGET_USER,
                      Role.OPERATOR)
_GRANTS: dict[Action, tuple[Role, ...]] = {
    Action.ACCOUNTS: (),
    Action.CONFIGURE: (),
    Action.TENANT_MANAGE: (_A,),
    Action.TENANT_READ: (_A, _R, _P, _U, _O),
    Action.INGEST: (_A, _O),  # the operator's scheduler pulls the feed
    Action.MIGRATE: (_A,),
    Action.MIGRATE_CONFIRM: (_A, _U),
    Action.QUARANTINE: (_A,),
    Action.HOLD: (_A,),
    Action.RETENTION_READ: (_A, _R, _P, _O),
    Action.CLASSIFY: (_A,),
    Action.DISPOSE_PROPOSE: (_A,),
    Action.DISPOSE_APPROVE: (_R,),
    Action.DISPOSE_READ: (_A, _R, _P),
    Action.READ: (_A, _P, _U),
    Action.VERIFY: (_A, _P, _U, _O),
    Action.SEAL: (_O,),
    Action.FIXITY: (_O, _P),
    Action.RENEW: (_O,),
    Action.SCHEDULE: (_O,),  # its jobs (feed, seal, fixity, renewal, purges) run as it
    Action.AUDIT_LOG: (_A, _P, _U),
    Action.AUDIT_VERIFY: (_P, _O),
    Action.EXPORT_REQUEST: (_A, _U),  # also builds it at once (--now), or again if failed
    Action.EXPORT_APPROVE: (_A, _R),
    Action.EXPORT_READ: (_A, _P, _U),
    Action.REPORT: (_A, _P, _U, _O),  # the operator's scheduler makes the periodic ones
}
# The rule book: who may do each action. An admin may do everything.
RULES: dict[Action, frozenset[Role]] = {
    action: frozenset(roles) | {Role.ADMIN} for action, roles in _GRANTS.items()}


@dataclass(frozen=True)
class Principal:
    """Who is acting: an account, its roles, and the tenants it serves (None: all)."""

    login: str
    roles: frozenset[Role]
    tenant_ids: frozenset[int] | None = None
    account_id: int | None = None

    def may(self, action: Action) -> bool:
        return bool(self.roles & RULES[action])

    def serves(self, tenant_id: int) -> bool:
        return self.tenant_ids is None or tenant_id in self.tenant_ids

    def describe(self) -> str:
        return f"{self.login} ({', '.join(sorted(self.roles)) or 'no role'})"


NOBODY = Principal("(nobody)", frozenset())


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Roles by name; a ValueError names the unknown one and the known ones."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            raise ValueError(f"unknown role {name!r} (one of: "
                             f"{', '.join(r.value for r in Role)})") from None
    return frozenset(roles)
