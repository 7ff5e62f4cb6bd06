from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from hramba.domain.retention import default_retain_until, end_of_year_plus


@pytest.mark.parametrize(("received", "until"), [
    (datetime(2026, 3, 5, 12, tzinfo=UTC), datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC),
     datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2024, 2, 29, 8, tzinfo=UTC), datetime(2034, 12, 31, 23, 59, 59, tzinfo=UTC)),
    # 23:30 UTC on 31 December is already 1 January in Ljubljana: the new year counts.
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
     datetime(2037, 12, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_ten_years_after_the_end_of_the_year_of_receipt(received: datetime,
                                                        until: datetime) -> None:
    assert default_retain_until(received) == until


def test_end_of_year_plus_any_period() -> None:
    assert end_of_year_plus(date(2026, 6, 1), 20) == datetime(2046, 12, 31, 23, 59, 59,
                                                              tzinfo=UTC)
