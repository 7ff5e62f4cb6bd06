"""A progress bar on stderr for the long commands, drawn by rich; none under `--json` or
when stderr is not a terminal, so stdout carries only the result.

rich is imported only when a bar is drawn: `hramba --help` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from hramba.cli.common import is_terminal
from hramba.core.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    import rich.progress


@contextmanager
def progress_bar(description: str, *, unit: str, enabled: bool = True) -> Iterator[Progress]:
    """A Progress drawn as `description ━━━━ 12/300 files 4.1 files/s eta 0:01:10` on a
    terminal, or the silent one. The bar appears at the service's first report, so an
    error before any work is done prints no empty bar; it stays as the run's last line."""
    if not (enabled and is_terminal()):
        yield NO_PROGRESS
        return
    bar = _RichBar(_rich_progress(unit), description)
    try:
        yield bar
    finally:
        bar.stop()


class _RichBar:
    """The Progress port on one rich task, started lazily."""

    def __init__(self, display: rich.progress.Progress, description: str) -> None:
        self.display = display
        self.task = display.add_task(description, total=None, start=False)
        self.started = False

    def total(self, n: int | None) -> None:
        if n is not None:  # rich keeps the last total it was given; unknown stays unknown
            self.display.update(self.task, total=n)
        self._start()

    def advance(self, n: int = 1) -> None:
        self._start()
        self.display.advance(self.task, n)

    def _start(self) -> None:
        if not self.started:
            self.started = True
            self.display.start()
            self.display.start_task(self.task)

    def stop(self) -> None:
        if self.started:
            self.display.stop()


def _rich_progress(unit: str) -> rich.progress.Progress:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, Task
    from rich.progress import Progress as RichProgress  # not to be read as the port
    from rich.table import Column
    from rich.text import Text

    class Rate(ProgressColumn):
        """`4.1 files/s` since the start (rich's own speed column counts bytes)."""

        def render(self, task: Task) -> Text:
            rate = _rate(task)
            return Text("-" if rate is None else f"{rate:,.1f} {unit}/s",
                        style="progress.data.speed")

    class Eta(ProgressColumn):
        """`eta 0:01:10` while running, `in 0:04:02` once done."""

        def render(self, task: Task) -> Text:
            if task.finished and task.finished_time is not None:
                return Text(f"in {_clock(task.finished_time)}", style="progress.elapsed")
            rate = _rate(task)
            if task.total is None or not rate:
                return Text("eta -:--:--", style="progress.remaining")
            return Text(f"eta {_clock((task.total - task.completed) / rate)}",
                        style="progress.remaining")

    # One line whatever the width: the texts never wrap, the bar takes what is left.
    # stdout is not redirected through the bar: it carries the result, and only that.
    line = Column(no_wrap=True)
    return RichProgress("{task.description}", BarColumn(bar_width=None),
                        MofNCompleteColumn(table_column=line), unit,
                        Rate(table_column=line), Eta(table_column=line), expand=True,
                        console=Console(stderr=True), redirect_stdout=False)


def _rate(task: rich.progress.Task) -> float | None:
    """The average since the first report. Services report in bursts (a batch commits,
    a page is decided): rich's estimate from its last samples would read a burst as
    thousands per second."""
    elapsed = task.finished_time or task.elapsed
    return task.completed / elapsed if task.completed and elapsed else None


def _clock(seconds: float) -> str:
    minutes, second = divmod(int(seconds), 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours}:{minute:02d}:{second:02d}"
