"""`hramba retention`, `hold` and `dispose` as an archivist runs them (embedded default,
wall clock): the plan, classification, holds, and a disposal proposed ahead of time that
neither the policy nor storage lets through yet. The OS user's admin account proposes;
a second account, signed in by its API token, approves."""

from __future__ import annotations

from pathlib import Path

from plugins.cli import Cli

from hramba.services.accounts import current_os_user
from hramba.services.corpus import write_corpus

BUYER = ("Občina Primer", "SI21423512")


def account(cli: Cli, login: str, role: str) -> Cli:
    """The CLI acting as a new account with `role`, by its API token."""
    cli("user", "add", login, "--name", login.title(), "--role", role)
    token = cli("user", "token", login, "--json").json()["token"]
    return Cli(cli.home, cli.env | {"HRAMBA_TOKEN": token})


def ingest(cli: Cli, tmp_path: Path, count: int = 3) -> list[str]:
    list(write_corpus(tmp_path / "in", count, BUYER))
    cli("ingest", "dir", str(tmp_path / "in"), "--tenant", "OBCINA1")
    cli("seal")
    return [u["unit_id"] for u in cli("ls", "--json").json()]


def test_plan_classify_and_policies(cli: Cli, tmp_path: Path) -> None:
    units = ingest(cli, tmp_path)
    plan = cli("retention", "plan", "--json").json()
    assert plan["units"]["due"] == []
    assert plan["units"]["upcoming"] == [{"year": 2036, "policy": "invoice-10y@v1",
                                          "units": 3}]
    later = cli("retention", "plan", "--tenant", "OBCINA1", "--as-of", "2037-01-01", "--json")
    assert len(later.json()["units"]["due"]) == 3
    text = cli("retention", "plan", "--as-of", "2036-12-31").out
    assert "0 due" in text
    assert "later 2036: 3 units under invoice-10y@v1" in text
    classified = cli("retention", "classify", units[0], "--policy", "immovable-property-20y",
                     "--json").json()
    assert classified["after"]["retain_until"].startswith("2046-12-31")
    shorten = cli("retention", "classify", units[0], "--policy", "invoice-10y", check=False)
    assert shorten.code == 5
    assert "only be extended" in shorten.err
    policies = cli("retention", "policies").out
    assert "traffic-2y@v1" in policies
    assert "ZDDV-1" in policies
    assert cli("retention", "purges", "--json").json() == []


def test_holds_from_the_command_line(cli: Cli, tmp_path: Path) -> None:
    units = ingest(cli, tmp_path, 2)
    hold = cli("hold", "add", "--tenant", "OBCINA1", "--from", "2026-01-01", "--to",
               "2026-12-31", "--reason", "inspection", "--json").json()
    assert hold["units"] == 2
    assert cli("show", units[0], "--json").json()["retention"]["legal_hold"] is True
    assert "LEGAL HOLD" in cli("show", units[0]).out
    unit_hold = cli("hold", "add", "--unit", units[1], "--reason", "appeal")
    assert "ACTIVE" in unit_hold.out
    both = cli("hold", "add", "--unit", units[1], "--tenant", "OBCINA1", "--reason", "x",
               check=False)
    assert both.code == 6
    boris = account(cli, "boris", "archivist")
    released = boris("hold", "release", str(hold["id"]), "--reason", "done", "--json").json()
    assert (released["by"], released["released_by"]) == (current_os_user(), "boris")
    assert cli("show", units[0], "--json").json()["retention"]["legal_hold"] is False
    assert cli("show", units[1], "--json").json()["retention"]["legal_hold"] is True
    assert [h["unit_id"] for h in cli("hold", "ls", "--json").json()] == [units[1]]
    assert len(cli("hold", "ls", "--all", "--json").json()) == 2


def test_a_disposal_proposed_ahead_of_time_is_not_executed_early(cli: Cli,
                                                                 tmp_path: Path) -> None:
    ingest(cli, tmp_path, 2)
    nothing = cli("dispose", "propose", "--tenant", "OBCINA1", "--instruction", "N-1",
                  check=False)
    assert nothing.code == 5
    assert "nothing of OBCINA1 is due" in nothing.err
    proposal = cli("dispose", "propose", "--tenant", "OBCINA1", "--as-of", "2037-01-01",
                   "--instruction", "NAVODILO 7/2036", "--json").json()
    assert (proposal["status"], len(proposal["units"])) == ("proposed", 2)
    assert {u["document"]["issue_date"][:4] for u in proposal["units"]} == {"2026"}
    assert " issued 2026-" in cli("dispose", "show", str(proposal["id"])).out
    boris = account(cli, "boris", "approver")
    assert boris("dispose", "cancel", str(proposal["id"]), "--reason", "no",
                 check=False).code == 8  # an approver approves or not; the proposer cancels
    cancelled = cli("dispose", "cancel", str(proposal["id"]), "--reason",
                    "instruction expired", "--json").json()
    assert cancelled["status"] == "cancelled"
    assert boris("dispose", "approve", str(proposal["id"]), check=False).code == 5
    proposal = cli("dispose", "propose", "--tenant", "OBCINA1", "--as-of", "2037-01-01",
                   "--instruction", "NAVODILO 8/2036", "--json").json()
    assert len(proposal["units"]) == 2  # the cancelled proposal freed them
    # The proposer may not approve, as the OS user or by a token of its own account.
    own_token = cli("user", "token", current_os_user(), "--json").json()["token"]
    for same in (cli, Cli(cli.home, cli.env | {"HRAMBA_TOKEN": own_token})):
        refused = same("dispose", "approve", str(proposal["id"]), check=False)
        assert (refused.code, "another account must approve" in refused.err) == (5, True)
    approved = boris("dispose", "approve", str(proposal["id"])).out
    assert f"proposed by {current_os_user()}, approved by boris" in approved
    executed = cli("dispose", "execute", str(proposal["id"]), "--json", check=False)
    assert executed.code == 1  # nothing went: the policy still keeps both
    assert {u["state"] for u in executed.json()["units"]} == {"retained"}
    assert "sealed 0 units and 1 destruction certificate in" in cli("seal").out
    out = tmp_path / "certificate"
    written = cli("dispose", "certificate", str(proposal["id"]), "--out", str(out),
                  "--json").json()
    assert written["sealed"] is True
    verified = cli("verify-evidence", "--er", str(out / f"disposal-{proposal['id']}.ers"),
                   "--trust", str(cli.home / "tsa" / "dev-ca.pem"), "--accept-unqualified",
                   str(out / f"disposal-{proposal['id']}.json"), check=False)
    assert verified.code == 0, verified.out
    listing = cli("dispose", "ls").out
    assert "EXECUTED" in listing
    assert "sealed in batch" in listing
    assert cli("dispose", "show", str(proposal["id"]), "--json").json()["sealed_in_batch"]
    assert cli("fixity").code == 0
    assert cli("audit", "verify").code == 0
