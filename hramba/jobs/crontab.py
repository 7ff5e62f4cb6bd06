"""Crontab weekdays for APScheduler 3, which numbers them differently.

In a crontab 0 (and 7) is Sunday; APScheduler 3.x counts 0 as Monday, even in
`CronTrigger.from_crontab` (its issue 286, fixed only in 4.x). Settings are written as
crontab lines, so the weekday field is translated to day names, which both agree on.
"""

from __future__ import annotations

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab order: 0 = Sunday


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field (`*`, `0-6` or `7`, names, lists, ranges, steps) as a
    list of day names, e.g. `1-5` -> `mon,tue,wed,thu,fri`, `0` -> `sun`."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _expand(part)
    return ",".join(DAYS[day] for day in sorted(days))


def _expand(part: str) -> set[int]:
    base, slash, step_text = part.partition("/")
    step = int(step_text) if step_text.isdigit() else 0
    if slash and step < 1:
        raise ValueError(f"weekday step {step_text!r} is not a positive number")
    if base == "*":
        first, last = 0, 6
    else:
        start, dash, end = base.partition("-")
        first = _day(start)
        last = _day(end) if dash else (6 if slash else first)
    if last < first:
        raise ValueError(f"weekday range {base!r} runs backwards")
    return {day % 7 for day in range(first, last + 1, step or 1)}  # 7 is Sunday again


def _day(token: str) -> int:
    if token in DAYS:
        return DAYS.index(token)
    if token.isdigit() and int(token) <= 7:
        return int(token)
    raise ValueError(f"{token!r} is not a weekday (0-7 or sun-sat)")
