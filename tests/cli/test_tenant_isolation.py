"""A budget user of tenant A cannot list, show, get, export or verify tenant B's units
by any route the command line has, learns nothing of B, and every attempt is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugins.cli import Cli

INVOICE = b"<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'><!-- %s --></Invoice>\n"


@pytest.fixture
def two_tenants(cli: Cli, tmp_path: Path) -> tuple[Cli, str, str]:
    """OBCINA1 (A) and SOLA2 (B), one sealed unit each, and A's budget user."""
    cli("tenant", "add", "SOLA2", "--tax-number", "SI14502445", "--name", "Šola Dva")
    units = []
    for code in ("OBCINA1", "SOLA2"):
        folder = tmp_path / code
        folder.mkdir()
        (folder / "invoice.xml").write_bytes(INVOICE % code.encode())
        cli("ingest", "dir", str(folder), "--tenant", code)
        units.append(cli("ls", "--tenant", code, "--json").json()[0]["unit_id"])
    cli("seal")
    cli("user", "add", "pu-a", "--name", "Občina Primer", "--role", "budget-user",
        "--tenant", "OBCINA1")
    token = cli("user", "token", "pu-a").out.strip()
    return Cli(cli.home, cli.env | {"HRAMBA_TOKEN": token}), units[0], units[1]


def test_every_route_to_another_tenants_unit_is_closed(two_tenants: tuple[Cli, str, str],
                                                       cli: Cli, tmp_path: Path) -> None:
    budget_user, own, other = two_tenants
    out = tmp_path / "out"
    routes = [
        ("show", other), ("get", other, "--out", str(out)),
        ("evidence", "export", other, "--out", str(out)), ("verify", other),
        ("ls", "--tenant", "SOLA2"), ("tenant", "show", "SOLA2"),
        ("audit", "log", "--tenant", "SOLA2"), ("fixity", "--tenant", "SOLA2"),
        ("retention", "plan", "--tenant", "SOLA2"), ("hold", "ls"), ("dispose", "ls"),
        ("quarantine", "ls"), ("hold", "add", "--unit", other, "--reason", "x"),
    ]
    for route in routes:
        result = budget_user(*route, check=False)
        assert result.code in (4, 8), (route, result)
        assert other not in result.out, route  # errors name only what was asked for
        assert "SOLA2" not in result.out, route
        assert "Šola" not in result.out + result.err, route
    assert not out.exists() or not any(out.rglob("*"))
    # What A may see, it sees; B's unit never appears in a listing.
    listed = budget_user("ls", "--json").json()
    assert [u["unit_id"] for u in listed] == [own]
    assert [t["code"] for t in budget_user("tenant", "list", "--json").json()] == ["OBCINA1"]
    assert budget_user("show", own).code == 0
    assert other not in budget_user("audit", "log", "--json").out
    # Asking for B's unit reads exactly as asking for one that does not exist.
    unknown = budget_user("show", "0" * 32, check=False)
    assert budget_user("show", other, check=False).err == unknown.err.replace("0" * 32, other)
    denied = [e for e in cli("audit", "log", "--json", "--limit", "1000").json()["events"]
              if e["action"] == "access.denied" and e["actor"] == "pu-a"]
    assert {e["subject"] for e in denied} >= {other, "SOLA2"}
