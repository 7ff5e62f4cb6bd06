"""`make bench-scale`: search over 1,000,000 units in PostgreSQL.

Creates a database of its own (`hramba_scale`, dropped at the end unless --keep) on the
server at 127.0.0.1:5432 (trust authentication), migrates it with `hramba init`, and
bulk-loads tenants, units and their Evidence Records with COPY, streamed (never all rows
in memory, never ORM objects). The data is plausible, not real: 60 tenants whose sizes
follow a Zipf law (the largest ~20% of all units, the smallest a few thousand), 6,000
parties shared across tenants with Zipf popularity (a utility or a telecom invoices nearly
every tenant), ten years of issue dates, 5% issued invoices, credit notes, a few units
without an issue date, all sealed but the last two days' intake and one unit in a thousand.

Then typical search pages, each through the service as `hramba search` runs it: its SQL
time (first run and median of five; the statements the service sends, timed at the
cursor), and EXPLAIN (ANALYZE, BUFFERS) of each statement, to show which index answers.
Last, the whole `hramba search` command's wall time against that database. Prints
figures; asserts nothing about time. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import event

from hramba.config import load_settings
from hramba.domain.access import Principal, Role
from hramba.domain.search import Direction, name_key
from hramba.domain.tenant import tax_check_digit_ok
from hramba.services.context import Archive
from hramba.services.search import SearchCriteria, search_units
from hramba.wiring import open_archive

ROOT = Path(__file__).resolve().parents[2]
HRAMBA = str(Path(sys.executable).with_name("hramba"))
SERVER = "host=127.0.0.1 port=5432 user=postgres"
FIRST_DAY, DAYS = date(2016, 1, 1), 3652
LAST_DAY = FIRST_DAY + timedelta(DAYS)
# Units are received up to ten days after they were issued; those received in the last two
# days the nightly seal has not reached yet, nor one in a thousand more (a TSA outage).
PENDING_FROM = datetime.combine(LAST_DAY + timedelta(days=8), datetime.min.time(), UTC)
UNIT_COLUMNS = (
    "id", "tenant_id", "content_sha256", "received_at", "retain_until", "legal_hold",
    "format", "source", "metadata", "policy_id", "policy_version", "retention_basis",
    "trigger_date", "needs_classification", "issue_date", "document_type", "invoice_number",
    "seller_tax_id", "seller_name", "seller_name_key", "buyer_tax_id", "buyer_name",
    "buyer_name_key", "payable_amount", "currency", "direction", "sealed_at")
TRADES = ["Komunala", "Elektro", "Telekom", "Gradbeno podjetje", "Pekarna", "Mesarija",
          "Pisarniški servis", "Čistilni servis", "Zavarovalnica", "Računalniški center",
          "Avtoservis", "Vrtnarija", "Založba", "Tiskarna", "Energetika", "Vodovod",
          "Plinarna", "Lekarna", "Knjigarna", "Gostinstvo", "Prevozi", "Varovanje",
          "Projektiva", "Geodetski biro", "Inštalacije"]
PLACES = ["Ljubljana", "Maribor", "Celje", "Kranj", "Koper", "Novo mesto", "Ptuj", "Velenje",
          "Murska Sobota", "Nova Gorica", "Škofja Loka", "Žalec", "Trbovlje", "Jesenice",
          "Domžale", "Kamnik", "Brežice", "Izola", "Postojna", "Slovenj Gradec"]
SURNAMES = ["", "", "Novak", "Horvat", "Kovačič", "Krajnc", "Zupančič", "Potočnik",
            "Kovač", "Mlakar", "Kos", "Vidmar", "Golob", "Turk", "Božič", "Korošec"]
SUFFIXES = ["d.o.o.", "d.o.o.", "d.o.o.", "d.d.", "s.p.", "k.d."]
TYPES = [("380", 0.92), ("381", 0.05), ("383", 0.01), ("384", 0.01), ("386", 0.01)]
FORMATS = [("eslog20", 0.70), ("eslog16", 0.20), ("ubl", 0.07), ("cii", 0.03)]


@dataclass(frozen=True)
class Party:
    tax_id: str
    name: str
    key: str


@dataclass
class World:
    """What the generated units refer to, and facts the searches ask about."""

    tenants: list[Party]
    parties: list[Party]
    numbers: dict[int, str] = field(default_factory=dict)  # a number per tenant index


def tax_numbers(rng: random.Random) -> Iterator[str]:
    """Slovenian tax numbers with a valid check digit, each once."""
    seen: set[str] = set()
    while True:
        number = f"SI{rng.randrange(10_000_000, 100_000_000)}"
        if number not in seen and tax_check_digit_ok(number):
            seen.add(number)
            yield number


def make_world(rng: random.Random, tenants: int, parties: int) -> World:
    taxes = tax_numbers(rng)
    names: set[str] = set()
    while len(names) < parties:
        surname = rng.choice(SURNAMES)
        names.add(" ".join(filter(None, [rng.choice(TRADES), rng.choice(PLACES), surname,
                                         rng.choice(SUFFIXES)])))
    bodies = [f"Občina {p}" for p in PLACES] + [f"Osnovna šola {p}" for p in PLACES] + [
        f"Zdravstveni dom {p}" for p in PLACES]
    ranked = sorted(names)
    rng.shuffle(ranked)  # popularity (the Zipf rank) is not alphabetical
    return World([Party(next(taxes), n, name_key(n) or "") for n in bodies[:tenants]],
                 [Party(next(taxes), n, name_key(n) or "") for n in ranked])


def zipf(n: int, s: float) -> list[float]:
    """Cumulative weights of ranks 1..n under Zipf's law with exponent s."""
    return list(itertools.accumulate(1 / (k + 1) ** s for k in range(n)))


def unit_rows(world: World, count: int, seed: int) -> Iterator[tuple[Any, ...]]:
    """`count` units, generated as they are written (one at a time)."""
    rng = random.Random(seed)
    tenant_weights, party_weights = zipf(len(world.tenants), 1.0), zipf(len(world.parties),
                                                                         1.0)
    type_codes, type_weights = zip(*TYPES, strict=True)
    formats, format_weights = zip(*FORMATS, strict=True)
    counters: dict[tuple[int, int], int] = {}
    for _ in range(count):
        t = rng.choices(range(len(world.tenants)), cum_weights=tenant_weights)[0]
        p = rng.choices(range(len(world.parties)), cum_weights=party_weights)[0]
        tenant, party = world.tenants[t], world.parties[p]
        issued = None if rng.random() < 0.005 else FIRST_DAY + timedelta(rng.randrange(DAYS))
        year = issued.year if issued else 2026
        counters[p, year] = counters.get((p, year), 0) + 1
        number = f"{year}-{counters[p, year]:06d}"
        world.numbers.setdefault(t, number)
        way = Direction.ISSUED if rng.random() < 0.05 else Direction.RECEIVED
        seller, buyer = (tenant, party) if way is Direction.ISSUED else (party, tenant)
        code = rng.choices(type_codes, weights=type_weights)[0]
        amount = Decimal(min(math.exp(rng.gauss(4.5, 1.5)), 9e6)).quantize(Decimal("0.01"))
        amount = -amount if code == "381" else amount
        base = issued or FIRST_DAY + timedelta(rng.randrange(DAYS))
        at = datetime.combine(base, datetime.min.time(), UTC) + timedelta(
            days=rng.randrange(10), seconds=rng.randrange(86400))
        sealed = at + timedelta(hours=8) if at < PENDING_FROM and rng.random() > 0.001 else None
        trigger = issued or at.date()
        metadata = {"document_type": code, "invoice_number": number,
                    "issue_date": issued and issued.isoformat(), "seller_vat": seller.tax_id,
                    "buyer_vat": buyer.tax_id, "payable_amount": str(amount),
                    "currency": "EUR", "seller_name": seller.name, "buyer_name": buyer.name}
        yield (f"{rng.getrandbits(128):032x}", t + 1, f"{rng.getrandbits(256):064x}", at,
               at + timedelta(days=3660), False,
               rng.choices(formats, weights=format_weights)[0], "bench", json.dumps(metadata),
               "invoice-10y", 1, "issue_date", trigger, False, issued, code, number,
               seller.tax_id, seller.name, seller.key, buyer.tax_id, buyer.name, buyer.key,
               amount, "EUR" if rng.random() < 0.99 else "USD", way.value, sealed)


TENANT_COLUMNS = ("id", "code", "tax_number", "name", "environment", "accession_date",
                  "created_at")
BATCH_COLUMNS = ("id", "sealed_at", "algorithm", "root", "token", "tsa", "certificates",
                 "revocation", "audit_seq", "audit_hash", "audit_path", "units")


def tenant_rows(world: World, now: datetime) -> Iterator[tuple[Any, ...]]:
    """The world's tenants, PU001 (the largest) first."""
    for n, t in enumerate(world.tenants, start=1):
        yield n, f"PU{n:03d}", t.tax_id, t.name, "production", FIRST_DAY, now


def batch_rows(now: datetime) -> Iterator[tuple[Any, ...]]:
    """The 200 batches the Evidence Records (EVIDENCE) are spread over."""
    for n in range(1, 201):
        yield n, now, "sha256", "0" * 64, b"token", "bench", "", "{}", 1, "0" * 64, "{}", 5000


def copy_rows(cur: psycopg.Cursor[Any], table: str, columns: tuple[str, ...],
              rows: Iterable[tuple[Any, ...]]) -> None:
    """COPY `rows` into `table`, each written as it is generated (streamed)."""
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(dbname: str, world: World, count: int, seed: int) -> None:
    """Tenants, batches and units by COPY, then the units' Evidence Records (EVIDENCE)."""
    started = time.perf_counter()
    now = datetime.now(UTC)
    with psycopg.connect(f"{SERVER} dbname={dbname}") as conn, conn.cursor() as cur:
        copy_rows(cur, "tenants", TENANT_COLUMNS, tenant_rows(world, now))
        copy_rows(cur, "batches", BATCH_COLUMNS, batch_rows(now))
        copy_rows(cur, "units", UNIT_COLUMNS, unit_rows(world, count, seed))
        cur.execute(EVIDENCE)
        cur.execute("ANALYZE")
    print(f"loaded {count:,} units of {len(world.tenants)} tenants in "
          f"{time.perf_counter() - started:.0f} s")


# The Evidence Record of each sealed unit, in one of the batches.
EVIDENCE = """
INSERT INTO evidence (unit_id, batch_id, record, record_sha256, object_key, created_at)
SELECT id, 1 + abs(hashtext(id)) % 200, '\\x3000'::bytea, repeat('0', 64),
       'evidence/' || id || '.ers', sealed_at
FROM units WHERE sealed_at IS NOT NULL"""


class Timer:
    """The SQL the service sends to `units`, each statement timed at the cursor."""

    def __init__(self, archive: Archive) -> None:
        self.engine = archive.db.kw["bind"]
        self.statements: list[tuple[str, Any, float]] = []
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
        conn.info["started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any,
               context: Any, executemany: bool) -> None:
        if ("FROM units" in statement or "FROM evidence" in statement) and \
                not statement.startswith("EXPLAIN"):
            self.statements.append((statement, parameters,
                                    time.perf_counter() - conn.info["started"]))

    def run(self, archive: Archive, criteria: SearchCriteria) -> tuple[float, int, str | None]:
        """SQL seconds of one search, the units it found, and its next page."""
        self.statements = []
        page = search_units(archive, criteria)
        return sum(s for _, _, s in self.statements), len(page.hits), page.next_after

    def explain(self) -> list[str]:
        with self.engine.connect() as conn:
            return [line for statement, parameters, _ in list(self.statements) for (line,) in
                    conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}",
                                         parameters)]


def searches(world: World, tenant_ids: dict[str, int]) -> list[tuple[str, Principal | None,
                                                                       SearchCriteria]]:
    big, small = "PU001", f"PU{len(world.tenants):03d}"
    top, rare = world.parties[0], world.parties[-1]
    bu = Principal("bench-bu", frozenset({Role.BUDGET_USER}),
                   frozenset({tenant_ids["PU002"], tenant_ids["PU003"]}))
    month: dict[str, Any] = {"date_from": date(2024, 3, 1), "date_to": date(2024, 3, 31)}
    return [
        ("largest tenant, a month", None, SearchCriteria(tenant=big, **month)),
        ("largest tenant, everything", None, SearchCriteria(tenant=big)),
        ("smallest tenant, a month", None, SearchCriteria(tenant=small, **month)),
        ("largest tenant, the commonest party by id", None,
         SearchCriteria(tenant=big, party=top.tax_id)),
        ("largest tenant, a rare party by id", None,
         SearchCriteria(tenant=big, party=rare.tax_id)),
        ("largest tenant, party by name prefix 'komunala'", None,
         SearchCriteria(tenant=big, party="komunala")),
        ("largest tenant, party by name prefix (rare)", None,
         SearchCriteria(tenant=big, party=rare.name.rsplit(" ", 1)[0])),
        ("largest tenant, by number", None,
         SearchCriteria(tenant=big, number=world.numbers[0])),
        ("largest tenant, amount 1000.00-1010.00", None,
         SearchCriteria(tenant=big, amount_min=Decimal(1000), amount_max=Decimal(1010))),
        ("largest tenant, credit notes in a year", None,
         SearchCriteria(tenant=big, document_type="credit-note", date_from=date(2023, 1, 1),
                        date_to=date(2023, 12, 31))),
        ("largest tenant, pending", None, SearchCriteria(tenant=big, sealed=False)),
        ("largest tenant, sealed", None, SearchCriteria(tenant=big, sealed=True)),
        ("budget user of 2 tenants, commonest party", bu, SearchCriteria(party=top.tax_id)),
        ("budget user of 2 tenants, everything", bu, SearchCriteria()),
        ("admin, every tenant, a rare party by id", None, SearchCriteria(party=rare.tax_id)),
        ("admin, every tenant, the commonest party by id", None,
         SearchCriteria(party=top.tax_id)),
        ("admin, every tenant, a month", None, SearchCriteria(**month)),
    ]


def measure(archive: Archive, timer: Timer, name: str, who: Principal | None,
            criteria: SearchCriteria, explain: bool, rounds: int = 5) -> SearchCriteria:
    """Print a search's SQL time (and its plan); returns the criteria of its next page."""
    admin = archive.principal
    archive.principal = who or admin
    try:
        times = [timer.run(archive, criteria) for _ in range(rounds)]
        plan = timer.explain() if explain else []
    finally:
        archive.principal = admin
    first, found, after = times[0]
    median = statistics.median(t for t, _, _ in times)
    print(f"{name:<52} {found:>5} {first * 1000:>9.1f} {median * 1000:>9.1f}")
    for line in plan:
        print(f"      {line}")
    return replace(criteria, after=after)


def service_bench(home: Path, env: dict[str, str], world: World) -> None:
    archive = open_archive(load_settings(home=str(home), environ=env))
    timer = Timer(archive)
    tenant_ids = {f"PU{n:03d}": n for n in range(1, len(world.tenants) + 1)}
    print(f"\n{'search page (limit 100)':<52} {'units':>5} {'first ms':>9} {'median ms':>9}")
    for n, (name, who, criteria) in enumerate(searches(world, tenant_ids)):
        following = measure(archive, timer, name, who, criteria, explain=True)
        if n in (0, 1, 5):  # page 2 by keyset
            measure(archive, timer, "  its page 2 (--after)", who, following, explain=n == 1)
    deep = SearchCriteria(tenant="PU001")
    started = time.perf_counter()
    for _ in range(100):
        _, _, after = timer.run(archive, deep)
        deep = SearchCriteria(tenant="PU001", after=after)
    print(f"{'largest tenant, pages 1 to 100 in turn (per page)':<52} {'100':>5} "
          f"{'':>9} {(time.perf_counter() - started) * 10:>9.1f}  (wall, incl. audit)")
    measure(archive, timer, "  page 101", None, deep, explain=True, rounds=3)
    archive.close()


def command_bench(home: Path, env: dict[str, str], world: World, rounds: int = 5) -> None:
    """The whole command: start-up, sign-in, the search, its audit event, printing."""
    top = world.parties[0]
    commands = {
        "hramba --version (start-up floor)": ["--version"],
        "hramba tenant list (opening the archive: the floor)": ["tenant", "list"],
        "hramba ls --limit 1 (for comparison)": ["ls", "--limit", "1"],
        "hramba search --tenant PU001 --from --to (a month)": [
            "search", "--tenant", "PU001", "--from", "2024-03-01", "--to", "2024-03-31"],
        "hramba search --tenant PU001 --party ID": ["search", "--tenant", "PU001",
                                                    "--party", top.tax_id],
        "hramba search --tenant PU001 --party komunala": [
            "search", "--tenant", "PU001", "--party", "komunala"],
        "hramba search --tenant PU001 --number N --json": [
            "search", "--tenant", "PU001", "--number", world.numbers[0], "--json"],
    }
    print(f"\n{'command (median of ' + str(rounds) + ')':<52} {'seconds':>9}")
    for name, args in commands.items():
        walls = []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run([HRAMBA, "--home", str(home), *args], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - started)
        print(f"{name:<52} {statistics.median(walls):>9.3f}")


def admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def arguments(description: str | None) -> argparse.ArgumentParser:
    """The options of the data both scale benches use (this one and portal_bench.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--units", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=60)
    parser.add_argument("--parties", type=int, default=6_000)
    parser.add_argument("--database", default="hramba_scale")
    parser.add_argument("--dir", type=Path, default=ROOT / ".bench" / "scale")
    parser.add_argument("--keep", action="store_true", help="Leave the database behind.")
    return parser


def bench_env(database: str) -> dict[str, str]:
    """This environment without HRAMBA_ settings, on `database` of the local server."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")} | {
        "HRAMBA_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"}


def main() -> None:
    args = arguments(__doc__).parse_args()
    env = bench_env(args.database)
    home = args.dir / "home"
    admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{args.database}"')
    try:
        shutil.rmtree(home, ignore_errors=True)  # a new database: no objects of the last run
        subprocess.run([HRAMBA, "--home", str(home), "init"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        world = make_world(random.Random(2026), args.tenants, args.parties)
        load(args.database, world, args.units, seed=2026)
        service_bench(home, env, world)
        command_bench(home, env, world)
    finally:
        if not args.keep:
            admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
