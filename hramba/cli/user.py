"""hramba user: accounts, their roles and tenants, passwords and API tokens."""

from __future__ import annotations

import getpass
import sys
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state

app = command_group("Accounts: who may act, in which role, for which tenants.")

LOGIN = typer.Argument(..., help="The account's login (a-z 0-9 . _ -).")


@app.command("add")
def add(ctx: typer.Context, login: str = LOGIN,
        name: str = typer.Option(..., "--name", help="The person's or service's name."),
        role: list[str] = typer.Option(..., "--role", help="admin, archivist, approver, "
                                       "auditor, budget-user or operator; repeat for more."),
        tenant: list[str] = typer.Option([], "--tenant", help="A tenant the account serves; "
                                         "repeat for more. None: every tenant (a budget user "
                                         "needs one)."),
        os_user: str | None = typer.Option(None, "--os-user", help="The OS user whose "
                                           "commands act as this account."),
        as_json: bool = JSON_OPTION) -> None:
    """Create an account."""
    from hramba.services import accounts

    new = accounts.NewAccount(login, name, tuple(role), tuple(tenant), os_user)
    _render(accounts.add_account(state(ctx).archive, new), as_json, "added")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List accounts."""
    from hramba.services import accounts

    rows = accounts.list_accounts(state(ctx).archive)
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(_line(row))


@app.command("disable")
def disable(ctx: typer.Context, login: str = LOGIN, as_json: bool = JSON_OPTION) -> None:
    """Disable an account: it can no longer act; the audit log keeps its name."""
    from hramba.services import accounts

    _render(accounts.disable_account(state(ctx).archive, login), as_json, "disabled")


@app.command("passwd")
def passwd(ctx: typer.Context, login: str = LOGIN,
           from_stdin: bool = typer.Option(False, "--password-stdin",
                                           help="Read the new password from standard input."),
           as_json: bool = JSON_OPTION) -> None:
    """Set an account's password (one's own, or any as admin)."""
    from hramba.services import accounts

    accounts.set_password(state(ctx).archive, login, _new_password(from_stdin))
    if as_json:
        emit_json({"login": login, "password": True})
    else:
        typer.echo(f"password set for {login}")


@app.command("token")
def token(ctx: typer.Context, login: str = LOGIN, as_json: bool = JSON_OPTION) -> None:
    """Issue an API token (one's own, or any as admin). It is shown once: keep it in a
    secret store; it acts as the account in HRAMBA_TOKEN."""
    from hramba.services import accounts

    secret = accounts.issue_token(state(ctx).archive, login)
    if as_json:
        emit_json({"login": login, "token": secret})
    else:
        typer.echo(secret)
        typer.echo(f"token for {login}: shown this once, kept only as its digest",
                   err=True)


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        from hramba.core.errors import RejectedInput

        raise RejectedInput("the two passwords differ")
    return first


def _render(row: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(row)
    else:
        typer.echo(f"{verb} {_line(row)}")


def _line(row: dict[str, Any]) -> str:
    tenants = row["tenants"] if isinstance(row["tenants"], str) else ",".join(row["tenants"])
    state_ = f"  DISABLED {row['disabled_at']}" if row["disabled_at"] else ""
    return (f"{row['login']:<16} {','.join(row['roles']):<24} tenants: {tenants:<16} "
            f"os user: {row['os_user'] or '-':<10} {row['name']}{state_}")
