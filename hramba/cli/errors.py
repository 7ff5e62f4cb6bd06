"""The CLI's one exception manager: what a command raises becomes one line on stderr and
its exit code. No command exits with a number of its own.

| exit | raised as                      | meaning                                          |
| ---: | ------------------------------ | ------------------------------------------------ |
|    0 |                                | done                                             |
|    1 | ProblemsFound                  | the command ran and reported problems (printed)  |
|    2 | click usage errors             | bad command line                                 |
|    3 | ConfigurationError             | settings, policy files, database that is not there |
|    4 | NotFound, unreadable input     | unit, tenant, object, input file or folder       |
|    5 | Conflict                       | contradicts what is recorded or stored           |
|    6 | RejectedInput                  | unsupported, unsafe, too large                   |
|    7 | IntegrityViolation             | bytes or records differ from their digests       |
|    8 | NotPermitted                   | not permitted: role, tenant scope or credentials |
|   70 | anything else                  | a bug: run again with --verbose and report it    |
|   75 | ServiceUnavailable             | storage, TSA, source or database down: retry     |
"""

from __future__ import annotations

import sys
import traceback
from typing import TypeGuard

from hramba.core.errors import BUG, HrambaError
from hramba.core.errors import exit_code as coded
from hramba.core.redact import redact_text


class ProblemsFound(HrambaError):
    """Raised by a command that ran and has printed the problems it found (exit 1)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)


__all__ = ["BUG", "ProblemsFound", "exit_code", "exit_with", "message"]

UNREADABLE = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def _unreadable(exc: BaseException) -> TypeGuard[OSError]:
    """A path (from the command line, mostly) that is missing or cannot be read."""
    return isinstance(exc, UNREADABLE) and exc.filename is not None


def exit_code(exc: BaseException) -> int:
    """hramba.core.errors' table, and the CLI's own: problems found, input unreadable."""
    if isinstance(exc, ProblemsFound):
        return 1
    if _unreadable(exc):
        return 4
    return coded(exc)


def message(exc: BaseException) -> str:
    """One line for stderr; empty when the command has printed its findings already.
    Credentials in it are masked: a library's message may quote a URL with its password."""
    return redact_text(_plain_message(exc))


def _plain_message(exc: BaseException) -> str:
    if isinstance(exc, ProblemsFound):
        return str(exc)
    if _unreadable(exc):
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, HrambaError):
        return str(exc)
    return (f"internal error ({type(exc).__name__}: {exc}); run again with --verbose and "
            "report the traceback")


def exit_with(exc: BaseException, verbose: bool) -> None:
    if verbose:
        sys.stderr.write(redact_text("".join(traceback.format_exception(exc))))
    text = message(exc)
    if text:
        print(f"hramba: error: {text}", file=sys.stderr)  # noqa: T201 - the CLI's own output
    sys.exit(exit_code(exc))
