"""Notifications to a tenant's contact address, over SMTP to a local server (aiosmtpd on
loopback): delivered with their headers and UTF-8 text, kept while there is no contact
or no server, retried after a failure, sent once by two processes delivering at once;
on the embedded default and on PostgreSQL + S3."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import TENANT
from plugins.smtp import SmtpServer
from sqlalchemy import select

from hramba.config import Settings, load_settings
from hramba.core.errors import RejectedInput
from hramba.core.types import FixedClock
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Notification, Tenant
from hramba.domain.access import Role
from hramba.jobs.tasks import sweep_retention
from hramba.mail import SmtpMailer
from hramba.ports import Mailer
from hramba.services import notify, tenants
from hramba.services.context import Archive
from hramba.services.tenants import NewTenant, TenantChange
from hramba.wiring import build_mailer, connect

from .principals import acting_as, principal

CONTACT = "racuni@obcina-primer.si"
TITLE = "Selitev 3: gradivo je pripravljeno za potrditev (čšž ČŠŽ)"
BODY = "Spoštovani,\n\nponudnik je pripravil 12 računov. Potrdite prevzem.\n\nLep pozdrav, ž\n"


def mailer(env: dict[str, str]) -> Mailer:
    built = build_mailer(load_settings(environ=env).notify)
    assert built is not None
    return built


def queue(archive: Archive, code: str = "OBCINA1", subject_ref: str = "migration 3",
          title: str = TITLE) -> int:
    with transaction(archive.db) as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.code == code)).one()
        return notify.queue(session, archive, tenant_id, "migration.staged", subject_ref,
                            title, BODY)


def row(archive: Archive, notification_id: int) -> Notification:
    with transaction(archive.db) as session:
        return session.get_one(Notification, notification_id)


def events(archive: Archive, action: str) -> list[dict[str, Any]]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.details).where(
            AuditEvent.action == action).order_by(AuditEvent.seq)))


def counts(sent: int, failed: int) -> dict[str, int]:
    return {"notifications sent": sent, "notifications failed": failed}


def test_a_notification_reaches_the_contact_with_its_headers_and_utf8_text(
        archive: Archive, smtp: SmtpServer) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    archive.mailer = mailer(smtp.env)
    notification_id = queue(archive)
    assert smtp.messages() == []  # queueing sends nothing
    assert notify.deliver(archive) == counts(1, 0)
    [message] = smtp.messages()
    assert (message["To"], message["From"], message["Subject"]) == (
        CONTACT, "e-hramba <e-hramba@localhost>", TITLE)
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == BODY
    assert message["Date"].datetime == archive.clock.now()
    assert message["Message-ID"].endswith("@localhost>")
    assert smtp.envelopes() == [{"mail_from": "e-hramba@localhost", "rcpt_tos": [CONTACT]}]
    sent = row(archive, notification_id)
    assert (sent.sent_at, sent.attempts, sent.last_error) == (archive.clock.now(), 1, None)
    assert events(archive, "notification.sent") == [{
        "notification": notification_id, "recipient": CONTACT, "event": "migration.staged",
        "subject_ref": "migration 3"}]
    assert notify.deliver(archive) == counts(0, 0)
    assert len(smtp.messages()) == 1


def test_without_a_contact_it_waits_and_goes_once_one_is_set(
        archive: Archive, smtp: SmtpServer) -> None:
    archive.mailer = mailer(smtp.env)
    notification_id = queue(archive)
    assert notify.deliver(archive) == counts(0, 1)
    assert notify.deliver(archive) == counts(0, 0)  # said once, not every day
    waiting = row(archive, notification_id)
    assert (waiting.recipient, waiting.sent_at, waiting.attempts) == (None, None, 0)
    assert waiting.last_error == ("the tenant has no contact address "
                                  "(tenant update OBCINA1 --contact EMAIL)")
    assert [e["recipient"] for e in events(archive, "notification.failed")] == [None]
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    assert notify.deliver(archive) == counts(1, 0)
    assert [m["To"] for m in smtp.messages()] == [CONTACT]
    assert row(archive, notification_id).last_error is None


def test_a_failed_delivery_is_recorded_and_retried_once_the_server_is_back(
        archive: Archive, smtp: SmtpServer) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    notification_id = queue(archive)
    archive.mailer = mailer(smtp.down_env)
    assert notify.deliver(archive) == counts(0, 1)
    down = row(archive, notification_id)
    assert (down.sent_at, down.attempts) == (None, 1)
    assert down.last_error is not None
    assert down.last_error.startswith("SMTP 127.0.0.1:")
    archive.mailer = mailer(smtp.env)
    with smtp.refusing():
        assert notify.deliver(archive) == counts(0, 1)
    refused = row(archive, notification_id)
    assert refused.attempts == 2
    assert "451" in (refused.last_error or "")
    assert [(e["attempts"], e["recipient"]) for e in events(archive, "notification.failed")] == [
        (1, CONTACT), (2, CONTACT)]
    assert smtp.messages() == []
    assert notify.deliver(archive) == counts(1, 0)
    assert [m["Subject"] for m in smtp.messages()] == [TITLE]
    assert row(archive, notification_id).attempts == 3


def test_no_server_configured_keeps_them_unsent_saying_so(archive: Archive) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    assert archive.mailer is None  # the test settings name no SMTP server
    notification_id = queue(archive)
    assert notify.deliver(archive) == counts(0, 1)
    assert notify.deliver(archive) == counts(0, 0)
    kept = row(archive, notification_id)
    assert (kept.sent_at, kept.attempts) == (None, 0)
    assert "no SMTP server is configured" in (kept.last_error or "")


def test_starttls_required_sends_nothing_to_a_server_without_it(
        archive: Archive, smtp: SmtpServer) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    archive.mailer = SmtpMailer(smtp.host, smtp.port, "e-hramba@localhost", starttls=True)
    notification_id = queue(archive)
    assert notify.deliver(archive) == counts(0, 1)
    assert "does not offer STARTTLS" in (row(archive, notification_id).last_error or "")
    assert smtp.messages() == []


def test_two_deliveries_at_once_send_each_notification_once(
        archive: Archive, profile_settings: Settings, clock: FixedClock,
        smtp: SmtpServer) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    queued = [queue(archive, subject_ref=f"migration {n}", title=f"Selitev {n}")
              for n in range(8)]
    start, results = threading.Barrier(2), []

    def deliver() -> None:
        other = connect(profile_settings, clock)  # a process of its own: own engine, sessions
        try:
            other.principal, other.mailer = archive.principal, mailer(smtp.env)
            start.wait(30)
            results.append(notify.deliver(other))
        finally:
            other.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sum(r["notifications sent"] for r in results) == len(queued)
    assert sum(r["notifications failed"] for r in results) == 0
    assert sorted(m["Subject"] for m in smtp.messages()) == sorted(
        f"Selitev {n}" for n in range(8))
    assert len(events(archive, "notification.sent")) == len(queued)


def test_a_principal_delivers_only_its_tenants_notifications(
        archive: Archive, smtp: SmtpServer) -> None:
    tenants.add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Občina Druga",
                                          contact="info@obcina-druga.si"))
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    archive.mailer = mailer(smtp.env)
    queue(archive, "OBCINA1")
    queue(archive, "OBCINA2")
    with transaction(archive.db) as session:
        second = session.scalars(select(Tenant.id).where(Tenant.code == "OBCINA2")).one()
    with acting_as(archive, principal("pu2", Role.BUDGET_USER, tenants=frozenset({second}))):
        assert notify.deliver(archive) == counts(1, 0)
    assert [m["To"] for m in smtp.messages()] == ["info@obcina-druga.si"]


def test_the_retention_job_delivers_what_waits(
        archive: Archive, profile_settings: Settings, smtp: SmtpServer) -> None:
    tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=CONTACT))
    archive.mailer = mailer(smtp.env)
    queue(archive)
    ran = sweep_retention(archive, profile_settings)
    assert {"holds set", "notifications sent", "notifications failed"} <= set(ran)
    assert len(smtp.messages()) == 1
    assert notify.deliver(archive) == counts(0, 0)


def test_a_contact_that_is_not_one_plain_address_is_refused(archive: Archive) -> None:
    for contact in ("racuni@obcina.si\r\nBcc: vsi@drugje.si", "racuni@obcina.si\n",
                    "a b@obcina.si", "Občina <racuni@obcina.si>", "racuni@občina.si",
                    "racuni", "a@b@obcina.si"):
        with pytest.raises(RejectedInput, match="not a plain e-mail address"):
            tenants.update_tenant(archive, "OBCINA1", TenantChange(contact=contact))
        with pytest.raises(RejectedInput, match="not a plain e-mail address"):
            tenants.add_tenant(archive, NewTenant("OBCINA2", "SI39705684", "Druga",
                                                  contact=contact))
    assert tenants.show_tenant(archive, TENANT.code).contact is None
