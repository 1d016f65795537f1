"""APIO (BroadWorks) group schedules <-> RFC 5545 VEVENTs (pure; the zone comes in).

Pull (:func:`to_vevents`), one VEVENT per period, by family:

- ``time``: a simple period has no date, only a day and two times. "Day of the week" is
  ``FREQ=WEEKLY;BYDAY=<day>``, "Day of the month" is ``FREQ=MONTHLY;BYMONTHDAY=<n>``.
  DTSTART is anchored on :data:`REFERENCE_DATE` (Monday 2024-01-01): the first matching
  day on or after it, at startTime in the groups' zone. Never the clock, so the bytes
  never change from run to run. A stopTime before the startTime ends the next day
  (unverified). ``active: false`` is kept: STATUS:CANCELLED, ``X-ICSBRIDGE-APIO-ACTIVE:
  FALSE`` and a line in DESCRIPTION (calendar apps strike through or hide cancelled events;
  the X- property says why for those that drop STATUS).
- ``holiday``: "Full days" are all-day (startDay..stopDay inclusive, so DTEND is the day
  after stopDay); "Partial days" run from startDay startTime to stopDay stopTime.
- ``advanced``: see :mod:`icsbridge.converters.apio.advanced`.

Every VEVENT carries SUMMARY (the period name), CATEGORIES, TRANSP:TRANSPARENT (a
published schedule must not block anyone's free/busy), DESCRIPTION and
``X-ICSBRIDGE-APIO-FAMILY``; never UID/DTSTAMP/LAST-MODIFIED/SEQUENCE. ``native_key`` is
the period name (APIO's key); ``rename_hint`` hashes the period minus its name.

Push (:func:`from_vevent`): the period payload for one VEVENT, or
:class:`UnsupportedByTarget` naming every part the family cannot hold, with "(the
advanced family can hold it)" where that is so. STATUS:CANCELLED or
``X-ICSBRIDGE-APIO-ACTIVE:FALSE`` make an inactive period (either is enough, so an app that
drops one does not re-activate it). A simple time period has no start date: the DTSTART
date of a weekly or monthly series is not kept, only its day, times and rule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from icalendar import Event
from icalendar.prop import vCategory, vDDDTypes, vText

from icsbridge.converters.apio.advanced import advanced_component, advanced_from_vevent
from icsbridge.converters.apio.models import (
    AdvancedEvent,
    AdvancedSchedule,
    ApioSchedule,
    HolidayPeriod,
    HolidaySchedule,
    Period,
    TimePeriod,
    TimeSchedule,
    parse_period,
    parse_schedule,
)
from icsbridge.converters.apio.wire import DAY_NAMES, Family
from icsbridge.converters.errors import UnsupportedByTarget
from icsbridge.converters.ical import rrule
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.rrule import RuleParts, WeekdayRef
from icsbridge.converters.wire.base import name_problems
from icsbridge.converters.wire.recurrence import read_rule, refuse_unmodelled
from icsbridge.converters.wire.span import ONE_DAY, Span, read_span, refuse_exceptions

__all__ = [
    "ACTIVE_PROPERTY",
    "CONVERTER_VERSION",
    "REFERENCE_DATE",
    "AdvancedEvent",
    "AdvancedSchedule",
    "ApioSchedule",
    "Family",
    "HolidayPeriod",
    "HolidaySchedule",
    "Period",
    "TimePeriod",
    "TimeSchedule",
    "from_vevent",
    "parse_period",
    "parse_schedule",
    "period_converter",
    "periods_in_order",
    "rename_hint",
    "to_vevents",
]

REFERENCE_DATE = date(2024, 1, 1)
"""A Monday. Simple periods have no date: their series start on the first matching day on
or after it, so the same period always gives the same DTSTART."""
ACTIVE_PROPERTY = "X-ICSBRIDGE-APIO-ACTIVE"
FAMILY_PROPERTY = "X-ICSBRIDGE-APIO-FAMILY"
CATEGORY_LABELS = {"time": "Time schedule", "holiday": "Holiday schedule"}
NAME_LIMIT = 40
"""The longest period name: BroadWorks' OCI ``EventName`` is a token of 1 to 40
characters; names are also unique within a schedule, which the push plan checks."""
TARGETS: dict[str, str] = {
    "time": "APIO time schedule period",
    "holiday": "APIO holiday schedule period",
    "advanced": "APIO advanced schedule event",
}
ADVANCED_CAN = " (the advanced family can hold it)"
_INACTIVE_NOTE = "Inactive period (APIO active: false)."


# --- pull ----------------------------------------------------------------------------------


CONVERTER_VERSION = "apio-1"
"""Part of every memo key of converted APIO periods: bump it when :func:`to_vevents`
changes what it makes of the same answer (a memo must never outlive its converter)."""


def to_vevents(
    schedule: ApioSchedule,
    *,
    family: Family,
    tz: ZoneInfo,
    owner: str,
    kind: Literal["time", "holiday"] | None = None,
) -> list[ConvertedEvent]:
    """One VEVENT per period of ``schedule`` (read as ``family``), ordered by period name.

    ``owner`` names whose schedule it is in DESCRIPTION, e.g. ``group "east"``. ``kind``
    says whether an advanced schedule is a time or a holiday schedule (default: time).
    """
    convert = period_converter(schedule, family=family, tz=tz, owner=owner, kind=kind)
    return [convert(period) for period in periods_in_order(schedule)]


def periods_in_order(schedule: ApioSchedule) -> list[Period]:
    """The schedule's periods in the order :func:`to_vevents` gives them (by name)."""
    periods: list[Period] = list(schedule.periods)
    return sorted(periods, key=lambda p: p.name)


def period_converter(
    schedule: ApioSchedule,
    *,
    family: Family,
    tz: ZoneInfo,
    owner: str,
    kind: Literal["time", "holiday"] | None = None,
) -> Callable[[Period], ConvertedEvent]:
    """What :func:`to_vevents` does to each period of ``schedule``, one at a time (a
    caller that kept earlier conversions converts only the periods that changed). The
    result depends on the period, ``family``, ``tz``, ``owner``, ``kind``, the
    schedule's name and :data:`CONVERTER_VERSION`, nothing else."""
    kind = kind or ("holiday" if family == "holiday" else "time")
    words = ("advanced " if family == "advanced" else "") + f"{kind} schedule"
    description = f'APIO {words} "{schedule.name}" of {owner}'
    shared: dict[str, Any] = {
        "CATEGORIES": vCategory([CATEGORY_LABELS[kind], schedule.name]),
        FAMILY_PROPERTY: vText(family),
        "TRANSP": vText("TRANSPARENT"),
    }

    def convert(period: Period) -> ConvertedEvent:
        component = _component(period, tz)
        for name, value in shared.items():
            component[name] = value
        component["SUMMARY"] = vText(period.name)
        text = description
        if isinstance(period, TimePeriod | HolidayPeriod) and not period.active:
            component["STATUS"] = vText("CANCELLED")
            component[ACTIVE_PROPERTY] = vText("FALSE")
            text = f"{description}\n{_INACTIVE_NOTE}"
        component["DESCRIPTION"] = vText(text)
        return ConvertedEvent(
            native_key=period.name,
            component=component,
            rename_hint=rename_hint(period, family, tz),
        )

    return convert


def rename_hint(period: Period, family: Family, tz: ZoneInfo) -> str:
    """Everything of the period but its name (which a rename changes), hashed."""
    fields = {k: v for k, v in period.to_wire().items() if k != "name"}
    text = json.dumps([family, tz.key, fields], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _component(period: Period, tz: ZoneInfo) -> Event:
    if isinstance(period, AdvancedEvent):
        return advanced_component(period, tz)
    component = Event()
    if isinstance(period, HolidayPeriod):
        if period.type == "Full days":
            component["DTSTART"] = vDDDTypes(period.startDay)
            component["DTEND"] = vDDDTypes(period.stopDay + ONE_DAY)
        else:
            assert period.startTime is not None and period.stopTime is not None  # validated
            start = datetime.combine(period.startDay, period.startTime, tzinfo=tz)
            component["DTSTART"] = vDDDTypes(start)
            component["DTEND"] = vDDDTypes(datetime.combine(period.stopDay, period.stopTime, tz))
        return component
    day, rule = _anchor(period)
    component["DTSTART"] = vDDDTypes(datetime.combine(day, period.startTime, tzinfo=tz))
    stop_day = day + ONE_DAY if period.overnight else day
    component["DTEND"] = vDDDTypes(datetime.combine(stop_day, period.stopTime, tzinfo=tz))
    component["RRULE"] = rule.to_vrecur()
    return component


def _anchor(period: TimePeriod) -> tuple[date, RuleParts]:
    """The first day of the series (on or after REFERENCE_DATE) and its rule."""
    if period.type == "Day of the week":
        assert period.dayOfWeek is not None  # validated
        offset = (period.dayOfWeek - REFERENCE_DATE.weekday()) % 7
        rule = RuleParts("WEEKLY", byday=(WeekdayRef(period.dayOfWeek),))
        return REFERENCE_DATE + timedelta(days=offset), rule
    assert period.dayOfMonth is not None  # validated
    # January has 31 days, so every dayOfMonth exists in the reference month.
    day = REFERENCE_DATE.replace(day=period.dayOfMonth)
    return day, RuleParts("MONTHLY", bymonthday=(period.dayOfMonth,))


# --- push ----------------------------------------------------------------------------------


def from_vevent(vevent: Event, *, family: Family, tz: ZoneInfo) -> Period:
    """The ``family`` period payload for one VEVENT, in the groups' zone ``tz``.

    Raises :class:`UnsupportedByTarget` listing, in words, every part the family cannot
    hold. Only SUMMARY, DTSTART, DTEND/DURATION, RRULE, what would change the occurrences,
    and STATUS / X-ICSBRIDGE-APIO-ACTIVE are read.
    """
    problems: list[str] = []
    uid = str(vevent["UID"]) if vevent.get("UID") else None
    name = str(vevent.get("SUMMARY") or "").strip()
    if not name:
        problems.append("missing SUMMARY (a period needs a name)")
    problems += name_problems(name, what="a BroadWorks period name", limit=NAME_LIMIT)
    active = _active(vevent)
    period: Period | None
    if family == "advanced":
        period = advanced_from_vevent(vevent, name or "-", tz, problems)
        if not active:
            problems.append("STATUS:CANCELLED (advanced events have no active flag)")
    elif family == "holiday":
        period = _holiday(vevent, name or "-", tz, active, problems)
    else:
        period = _time(vevent, name or "-", tz, active, problems)
    if problems or period is None:
        raise UnsupportedByTarget(TARGETS[family], problems, uid)
    return period


def _active(vevent: Event) -> bool:
    status = str(vevent.get("STATUS") or "").strip().upper()
    flag = str(vevent.get(ACTIVE_PROPERTY) or "").strip().upper()
    return status != "CANCELLED" and flag != "FALSE"


def _holiday(
    vevent: Event, name: str, tz: ZoneInfo, active: bool, problems: list[str]
) -> HolidayPeriod | None:
    refuse_exceptions(vevent, problems)
    if rrule.rrules_of(vevent):
        problems.append("RRULE (a holiday period happens once)" + ADVANCED_CAN)
    span = read_span(vevent, tz, recurring=False, problems=problems)
    if span is None:
        return None
    if span.start_time is None:
        return HolidayPeriod(
            name=name, type="Full days", startDay=span.start, stopDay=span.end, active=active
        )
    assert span.end_time is not None
    if (span.end, span.end_time) == (span.start, span.start_time):
        problems.append("a zero-length event (a partial-day period needs a stop after its start)")
        return None
    return HolidayPeriod(
        name=name,
        type="Partial days",
        startDay=span.start,
        stopDay=span.end,
        startTime=span.start_time,
        stopTime=span.end_time,
        active=active,
    )


def _time(
    vevent: Event, name: str, tz: ZoneInfo, active: bool, problems: list[str]
) -> TimePeriod | None:
    refuse_exceptions(vevent, problems)
    rules = rrule.rrules_of(vevent)
    if not rules:
        problems.append(
            "a single event without RRULE (a time period repeats every week or month; "
            "the holiday family can hold it)"
        )
    elif len(rules) > 1:
        problems.append("more than one RRULE")
    span = read_span(vevent, tz, recurring=bool(rules), problems=problems)
    if span is None:
        return None
    times = _times(span, problems)
    rule = read_rule(rules[0], problems) if len(rules) == 1 else None
    if rule is None or times is None:
        return None
    before = len(problems)
    day_fields = _day_fields(rule, span.start, problems)
    if day_fields is None or len(problems) > before:
        return None
    start_time, stop_time = times
    return TimePeriod.model_validate(
        {
            "name": name,
            **day_fields,
            "startTime": start_time,
            "stopTime": stop_time,
            "active": active,
        }
    )


def _times(span: Span, problems: list[str]) -> tuple[time, time] | None:
    """Start and stop times of a period shorter than a day (a stop before start: overnight)."""
    if span.start_time is None or span.end_time is None:
        problems.append("an all-day event (a time period has start and stop times)" + ADVANCED_CAN)
        return None
    length = datetime.combine(span.end, span.end_time) - datetime.combine(
        span.start, span.start_time
    )
    if length <= timedelta(0):
        problems.append("a zero-length event (a period needs a stop after its start)")
        return None
    if length >= ONE_DAY:
        problems.append(
            "an event of a day or longer (a time period lasts under 24 hours)" + ADVANCED_CAN
        )
        return None
    return span.start_time, span.end_time


def _day_fields(rule: RuleParts, start: date, problems: list[str]) -> dict[str, Any] | None:
    """``type`` and ``dayOfWeek``/``dayOfMonth`` of a weekly or monthly rule on one day."""
    refuse_unmodelled(rule, problems)
    if rule.interval != 1:
        problems.append(
            f"INTERVAL={rule.interval} (a time period repeats every week or month)" + ADVANCED_CAN
        )
    if rule.count is not None:
        problems.append(f"COUNT={rule.count} (a time period never ends)" + ADVANCED_CAN)
    if rule.until is not None:
        problems.append("UNTIL (a time period never ends)" + ADVANCED_CAN)
    if rule.freq == "WEEKLY":
        for part in ("BYMONTH", "BYMONTHDAY"):
            if getattr(rule, part.lower()):
                problems.append(f"{part} with FREQ=WEEKLY")
        days = rule.byday or (WeekdayRef(start.weekday()),)
        if len(days) > 1:
            codes = ",".join(ref.code for ref in days)
            problems.append(f"more than one weekday (BYDAY={codes})" + ADVANCED_CAN)
        if any(ref.ordinal is not None for ref in days):
            problems.append(f"BYDAY {days[0].code} with FREQ=WEEKLY")
        if days[0].weekday != start.weekday():
            problems.append(_unselected(start))
        return {"type": "Day of the week", "dayOfWeek": DAY_NAMES[days[0].weekday]}
    if rule.freq == "MONTHLY":
        if rule.bymonth:
            problems.append("BYMONTH with FREQ=MONTHLY")
        if rule.byday:
            codes = ",".join(ref.code for ref in rule.byday)
            problems.append(
                f"BYDAY={codes} with FREQ=MONTHLY (a weekday of the month)" + ADVANCED_CAN
            )
            return None
        days_of_month = rule.bymonthday or (start.day,)
        if len(days_of_month) > 1:
            problems.append(f"more than one day of the month (BYMONTHDAY={days_of_month})")
        if days_of_month[0] < 1:
            problems.append(f"BYMONTHDAY {days_of_month[0]} (APIO counts days from the 1st)")
            return None
        if days_of_month[0] != start.day:
            problems.append(_unselected(start))
        return {"type": "Day of the month", "dayOfMonth": days_of_month[0]}
    problems.append(f"{rule.freq.lower()} recurrence (RRULE FREQ={rule.freq})" + _advanced_if(rule))
    return None


def _advanced_if(rule: RuleParts) -> str:
    return ADVANCED_CAN if rule.freq in ("DAILY", "YEARLY") else ""


def _unselected(start: date) -> str:
    return f"DTSTART {start} that its RRULE does not select"
