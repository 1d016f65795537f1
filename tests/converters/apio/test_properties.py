"""Properties: every APIO period survives iCalendar and back; what a family cannot hold is
named (and the advanced family suggested where it could hold it).

Advanced events are drawn with startDate already on their first real occurrence (as
BroadWorks shows them); the oracle for that is python-dateutil driven from the fields.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as du
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from icalendar import Event

from icsbridge.converters.apio.convert import (
    AdvancedEvent,
    AdvancedSchedule,
    HolidayPeriod,
    HolidaySchedule,
    TimePeriod,
    TimeSchedule,
    from_vevent,
    to_vevents,
)
from icsbridge.converters.apio.wire import Family
from icsbridge.converters.errors import UnsupportedByTarget

ZONES = [
    "Europe/Brussels",
    "America/New_York",
    "Australia/Lord_Howe",  # 30-minute DST shift
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = tuple(calendar.month_name[1:])
WEEKS = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
LEAP_MONTH_LENGTHS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
ADVANCED = "(the advanced family can hold it)"

names = (
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30)
    .map(str.strip)
    .filter(bool)
)
minutes = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))
zones = st.sampled_from(ZONES).map(ZoneInfo)


@st.composite
def time_periods(draw: st.DrawFn) -> TimePeriod:
    start = draw(minutes)
    stop = draw(minutes.filter(lambda t: t != start))
    fields: dict[str, Any] = {"name": draw(names), "startTime": start, "stopTime": stop}
    if draw(st.booleans()):
        fields.update(type="Day of the week", dayOfWeek=draw(st.sampled_from(DAYS)))
    else:
        fields.update(type="Day of the month", dayOfMonth=draw(st.integers(1, 31)))
    return TimePeriod.model_validate({**fields, "active": draw(st.booleans())})


@st.composite
def holiday_periods(draw: st.DrawFn) -> HolidayPeriod:
    start = draw(st.dates(date(2000, 1, 1), date(2035, 12, 31)))
    active = draw(st.booleans())
    if draw(st.booleans()):
        stop = start + timedelta(days=draw(st.integers(0, 20)))
        return HolidayPeriod(
            name=draw(names), type="Full days", startDay=start, stopDay=stop, active=active
        )
    begin = datetime.combine(start, draw(minutes))
    end = begin + timedelta(minutes=draw(st.integers(1, 5 * 24 * 60)))
    return HolidayPeriod(
        name=draw(names),
        type="Partial days",
        startDay=begin.date(),
        stopDay=end.date(),
        startTime=begin.time(),
        stopTime=end.time(),
        active=active,
    )


@st.composite
def pattern_and_rule(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """An advanced pattern and the dateutil rule (no dtstart yet) it means."""
    kind = draw(
        st.sampled_from(
            [
                "recurDaily",
                "recurWeekly",
                "recurMonthlyByDay",
                "recurMonthlyByWeek",
                "recurYearlyByDay",
                "recurYearlyByWeek",
            ]
        )
    )
    if kind == "recurDaily":
        n = draw(st.integers(1, 30))
        return kind, {"recurInterval": n}, {"freq": du.DAILY, "interval": n}
    if kind == "recurWeekly":
        n = draw(st.integers(1, 4))
        chosen = draw(st.sets(st.integers(0, 6), min_size=1))
        flags = {DAYS[d].lower(): d in chosen for d in range(7)}
        # BroadWorks weeks start on Sunday (our reading; it matters only with INTERVAL > 1).
        rule = {"freq": du.WEEKLY, "interval": n, "byweekday": sorted(chosen), "wkst": 6}
        return kind, {"recurInterval": n, **flags}, rule
    weekday, week = draw(st.integers(0, 6)), draw(st.sampled_from(sorted(WEEKS)))
    if kind == "recurMonthlyByDay":
        n, day = draw(st.integers(1, 12)), draw(st.integers(1, 31))
        return (
            kind,
            {"recurInterval": n, "dayOfMonth": day},
            {
                "freq": du.MONTHLY,
                "interval": n,
                "bymonthday": day,
            },
        )
    if kind == "recurMonthlyByWeek":
        n = draw(st.integers(1, 12))
        pattern = {"recurInterval": n, "dayOfWeekInMonth": week, "dayOfWeek": DAYS[weekday]}
        rule = {"freq": du.MONTHLY, "interval": n, "byweekday": du.weekday(weekday, WEEKS[week])}
        return kind, pattern, rule
    n, month = draw(st.integers(1, 3)), draw(st.integers(1, 12))
    if kind == "recurYearlyByDay":
        day = draw(st.integers(1, LEAP_MONTH_LENGTHS[month - 1]))
        pattern = {"recurInterval": n, "dayOfMonth": day, "month": MONTHS[month - 1]}
        return (
            kind,
            pattern,
            {"freq": du.YEARLY, "interval": n, "bymonth": month, "bymonthday": day},
        )
    pattern = {
        "recurInterval": n,
        "dayOfWeekInMonth": week,
        "dayOfWeek": DAYS[weekday],
        "month": MONTHS[month - 1],
    }
    rule = {
        "freq": du.YEARLY,
        "interval": n,
        "bymonth": month,
        "byweekday": du.weekday(weekday, WEEKS[week]),
    }
    return kind, pattern, rule


@st.composite
def advanced_events(draw: st.DrawFn) -> AdvancedEvent:
    start = draw(st.dates(date(2000, 1, 1), date(2035, 12, 31)))
    recurrence: dict[str, Any] | None = None
    if draw(st.integers(0, 4)):  # mostly recurring
        kind, pattern, rule = draw(pattern_and_rule())
        first = next(iter(du.rrule(dtstart=datetime.combine(start, time()), count=1, **rule)), None)
        assume(first is not None)  # e.g. 29 February every other year from an odd year
        assert first is not None
        start = first.date()
        end_kind = draw(st.sampled_from(["recurForEver", "recurEndDate", "recurEndOccurrence"]))
        end: object = True
        if end_kind == "recurEndDate":
            end = start + timedelta(days=draw(st.integers(0, 3000)))
        elif end_kind == "recurEndOccurrence":
            end = draw(st.integers(1, 500))
        recurrence = {end_kind: end, kind: pattern}
    fields: dict[str, Any] = {"name": draw(names), "startDate": start, "recurrence": recurrence}
    if draw(st.booleans()):
        days = draw(st.integers(0, 6))
        return AdvancedEvent.model_validate(
            {**fields, "endDate": start + timedelta(days=days), "allDayEvent": True}
        )
    begin = datetime.combine(start, draw(minutes))
    finish = begin + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
    return AdvancedEvent.model_validate(
        {
            **fields,
            "endDate": finish.date(),
            "startTime": begin.time(),
            "endTime": finish.time(),
            "allDayEvent": False,
        }
    )


def written_and_read(period: Any, family: Family, tz: ZoneInfo) -> Event:
    """to_vevents of a schedule holding ``period``, through bytes and back."""
    model = {"time": TimeSchedule, "holiday": HolidaySchedule, "advanced": AdvancedSchedule}
    schedule = model[family](name="Schedule", periods=[period])
    converted = to_vevents(schedule, family=family, tz=tz, owner='group "g"')  # type: ignore[arg-type]
    assert len(converted) == 1
    assert converted[0].native_key == period.name
    return Event.from_ical(converted[0].component.to_ical())


@settings(max_examples=150, deadline=None)
@given(time_periods(), zones)
def test_every_time_period_survives_icalendar_and_back(period: TimePeriod, tz: ZoneInfo) -> None:
    assert from_vevent(written_and_read(period, "time", tz), family="time", tz=tz) == period


@settings(max_examples=150, deadline=None)
@given(holiday_periods(), zones)
def test_every_holiday_period_survives_icalendar_and_back(
    period: HolidayPeriod, tz: ZoneInfo
) -> None:
    assert from_vevent(written_and_read(period, "holiday", tz), family="holiday", tz=tz) == period


@settings(max_examples=200, deadline=None)
@given(advanced_events(), zones)
def test_every_advanced_event_survives_icalendar_and_back(
    event: AdvancedEvent, tz: ZoneInfo
) -> None:
    assert from_vevent(written_and_read(event, "advanced", tz), family="advanced", tz=tz) == event


def _set_rule(component: Event, **parts: Any) -> None:
    """Replace the RRULE by the current one plus ``parts`` (None removes a part)."""
    rule = dict(component.get("RRULE") or {})
    component.pop("RRULE", None)
    rule.update(parts)
    component.add("RRULE", {k: v for k, v in rule.items() if v is not None})


def _two_weekdays(c: Event) -> None:
    _set_rule(c, FREQ="WEEKLY", BYMONTHDAY=None, BYDAY=["MO", "FR"])


Breaker = tuple[Callable[[Event], None], str]
TIME_BREAKERS: list[Breaker] = [
    (_two_weekdays, f"more than one weekday (BYDAY=MO,FR) {ADVANCED}"),
    (lambda c: _set_rule(c, COUNT=3), f"COUNT=3 (a time period never ends) {ADVANCED}"),
    (
        lambda c: _set_rule(c, UNTIL=datetime(2040, 1, 1, 12)),
        f"UNTIL (a time period never ends) {ADVANCED}",
    ),
    (
        lambda c: _set_rule(c, INTERVAL=2),
        f"INTERVAL=2 (a time period repeats every week or month) {ADVANCED}",
    ),
    (lambda c: c.add("EXDATE", c["DTSTART"].dt), "EXDATE"),
    (lambda c: c.add("RDATE", c["DTSTART"].dt), "RDATE"),
    (lambda c: _set_rule(c, BYSETPOS=1), "BYSETPOS"),
    (
        lambda c: c.pop("RRULE"),
        "a single event without RRULE (a time period repeats every week or month; "
        "the holiday family can hold it)",
    ),
    (
        lambda c: _set_rule(c, FREQ="DAILY", BYDAY=None, BYMONTHDAY=None),
        f"daily recurrence (RRULE FREQ=DAILY) {ADVANCED}",
    ),
    (
        lambda c: c.add("RECURRENCE-ID", c["DTSTART"].dt),
        "RECURRENCE-ID (single-occurrence overrides)",
    ),
]
HOLIDAY_BREAKERS: list[Breaker] = [
    (
        lambda c: c.add("RRULE", {"FREQ": "YEARLY"}),
        f"RRULE (a holiday period happens once) {ADVANCED}",
    ),
    (lambda c: c.add("RDATE", c["DTSTART"].dt), "RDATE"),
    (lambda c: c.add("EXDATE", c["DTSTART"].dt), "EXDATE"),
]


@settings(max_examples=100, deadline=None)
@given(time_periods(), zones, st.sampled_from(TIME_BREAKERS))
def test_what_a_time_period_cannot_hold_is_refused_by_name(
    period: TimePeriod, tz: ZoneInfo, breaker: Breaker
) -> None:
    component = written_and_read(period, "time", tz)
    breaker[0](component)
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(Event.from_ical(component.to_ical()), family="time", tz=tz)
    assert breaker[1] in caught.value.parts
    assert caught.value.target == "APIO time schedule period"


@settings(max_examples=60, deadline=None)
@given(holiday_periods(), zones, st.sampled_from(HOLIDAY_BREAKERS))
def test_what_a_holiday_period_cannot_hold_is_refused_by_name(
    period: HolidayPeriod, tz: ZoneInfo, breaker: Breaker
) -> None:
    component = written_and_read(period, "holiday", tz)
    breaker[0](component)
    with pytest.raises(UnsupportedByTarget) as caught:
        from_vevent(Event.from_ical(component.to_ical()), family="holiday", tz=tz)
    assert breaker[1] in caught.value.parts


@settings(max_examples=60, deadline=None)
@given(time_periods(), zones)
def test_what_a_time_period_holds_the_advanced_family_holds_too(
    period: TimePeriod, tz: ZoneInfo
) -> None:
    """The suggestion is honest: a period's VEVENT (minus its active flag) is an event."""
    component = written_and_read(period.model_copy(update={"active": True}), "time", tz)
    event = from_vevent(component, family="advanced", tz=tz)
    assert isinstance(event, AdvancedEvent)
    assert event.recurrence is not None and event.recurrence.recurForEver
