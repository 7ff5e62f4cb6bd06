"""Progress of long work, as a port: a service says how much there is and how much is done.

The CLI draws it as a bar on a terminal (hramba.cli.progress); the scheduler and every
other caller leave the silent default, so a service never knows who, if anyone, watches.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Counts units of work in the service's own unit (files, units, objects, records)."""

    def total(self, n: int | None) -> None:
        """How many there are in all, None while unknown; may be set again as it grows."""

    def advance(self, n: int = 1) -> None:
        """`n` more are done."""


class _Silent:
    def total(self, n: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


NO_PROGRESS: Progress = _Silent()
