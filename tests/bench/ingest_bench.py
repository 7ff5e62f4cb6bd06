"""`make bench`: ingest a generated corpus into the embedded default and compare, in the same
run and on the same files, with reference tools:

* bagit-python (`bagit.py --sha256 --processes 1`): hashes every file and writes a bag
  (moves the files into data/ and writes manifests); the reference for archiving speed;
* tar piped into tar: the copy floor; `openssl dgst -sha256`: the hashing floor.

Prints files/s, MB/s and peak RSS of each, and our ratio to each. Then seals: units sealed
per second with batches of 1,000 and of 10,000, TSA requests, Evidence Record bytes per
unit, and the offline verification time per unit. Then retention: the plan, a full fixity
run next to `openssl dgst` on the same objects, and disposal of every unit ten years on
next to `rm -rf` of a copy of the same objects. Start-up: `hramba --help`, `--version` and
`show UNIT` as ratios to `python3 -c "import typer"` (`--startup-only` measures just that on
a small archive). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from hramba.services.corpus import write_corpus

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@dataclass
class Run:
    tool: str
    seconds: float
    peak_rss_mb: float


def timed(tool: str, args: list[str], **kwargs: object) -> Run:
    """Run a command, returning its wall time and its own peak RSS (from wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{tool} failed: {' '.join(args)}")
    return Run(tool, seconds, usage.ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=ROOT / ".bench")
    parser.add_argument("--small-files", type=int, default=2_000)
    parser.add_argument("--large-mb", type=int, default=500)
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    corpus, home = args.dir / "corpus", args.dir / "home"
    paths = list(write_corpus(corpus, 50 if args.startup_only else args.count,
                              ("Občina Bench", "SI21423512")))
    megabytes = sum(p.stat().st_size for p in paths) / 1e6
    hramba = str(BIN / "hramba")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")}
    subprocess.run([hramba, "--home", str(home), "init"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run([hramba, "--home", str(home), "tenant", "add", "BENCH", "--tax-number",
                    "SI21423512", "--name", "Bench"], check=True, env=env,
                   stdout=subprocess.DEVNULL)

    runs = [timed("hramba ingest dir", [hramba, "--home", str(home), "ingest", "dir",
                                        str(corpus), "--tenant", "BENCH", "--json"], env=env)]
    startup_bench(hramba, env, home)
    if args.startup_only:
        return
    bag = args.dir / "bag"
    shutil.copytree(corpus, bag)
    runs.append(timed("bagit.py --sha256", [str(BIN / "bagit.py"), "--quiet", "--sha256",
                                            "--processes", "1", str(bag)]))
    copy = args.dir / "copy"
    copy.mkdir()
    runs.append(timed("tar | tar (copy floor)", ["bash", "-c",
                      f"tar -C '{corpus}' -cf - . | tar -C '{copy}' -xf -"]))
    runs.append(timed("openssl dgst -sha256 (hash floor)", ["bash", "-c",
                      f"find '{corpus}' -type f -print0 | xargs -0 openssl dgst -sha256"]))
    report(runs, len(paths), megabytes)
    seal_bench(hramba, env, home, corpus, args.dir / "home2")
    retention_bench(hramba, env, home, args.dir / "objects-copy")
    intake_bench()
    migration_bench(hramba, env, args.dir / "migration", args.small_files, args.large_mb)
    shutil.rmtree(args.dir, ignore_errors=True)


def startup_bench(hramba: str, env: dict[str, str], home: Path, rounds: int = 9) -> None:
    """What every command pays before it works, against Typer's own import."""
    unit = subprocess.run([hramba, "--home", str(home), "ls", "--limit", "1", "--json"],
                          check=True, env=env, capture_output=True, text=True)
    unit_id = json.loads(unit.stdout)[0]["unit_id"]
    commands = {"python3 -c 'import typer'": [sys.executable, "-c", "import typer"],
                "hramba --help": [hramba, "--help"],
                "hramba --version": [hramba, "--version"],
                "hramba show UNIT": [hramba, "--home", str(home), "show", unit_id]}
    median = {name: statistics.median(timed(name, args, env=env).seconds
                                      for _ in range(rounds))
              for name, args in commands.items()}
    typer_import = median["python3 -c 'import typer'"]
    print(f"{'start-up (median of ' + str(rounds) + ')':<36} {'seconds':>9} {'x typer':>8}")
    for name, seconds in median.items():
        print(f"{name:<36} {seconds:>9.3f} {seconds / typer_import:>8.1f}")


def intake_bench(rounds: int = 20) -> None:
    """Intake alone (parse, detect, metadata, embedded files) over the real sample mix."""
    from ingest.intake import read_input

    samples = ROOT.parent / "shared" / "samples"
    files = sorted(p for d in ("eslog20", "eslog16", "ubl", "cii")
                   for p in (samples / d).glob("*.xml"))
    if not files:
        print(f"intake: {samples} is missing; skipped")
        return
    started = time.perf_counter()
    for _ in range(rounds):
        for path in files:
            read_input(path)
    seconds = time.perf_counter() - started
    megabytes = rounds * sum(p.stat().st_size for p in files) / 1e6
    print(f"intake of the sample mix ({len(files)} invoices incl. a 3.3 MB UBL, x{rounds}): "
          f"{rounds * len(files) / seconds:.0f} files/s, {megabytes / seconds:.1f} MB/s")


def migration_bench(hramba: str, env: dict[str, str], where: Path, small_files: int,
                    large_mb: int) -> None:
    """`migrate sftp start` against OpenSSH's `sftp -b` (get -r) on the same trees."""
    sys.path.insert(0, str(ROOT / "tests"))
    from plugins.sftp import running_sshd

    where.mkdir(parents=True)
    with running_sshd(where) as server:
        trees = {"small": _small_tree(server.root / "small", small_files),
                 "large": _large_tree(server.root / "large", large_mb)}
        home = where / "home"
        subprocess.run([hramba, "--home", str(home), "init"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        subprocess.run([hramba, "--home", str(home), "tenant", "add", "BENCH", "--tax-number",
                        "SI21423512", "--name", "Bench"], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        print(f"{'migration (same sshd)':<36} {'files/s':>9} {'MB/s':>8} {'peak RSS MB':>12}")
        for name, (count, megabytes) in trees.items():
            ours = timed(f"hramba migrate ({name})", [
                hramba, "--home", str(home), "migrate", "sftp", "start", "--tenant", "BENCH",
                "--host", server.host, "--port", str(server.port), "--user", server.username,
                "--key", str(server.client_key), "--known-hosts", str(server.known_hosts),
                "--remote-path", name], env=env)
            local = where / f"get-{name}"
            local.mkdir()
            started = time.perf_counter()
            done = server.sftp_batch(f"get -r {name}\n", local)
            theirs = Run(f"sftp -b get -r ({name})", time.perf_counter() - started, 0)
            if done.returncode != 0:
                raise SystemExit(f"sftp -b failed: {done.stderr}")
            for run in (ours, theirs):
                rss = f"{run.peak_rss_mb:.0f}" if run.peak_rss_mb else "-"
                print(f"{run.tool:<36} {count / run.seconds:>9.1f} "
                      f"{megabytes / run.seconds:>8.1f} {rss:>12}")


def _small_tree(root: Path, count: int) -> tuple[int, float]:
    for i in range(count):
        path = root / f"{i // 500:03d}" / f"doc-{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(20_000))
    return count, count * 20_000 / 1e6


def _large_tree(root: Path, megabytes: int) -> tuple[int, float]:
    root.mkdir(parents=True)
    with (root / "scan.bin").open("wb") as f:
        for _ in range(megabytes):
            f.write(os.urandom(1_000_000))
    return 1, float(megabytes)


def seal_bench(hramba: str, env: dict[str, str], home: Path, corpus: Path, home2: Path) -> None:
    """Seal the ingested archive in batches of 1,000, a second copy in one of 10,000."""
    subprocess.run([hramba, "--home", str(home2), "init"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run([hramba, "--home", str(home2), "tenant", "add", "BENCH", "--tax-number",
                    "SI21423512", "--name", "Bench"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    subprocess.run([hramba, "--home", str(home2), "ingest", "dir", str(corpus), "--tenant",
                    "BENCH"], check=True, env=env, stdout=subprocess.DEVNULL)
    print(f"{'sealing':<28} {'units':>7} {'batches':>8} {'TSA requests':>13} {'units/s':>9}")
    for size, where in ((1_000, home), (10_000, home2)):
        done = subprocess.run([hramba, "--home", str(where), "seal", "--json"], check=True,
                              env=env | {"HRAMBA_SEAL_BATCH_SIZE": str(size)},
                              capture_output=True, text=True)
        sealed = json.loads(done.stdout)
        print(f"{'batches of ' + format(size, ','):<28} {sealed['sealed']:>7} "
              f"{sealed['batches']:>8} {sealed['tsa_requests']:>13} "
              f"{sealed['sealed'] / sealed['seconds']:>9.0f}")
    offline_bench(home)


def retention_bench(hramba: str, env: dict[str, str], home: Path, copy: Path) -> None:
    """Plan, full fixity (next to openssl on the same objects) and, ten years on,
    disposal of every unit (next to rm -rf of a copy of the same objects)."""
    from hramba.config import load_settings
    from hramba.core.types import FixedClock
    from hramba.domain.access import Principal, Role
    from hramba.services import disposal
    from hramba.wiring import open_archive

    objects = home / "objects"
    megabytes = sum(p.stat().st_size for p in objects.rglob("*") if p.is_file()) / 1e6
    plan = timed("retention plan", [hramba, "--home", str(home), "retention", "plan",
                                    "--as-of", "2037-01-01", "--json"], env=env)
    fixity = timed("hramba fixity", [hramba, "--home", str(home), "fixity", "--json"],
                   env=env)
    floor = timed("openssl dgst -sha256", ["bash", "-c", f"find '{objects}' -type f "
                                           "-not -name '*#lock' -print0 | xargs -0 openssl dgst "
                                           "-sha256"])
    shutil.copytree(objects, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    remove = timed("rm -rf (delete floor)", ["rm", "-rf", str(copy)])
    archive = open_archive(load_settings(home=str(home), environ={}),
                           FixedClock(datetime(2037, 1, 2, tzinfo=UTC)))
    started = time.perf_counter()
    proposal = disposal.propose(archive, "BENCH", instruction="BENCH-1")
    proposer, archive.principal = archive.principal, Principal(  # four eyes
        "approver", frozenset({Role.APPROVER}))
    disposal.approve(archive, proposal["id"])
    archive.principal = proposer
    done = disposal.execute(archive, proposal["id"])
    seconds = time.perf_counter() - started
    units = sum(1 for u in done["units"] if u["state"] == "disposed")
    print(f"retention plan of {units} units: {plan.seconds:.2f} s; fixity of the archive "
          f"({megabytes:.0f} MB of objects): {fixity.seconds:.1f} s, "
          f"{megabytes / fixity.seconds:.0f} MB/s, openssl dgst on the same objects "
          f"{megabytes / floor.seconds:.0f} MB/s ({floor.seconds / fixity.seconds:.2f}x)")
    print(f"disposal ten years on (propose, approve, execute, certificate): {units} units in "
          f"{seconds:.1f} s, {units / seconds:.0f} units/s; rm -rf of a copy of the same "
          f"objects {remove.seconds:.1f} s ({remove.seconds / seconds:.2f}x)")


def offline_bench(home: Path, units: int = 300) -> None:
    """Evidence Record size, and `verify-evidence` work per unit (in-process, no database:
    hash the files, check the record, validate the token and its path)."""
    from hramba.config import load_settings
    from hramba.services.evidence import current_record
    from hramba.services.units import list_units, show_unit
    from hramba.trust.evidence import DataGroup, verify_evidence
    from hramba.wiring import open_archive

    archive = open_archive(load_settings(home=str(home), environ={}))
    sizes, seconds = [], 0.0
    for row in list_units(archive, limit=units):
        record = current_record(archive, row["unit_id"])[0].record
        sizes.append(len(record))
        paths = [archive.store.production.root / "objects" / f["object_key"]  # type: ignore[attr-defined]
                 for f in show_unit(archive, row["unit_id"])["files"]]
        started = time.perf_counter()
        passed = verify_evidence(record, DataGroup.of_paths(paths), archive.sealing.trust).passed
        seconds += time.perf_counter() - started
        assert passed, row["unit_id"]
    print(f"evidence record: {sum(sizes) / len(sizes):.0f} bytes per unit on average; "
          f"offline verification: {1000 * seconds / len(sizes):.1f} ms per unit "
          f"({len(sizes)} units)")


def report(runs: list[Run], files: int, megabytes: float) -> None:
    print(f"corpus: {files} generated e-SLOG 2.0 invoices (5-50 KB), {megabytes:.1f} MB; "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    ours = runs[0]
    print(f"{'tool':<36} {'files/s':>9} {'MB/s':>8} {'peak RSS MB':>12} {'ours/this':>10}")
    for run in runs:
        print(f"{run.tool:<36} {files / run.seconds:>9.0f} {megabytes / run.seconds:>8.1f} "
              f"{run.peak_rss_mb:>12.0f} {run.seconds / ours.seconds:>10.2f}")


if __name__ == "__main__":
    main()
