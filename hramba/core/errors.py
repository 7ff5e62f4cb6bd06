"""One exception root for everything e-hramba raises on purpose.

```
* HrambaError
  + ConfigurationError       bad settings or policy files                          (exit 3)
  + NotFound                 unit, tenant, object                                  (exit 4)
  + Conflict                 already archived differently, retention-locked, held  (exit 5)
    + RetentionLocked        storage refuses: retain-until not reached or on hold  (exit 5)
  + RejectedInput            unsupported, unsafe, too large                        (exit 6)
    + CodedRejection         refused by intake, with a finding code for quarantine (exit 6)
  + IntegrityViolation       digest mismatch, broken audit chain; always audited   (exit 7)
  + ServiceUnavailable       storage, source, TSA, database; retryable             (exit 75)
```

Adapters translate SDK errors into these at their boundary and keep the cause
(`raise ServiceUnavailable(...) from exc`). Messages never carry secrets.
"""


class HrambaError(Exception):
    """Root of every error e-hramba raises on purpose."""

    exit_code = 10


class ConfigurationError(HrambaError):
    """Raised when settings or policy files are invalid; the message names the key."""

    exit_code = 3


class NotFound(HrambaError):
    """Raised when a tenant, unit or object does not exist."""

    exit_code = 4


class Conflict(HrambaError):
    """Raised when an operation contradicts what is already recorded or stored."""

    exit_code = 5


class RetentionLocked(Conflict):
    """Raised when storage refuses a delete or a shorter retention (retain-until, hold)."""


class RejectedInput(HrambaError):
    """Raised when input is unsupported, unsafe or too large."""

    exit_code = 6


class CodedRejection(RejectedInput):
    """Raised by intake for input that goes to quarantine; `code` is its finding code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code


class IntegrityViolation(HrambaError):
    """Raised when bytes or records do not match their recorded digests."""

    exit_code = 7


class ServiceUnavailable(HrambaError):
    """Raised when storage, a source, the TSA or the database cannot be reached; retryable."""

    exit_code = 75
