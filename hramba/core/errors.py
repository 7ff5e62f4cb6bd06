"""One exception root for everything e-hramba raises on purpose.

```
* HrambaError
  + ConfigurationError       bad settings or policy files, a database that is not there
  + NotFound                 unit, tenant, object
  + Conflict                 already archived differently, retention-locked, held
    + RetentionLocked        storage refuses: retain-until not reached or on hold
  + RejectedInput            unsupported, unsafe, too large
    + CodedRejection         refused by intake, with a finding code for quarantine
  + IntegrityViolation       digest mismatch, broken audit chain; always audited
  + NotPermitted             the principal's role or tenant scope does not allow it
  + ServiceUnavailable       storage, source, TSA, database; retryable
```

Front ends map them by one table, EXIT_CODES: the CLI to its exit codes
(hramba.cli.errors), the HTTP API to problem details that carry the same code
(hramba.web.app).

Adapters translate SDK errors into these at their boundary and keep the cause
(`raise ServiceUnavailable(...) from exc`). Messages never carry secrets.
"""


class HrambaError(Exception):
    """Root of every error e-hramba raises on purpose."""


class ConfigurationError(HrambaError):
    """Raised when settings or policy files are invalid; the message names the key."""


class NotFound(HrambaError):
    """Raised when a tenant, unit or object does not exist."""


class Conflict(HrambaError):
    """Raised when an operation contradicts what is already recorded or stored."""


class RetentionLocked(Conflict):
    """Raised when storage refuses a delete or a shorter retention (retain-until, hold)."""


class RejectedInput(HrambaError):
    """Raised when input is unsupported, unsafe or too large."""


class CodedRejection(RejectedInput):
    """Raised by intake for input that goes to quarantine; `code` is its finding code and
    `reason` the message without it."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class IntegrityViolation(HrambaError):
    """Raised when bytes or records do not match their recorded digests."""


class NotPermitted(HrambaError):
    """Raised when the acting account may not do this, or cannot be authenticated (the
    message never says whether a login exists)."""


class ServiceUnavailable(HrambaError):
    """Raised when storage, a source, the TSA or the database cannot be reached; retryable."""


EXIT_CODES: tuple[tuple[type[HrambaError], int], ...] = (
    (ConfigurationError, 3),
    (NotFound, 4),
    (Conflict, 5),
    (RejectedInput, 6),
    (IntegrityViolation, 7),
    (NotPermitted, 8),
    (ServiceUnavailable, 75),
)
BUG = 70  # anything raised not on purpose


def exit_code(exc: BaseException) -> int:
    """The code of an error e-hramba raised on purpose; BUG for any other."""
    return next((code for kind, code in EXIT_CODES if isinstance(exc, kind)), BUG)
