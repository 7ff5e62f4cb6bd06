"""SMTP, the one module that speaks it (smtplib): the Mailer port's adapter.

A message goes over a connection of its own (notifications are few). With `starttls` the
session is encrypted (certificate and host name checked against the system's CAs) before
anything else is said, and a server that does not offer STARTTLS gets nothing; a login,
when configured, is only ever sent inside it (hramba.config refuses one without). Every
smtplib or socket error leaves here as ServiceUnavailable, its cause kept, its message a
short sentence without credentials.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from hramba.core.errors import ServiceUnavailable


class SmtpMailer:
    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False,
                 username: str = "", password: str = "", timeout: float = 10) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.timeout = starttls, timeout
        self._login = (username, password) if username else None
        self.description = f"SMTP {host}:{port}" + (" (STARTTLS)" if starttls else "")

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({self.description})"

    def send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                self._secure(smtp)
                if self._login:
                    smtp.login(*self._login)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise self._unavailable(f"the server refused the recipient: {code} "
                                    f"{_line(reply)}") from exc
        except smtplib.SMTPResponseException as exc:
            raise self._unavailable(f"the server answered {exc.smtp_code} "
                                    f"{_line(exc.smtp_error)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._unavailable(_line(str(exc)) or type(exc).__name__) from exc

    def _secure(self, smtp: smtplib.SMTP) -> None:
        if not self.starttls:
            return
        smtp.ehlo()
        if not smtp.has_extn("starttls"):
            raise self._unavailable("the server does not offer STARTTLS (notify.starttls "
                                    "= true): nothing sent")
        smtp.starttls(context=ssl.create_default_context())
        smtp.ehlo()

    def _unavailable(self, reason: str) -> ServiceUnavailable:
        return ServiceUnavailable(f"{self.description}: {reason}")


def _line(reply: bytes | str) -> str:
    """A server's reply (or an error's text) as one short line."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:200]
