"""Run the installed `hramba` console script as a user would, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HRAMBA = str(Path(sys.executable).with_name("hramba"))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, stdin: str = "") -> Result:
        proc = subprocess.run([HRAMBA, "--home", str(self.home), *args], env=self.env,
                              input=stdin, capture_output=True, text=True, timeout=120)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"hramba {' '.join(args)} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return result

    def popen(self, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([HRAMBA, "--home", str(self.home), *args], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")}
