"""`make bench` (issue #12): retrieval exports on the embedded default (SQLite, the local
object store, the development TSA), through the real CLI, with reference tools in the
same run on the same bytes:

* the build (`hramba export request --tenant BENCH --reason bench --now`, one process:
  request, consistent read, ZIP, signed summary, store): files/s and MB/s of the units'
  stored objects, next to `tar cf` of the same objects (from the local store's objects/
  folder, into a file on the same disk); the ratio (goal: at least 0.5x tar); and, where
  Info-ZIP is installed, next to `zip` of them (it deflates, as the package does);
* the build's peak RSS (wait4 of its process) at each size, 10,000 and 50,000 units by
  default (goal: flat, under 300 MB);
* `hramba verify-evidence --bag` on that export, the ZIP and the unpacked folder, in
  units/s, next to `openssl dgst -sha256` over the files under the bag's data/.

Units are generated as the ingest bench does (hramba.services.corpus, then `hramba ingest
dir`), archived and sealed before each size is exported; a larger size adds units to the
same archive. Sizes: EXPORT_BENCH_UNITS (default "10000,50000"; "10000" for a quick
run). Everything lives in a temporary folder, removed at the end. Timings are printed,
never asserted. --profile adds a cProfile of one more build at the first size, printed
after the table (top 25 by cumulative time, top 15 by own time). Never part of
`make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hramba.services.corpus import write_corpus

BIN = Path(sys.executable).parent
HRAMBA = str(BIN / "hramba")
TENANT, BUYER = "BENCH", ("Občina Bench", "SI21423512")
GOAL_RATIO, GOAL_RSS_MB = 0.5, 300


@dataclass
class Run:
    tool: str
    seconds: float
    peak_rss_mb: float
    stdout: str = ""


@dataclass
class Row:
    """A line of the table: a tool over `files` files of `megabytes` MB for `units` units."""

    size: int
    run: Run
    units: int
    files: int
    megabytes: float
    ratio: str = ""


def timed(tool: str, args: list[str], env: dict[str, str] | None = None,
          cwd: Path | None = None, stdin: Path | None = None) -> Run:
    """Run a command, returning its wall time, its own peak RSS (wait4) and its output.
    Dirty pages are written back first (sync), so no run pays for an earlier one's."""
    os.sync()
    with tempfile.TemporaryFile("w+") as out, \
            (stdin or Path(os.devnull)).open("rb") as given:
        started = time.perf_counter()
        proc = subprocess.Popen(args, stdin=given, stdout=out, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"{tool} failed (exit {proc.returncode}): {' '.join(args)}\n"
                         f"{text[-2000:]}")
    return Run(tool, seconds, usage.ru_maxrss / 1024, text)


def sizes_from(value: str) -> list[int]:
    sizes = sorted({int(v.replace("_", "")) for v in value.split(",") if v.strip()})
    if not sizes or sizes[0] < 1:
        raise SystemExit(f"EXPORT_BENCH_UNITS: sizes of at least 1 unit, not {value!r}")
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", default=os.environ.get("EXPORT_BENCH_UNITS",
                                                          "10000,50000"),
                        help="Sizes to export, comma-separated (env EXPORT_BENCH_UNITS).")
    parser.add_argument("--dir", type=Path, default=None,
                        help="Where the temporary folder goes (default: the system's).")
    parser.add_argument("--profile", action="store_true",
                        help="Also profile the build at the first size (cProfile, top 25).")
    args = parser.parse_args()
    sizes = sizes_from(args.units)
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    where = Path(tempfile.mkdtemp(prefix="hramba-export-bench-", dir=args.dir))
    try:
        bench(where, sizes, args.profile)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def bench(where: Path, sizes: list[int], profile: bool) -> None:
    home = where / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")} | {
        "HRAMBA_EXPORTS_MAX_UNITS": str(sizes[-1])}  # no approval step in the way
    print(f"export bench: embedded default (SQLite, local object store, development TSA); "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; sizes "
          f"{', '.join(format(s, ',') for s in sizes)}")
    parts = generate(where / "corpus", sizes)
    for command in (["init"], ["tenant", "add", TENANT, "--tax-number", BUYER[1],
                               "--name", "Bench"]):
        subprocess.run([HRAMBA, "--home", str(home), *command], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    rows: list[Row] = []
    profiled: Path | None = None
    for size, part in zip(sizes, parts, strict=True):
        top_up(home, env, part, size)
        rows += export_size(where, home, env, size)
        if profile and profiled is None:
            profiled = profile_build(where, home, env, size)
    report(rows)
    if profiled:
        stats = pstats.Stats(str(profiled), stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(25)
        print("the same build by own time (tottime), top 15:")
        stats.sort_stats("tottime").print_stats(15)


def generate(corpus: Path, sizes: list[int]) -> list[Path]:
    """Invoices for the largest size, in one folder per step between sizes (one corpus,
    so no invoice number repeats: intake would take a repeat for a duplicate)."""
    started = time.perf_counter()
    bounds = [0, *sizes]
    parts = [corpus / f"part-{n}" for n in range(len(sizes))]
    step, megabytes = 0, 0.0
    for seq, path in enumerate(write_corpus(corpus / "all", sizes[-1], BUYER), start=1):
        while seq > bounds[step + 1]:
            step += 1
        target = parts[step] / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        megabytes += path.stat().st_size / 1e6
        path.rename(target)
    shutil.rmtree(corpus / "all")
    print(f"generated {sizes[-1]:,} e-SLOG 2.0 invoices ({megabytes:.0f} MB) in "
          f"{time.perf_counter() - started:.1f} s")
    return parts


def top_up(home: Path, env: dict[str, str], part: Path, size: int) -> None:
    """Archive and seal the invoices in `part`, so the tenant holds `size` units."""
    ingest = timed("ingest", [HRAMBA, "--home", str(home), "ingest", "dir", str(part),
                              "--tenant", TENANT, "--json"], env=env)
    archived = json.loads(ingest.stdout)["archived"]
    seal = timed("seal", [HRAMBA, "--home", str(home), "seal", "--json"], env=env)
    sealed = json.loads(seal.stdout)
    shutil.rmtree(part)
    held = stored(home)[0]
    print(f"to {size:,} units: ingest dir {archived:,} in {ingest.seconds:.1f} s "
          f"({archived / ingest.seconds:.0f} units/s), seal {sealed['sealed']:,} in "
          f"{seal.seconds:.1f} s ({sealed['tsa_requests']} TSA requests)")
    if held != size or sealed["pending"]:
        raise SystemExit(f"expected {size} sealed units, the tenant holds {held} "
                         f"({sealed['pending']} pending)")


def stored(home: Path) -> tuple[int, list[tuple[str, int]]]:
    """The tenant's units and their stored objects (key, size), from the embedded
    database, read-only."""
    with sqlite3.connect(f"file:{home / 'hramba.db'}?mode=ro", uri=True) as db:
        units = db.execute("SELECT count(*) FROM units JOIN tenants ON tenants.id = "
                           "units.tenant_id WHERE tenants.code = ?", (TENANT,)).fetchone()[0]
        files = db.execute("SELECT files.object_key, files.size FROM files JOIN units ON "
                           "units.id = files.unit_id JOIN tenants ON tenants.id = "
                           "units.tenant_id WHERE tenants.code = ? ORDER BY files.object_key",
                           (TENANT,)).fetchall()
    return units, files


def export_size(where: Path, home: Path, env: dict[str, str], size: int) -> list[Row]:
    """The build next to tar, then verify-evidence next to openssl, at one size."""
    units, objects = stored(home)
    object_mb = sum(s for _, s in objects) / 1e6
    root = home / "objects" / "objects"  # the local store of the production environment
    listing = where / "objects.list"
    listing.write_bytes(b"".join(key.encode() + b"\0" for key, _ in objects))
    archive = where / "objects.tar"
    tar = timed("tar cf (same stored objects)", ["tar", "-C", str(root), "--null", "-T",
                                                  str(listing), "-cf", str(archive)])
    archive.unlink()
    references = [tar]
    if shutil.which("zip"):  # a reference that compresses (deflate, level 6), as we do
        names = where / "objects.names"
        names.write_text("".join(key + "\n" for key, _ in objects), "utf-8")
        references.append(timed("zip -@ (Info-ZIP, same stored objects)", [
            "zip", "-q", "-X", "-@", str(where / "objects.zip")], cwd=root, stdin=names))
        (where / "objects.zip").unlink()
    build = timed("hramba export request --now", [
        HRAMBA, "--home", str(home), "export", "request", "--tenant", TENANT, "--reason",
        "bench", "--now", "--json"], env=env)
    view = json.loads(build.stdout)
    if view["state"] != "ready" or view["units"] != units:
        raise SystemExit(f"export of {units} units: {view}")
    rows = [Row(size, build, units, len(objects), object_mb, ", ".join(
        f"{r.seconds / build.seconds:.2f}x {r.tool.split()[0]}" for r in references)),
        *(Row(size, r, units, len(objects), object_mb) for r in references)]
    print(f"  export {view['export_id']}: {units:,} units, {len(objects):,} stored objects "
          f"({object_mb:.0f} MB) -> ZIP of {view['size'] / 1e6:.0f} MB")

    delivered = where / "delivered"
    subprocess.run([HRAMBA, "--home", str(home), "export", "download",
                    str(view["export_id"]), "--out", str(delivered)], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    package = delivered / f"export-{view['export_id']}.zip"
    unpacked = where / "unpacked"
    with zipfile.ZipFile(package) as zf:
        zf.extractall(unpacked)
    bag = next(unpacked.iterdir())
    data = [p for p in (bag / "data").rglob("*") if p.is_file()]
    data_mb = sum(p.stat().st_size for p in data) / 1e6
    anchors = home / "tsa" / "dev-ca.pem"  # the development TSA's root
    checks = [timed(f"hramba verify-evidence --bag {label}", [
        HRAMBA, "verify-evidence", "--bag", str(path), "--trust", str(anchors),
        "--accept-unqualified"], env=env) for label, path in (("ZIP", package),
                                                              ("folder", bag))]
    openssl = timed("openssl dgst -sha256 (data/)", [
        "bash", "-c", "find data -type f -print0 | xargs -0 openssl dgst -sha256"], cwd=bag)
    for check in checks:
        if f"PASSED: {units} units" not in check.stdout:
            raise SystemExit(f"{check.tool}: {check.stdout[-500:]}")
        rows.append(Row(size, check, units, len(data), data_mb,
                        f"{openssl.seconds / check.seconds:.2f}x openssl"))
    rows.append(Row(size, openssl, units, len(data), data_mb))
    shutil.rmtree(unpacked)
    shutil.rmtree(delivered)
    return rows


def profile_build(where: Path, home: Path, env: dict[str, str], size: int) -> Path:
    """One more build of the same criteria under cProfile: where its time goes (printed
    after the table)."""
    out = where / "build.prof"
    run = timed("cProfile", [sys.executable, "-m", "cProfile", "-o", str(out), HRAMBA,
                             "--home", str(home), "export", "request", "--tenant", TENANT,
                             "--reason", "bench (profiled)", "--now", "--json"], env=env)
    print(f"  profiled one more build of {size:,} units: {run.seconds:.1f} s under cProfile")
    return out


def report(rows: list[Row]) -> None:
    print(f"\n{'units':>7}  {'tool':<40} {'seconds':>8} {'units/s':>8} {'files/s':>8} "
          f"{'MB/s':>7} {'peak RSS MB':>11}  ratio")
    for r in rows:
        print(f"{r.size:>7,}  {r.run.tool:<40} {r.run.seconds:>8.2f} "
              f"{r.units / r.run.seconds:>8.0f} {r.files / r.run.seconds:>8.0f} "
              f"{r.megabytes / r.run.seconds:>7.1f} {r.run.peak_rss_mb:>11.0f}  {r.ratio}")
    builds = [r for r in rows if r.run.tool.startswith("hramba export")]
    first = builds[0]
    print("files/s and MB/s of the build, tar and zip: the units' stored objects (each unit's "
          "files and manifest.json); of verify-evidence and openssl: the files under the "
          "bag's data/ (those, evidence.ers and CHECK.txt). Ratio: the reference's seconds "
          "over ours.")
    print(f"goals: export at least {GOAL_RATIO}x tar: {first.ratio.split('x ')[0]}x at "
          f"{first.size:,} units; peak RSS of the build under {GOAL_RSS_MB} MB and flat: "
          + ", ".join(f"{b.run.peak_rss_mb:.0f} MB at {b.size:,}" for b in builds))


if __name__ == "__main__":
    main()
