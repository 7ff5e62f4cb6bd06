"""The public sample invoices in ../shared/samples (see its PROVENANCE.md for licences)."""

from __future__ import annotations

from pathlib import Path

from .services import missing

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "samples"


def samples_dir() -> Path:
    """../shared/samples: skipped with a reason locally when absent, failed under CI."""
    if not SAMPLES.is_dir():
        missing(f"no sample invoices at {SAMPLES}: the sample-based tests read the public "
                "samples from ../shared/samples, beside the repository")
    return SAMPLES
