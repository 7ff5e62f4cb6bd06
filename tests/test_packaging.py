"""A plain (non-editable) install carries everything: code, migrations, policies."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_a_working_hramba(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(tmp_path / "wheel"), str(ROOT)], check=True, capture_output=True)
    wheel = next((tmp_path / "wheel").glob("e_hramba-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    assert (target / "hramba" / "migrations" / "versions" / "0001_initial.py").is_file()
    assert (target / "hramba" / "migrations" / "env.py").is_file()
    assert (target / "hramba" / "policies").is_dir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HRAMBA_")}
    env["PYTHONPATH"] = str(target)  # ahead of the editable install of this checkout
    home = tmp_path / "home"

    def hramba(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "hramba", "--home", str(home), *args],
                              env=env, cwd=tmp_path, check=True, capture_output=True,
                              text=True).stdout

    where = subprocess.run([sys.executable, "-c", "import hramba; print(hramba.__file__)"],
                           env=env, cwd=tmp_path, check=True, capture_output=True, text=True)
    assert where.stdout.startswith(str(target))
    assert "archive ready" in hramba("init")
    assert "revision 0007" in hramba("db", "upgrade")
