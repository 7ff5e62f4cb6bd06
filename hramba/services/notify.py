"""Notifications to a tenant's contact address (issue #15: each step of a provider
hand-over tells the budget user), kept as an outbox.

`queue` writes a notification in the transaction of the step it tells of, so there is
one exactly when the step happened; `deliver` sends what is waiting, after, over the
archive's Mailer (SMTP), and the retention job calls it daily, so a failed delivery is
retried. A sent notification and a failed attempt are each an audit event
(`notification.sent`, `notification.failed`: recipient, event, subject, id; never the
body or the server's credentials).

Where a notification goes: its `recipient`, the tenant's contact when it was queued. A
tenant without one gets its notifications when a contact is set (`tenant update CODE
--contact EMAIL` re-addresses every unsent one, hramba.services.tenants); until then,
and while no SMTP server is configured, they wait, saying why in `last_error`, without
using up attempts. A delivery the server refuses, or one that cannot reach it, counts as
an attempt; after MAX_ATTEMPTS it is no longer tried (until the contact changes).

Access: `deliver` authorizes nothing of its own. It is part of what its caller does (a
budget user confirming a staging, an archivist importing, the scheduler purging), which
has authorized already, and it touches only the notifications of the tenants the
principal serves.
"""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from hramba.core.errors import ServiceUnavailable
from hramba.db.engine import transaction
from hramba.db.models import Notification, Tenant
from hramba.ports import Mailer
from hramba.services import access, audit
from hramba.services.context import Archive

MAX_ATTEMPTS = 10
NO_SERVER = "no SMTP server is configured (notify.smtp_host): the notification waits"
SENT, FAILED, WAITING = "notifications sent", "notifications failed", "waiting"


def queue(session: Session, archive: Archive, tenant_id: int, event: str, subject_ref: str,
          title: str, body: str) -> int:
    """Add a notification to the tenant's contact (None if it has none) in the caller's
    transaction; returns its id. Nothing is sent here."""
    contact = session.get_one(Tenant, tenant_id).contact
    notification = Notification(
        tenant_id=tenant_id, event=event, subject_ref=subject_ref, recipient=contact,
        title=" ".join(title.split()),  # one line: it becomes the Subject header
        body=body, created_at=archive.clock.now(), attempts=0)
    session.add(notification)
    session.flush()
    return notification.id


def deliver(archive: Archive) -> dict[str, int]:
    """Send every unsent notification of the tenants the principal serves; the counts of
    those sent and of those that failed (or began to wait for a contact or a server)."""
    outcomes = Counter(_deliver_one(archive, notification_id)
                       for notification_id in _unsent(archive))
    return {SENT: outcomes[SENT], FAILED: outcomes[FAILED]}


def _unsent(archive: Archive) -> list[int]:
    query = access.scoped(select(Notification.id).where(
        Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
        .order_by(Notification.id), archive, Notification.tenant_id)
    with transaction(archive.db) as session:
        return list(session.scalars(query))


def _deliver_one(archive: Archive, notification_id: int) -> str:
    """Send one notification, holding it for the whole transaction, so that two
    processes delivering at once never both send it. PostgreSQL: the row is locked
    (FOR UPDATE), and one that another process holds is skipped (SKIP LOCKED). SQLite:
    every transaction holds the database's write lock (hramba.db.engine), so the second
    waits, then finds the row sent. It is marked sent in that transaction, after the
    server took it: a crash between the two rolls back and the next run sends it again
    (at least once: a second copy is harmless, a lost notice of a hand-over is not)."""
    with transaction(archive.db) as session:
        notification = session.scalars(select(Notification).where(
            Notification.id == notification_id, Notification.sent_at.is_(None),
            Notification.attempts < MAX_ATTEMPTS).with_for_update(skip_locked=True)).first()
        if notification is None:
            return WAITING  # sent, or being sent, by another process meanwhile
        tenant = session.get_one(Tenant, notification.tenant_id)
        # Queued while a contact was being set (so not re-addressed): the tenant's now.
        notification.recipient = notification.recipient or tenant.contact
        if notification.recipient is None or archive.mailer is None:
            return _wait(session, archive, notification, tenant.code)
        return _send(session, archive, archive.mailer, notification, tenant.code)


def _send(session: Session, archive: Archive, mailer: Mailer, notification: Notification,
          code: str) -> str:
    notification.attempts += 1
    try:
        mailer.send(_message(archive, mailer, notification))
    except ServiceUnavailable as exc:
        notification.last_error = str(exc)
        _record(session, archive, "notification.failed", notification, code,
                attempts=notification.attempts, error=notification.last_error)
        return FAILED
    notification.sent_at, notification.last_error = archive.clock.now(), None
    _record(session, archive, "notification.sent", notification, code)
    return SENT


def _wait(session: Session, archive: Archive, notification: Notification, code: str) -> str:
    """Nobody to send it to, or nothing to send it with: say so, once (an attempt would
    fail the same way each day); no attempt is used up."""
    reason = (f"the tenant has no contact address (tenant update {code} --contact EMAIL)"
              if notification.recipient is None else NO_SERVER)
    if notification.last_error == reason:
        return WAITING
    notification.last_error = reason
    _record(session, archive, "notification.failed", notification, code, error=reason)
    return FAILED


def _message(archive: Archive, mailer: Mailer, notification: Notification) -> EmailMessage:
    """UTF-8 throughout: the Subject encoded as RFC 2047 words, the body quoted-printable
    (7-bit safe for any server, readable as text)."""
    message = EmailMessage()
    message["From"] = formataddr((archive.name, mailer.sender))
    message["To"] = notification.recipient
    message["Subject"] = notification.title
    message["Date"] = format_datetime(archive.clock.now())
    message["Message-ID"] = make_msgid(f"notification-{notification.id}",
                                       domain=mailer.sender.rsplit("@", 1)[1])
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies
    message.set_content(notification.body, cte="quoted-printable")
    return message


def _record(session: Session, archive: Archive, action: str, notification: Notification,
            code: str, **more: object) -> None:
    audit.record(session, archive, action, f"notification {notification.id}", tenant=code,
                 details={"notification": notification.id,
                          "recipient": notification.recipient, "event": notification.event,
                          "subject_ref": notification.subject_ref, **more})
