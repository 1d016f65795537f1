"""APIO advanced (BroadWorks) events <-> VEVENT parts, and the VEVENT reading every APIO
family shares (pure).

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

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vBroken, vDDDTypes

from converters import rrule
from converters.apio_models import (
    AdvancedEvent,
    AdvancedRecurrence,
    RecurDaily,
    RecurMonthlyByDay,
    RecurMonthlyByWeek,
    RecurWeekly,
    RecurYearlyByDay,
    RecurYearlyByWeek,
)
from converters.apio_wire import DAY_NAMES, MONTH_NAMES, WEEKLY_FLAGS, WEEKS_IN_MONTH, WeekInMonth
from converters.rrule import RuleParts

ONE_DAY = timedelta(days=1)
_PATTERN_FIELD: dict[type[Any], str] = {
    RecurDaily: "recurDaily",
    RecurWeekly: "recurWeekly",
    RecurMonthlyByDay: "recurMonthlyByDay",
    RecurMonthlyByWeek: "recurMonthlyByWeek",
    RecurYearlyByDay: "recurYearlyByDay",
    RecurYearlyByWeek: "recurYearlyByWeek",
}


# --- pull ----------------------------------------------------------------------------------


def advanced_component(event: AdvancedEvent, tz: ZoneInfo) -> Event:
    """DTSTART, DTEND and RRULE of one advanced event (no SUMMARY, no identity)."""
    shift = timedelta(days=event.first_occurrence_shift())
    start_date, end_date = event.startDate + shift, event.endDate + shift
    component = Event()
    start_time: time | None = None
    if event.allDayEvent:
        component["DTSTART"] = vDDDTypes(start_date)
        component["DTEND"] = vDDDTypes(end_date + ONE_DAY)
    else:
        assert event.startTime is not None and event.endTime is not None  # validated
        start_time = event.startTime
        component["DTSTART"] = vDDDTypes(datetime.combine(start_date, start_time, tzinfo=tz))
        if (end_date, event.endTime) != (start_date, start_time):  # zero-length: no DTEND
            component["DTEND"] = vDDDTypes(datetime.combine(end_date, event.endTime, tzinfo=tz))
    if event.recurrence is not None:
        component["RRULE"] = _rule(event.recurrence, start_time, tz).to_vrecur()
    return component


def _rule(recurrence: AdvancedRecurrence, start_time: time | None, tz: ZoneInfo) -> RuleParts:
    rule = recurrence.pattern_rule()
    if recurrence.end_count is not None:
        return replace(rule, count=recurrence.end_count)
    last = recurrence.end_date
    if last is None:
        return rule
    until: date | datetime = last if start_time is None else rrule.until_utc(last, start_time, tz)
    return replace(rule, until=until)


# --- push: what every family reads ---------------------------------------------------------


@dataclass
class Span:
    """The first occurrence: dates inclusive, wall times in the zone (None: all-day)."""

    start: date
    end: date
    start_time: time | None = None
    end_time: time | None = None


def refuse_exceptions(vevent: Event, problems: list[str]) -> None:
    """Name every exception property: no APIO family holds them."""
    for prop, words in (
        ("RECURRENCE-ID", "RECURRENCE-ID (single-occurrence overrides)"),
        ("EXDATE", "EXDATE"),
        ("RDATE", "RDATE"),
        ("EXRULE", "EXRULE"),
    ):
        if vevent.get(prop) is not None:
            problems.append(words)


def read_rule(recur: Any, problems: list[str]) -> RuleParts | None:
    """The RRULE structured, or None with a problem when it cannot be read."""
    if isinstance(recur, vBroken):
        problems.append(f"unreadable RRULE ({recur})")
        return None
    try:
        return rrule.read_rule(recur)
    except (ValueError, TypeError) as exc:
        problems.append(f"unreadable RRULE ({exc})")
        return None


def read_span(vevent: Event, tz: ZoneInfo, *, recurring: bool, problems: list[str]) -> Span | None:
    """DTSTART and DTEND (or DURATION) as wall dates/times in ``tz``; None with a problem.

    Floating times are wall time in ``tz``; single events in another zone are converted;
    recurring ones only when that zone keeps tz's UTC offsets (else their wall time drifts).
    """
    start_prop, end_prop, duration_prop = (vevent.get(p) for p in ("DTSTART", "DTEND", "DURATION"))
    if start_prop is None:
        problems.append("missing DTSTART")
        return None
    for prop_name, prop in (
        ("DTSTART", start_prop),
        ("DTEND", end_prop),
        ("DURATION", duration_prop),
    ):
        if isinstance(prop, vBroken):
            problems.append(f"unreadable {prop_name} ({prop})")
            return None
    if end_prop is not None and duration_prop is not None:
        problems.append("both DTEND and DURATION")
        return None
    start: Any = start_prop.dt
    end: Any = None if end_prop is None else end_prop.dt
    duration: timedelta | None = None if duration_prop is None else duration_prop.dt
    if not isinstance(start, date):
        problems.append("DTSTART that is neither a date nor a date-time")
        return None
    if end is not None and isinstance(end, datetime) != isinstance(start, datetime):
        problems.append("DTEND and DTSTART of different value types (DATE vs DATE-TIME)")
        return None
    if not isinstance(start, datetime):
        if duration is not None and duration % ONE_DAY:
            problems.append("DURATION with hours on an all-day event")
            return None
        exclusive_end = end if end is not None else start + (duration or ONE_DAY)
        if exclusive_end < start:
            problems.append("DTEND before DTSTART")
            return None
        return Span(start=start, end=max(start, exclusive_end - ONE_DAY))
    if recurring and start.tzinfo is not None and not rrule.offsets_agree(start.tzinfo, tz, start):
        zone = rrule.zone_key(start.tzinfo) or str(start.tzinfo)
        problems.append(f"recurring event in time zone {zone}; this schedule runs in {tz.key}")
        return None
    start_wall = rrule.wall_time(start, tz)
    if end is None:  # RFC 5545: no DTEND and no DURATION is a zero-length event
        end = rrule.end_of_duration(start, duration or timedelta(), tz)
    end_wall = rrule.wall_time(end, tz)
    if end_wall < start_wall:
        problems.append("DTEND before DTSTART")
        return None
    if any(value.second or value.microsecond for value in (start_wall, end_wall)):
        problems.append("times with seconds")
        return None
    return Span(start_wall.date(), end_wall.date(), start_wall.time(), end_wall.time())


def refuse_by_parts(rule: RuleParts, problems: list[str], *names: str, note: str = "") -> None:
    present = {"BYDAY": rule.byday, "BYMONTH": rule.bymonth, "BYMONTHDAY": rule.bymonthday}
    problems.extend(f"{name} with FREQ={rule.freq}{note}" for name in names if present[name])


# --- push: advanced ------------------------------------------------------------------------


def advanced_from_vevent(
    vevent: Event, name: str, tz: ZoneInfo, problems: list[str]
) -> AdvancedEvent | None:
    """The advanced event for ``vevent`` (named ``name``), or None with ``problems`` named."""
    before = len(problems)
    refuse_exceptions(vevent, problems)
    rules = rrule.rrules_of(vevent)
    if len(rules) > 1:
        problems.append("more than one RRULE")
    span = read_span(vevent, tz, recurring=bool(rules), problems=problems)
    recurrence = None
    if len(rules) == 1 and span is not None:
        recurrence = _read_recurrence(rules[0], span, tz, problems)
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


def _read_recurrence(
    recur: Any, span: Span, tz: ZoneInfo, problems: list[str]
) -> AdvancedRecurrence | None:
    rule = read_rule(recur, problems)
    if rule is None:
        return None
    before = len(problems)
    problems.extend(
        name if name.startswith("BY") else f"RRULE part {name}" for name in rule.unmodelled
    )
    pattern: Any = None
    if rule.freq == "DAILY":
        refuse_by_parts(rule, problems, "BYDAY", "BYMONTH", "BYMONTHDAY")
        pattern = RecurDaily(recurInterval=rule.interval)
    elif rule.freq == "WEEKLY":
        pattern = _weekly(rule, span.start, problems)
    elif rule.freq == "MONTHLY":
        refuse_by_parts(rule, problems, "BYMONTH")
        pattern = _monthly(rule, span.start, problems)
    elif rule.freq == "YEARLY":
        pattern = _yearly(rule, span.start, problems)
    else:
        problems.append(f"{rule.freq.lower()} recurrence (RRULE FREQ={rule.freq})")
    end = _end(rule, span, tz, problems)
    if pattern is None or end is None or len(problems) > before:
        return None
    recurrence = AdvancedRecurrence.model_validate({**end, _PATTERN_FIELD[type(pattern)]: pattern})
    if rrule.first_occurrence(recurrence.pattern_rule(), span.start) != span.start:
        problems.append(
            f"DTSTART {span.start} that its RRULE does not select (BroadWorks would drop it)"
        )
        return None
    return recurrence


def _weekly(rule: RuleParts, start: date, problems: list[str]) -> RecurWeekly:
    refuse_by_parts(rule, problems, "BYMONTH", "BYMONTHDAY")
    problems.extend(
        f"BYDAY {ref.code} with FREQ=WEEKLY" for ref in rule.byday if ref.ordinal is not None
    )
    days = {ref.weekday for ref in rule.byday} or {start.weekday()}
    if rule.interval > 1 and rrule.SUNDAY in days and len(days) > 1 and rule.wkst != rrule.SUNDAY:
        problems.append(
            f"WKST={rrule.WEEKDAY_CODES[rule.wkst]} with INTERVAL={rule.interval} and BYDAY"
            " including SU (BroadWorks weeks start on Sunday)"
        )
    flags = {flag: day in days for day, flag in enumerate(WEEKLY_FLAGS)}
    return RecurWeekly(recurInterval=rule.interval, **flags)


def _nth_weekday(rule: RuleParts, problems: list[str]) -> tuple[int, WeekInMonth] | None:
    """(weekday, dayOfWeekInMonth) of a rule's single ordinal BYDAY, else None + problems."""
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
    return None if week is None else (ref.weekday, cast(WeekInMonth, week))


def _monthly(rule: RuleParts, start: date, problems: list[str]) -> Any:
    if rule.byday:
        found = _nth_weekday(rule, problems)
        if found is None:
            return None
        weekday, week = found
        return RecurMonthlyByWeek(
            recurInterval=rule.interval,
            dayOfWeekInMonth=week,
            dayOfWeek=weekday,
        )
    day = rule.bymonthday[0] if rule.bymonthday else start.day
    if len(rule.bymonthday) > 1:
        problems.append("BYMONTHDAY with more than one day")
    if day < 1:
        problems.append(f"BYMONTHDAY {day} (BroadWorks counts days from the start of the month)")
        return None
    return RecurMonthlyByDay(recurInterval=rule.interval, dayOfMonth=day)


def _yearly(rule: RuleParts, start: date, problems: list[str]) -> Any:
    if len(rule.bymonth) > 1:
        problems.append("BYMONTH with more than one month")
    month = rule.bymonth[0] if rule.bymonth else start.month
    if not 1 <= month <= 12:
        problems.append(f"BYMONTH={month}")
        return None
    if rule.byday:
        if not rule.bymonth:
            problems.append(
                f"BYDAY {rule.byday[0].code} without BYMONTH (BroadWorks counts weeks in a month)"
            )
        found = _nth_weekday(rule, problems)
        if found is None:
            return None
        weekday, week = found
        return RecurYearlyByWeek(
            recurInterval=rule.interval,
            dayOfWeekInMonth=week,
            dayOfWeek=weekday,
            month=month - 1,
        )
    day = rule.bymonthday[0] if rule.bymonthday else start.day
    if len(rule.bymonthday) > 1:
        problems.append("BYMONTHDAY with more than one day")
    if rule.bymonthday and not rule.bymonth:
        problems.append("BYMONTHDAY without BYMONTH in a yearly rule (that repeats monthly)")
    if day < 1:
        problems.append(f"BYMONTHDAY {day} (BroadWorks counts days from the start of the month)")
        return None
    if day > calendar.monthrange(2000, month)[1]:
        problems.append(f"BYMONTHDAY {day} with BYMONTH={month} (no such date)")
        return None
    return RecurYearlyByDay(recurInterval=rule.interval, dayOfMonth=day, month=month - 1)


def _end(rule: RuleParts, span: Span, tz: ZoneInfo, problems: list[str]) -> dict[str, Any] | None:
    if rule.count is not None and rule.until is not None:
        problems.append("COUNT together with UNTIL")
        return None
    if rule.count is not None:
        if rule.count < 1:
            problems.append(f"COUNT={rule.count}")
            return None
        return {"recurEndOccurrence": rule.count}
    if rule.until is not None:
        last = rrule.last_start_date(rule.until, start_time=span.start_time, zone=tz)
        if last < span.start:
            problems.append("UNTIL before DTSTART")
            return None
        return {"recurEndDate": last}
    return {"recurForEver": True}


__all__ = [
    "DAY_NAMES",
    "MONTH_NAMES",
    "Span",
    "advanced_component",
    "advanced_from_vevent",
    "read_rule",
    "read_span",
    "refuse_by_parts",
    "refuse_exceptions",
]
