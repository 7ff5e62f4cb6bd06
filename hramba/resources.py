"""Folders shipped with the package: migrations/ and policies/.

A wheel installs them as hramba.migrations and hramba.policies; an editable install of a
source checkout leaves them at the top of the repository, beside hramba/.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def shipped_dir(name: str) -> Path:
    try:
        return Path(str(files(f"hramba.{name}")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / name
