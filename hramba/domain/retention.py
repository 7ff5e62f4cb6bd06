"""Retention arithmetic (the policy engine of issue #5 builds on this)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

INVOICE_YEARS = 10
# The year a document belongs to is the year in Slovenia, not in UTC: a document received
# at 00:30 on 1 January in Ljubljana belongs to the new year.
LEGAL_ZONE = ZoneInfo("Europe/Ljubljana")


def end_of_year_plus(day: date, years: int) -> datetime:
    """23:59:59 UTC on 31 December of the `years`-th year after `day`'s year (an hour
    or two past midnight in Ljubljana, so never a moment too early).

    ZDDV-1 art. 141: invoices are kept 10 years after the end of the year they relate to,
    so a document of 2026-03-05 may go on 2036-12-31 at the earliest.
    """
    return datetime(day.year + years, 12, 31, 23, 59, 59, tzinfo=UTC)


def default_retain_until(received_at: datetime) -> datetime:
    """Until the policy engine arrives: 10 years after the end of the year of receipt."""
    return end_of_year_plus(received_at.astimezone(LEGAL_ZONE).date(), INVOICE_YEARS)
