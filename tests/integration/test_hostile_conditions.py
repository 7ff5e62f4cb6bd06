"""Hostile conditions (issue #16), at sealing: revocation data whose times are a little
off is judged with a sensible tolerance; data the TSA's services cannot give in a usable
form is the TSA's outage (ServiceUnavailable, units pending), not an integrity violation;
every integrity violation a seal meets is an audit event. And quarantine: the same
input refused by two runs at once is one item."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from plugins.tsa import FAKE_TIME_HEADER, TsaServer
from sqlalchemy import select

from hramba.core.errors import IntegrityViolation
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent
from hramba.services import quarantine as quarantine_service
from hramba.services.context import Archive
from hramba.services.seal import count_pending, seal

from .test_seal import archive_units, http_sealing

OCSP_VALIDITY = timedelta(minutes=10)  # certomancer's responder: nextUpdate = thisUpdate + 10 min


@pytest.fixture
def only_ocsp(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """Revocation data from the OCSP responder only (its CRLs unreachable), with its
    clock off by the given amount."""
    real = requests.Session.request

    def request(self: requests.Session, method: str, url: str, *args: Any,
                **kwargs: Any) -> requests.Response:
        if "/crls/interm/" in url:  # the TSA certificate's CRL: OCSP alone speaks for it
            raise requests.ConnectionError(f"{url}: refused by the test")
        if "/ocsp/" in url:
            at = datetime.now(UTC) + skew["by"]
            kwargs["headers"] = {**(kwargs.get("headers") or {}), FAKE_TIME_HEADER: at.isoformat()}
        return real(self, method, url, *args, **kwargs)

    skew = {"by": timedelta(0)}
    monkeypatch.setattr(requests.Session, "request", request)
    return lambda by: skew.update(by=by)


def test_a_response_just_expired_by_the_responders_clock_is_tolerated(
        archive: Archive, tsa_server: TsaServer, only_ocsp: Callable[[timedelta], None]
) -> None:
    """The responder's clock 30 s behind the TSA's: its fresh answer's nextUpdate falls
    30 s before the token's time (a 1 s tolerance refused such tokens)."""
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    archive_units(archive, 2)
    only_ocsp(-(OCSP_VALIDITY + timedelta(seconds=30)))
    report = seal(archive)
    assert (report.sealed, report.pending, report.error) == (2, 0, None)


def test_unusable_revocation_data_is_the_tsas_outage(
        archive: Archive, tsa_server: TsaServer, only_ocsp: Callable[[timedelta], None]
) -> None:
    """A day-old answer (and no CRL to be had): the token cannot be judged yet. That is
    the TSA's service failing, retried later, never exit 7 and never sealed."""
    archive.sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    archive_units(archive, 2)
    only_ocsp(-timedelta(days=1))
    report = seal(archive)
    assert (report.sealed, report.pending) == (0, 2)
    assert report.error is not None
    assert report.error.startswith(f"TSA {tsa_server.url}")
    assert "integrity.violation" not in actions(archive)
    only_ocsp(timedelta(0))
    assert seal(archive).sealed == 2


def test_an_integrity_violation_at_sealing_is_audited(
        archive: Archive, tsa_server: TsaServer, untrusted_tsa: TsaServer) -> None:
    archive.sealing = http_sealing(untrusted_tsa.url, tsa_server.trust_anchor)
    archive_units(archive, 1)
    with pytest.raises(IntegrityViolation, match="path to a trust anchor") as refused:
        seal(archive)
    with transaction(archive.db) as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "integrity.violation")).one()
    assert (event.subject, event.details["error"]) == ("seal", str(refused.value))
    assert count_pending(archive) == 1


def actions(archive: Archive) -> list[str]:
    with transaction(archive.db) as session:
        return list(session.scalars(select(AuditEvent.action)))




def test_two_runs_refusing_the_same_input_at_once_make_one_item(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leftovers: a rerun (or a second worker) while the first is still keeping the
    bytes finds its item, instead of quarantining the same input under a new id."""
    real_keep = quarantine_service._keep

    def slow_keep(*args: Any) -> None:
        time.sleep(0.5)  # the window in which the other run looks for an earlier item
        real_keep(*args)

    monkeypatch.setattr(quarantine_service, "_keep", slow_keep)
    with ThreadPoolExecutor(2) as pool:
        ids = list(pool.map(lambda _: quarantine_service.quarantine(
            archive, source="inbox/bad.xml", code="HRB-I010", reason="not well-formed XML",
            tenant="OBCINA1", data=b"<Invoice><unclosed>"), range(2)))
    assert ids[0] == ids[1]
    assert [q["id"] for q in quarantine_service.list_quarantine(archive)] == ids[:1]
    assert sorted(p.name for p in (archive.home / "quarantine").iterdir()) == ids[:1]
