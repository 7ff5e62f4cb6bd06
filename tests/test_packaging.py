"""The wheel is the product: built, installed into a fresh virtual environment with its
declared dependencies, and run outside the checkout, it carries every module and works."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CODE = ("hramba", "ingest", "storage")
SHIPPED = {"migrations": "hramba/migrations", "policies": "hramba/policies"}
DATA = ("hramba/trust/fonts",)  # package data inside a package: the PDFs' fonts, licence


def expected_members() -> set[str]:
    """Every source module and shipped file, as the wheel must name it."""
    names = {p.relative_to(ROOT).as_posix() for top in CODE for p in (ROOT / top).rglob("*.py")}
    for folder, inside in SHIPPED.items():
        names |= {f"{inside}/{p.relative_to(ROOT / folder).as_posix()}"
                  for p in (ROOT / folder).rglob("*")
                  if p.is_file() and p.suffix in (".py", ".yaml", ".mako")}
    names |= {p.relative_to(ROOT).as_posix() for folder in DATA for p in (ROOT / folder).iterdir()}
    return {n for n in names if "__pycache__" not in n}


RENDER = """
from hramba.domain.document import Paragraph, PdfDocument
from hramba.trust.pdf import render
assert b"/FontFile2" in render(PdfDocument("Občina", [Paragraph("č š ž đ ć")]))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy: setuptools leaves build/ and *.egg-info where it builds.
    source = tmp_path_factory.mktemp("source") / "e-hramba"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "hramba-data"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w",
                    str(out), str(source)], check=True, capture_output=True)
    return next(out.glob("e_hramba-*.whl"))


@pytest.mark.slow
def test_wheel_carries_every_module_and_shipped_file(wheel: Path) -> None:
    members = set(zipfile.ZipFile(wheel).namelist())
    assert expected_members() - members == set()
    assert not any(m.startswith(("migrations/", "policies/", "tests/")) for m in members)


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_runs_the_demo_outside_the_checkout(
        wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    install = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HRAMBA_", "PYTHON", "VIRTUAL_ENV"))}
    empty = tmp_path / "empty"
    empty.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import hramba, hramba.trust; print(hramba.__file__)"],
                           env=env, cwd=empty, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv))
    rendered = subprocess.run([str(venv / "bin" / "python"), "-c", RENDER], env=env, cwd=empty,
                              capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr[-3000:]  # fonts and HarfBuzz installed
    demo = subprocess.run([str(venv / "bin" / "hramba"), "demo", "--count", "20",
                           "--home", str(empty / "demo")],
                          env=env, cwd=empty, capture_output=True, text=True)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-3000:]
    assert "ingested: 20 units" in demo.stdout
    assert "PASSED" in demo.stdout
