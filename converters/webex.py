"""Webex Calling schedules <-> RFC 5545 VEVENTs (pure; zones and owner names come in).

Pull: :func:`to_vevents` turns every event of a :class:`WebexSchedule` into a VEVENT with
wall-clock DTSTART/DTEND in the owner's zone and the Webex recurrence as one RRULE.
Push: :func:`from_vevent` turns one VEVENT back into the :class:`WebexEvent` write payload,
or raises :class:`UnsupportedByTarget` naming every part the target level cannot hold.

Webex has no zone in its payload: times are wall-clock in the owner's zone, which the
caller passes as ``tz``. A floating (naive) DTSTART is read as wall time in ``tz``.
"""

from __future__ import annotations

import calendar
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vBroken, vCategory, vDDDTypes, vText

from converters import rrule
from converters.errors import UnsupportedByTarget
from converters.model import ConvertedEvent
from converters.rrule import RuleParts
from converters.webex_models import (
    DAY_NAMES,
    MONTHS,
    WEEKS,
    Pattern,
    RecurDaily,
    RecurWeekly,
    RecurYearlyByDate,
    RecurYearlyByDay,
    WebexEvent,
    WebexRecurrence,
    WebexSchedule,
    parse_schedule,
)

__all__ = [
    "Level",
    "RecurDaily",
    "RecurWeekly",
    "RecurYearlyByDate",
    "RecurYearlyByDay",
    "WebexEvent",
    "WebexRecurrence",
    "WebexSchedule",
    "from_vevent",
    "parse_schedule",
    "to_vevents",
]

Level = Literal["PEOPLE", "LOCATION"]

TYPE_LABELS = {"businessHours": "Business hours", "holidays": "Holidays"}
TARGETS: dict[str, str] = {"PEOPLE": "Webex person schedule", "LOCATION": "Webex location schedule"}
_ONE_DAY = timedelta(days=1)


# --- pull: Webex -> iCalendar -------------------------------------------------------------


def to_vevents(
    schedule: WebexSchedule, *, tz: ZoneInfo, level: Level, owner_name: str
) -> list[ConvertedEvent]:
    """One VEVENT per schedule event, ordered by event id.

    Components carry SUMMARY, DTSTART/DTEND (TZID=tz, or VALUE=DATE with an exclusive
    DTEND for all-day), RRULE, CATEGORIES, X-ICSBRIDGE-SCHEDULE-TYPE, TRANSP:TRANSPARENT
    (a subscribed schedule must not block anyone's free/busy) and DESCRIPTION; never UID,
    DTSTAMP, LAST-MODIFIED or SEQUENCE. A recurring event whose startDate is not an
    occurrence is moved to its first real occurrence, as the Webex server does.
    """
    converted = []
    shared = _schedule_properties(schedule, level, owner_name)
    for event in sorted(schedule.events, key=lambda item: item.id or ""):
        if event.id is None:
            raise ValueError(f"event {event.name!r} has no id; read schedules with parse_schedule")
        component = _component_without_name(event, tz)
        for name, value in shared.items():
            component[name] = value
        component["SUMMARY"] = vText(event.name)
        converted.append(
            ConvertedEvent(
                native_key=event.id, component=component, rename_hint=_rename_hint(event, tz)
            )
        )
    return converted


def _rename_hint(event: WebexEvent, tz: ZoneInfo) -> str:
    """Everything of the event but its id and name (which a rename changes), hashed.

    Hashing the payload rather than the rendered component keeps this cheap; it is only
    ever compared with hints of the same calendar, whose zone and owner are the same.
    """
    fields = {k: v for k, v in event.to_wire().items() if k not in ("id", "name")}
    text = json.dumps([tz.key, fields], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _schedule_properties(schedule: WebexSchedule, level: Level, owner_name: str) -> dict[str, Any]:
    """The properties every event of the schedule shares, built once per schedule.

    The values are shared between the events' components: nothing downstream mutates a
    property value in place (normalisation replaces values), so sharing is safe.
    """
    owner = owner_name if level == "PEOPLE" else f"location {owner_name}"
    return {
        "CATEGORIES": vCategory([TYPE_LABELS[schedule.type], schedule.name]),
        "X-ICSBRIDGE-SCHEDULE-TYPE": vText(schedule.type),
        "TRANSP": vText("TRANSPARENT"),
        "DESCRIPTION": vText(
            f'Webex Calling {schedule.type} schedule "{schedule.name}" of {owner}'
        ),
    }


def _component_without_name(event: WebexEvent, tz: ZoneInfo) -> Event:
    """DTSTART, DTEND and RRULE of one event."""
    shift = timedelta(days=event.first_occurrence_shift())
    start_date, end_date = event.startDate + shift, event.endDate + shift
    component = Event()
    start_time: time | None = None
    if event.allDayEnabled:
        component["DTSTART"] = vDDDTypes(start_date)
        component["DTEND"] = vDDDTypes(end_date + _ONE_DAY)
    else:
        start_time, end_time = _times(event)
        component["DTSTART"] = vDDDTypes(datetime.combine(start_date, start_time, tzinfo=tz))
        if (end_date, end_time) != (start_date, start_time):  # zero-length: no DTEND
            component["DTEND"] = vDDDTypes(datetime.combine(end_date, end_time, tzinfo=tz))
    if event.recurrence is not None:
        component["RRULE"] = _rule(event.recurrence, start_time, tz).to_vrecur()
    return component


def _times(event: WebexEvent) -> tuple[time, time]:
    if event.startTime is None or event.endTime is None:
        raise ValueError(f"timed event {event.name!r} without times")
    return event.startTime, event.endTime


def _rule(recurrence: WebexRecurrence, start_time: time | None, tz: ZoneInfo) -> RuleParts:
    rule = recurrence.pattern_rule()
    if recurrence.end_count is not None:
        return replace(rule, count=recurrence.end_count)
    last = recurrence.end_date
    if last is None:
        return rule
    until: date | datetime = last if start_time is None else rrule.until_utc(last, start_time, tz)
    return replace(rule, until=until)


# --- push: iCalendar -> Webex -------------------------------------------------------------


@dataclass
class _Span:
    """The first occurrence in Webex terms: dates inclusive, wall times in the zone."""

    start: date
    end: date
    start_time: time | None = None  # None: all-day
    end_time: time | None = None


def from_vevent(vevent: Event, *, level: Level, tz: ZoneInfo) -> WebexEvent:
    """The Webex write payload (no id) for one VEVENT, for a schedule of ``level`` in ``tz``.

    Raises :class:`UnsupportedByTarget` listing, in words, every part the target cannot
    hold. Only the parts that shape the schedule are read (SUMMARY, DTSTART, DTEND or
    DURATION, RRULE and what would change the occurrences); descriptive properties are
    dropped. An RRULE UNTIL becomes recurEndDate, the date in ``tz`` of the last start
    it allows; no end means recurForEver. Single events in another zone are converted to
    ``tz`` wall time; recurring ones only if that zone keeps tz's UTC offsets. A DTSTART
    its RRULE does not select is refused: Webex would silently drop that occurrence.
    """
    problems: list[str] = []
    uid = str(vevent["UID"]) if vevent.get("UID") else None
    name = str(vevent.get("SUMMARY") or "").strip()
    if not name:
        problems.append("missing SUMMARY (a Webex event needs a name)")
    for prop, words in (
        ("RECURRENCE-ID", "RECURRENCE-ID (single-occurrence overrides)"),
        ("EXDATE", "EXDATE"),
        ("RDATE", "RDATE"),
        ("EXRULE", "EXRULE"),
    ):
        if vevent.get(prop) is not None:
            problems.append(words)
    rules = rrule.rrules_of(vevent)
    if len(rules) > 1:
        problems.append("more than one RRULE")
    span = _read_span(vevent, tz, recurring=bool(rules), problems=problems)
    recurrence = None
    if len(rules) == 1 and span is not None:
        recurrence = _read_recurrence(rules[0], span, level, tz, problems)
    if problems or span is None:
        raise UnsupportedByTarget(TARGETS[level], problems, uid)
    return WebexEvent(
        name=name,
        startDate=span.start,
        endDate=span.end,
        startTime=span.start_time,
        endTime=span.end_time,
        allDayEnabled=span.start_time is None,
        recurrence=recurrence,
    )


def _read_span(
    vevent: Event, tz: ZoneInfo, *, recurring: bool, problems: list[str]
) -> _Span | None:
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
        return _all_day_span(start, end, duration, problems)
    return _timed_span(start, end, duration, tz, recurring=recurring, problems=problems)


def _all_day_span(
    start: date, end: date | None, duration: timedelta | None, problems: list[str]
) -> _Span | None:
    if duration is not None and duration % _ONE_DAY:
        problems.append("DURATION with hours on an all-day event")
        return None
    exclusive_end = end if end is not None else start + (duration or _ONE_DAY)
    if exclusive_end < start:
        problems.append("DTEND before DTSTART")
        return None
    # DTEND equal to DTSTART is read as one day, as calendar apps show it.
    return _Span(start=start, end=max(start, exclusive_end - _ONE_DAY))


def _timed_span(
    start: datetime,
    end: datetime | None,
    duration: timedelta | None,
    tz: ZoneInfo,
    *,
    recurring: bool,
    problems: list[str],
) -> _Span | None:
    if recurring and start.tzinfo is not None and not rrule.offsets_agree(start.tzinfo, tz, start):
        source_zone = rrule.zone_key(start.tzinfo) or str(start.tzinfo)
        problems.append(
            f"recurring event in time zone {source_zone}; this schedule runs in {tz.key}"
        )
        return None
    start_wall = rrule.wall_time(start, tz)
    if end is None:  # RFC 5545: no DTEND and no DURATION is a zero-length event
        end = rrule.end_of_duration(start, duration or timedelta(), tz)
    end_wall = rrule.wall_time(end, tz)
    # Webex compares wall times too: an end that is later only as an instant (across a
    # DST gap or fold) cannot be written there.
    if end_wall < start_wall:
        problems.append("DTEND before DTSTART")
        return None
    if any(value.second or value.microsecond for value in (start_wall, end_wall)):
        problems.append("times with seconds")
        return None
    return _Span(start_wall.date(), end_wall.date(), start_wall.time(), end_wall.time())


def _read_recurrence(
    recur: Any, span: _Span, level: Level, tz: ZoneInfo, problems: list[str]
) -> WebexRecurrence | None:
    if isinstance(recur, vBroken):
        problems.append(f"unreadable RRULE ({recur})")
        return None
    try:
        rule = rrule.read_rule(recur)
    except (ValueError, TypeError) as exc:
        problems.append(f"unreadable RRULE ({exc})")
        return None
    before = len(problems)
    problems.extend(
        name if name.startswith("BY") else f"RRULE part {name}" for name in rule.unmodelled
    )
    pattern: Pattern | None = None
    if rule.freq == "DAILY":
        pattern = _daily(rule, level, problems)
    elif rule.freq == "WEEKLY":
        pattern = _weekly(rule, span.start, level, problems)
    elif rule.freq == "YEARLY":
        pattern = _yearly(rule, span.start, level, problems)
    else:
        problems.append(f"{rule.freq.lower()} recurrence (RRULE FREQ={rule.freq})")
    end = _end(rule, span, level, tz, problems)
    if pattern is None or end is None or len(problems) > before:
        return None
    field = {
        RecurDaily: "recurDaily",
        RecurWeekly: "recurWeekly",
        RecurYearlyByDate: "recurYearlyByDate",
        RecurYearlyByDay: "recurYearlyByDay",
    }[type(pattern)]
    recurrence = WebexRecurrence.model_validate({**end, field: pattern})
    if rrule.first_occurrence(recurrence.pattern_rule(), span.start) != span.start:
        problems.append(
            f"DTSTART {span.start} that its RRULE does not select (Webex would drop it)"
        )
        return None
    return recurrence


def _daily(rule: RuleParts, level: Level, problems: list[str]) -> Pattern:
    if level == "LOCATION":
        problems.append("daily recurrence (location schedules)")
    _refuse_by_parts(rule, problems, "BYDAY", "BYMONTH", "BYMONTHDAY")
    return RecurDaily(recurInterval=rule.interval)


def _weekly(rule: RuleParts, start: date, level: Level, problems: list[str]) -> Pattern:
    if level == "LOCATION" and rule.interval > 1:
        problems.append(f"weekly INTERVAL={rule.interval} (location schedules)")
    _refuse_by_parts(rule, problems, "BYMONTH", "BYMONTHDAY")
    problems.extend(
        f"BYDAY {ref.code} with FREQ=WEEKLY" for ref in rule.byday if ref.ordinal is not None
    )
    days = {ref.weekday for ref in rule.byday} or {start.weekday()}
    if rule.interval > 1 and rrule.SUNDAY in days and len(days) > 1 and rule.wkst != rrule.SUNDAY:
        problems.append(
            f"WKST={rrule.WEEKDAY_CODES[rule.wkst]} with INTERVAL={rule.interval} and BYDAY"
            " including SU (Webex weeks start on Sunday)"
        )
    flags = {DAY_NAMES[day].lower(): day in days for day in range(7)}
    return RecurWeekly(recurInterval=rule.interval, **flags)


def _yearly(rule: RuleParts, start: date, level: Level, problems: list[str]) -> Pattern | None:
    if level == "PEOPLE":
        problems.append("yearly recurrence (person schedules)")
    if rule.interval > 1:
        problems.append(f"yearly INTERVAL={rule.interval}")
    if len(rule.bymonth) > 1:
        problems.append("BYMONTH with more than one month")
    month = rule.bymonth[0] if rule.bymonth else start.month
    if not 1 <= month <= 12:
        problems.append(f"BYMONTH={month}")
        return None
    if rule.byday and rule.bymonthday:
        problems.append("BYMONTHDAY together with BYDAY")
    if rule.byday:
        ref = rule.byday[0]
        if len(rule.byday) > 1:
            problems.append("BYDAY with more than one day in a yearly rule")
        if ref.ordinal is None:
            problems.append(f"BYDAY {ref.code} without a week number in a yearly rule")
        elif ref.ordinal not in WEEKS.values():
            problems.append(f"BYDAY {ref.code} (Webex knows FIRST..FOURTH and LAST)")
        if not rule.bymonth:
            problems.append(f"BYDAY {ref.code} without BYMONTH (Webex counts weeks in a month)")
        week = next((name for name, n in WEEKS.items() if n == ref.ordinal), "FIRST")
        return RecurYearlyByDay(day=DAY_NAMES[ref.weekday], week=week, month=MONTHS[month - 1])  # type: ignore[arg-type]
    day = rule.bymonthday[0] if rule.bymonthday else start.day
    if len(rule.bymonthday) > 1:
        problems.append("BYMONTHDAY with more than one day")
    if rule.bymonthday and not rule.bymonth:
        problems.append("BYMONTHDAY without BYMONTH in a yearly rule (that repeats monthly)")
    if day < 1:
        problems.append(f"BYMONTHDAY {day} (Webex counts days from the start of the month)")
        return None
    if day > calendar.monthrange(2000, month)[1]:
        problems.append(f"BYMONTHDAY {day} with BYMONTH={month} (no such date)")
        return None
    return RecurYearlyByDate(dayOfMonth=day, month=MONTHS[month - 1])  # type: ignore[arg-type]


def _refuse_by_parts(rule: RuleParts, problems: list[str], *names: str) -> None:
    present = {"BYDAY": rule.byday, "BYMONTH": rule.bymonth, "BYMONTHDAY": rule.bymonthday}
    problems.extend(f"{name} with FREQ={rule.freq}" for name in names if present[name])


def _end(
    rule: RuleParts, span: _Span, level: Level, tz: ZoneInfo, problems: list[str]
) -> dict[str, Any] | None:
    if rule.count is not None and rule.until is not None:
        problems.append("COUNT together with UNTIL")
        return None
    if rule.count is not None:
        if level == "LOCATION":
            problems.append("COUNT (location schedules end only forever or on a date)")
        if rule.count < 1:
            problems.append(f"COUNT={rule.count}")
        return {"recurEndOccurrence": rule.count}
    if rule.until is not None:
        last = rrule.last_start_date(rule.until, start_time=span.start_time, zone=tz)
        if last < span.start:
            problems.append("UNTIL before DTSTART")
            return None
        return {"recurEndDate": last}
    return {"recurForEver": True}
