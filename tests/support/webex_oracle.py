"""An independent reading of Webex event semantics: which occurrences an event has.

It walks the calendar day by day from the Webex JSON and never looks at an RRULE, so it
can judge the RRULEs our converter writes. Week numbering for recurInterval > 1 counts
weeks starting on Sunday (the order of the API's own weekday fields; unverified).
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [m.upper() for m in calendar.month_name[1:]]
NTH = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4}


def _sunday_week(d: date) -> date:
    return d - timedelta(days=(d.weekday() + 1) % 7)


def _nth_weekday(year: int, month: int, day_name: str, week: str) -> date:
    wd = WEEKDAYS.index(day_name.lower())
    days = [
        d
        for d in (date(year, month, n) for n in range(1, calendar.monthrange(year, month)[1] + 1))
        if d.weekday() == wd
    ]
    return days[-1] if week == "LAST" else days[NTH[week] - 1]


def _matches(event: dict[str, Any], d: date, first: date) -> bool:
    rec = event["recurrence"]
    if "recurDaily" in rec:
        return (d - first).days % rec["recurDaily"].get("recurInterval", 1) == 0
    if "recurWeekly" in rec:
        weekly = rec["recurWeekly"]
        weeks = (_sunday_week(d) - _sunday_week(first)).days // 7
        return bool(weekly[WEEKDAYS[d.weekday()]]) and weeks % weekly.get("recurInterval", 1) == 0
    if "recurYearlyByDate" in rec:
        by = rec["recurYearlyByDate"]
        return d.month == MONTHS.index(by["month"]) + 1 and d.day == by["dayOfMonth"]
    by = rec["recurYearlyByDay"]
    month = MONTHS.index(by["month"]) + 1
    return d.month == month and d == _nth_weekday(d.year, month, by["day"], by["week"])


def occurrence_dates(event: dict[str, Any], until: date) -> list[date]:
    first = date.fromisoformat(event["startDate"])
    rec = event.get("recurrence")
    if not rec:
        return [first]
    end = (
        date.fromisoformat(rec["recurEndDate"])
        if not rec.get("recurForEver") and rec.get("recurEndDate")
        else None
    )
    count = None if rec.get("recurForEver") or end else rec.get("recurEndOccurrence")
    out: list[date] = []
    d = first
    while d <= until and (end is None or d <= end) and (count is None or len(out) < count):
        if _matches(event, d, first):
            out.append(d)
        d += timedelta(days=1)
    return out


def occurrence_starts(
    event: dict[str, Any], tz: ZoneInfo, start: datetime, end: datetime
) -> list[datetime]:
    """Starts in [start, end) as UTC; all-day starts as the date at 00:00 UTC."""
    found = []
    for d in occurrence_dates(event, end.date()):
        if event.get("allDayEnabled"):
            instant = datetime.combine(d, time(0), UTC)
        else:
            wall = time.fromisoformat(event["startTime"])
            instant = datetime.combine(d, wall, tz).astimezone(UTC)
        if start <= instant < end:
            found.append(instant)
    return found
