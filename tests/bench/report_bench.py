"""`make bench` (issue #13): the holdings and integrity reports on 10,000 and 100,000 units,
SQLite and PostgreSQL, through the real CLI (`hramba report KIND --out DIR --json`: the
consistent read, the signed PDF with its CSV and JSON, stored WORM, written to DIR).

For each backend and size a fresh archive (`hramba init`: the local object store and the
development TSA of the embedded default; SQLite in a temporary folder, PostgreSQL a
database of its own at 127.0.0.1:5432, `hramba_report_bench`, dropped at the end) is
bulk-loaded, streamed, with the units of `make bench-scale` (tests/bench/scale_bench.py:
60 tenants of Zipf sizes, ten years of invoices): COPY into PostgreSQL, executemany in
batches into SQLite. Each unit has its invoice and manifest.json, a third a PDF
attachment too. Fixity as the daily sweep leaves it: 95% of units checked in the last 90
days, 3% earlier, 2% never; a sweep event a day for 90 days and a few runs of one
tenant, some with findings. Evidence Records only in PostgreSQL (scale_bench's
statement; neither report reads them).

Each report runs in a process of its own: wall time and its peak RSS (wait4, under a
small launcher: see LAUNCHER), the PDF's size and pages, and the ratio of each size's peak
RSS to the smallest size's (flat: 1.0). The reference, measured the same way: the
quarantine report of the same archive, empty (start-up, signing and storing: the floor of
any report). --profile BACKEND:UNITS:KIND runs just that one under cProfile instead and
prints the top 25 entries by cumulative time (and 15 by own time). Timings are printed,
never asserted. Never part of `make test`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import pstats
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from scale_bench import (
    BATCH_COLUMNS,
    EVIDENCE,
    HRAMBA,
    SERVER,
    TENANT_COLUMNS,
    UNIT_COLUMNS,
    admin,
    batch_rows,
    copy_rows,
    make_world,
    tenant_rows,
    unit_rows,
)

from hramba.domain.audit import GENESIS, EventBody

BACKENDS, KINDS = ("sqlite", "postgresql"), ("holdings", "integrity")
FLOOR = "quarantine"  # empty here: what any report costs
DATABASE = "hramba_report_bench"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
TENANTS, PARTIES, SEED, BATCH = 60, 6_000, 2026, 10_000
RECEIVED = UNIT_COLUMNS.index("received_at")
AUDIT_COLUMNS = ("seq", "occurred_at", "actor", "action", "subject", "tenant", "details",
                 "prev_hash", "hash")
# Each unit's files, from its columns (the same SQL on both backends): the invoice and the
# manifest, and for about a third (ids starting 0-4) a PDF attachment.
FILES = """
INSERT INTO files (unit_id, position, name, role, media_type, size, sha256, object_key)
SELECT u.id, 0, 'invoice.xml', 'invoice', 'application/xml', 4000 + 500 * length(u.seller_name),
       u.content_sha256, 'units/' || t.code || '/' || u.id || '/files/invoice.xml'
FROM units u JOIN tenants t ON t.id = u.tenant_id
UNION ALL
SELECT u.id, 1, 'invoice.pdf', 'attachment', 'application/pdf',
       30000 + 4000 * length(u.buyer_name), u.content_sha256,
       'units/' || t.code || '/' || u.id || '/files/invoice.pdf'
FROM units u JOIN tenants t ON t.id = u.tenant_id WHERE substr(u.id, 1, 1) IN ('0', '1', '2',
                                                                              '3', '4')
UNION ALL
SELECT u.id, 2, 'manifest.json', 'manifest', 'application/json', 600 + 10 * length(u.buyer_name),
       u.content_sha256, 'units/' || t.code || '/' || u.id || '/manifest.json'
FROM units u JOIN tenants t ON t.id = u.tenant_id"""
# A child's ru_maxrss starts at its parent's peak on Linux (fork copies the high-water
# mark, exec keeps it), and this process has loaded up to 100,000 units: each report runs
# under this small launcher, which spawns it and prints its peak RSS (KB) and seconds.
LAUNCHER = """import os, sys, time
started = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, time.perf_counter() - started, file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))"""


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    stdout: str


@dataclass
class Row:
    backend: str
    kind: str
    units: int
    run: Run
    pdf_bytes: int
    pages: int


def checked_units(rows: Iterable[tuple[Any, ...]], now: datetime,
                  seed: int) -> Iterator[tuple[Any, ...]]:
    """The units with their last fixity check (fixity_checked_at) appended: as the rolling
    90-day sweep leaves them, most within 90 days, some earlier, a few never."""
    rng = random.Random(seed)
    for row in rows:
        draw = rng.random()
        if draw < 0.02:
            last = None
        elif draw < 0.05:
            last = max(row[RECEIVED], now - timedelta(days=rng.uniform(91, 400)))
        else:
            last = now - timedelta(days=rng.uniform(0, 90))
        yield *row, last


def fixity_events(last: tuple[int, str] | None, count: int, now: datetime,
                  seed: int) -> Iterator[tuple[Any, ...]]:
    """Audit events of fixity runs (what the integrity report lists), chained after
    `last` (seq, hash): the daily sweep for 90 days, and a run of one tenant a week; one
    in ten found problems."""
    rng = random.Random(seed)
    seq, prev = last or (0, GENESIS)
    objects = count * 2  # files and evidence records, about
    runs: list[tuple[datetime, str, str, str | None, int]] = [
        (now - timedelta(days=d, hours=20), "scheduler", "fixity.sweep", None, objects // 90)
        for d in range(90, 0, -1)]
    for d in range(84, 0, -7):
        code = f"PU{rng.randrange(1, TENANTS + 1):03d}"
        runs.append((now - timedelta(days=d, hours=9), "archivist", "fixity.run", code,
                     objects // TENANTS))
    for at, actor, action, tenant, checked in sorted(runs, key=lambda r: r[0]):
        found = rng.choices(["HRB-F001", "HRB-F002", "HRB-F003"], k=rng.randrange(1, 4)) \
            if rng.random() < 0.1 else []
        details = {"ok": not found, "counts": {"objects checked": checked,
                                               "bytes read": checked * 35_000},
                   "findings": [f"{code} units/{tenant or 'PU001'}/{n:032x}/files/invoice.xml"
                                for n, code in enumerate(found)]}
        seq += 1
        body = EventBody(seq, at, actor, action, tenant or "*", tenant, details, prev)
        prev = body.event_hash()
        yield seq, at, actor, action, body.subject, tenant, json.dumps(details), \
            body.prev_hash, prev


def tables(cur: Any, count: int) -> Iterator[tuple[str, tuple[str, ...],
                                                   Iterable[tuple[Any, ...]]]]:
    """What to load, table by table, each a stream of rows."""
    world, now = make_world(random.Random(SEED), TENANTS, PARTIES), datetime.now(UTC)
    yield "tenants", TENANT_COLUMNS, tenant_rows(world, now)
    yield "batches", BATCH_COLUMNS, batch_rows(now)
    yield "units", (*UNIT_COLUMNS, "fixity_checked_at"), checked_units(
        unit_rows(world, count, SEED), now, SEED)
    cur.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
    yield "audit_events", AUDIT_COLUMNS, fixity_events(cur.fetchone(), count, now, SEED)


def load_postgresql(count: int) -> None:
    with psycopg.connect(f"{SERVER} dbname={DATABASE}") as conn, conn.cursor() as cur:
        for table, columns, rows in tables(cur, count):
            copy_rows(cur, table, columns, rows)
        cur.execute(EVIDENCE)
        cur.execute(FILES)
        cur.execute("ANALYZE")


def load_sqlite(path: Path, count: int) -> None:
    # As SQLAlchemy stores them in SQLite: UTC text without an offset, Numeric as REAL.
    sqlite3.register_adapter(datetime, lambda v: v.astimezone(UTC).strftime(
        "%Y-%m-%d %H:%M:%S.%f"))
    sqlite3.register_adapter(date, date.isoformat)
    sqlite3.register_adapter(Decimal, float)
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA synchronous=OFF")  # a throwaway archive: no need to survive a crash
        db.execute("PRAGMA cache_size=-262144")  # 256 MB: the random-key indexes stay in memory
        for table, columns, rows in tables(db.cursor(), count):
            insert = (f"INSERT INTO {table} ({', '.join(columns)}) "
                      f"VALUES ({', '.join('?' * len(columns))})")
            iterator = iter(rows)
            while batch := list(itertools.islice(iterator, BATCH)):
                db.executemany(insert, batch)
        db.execute(FILES)
        db.commit()
        db.execute("ANALYZE")


def prepare(backend: str, home: Path, count: int) -> dict[str, str]:
    """A fresh archive of `count` units; returns the environment its commands run in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")}
    if backend == "postgresql":  # the development TSA and signing key only when said so
        home.parent.mkdir(parents=True, exist_ok=True)
        settings = home.parent / "hramba.toml"
        settings.write_text(f'[database]\nurl = "{PG_URL}"\n[tsa]\ndevelopment = true\n'
                            "[signing]\ndevelopment = true\n", "utf-8")
        env["HRAMBA_CONFIG"] = str(settings)
        admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{DATABASE}"')
    subprocess.run([HRAMBA, "--home", str(home), "init"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    started = time.perf_counter()
    if backend == "postgresql":
        load_postgresql(count)
    else:
        load_sqlite(home / "hramba.db", count)
    print(f"{backend}: loaded {count:,} units in {time.perf_counter() - started:.1f} s")
    return env


def timed(args: list[str], env: dict[str, str]) -> Run:
    """Run a command: its wall time, its own peak RSS and its output. Dirty pages are
    written back first (sync), so no run pays for the load's."""
    os.sync()
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *args], env=env, text=True,
                          capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"exit {done.returncode}: {' '.join(args)}\n{done.stderr[-2000:]}")
    peak_kb, seconds = done.stderr.split()[-2:]
    return Run(float(seconds), int(peak_kb) / 1024, done.stdout)


def make(backend: str, home: Path, env: dict[str, str], count: int, kind: str) -> Row:
    out = home.parent / f"out-{kind}"
    run = timed([HRAMBA, "--home", str(home), "report", kind, "--out", str(out), "--json"],
                env)
    pdf = next(Path(p) for p in json.loads(run.stdout)["written"] if p.endswith(".pdf"))
    return Row(backend, kind, count, run, pdf.stat().st_size, pages(pdf))


def pages(pdf: Path) -> int:
    """The PDF's page count: by pdfinfo (poppler) where it is installed, else pyHanko."""
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                              text=True).stdout
        return next(int(line.split()[1]) for line in info.splitlines()
                    if line.startswith("Pages:"))
    from pyhanko.pdf_utils.reader import PdfFileReader

    with pdf.open("rb") as f:
        return int(PdfFileReader(f).root["/Pages"]["/Count"])


def profile(where: Path, backend: str, count: int, kind: str) -> None:
    home = where / "home"
    env = prepare(backend, home, count)
    out = where / "report.prof"
    run = timed([sys.executable, "-m", "cProfile", "-o", str(out), HRAMBA, "--home",
                 str(home), "report", kind, "--json"], env)
    print(f"{kind} on {backend}, {count:,} units: {run.seconds:.1f} s under cProfile, "
          f"peak RSS {run.peak_rss_mb:.0f} MB")
    stats = pstats.Stats(str(out), stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(25)
    print("the same by own time (tottime), top 15:")
    stats.sort_stats("tottime").print_stats(15)


def table(rows: list[Row]) -> None:
    smallest: dict[tuple[str, str], Row] = {}
    print(f"\n{'backend':<11} {'kind':<10} {'units':>8} {'seconds':>8} {'units/s':>8} "
          f"{'peak RSS MB':>11} {'PDF KB':>7} {'pages':>5}  RSS ratio")
    for r in rows:
        first = smallest.setdefault((r.backend, r.kind), r)
        ratio = "" if r is first else (f"{r.run.peak_rss_mb / first.run.peak_rss_mb:.2f} "
                                       f"({r.units // first.units}x units)")
        print(f"{r.backend:<11} {r.kind:<10} {r.units:>8,} {r.run.seconds:>8.2f} "
              f"{r.units / r.run.seconds:>8.0f} {r.run.peak_rss_mb:>11.0f} "
              f"{r.pdf_bytes / 1024:>7.0f} {r.pages:>5}  {ratio}")
    print(f"RSS ratio: peak RSS over that at the smallest size (flat: 1.0). {FLOOR}: the "
          "reference, an empty report (start-up, signing, storing).")


def bench(where: Path, backends: list[str], sizes: list[int]) -> None:
    rows = []
    for backend in backends:
        for count in sizes:
            home = where / f"{backend}-{count}" / "home"
            env = prepare(backend, home, count)
            rows += [make(backend, home, env, count, kind) for kind in (*KINDS, FLOOR)]
            shutil.rmtree(home.parent)
    table(rows)


def profiled(value: str) -> tuple[str, int, str]:
    backend, _, rest = value.partition(":")
    units, _, kind = rest.partition(":")
    if backend not in BACKENDS or kind not in KINDS or not units.replace("_", "").isdigit():
        raise argparse.ArgumentTypeError(f"BACKEND ({', '.join(BACKENDS)}):UNITS:KIND "
                                         f"({', '.join(KINDS)}), not {value!r}")
    return backend, int(units.replace("_", "")), kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000",
                        help="Unit counts, comma-separated (default 10000,100000).")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="sqlite, postgresql or both, comma-separated.")
    parser.add_argument("--profile", metavar="BACKEND:UNITS:KIND", type=profiled,
                        help="Only this one, under cProfile, e.g. sqlite:100000:holdings.")
    parser.add_argument("--dir", type=Path, default=None,
                        help="Where the temporary folder goes (default: the system's).")
    args = parser.parse_args()
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()})
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.profile:
        backends, sizes = [args.profile[0]], [args.profile[1]]
    if not sizes or sizes[0] < 1 or set(backends) - set(BACKENDS):
        raise SystemExit(f"--sizes: unit counts; --backends: of {', '.join(BACKENDS)}")
    print(f"report bench: {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(prefix="hramba-report-bench-", dir=args.dir))
    try:
        if args.profile:
            profile(where, *args.profile)
        else:
            bench(where, backends, sizes)
    finally:
        shutil.rmtree(where, ignore_errors=True)
        if "postgresql" in backends:
            admin(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


if __name__ == "__main__":
    main()
