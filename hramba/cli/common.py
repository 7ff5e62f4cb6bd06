"""What every command shares: lazily built settings and archive, and rendering."""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

from hramba.cli.errors import ProblemsFound

if TYPE_CHECKING:  # imported when used: `hramba --help` loads no ORM, no crypto
    from hramba.config import Settings
    from hramba.core.findings import Report
    from hramba.services.accounts import Credentials
    from hramba.services.context import Archive

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")


def command_group(help_text: str) -> typer.Typer:
    """A sub-command group. Plain help and usage errors (rich_markup_mode=None), as the
    root's: Rich's renderer would cost more than all the rest of `--help`."""
    return typer.Typer(help=help_text, no_args_is_help=True, rich_markup_mode=None)


@dataclass
class State:
    """Built lazily, so `--help` works without a configuration or a database."""

    config: str | None = None
    home: str | None = None
    login: str | None = None  # --login: act as this account (its password is asked for)
    _settings: Settings | None = field(default=None, repr=False)
    _archive: Archive | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from hramba.config import load_settings

            self._settings = load_settings(self.config, self.home)
        return self._settings

    @property
    def archive(self) -> Archive:
        if self._archive is None:
            from hramba.wiring import open_archive

            self._archive = open_archive(self.settings, credentials=self.credentials())
        return self._archive

    def credentials(self) -> Credentials:
        """Who is acting: --login's account (its password from $HRAMBA_PASSWORD or the
        terminal), else the account of $HRAMBA_TOKEN, else the OS user's."""
        from hramba.services.accounts import Credentials, current_os_user

        if self.login:
            password = os.environ.get("HRAMBA_PASSWORD")
            if password is None:
                password = getpass.getpass(f"password for {self.login}: ")
            return Credentials(login=self.login, password=password)
        if token := os.environ.get("HRAMBA_TOKEN"):
            return Credentials(token=token)
        return Credentials(os_user=current_os_user())


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def emit_report(report: Report, as_json: bool) -> None:
    """Print a check's report and exit 1 when it found errors."""
    if as_json:
        emit_json(report.as_dict())
    else:
        counts = ", ".join(f"{v} {k if v != 1 else _one(k)}" for k, v in report.counts.items())
        typer.echo(f"{report.name}: {'OK' if report.ok else 'PROBLEMS FOUND'} ({counts})")
        for f in report.findings:
            typer.echo(f"  {f.code} {f.severity.value}: {f.subject}: {f.title}"
                       + (f" ({f.detail})" if f.detail else ""))
    if not report.ok:
        raise ProblemsFound()


def _one(label: str) -> str:
    """A report's count label for one: `1 stored head`, `1 object checked`."""
    return re.sub(r"\b(event|anchor|byte|object|head|unit)s\b", r"\1", label, count=1)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """`1 unit`, `2 units`, `0 batches`."""
    many = plural or (noun + "es" if noun.endswith(("s", "sh", "ch", "x")) else noun + "s")
    return f"{n} {noun if n == 1 else many}"


def when(moment: str | datetime | None, unit: str = "seconds") -> str:
    """A time for people, with its zone: `2026-03-05 10:30:00 UTC`; `-` for none."""
    if not moment:
        return "-"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    shown = moment.isoformat(sep=" ", timespec=unit)
    return shown.removesuffix("+00:00") + " UTC" if shown.endswith("+00:00") else shown


def invoice_columns(issue_date: str | None, number: str | None, counterparty: str,
                    amount: str | None, currency: str | None) -> str:
    """An invoice as `ls` and `search` show it: issue date, number, the party that is not
    the tenant, amount."""
    money = f"{amount} {currency or ''}".rstrip() if amount else "-"
    return f"{issue_date or '-':<10}  {number or '-':<18} {counterparty:<30} {money:>16}"


def is_terminal() -> bool:
    return sys.stderr.isatty()
