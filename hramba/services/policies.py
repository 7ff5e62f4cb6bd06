"""The released retention policies: one YAML file per policy version, shipped in
policies/ (installed as hramba.policies)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from hramba.core.errors import ConfigurationError
from hramba.domain.retention import PolicySet, parse_policy
from hramba.resources import shipped_dir


def load_policies(folder: Path) -> PolicySet:
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigurationError(f"no policy files (*.yaml) in {folder}")
    return PolicySet(parse_policy(f.read_text("utf-8"), f.name) for f in files)


@cache
def shipped_policies() -> PolicySet:
    return load_policies(shipped_dir("policies"))
