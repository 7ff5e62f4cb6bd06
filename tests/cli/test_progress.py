"""The long commands as a person sees them: on a terminal a progress bar on stderr, with
count, total, rate and time; under `--json` or without a terminal, only the result.

stderr goes to a pseudo-terminal 120 columns wide, stdout to a pipe, as when a person
runs `hramba seal | tee log`; the installed `hramba` script runs as a user would run it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import subprocess
import termios
import threading
from dataclasses import dataclass
from pathlib import Path

from plugins.cli import HRAMBA, Cli

from hramba.services.corpus import write_corpus

from .test_retention_cli import account

BUYER = ("Občina Primer", "SI21423512")
COLUMNS = 120
# CSI sequences (colours, cursor, erase line) and the carriage returns between frames.
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
RATE = r"\d[\d,]*\.\d {unit}/s"


@dataclass
class Terminal:
    code: int
    out: str
    screen: str  # everything written to the terminal, escapes removed, one frame a line

    def frames(self, pattern: str) -> list[str]:
        return [line for line in self.screen.splitlines() if re.search(pattern, line)]


def on_terminal(cli: Cli, *args: str) -> Terminal:
    """Run `hramba ARGS` with stderr on a pseudo-terminal and stdout on a pipe."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {k: v for k, v in cli.env.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env |= {"COLUMNS": str(COLUMNS), "LINES": "40", "TERM": "xterm-256color"}
    written: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(leader, written), daemon=True)
    reader.start()
    try:
        proc = subprocess.Popen([HRAMBA, "--home", str(cli.home), *args], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=follower)
    finally:
        os.close(follower)  # the child's copy is the last: its exit ends the reader
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    screen = ESCAPES.sub("", b"".join(written).decode("utf-8", "replace"))
    return Terminal(proc.returncode, out.decode(), screen.replace("\r", "\n"))


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            return
        if not chunk:
            return
        into.append(chunk)


def inbox(tmp_path: Path, count: int = 3) -> Path:
    list(write_corpus(tmp_path / "in", count, BUYER))
    return tmp_path / "in"


def assert_bar(run: Terminal, description: str, done: int, unit: str) -> None:
    """The last frame shows the whole count against its total, a rate and the time."""
    frames = run.frames(rf"^{description} ")
    assert frames, f"no {description!r} bar on the terminal:\n{run.screen}"
    last = frames[-1]
    assert re.search(rf" {done}/{done} {unit} ", last), last
    assert re.search(RATE.format(unit=unit), last), last
    assert re.search(r" in \d+:\d\d:\d\d$", last.rstrip()), last
    assert len(last.rstrip()) <= COLUMNS
    assert "\x1b" not in run.out  # stdout stays plain: the bar is stderr's


def test_ingest_dir_shows_a_bar_and_prints_only_the_result(cli: Cli, tmp_path: Path) -> None:
    run = on_terminal(cli, "ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1")
    assert run.code == 0, run.screen
    assert_bar(run, "ingesting", 3, "files")
    assert run.out == "3 archived, 0 duplicates, 0 quarantined\n"


def test_no_bar_under_json_or_without_a_terminal(cli: Cli, tmp_path: Path) -> None:
    folder = inbox(tmp_path)
    as_json = on_terminal(cli, "ingest", "dir", str(folder), "--tenant", "OBCINA1", "--json")
    assert (as_json.code, as_json.screen) == (0, "")
    assert [r["outcome"] for r in json.loads(as_json.out)["results"]] == ["archived"] * 3
    piped = cli("ingest", "dir", str(folder), "--tenant", "OBCINA1")
    assert (piped.out, piped.err) == ("0 archived, 3 duplicates, 0 quarantined\n", "")
    for args in (("seal",), ("fixity",), ("evidence", "renew")):
        assert on_terminal(cli, *args, "--json").screen == "", args
        assert cli(*args).err == "", args


def test_seal_fixity_renew_and_dispose_show_their_bars(cli: Cli, tmp_path: Path) -> None:
    cli("ingest", "dir", str(inbox(tmp_path)), "--tenant", "OBCINA1")
    sealed = on_terminal(cli, "seal")
    assert sealed.code == 0, sealed.screen
    assert_bar(sealed, "sealing", 3, "units")
    assert re.fullmatch(r"sealed 3 units in 1 batch \(1 TSA request, \d+\.\d s\); 0 pending; "
                        r"audit log anchored, head event \d+\n", sealed.out), sealed.out
    fixity = on_terminal(cli, "fixity")
    assert fixity.code == 0, fixity.screen
    checked = re.match(r"fixity: OK \((\d+) objects checked, ", fixity.out)
    assert checked, fixity.out
    assert_bar(fixity, "checking fixity", int(checked[1]), "objects")
    renewed = on_terminal(cli, "evidence", "renew")
    assert renewed.code == 0, renewed.screen
    assert_bar(renewed, "checking evidence", 3, "records")
    assert renewed.out.startswith("renewed 0 of 3 evidence records (0 TSA requests)\n")
    proposal = cli("dispose", "propose", "--tenant", "OBCINA1", "--as-of", "2037-01-01",
                   "--instruction", "NAVODILO 7/2036", "--json").json()
    account(cli, "boris", "approver")("dispose", "approve", str(proposal["id"]))
    executed = on_terminal(cli, "dispose", "execute", str(proposal["id"]))
    assert executed.code == 1, executed.screen  # the policy still keeps all three
    assert_bar(executed, "disposing", 3, "units")
    assert executed.out.startswith(f"disposal {proposal['id']} of OBCINA1: EXECUTED, 3 units")
