"""`hramba user ...` and signing in from the command line: OS user, token, password."""

from __future__ import annotations

from plugins.cli import Cli

from hramba.services.accounts import current_os_user

PASSWORD = "correct horse battery staple"
REFUSED = "hramba: error: not permitted: unknown account, wrong credentials or disabled\n"


def as_token(cli: Cli, token: str) -> Cli:
    return Cli(cli.home, cli.env | {"HRAMBA_TOKEN": token})


def test_init_makes_the_os_user_admin(cli: Cli) -> None:
    assert f"  account   {current_os_user()} (admin)\n" in cli("init").out
    rows = cli("user", "list", "--json").json()
    assert [(r["roles"], r["tenants"]) for r in rows] == [(["admin"], "all")]


def test_a_token_acts_as_its_account_and_roles_are_enforced(cli: Cli) -> None:
    cli("user", "add", "ana", "--name", "Ana Novak", "--role", "budget-user",
        "--tenant", "OBCINA1")
    token = cli("user", "token", "ana").out.strip()
    ana = as_token(cli, token)
    refused = ana("user", "list", check=False)
    assert refused.code == 8
    assert refused.err == ("hramba: error: not permitted: ana (budget-user) may not "
                           "manage accounts\n")
    assert ana("ls").code == 0
    listed = {r["login"]: r for r in cli("user", "list", "--json").json()}
    assert listed["ana"]["tokens"] == 1
    assert listed["ana"]["tenants"] == ["OBCINA1"]


def test_every_failed_sign_in_reads_the_same(cli: Cli) -> None:
    cli("user", "add", "ana", "--name", "Ana Novak", "--role", "auditor")
    cli("user", "passwd", "ana", "--password-stdin", stdin=PASSWORD + "\n")
    set_pw = cli.env | {"HRAMBA_PASSWORD": PASSWORD}
    assert Cli(cli.home, set_pw)("--login", "ana", "ls").code == 0
    wrong = Cli(cli.home, cli.env | {"HRAMBA_PASSWORD": "not the password"})
    attempts = [wrong("--login", "ana", "ls", check=False),
                Cli(cli.home, set_pw)("--login", "nobody", "ls", check=False),
                as_token(cli, "hrb_forged")("ls", check=False)]
    cli("user", "disable", "ana")
    attempts.append(Cli(cli.home, set_pw)("--login", "ana", "ls", check=False))
    assert [(a.code, a.err) for a in attempts] == [(8, REFUSED)] * 4
