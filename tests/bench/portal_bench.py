"""`make bench-scale`, second part: the portal's pages on 1,000,000 units in PostgreSQL.

On the database that scale_bench.py loads (with --reuse, the one it left behind with
--keep; otherwise loaded here the same way), 200 synthetic e-SLOG 2.0 packages are
ingested for the largest tenant, so that a document's page renders a real invoice from
the object store. `hramba serve` then runs as a user starts it (uvicorn, its own process),
and a budget user of that tenant and an auditor of every tenant sign in.

Each page is asked for one at a time (rounds of it) and its server time read from the
response's `Server-Timing` header (request in to first byte, in the server) beside the
wall time the client saw; then --clients clients (threads, each its own session, keep-alive)
ask for search and document pages in a loop for --seconds, and the same load on the
server's static style sheet gives the floor of the stack (uvicorn, Starlette, middleware)
to compare with. Prints figures; asserts nothing about time. Never part of `make test`.
"""

from __future__ import annotations

import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory

import requests
from scale_bench import HRAMBA, admin, arguments, bench_env, load, make_world
from sqlalchemy import select

from hramba.config import load_settings
from hramba.db.engine import transaction
from hramba.db.models import Unit
from hramba.services.corpus import write_packages
from hramba.services.ingest import ingest_directory, summarise
from hramba.wiring import open_archive

PASSWORD = "geslo-za-meritev-portala"


@dataclass
class Sample:
    """What a series of requests took: the server's and the client's milliseconds."""

    server: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, response: requests.Response, started: float) -> None:
        self.wall.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            self.errors += 1
        timing = response.headers.get("server-timing", "app;dur=nan")
        self.server.append(float(timing.removeprefix("app;dur=")))


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def figures(values: list[float]) -> str:
    return f"{statistics.median(values):>8.1f} {p95(values):>8.1f}"


class Portal:
    """`hramba serve` of the bench's archive, in a process of its own."""

    def __init__(self, home: Path, env: dict[str, str], workers: int) -> None:
        port = 20000 + secrets.randbelow(20000)
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen([HRAMBA, "--home", str(home), "serve", "--port",
                                         str(port), "--workers", str(workers)], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.url}/api/openapi.json", timeout=5)
                return
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("hramba serve did not start") from None
                time.sleep(0.2)

    def session(self, login: str) -> requests.Session:
        """A signed-in browser's session: the session cookie the sign-in form would set."""
        answer = requests.post(f"{self.url}/api/v1/session", timeout=30,
                               json={"login": login, "password": PASSWORD})
        answer.raise_for_status()
        browser = requests.Session()
        browser.cookies.set("hramba_session", answer.json()["token"])
        return browser

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def accounts(home: Path, env: dict[str, str]) -> tuple[str, str]:
    """A budget user of the largest tenant and an auditor of every tenant, new each run."""
    suffix = secrets.token_hex(3)
    logins = (f"bench-pu-{suffix}", f"bench-revizor-{suffix}")
    for login, role, tenant in zip(logins, ("budget-user", "auditor"), (["--tenant", "PU001"],
                                                                          []), strict=True):
        subprocess.run([HRAMBA, "--home", str(home), "user", "add", login, "--name", login,
                        "--role", role, *tenant], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        subprocess.run([HRAMBA, "--home", str(home), "user", "passwd", login,
                        "--password-stdin"], input=PASSWORD.encode(), check=True, env=env,
                       stdout=subprocess.DEVNULL)
    return logins


def ingest_invoices(home: Path, env: dict[str, str], name: str, tax_id: str) -> list[str]:
    """200 packages for the tenant PU001 (name, tax number), through intake as a feed's
    would go; the ids of that tenant's units that have files in the object store."""
    archive = open_archive(load_settings(home=str(home), environ=env))
    try:
        with TemporaryDirectory() as inbox:
            list(write_packages(Path(inbox), 200, (name, tax_id)))
            summary = summarise(list(ingest_directory(archive, Path(inbox))))
        print(f"ingested {summary['archived']} packages for PU001 "
              f"({summary['duplicates']} already there)")
        with transaction(archive.db) as session:
            return list(session.scalars(select(Unit.id).where(Unit.source != "bench")))
    finally:
        archive.close()


def one_at_a_time(portal: Portal, logins: tuple[str, str], unit_ids: list[str],
                  party: str, rounds: int) -> None:
    budget_user, auditor = (portal.session(login) for login in logins)
    first = budget_user.get(f"{portal.url}/units", timeout=60).text
    cursor = re.search(r'href="/units\?cursor=([^"]+)"', first)
    pages = [
        ("budget user: documents, first page", budget_user, "/units"),
        ("budget user: page 2 (cursor)", budget_user,
         f"/units?cursor={cursor.group(1) if cursor else ''}"),
        ("budget user: party by name prefix 'komunala'", budget_user,
         "/units?party=komunala"),
        ("budget user: commonest party by tax number", budget_user, f"/units?party={party}"),
        ("budget user: a month", budget_user,
         "/units?date_from=2024-03-01&date_to=2024-03-31"),
        ("budget user: a document's page", budget_user, "/units/{unit}"),
        ("auditor: every tenant, first page", auditor, "/units"),
        ("auditor: every tenant, commonest party", auditor, f"/units?party={party}"),
        ("auditor: a document's page", auditor, "/units/{unit}"),
    ]
    print(f"\n{'page, one request at a time (' + str(rounds) + ' each)':<48} "
          f"{'server ms':>17} {'client ms':>17}\n{'':<48} {'median':>8} {'p95':>8} "
          f"{'median':>8} {'p95':>8}")
    for name, browser, path in pages:
        sample = Sample()
        for n in range(rounds):
            started = time.perf_counter()
            sample.add(browser.get(portal.url + path.format(unit=unit_ids[n % len(unit_ids)]),
                                   timeout=60), started)
        errors = f"  {sample.errors} errors" if sample.errors else ""
        print(f"{name:<48} {figures(sample.server)} {figures(sample.wall)}{errors}")


def under_load(portal: Portal, login: str, paths: list[str], clients: int,
               seconds: float) -> tuple[Sample, int]:
    """`clients` browsers asking for `paths` in turn, from a random start, for `seconds`."""
    browsers = [portal.session(login) for _ in range(clients)]
    samples = [Sample() for _ in browsers]
    failures = [0]
    deadline = time.perf_counter() + seconds

    def client(browser: requests.Session, sample: Sample) -> None:
        n = random.randrange(len(paths))
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                sample.add(browser.get(portal.url + paths[n % len(paths)], timeout=60),
                           started)
            except requests.RequestException:
                failures[0] += 1
            n += 1

    threads = [threading.Thread(target=client, args=pair) for pair in zip(browsers, samples,
                                                                           strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Sample()
    for sample in samples:
        total.server += sample.server
        total.wall += sample.wall
        total.errors += sample.errors
    return total, failures[0]


def load_figures(portal: Portal, login: str, unit_ids: list[str], party: str, clients: int,
                 seconds: float) -> None:
    mix = ["/units", "/units?party=komunala", f"/units?party={party}",
           "/units?date_from=2024-03-01&date_to=2024-03-31"]
    mix += [f"/units/{unit}" for unit in unit_ids[:len(mix)]]  # half search, half documents
    print(f"\n{clients} clients for {seconds:.0f} s {'requests':>29} {'per s':>8} "
          f"{'server ms':>17} {'client ms':>17} {'errors':>7}")
    rates = []
    for name, paths in (("search and document pages", mix),
                        ("the style sheet (floor of the stack)", ["/static/hramba.css"])):
        started = time.perf_counter()
        total, failures = under_load(portal, login, paths, clients, seconds)
        rate = len(total.wall) / (time.perf_counter() - started)
        rates.append(rate)
        print(f"{name:<42} {len(total.wall):>8} {rate:>8.1f} {figures(total.server)} "
              f"{figures(total.wall)} {total.errors + failures:>7}")
    print(f"pages per second / floor's: {rates[0] / rates[1]:.2f}")


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--reuse", action="store_true",
                        help="Use the database scale_bench.py --keep left (no load).")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2, help="hramba serve --workers")
    args = parser.parse_args()
    env = bench_env(args.database)
    home = args.dir / "home"
    world = make_world(random.Random(2026), args.tenants, args.parties)
    if not args.reuse:
        admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{args.database}"')
    portal = None
    try:
        if not args.reuse:
            shutil.rmtree(home, ignore_errors=True)  # a new database: no objects of the last run
            subprocess.run([HRAMBA, "--home", str(home), "init"], check=True, env=env,
                           stdout=subprocess.DEVNULL)
            load(args.database, world, args.units, seed=2026)
        tenant, party = world.tenants[0], world.parties[0].tax_id
        unit_ids = ingest_invoices(home, env, tenant.name, tenant.tax_id)
        logins = accounts(home, env)
        portal = Portal(home, env, args.workers)
        print(f"hramba serve --workers {args.workers}")
        one_at_a_time(portal, logins, unit_ids, party, args.rounds)
        load_figures(portal, logins[0], unit_ids, party, args.clients, args.seconds)
    finally:
        if portal is not None:
            portal.stop()
        if not args.keep:
            admin(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
