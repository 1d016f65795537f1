"""APIO advanced (BroadWorks) events <-> VEVENT parts (pure).

Pull: an event becomes DTSTART/DTEND in the groups' zone (VALUE=DATE with an exclusive
DTEND when all-day) and one RRULE; a startDate its recurrence does not select is moved
to the first real occurrence, as BroadWorks shows it. Push: :func:`advanced_from_vevent`
reads a VEVENT back, naming in ``problems`` every part BroadWorks cannot hold (exception
dates, overrides, several rules, BYSETPOS...). Weekly rules with an interval count weeks from
Sunday (unverified, as for Webex, whose schedules come from BroadWorks).

THE EVENT SHAPE IS UNVERIFIED. We assume the BroadWorks OCI event in JSON, under
``periods`` like the simple families (the simulator serves the same)::

    {"name": "Inventory", "startDate": "2024-01-01", "endDate": "2024-01-01",
     "allDayEvent": false, "startTime": "9:00", "endTime": "17:00",
     "recurrence": {<one end>, <one pattern>}}

ends: ``recurForEver: true`` | ``recurEndDate: "YYYY-MM-DD"`` (last start date) |
``recurEndOccurrence: n``; patterns (``recurInterval`` >= 1, default 1):
``recurDaily {recurInterval}``, ``recurWeekly {recurInterval, sunday..saturday: bool}``,
``recurMonthlyByDay {recurInterval, dayOfMonth}``,
``recurMonthlyByWeek {recurInterval, dayOfWeekInMonth: "First".."Fourth"|"Last",
dayOfWeek: "Monday"}``, ``recurYearlyByDay {recurInterval, dayOfMonth, month: "May"}``,
``recurYearlyByWeek {recurInterval, dayOfWeekInMonth, dayOfWeek, month}``.
startDate/endDate describe the first occurrence; all-day events have an inclusive
endDate and no times. An envelope with ``events`` instead of ``periods`` is read too.
With several ends, recurForEver > recurEndDate > recurEndOccurrence wins.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Event

from icsbridge.converters.apio.models import (
    AdvancedEvent,
    AdvancedRecurrence,
    RecurDaily,
    RecurMonthlyByDay,
    RecurMonthlyByWeek,
    RecurWeekly,
    RecurYearlyByDay,
    RecurYearlyByWeek,
)
from icsbridge.converters.apio.wire import WEEKS_IN_MONTH
from icsbridge.converters.ical.rrule import RuleParts
from icsbridge.converters.wire.recurrence import (
    RecurrenceTarget,
    day_of_month,
    read_first_occurrence,
    refuse_by_parts,
    weekly_flags,
    yearly_month,
)
from icsbridge.converters.wire.span import first_occurrence_component

_SYSTEM = "BroadWorks"


# --- pull ----------------------------------------------------------------------------------


def advanced_component(event: AdvancedEvent, tz: ZoneInfo) -> Event:
    """DTSTART, DTEND and RRULE of one advanced event (no SUMMARY, no identity)."""
    return first_occurrence_component(event, all_day=event.allDayEvent, tz=tz)


# --- push ----------------------------------------------------------------------------------


def advanced_from_vevent(
    vevent: Event, name: str, tz: ZoneInfo, problems: list[str]
) -> AdvancedEvent | None:
    """The advanced event for ``vevent`` (named ``name``), or None with ``problems`` named."""
    before = len(problems)
    span, recurrence = read_first_occurrence(vevent, tz, _TARGET, problems)
    if span is None or len(problems) > before:
        return None
    return AdvancedEvent(
        name=name,
        startDate=span.start,
        endDate=span.end,
        allDayEvent=span.start_time is None,
        startTime=span.start_time,
        endTime=span.end_time,
        recurrence=recurrence,
    )


def _daily(rule: RuleParts, start: date, problems: list[str]) -> RecurDaily:
    refuse_by_parts(rule, problems, "BYDAY", "BYMONTH", "BYMONTHDAY")
    return RecurDaily(recurInterval=rule.interval)


def _weekly(rule: RuleParts, start: date, problems: list[str]) -> RecurWeekly:
    flags = weekly_flags(rule, start, problems, system=_SYSTEM)
    return RecurWeekly(recurInterval=rule.interval, **flags)


def _by_week(rule: RuleParts, problems: list[str]) -> dict[str, Any] | None:
    """recurInterval, dayOfWeekInMonth and dayOfWeek of a rule's single ordinal BYDAY,
    else None with problems."""
    ref = rule.byday[0]
    if len(rule.byday) > 1:
        problems.append(f"BYDAY with more than one day in a {rule.freq.lower()} rule")
    if rule.bymonthday:
        problems.append("BYMONTHDAY together with BYDAY")
    week = next((name for name, n in WEEKS_IN_MONTH.items() if n == ref.ordinal), None)
    if ref.ordinal is None:
        problems.append(f"BYDAY {ref.code} without a week number in a {rule.freq.lower()} rule")
    elif week is None:
        problems.append(f"BYDAY {ref.code} (BroadWorks knows First..Fourth and Last)")
    if week is None:
        return None
    return {"recurInterval": rule.interval, "dayOfWeekInMonth": week, "dayOfWeek": ref.weekday}


def _monthly(rule: RuleParts, start: date, problems: list[str]) -> Any:
    refuse_by_parts(rule, problems, "BYMONTH")
    if rule.byday:
        by_week = _by_week(rule, problems)
        return None if by_week is None else RecurMonthlyByWeek(**by_week)
    day = day_of_month(rule, start, problems, system=_SYSTEM)
    return None if day is None else RecurMonthlyByDay(recurInterval=rule.interval, dayOfMonth=day)


def _yearly(rule: RuleParts, start: date, problems: list[str]) -> Any:
    month = yearly_month(rule, start, problems)
    if month is None:
        return None
    if rule.byday:
        if not rule.bymonth:
            problems.append(
                f"BYDAY {rule.byday[0].code} without BYMONTH (BroadWorks counts weeks in a month)"
            )
        by_week = _by_week(rule, problems)
        return None if by_week is None else RecurYearlyByWeek(**by_week, month=month - 1)
    day = day_of_month(rule, start, problems, system=_SYSTEM, month=month)
    if day is None:
        return None
    return RecurYearlyByDay(recurInterval=rule.interval, dayOfMonth=day, month=month - 1)


_TARGET = RecurrenceTarget(
    model=AdvancedRecurrence,
    patterns={"DAILY": _daily, "WEEKLY": _weekly, "MONTHLY": _monthly, "YEARLY": _yearly},
    system=_SYSTEM,
)

__all__ = ["advanced_component", "advanced_from_vevent"]
