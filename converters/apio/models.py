"""APIO (BroadWorks) schedule payloads: pydantic models of the wire JSON and ``parse_schedule``.

Three families share one envelope ``{"name": ..., "periods": [...]}`` (as GET
``.../<family>/<name>/?full_list=true`` answers it):

- ``time`` (``time_schedules``): simple periods ``{name, type: "Day of the week" |
  "Day of the month", dayOfWeek: "Friday" | dayOfMonth: 10, startTime: "9:45",
  stopTime: "13:15", active: bool}`` (seed 001). Hours may lack the leading zero; we write
  them without it, as the API's own examples do (``"9:45"``). ``active`` missing means true.
- ``holiday`` (``calendar_schedules``): ``{name, type: "Full days" | "Partial days",
  startDay, stopDay, startTime?, stopTime?}`` (apio.md). Days are inclusive. A partial-day
  period is read as one stretch from startDay startTime to stopDay stopTime (unverified).
  Times of a full-day period mean nothing and are dropped.
- ``advanced`` (``advanced_time_schedules``): BroadWorks events, in a shape that is
  UNVERIFIED (assumed; see :mod:`icsbridge.converters.apio.advanced` for it).

The models ignore fields they do not know and validate the ones they do, strictly.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, cast

from pydantic import Field, StrictBool, ValidationError, model_validator

from icsbridge.converters.apio.wire import (
    MONTH_NAMES,
    WEEKS_IN_MONTH,
    DayOfMonth,
    Family,
    Month,
    Name,
    Weekday,
    WeekInMonth,
    WireTime,
    one_line,
    wire_time_text,
)
from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.rrule import RuleParts, WeekdayRef
from icsbridge.converters.wire.base import Interval, Wire, WireDate, problem, show
from icsbridge.converters.wire.schedule import (
    SpanFields,
    StructuredRecurrence,
    WeeklyDays,
    check_event,
    check_span,
)

# --- simple families -----------------------------------------------------------------------


class TimePeriod(Wire):
    """A simple time-schedule period: every week on one day, or every month on one date."""

    name: Name
    type: Literal["Day of the week", "Day of the month"]
    dayOfWeek: Weekday | None = None
    dayOfMonth: DayOfMonth | None = None
    startTime: WireTime
    stopTime: WireTime
    active: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _only_the_day_field_of_its_type(cls, data: Any) -> Any:
        if isinstance(data, dict):
            drop = {"Day of the week": "dayOfMonth", "Day of the month": "dayOfWeek"}
            other = drop.get(str(data.get("type")))
            if other is not None and other in data:
                data = {k: v for k, v in data.items() if k != other}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> TimePeriod:
        needed = "dayOfWeek" if self.type == "Day of the week" else "dayOfMonth"
        if getattr(self, needed) is None:
            raise problem(f'missing (needed when type is "{self.type}")', field=needed)
        if self.stopTime == self.startTime:
            raise problem(
                f"{wire_time_text(self.stopTime)} equals startTime (an empty period)",
                field="stopTime",
            )
        return self

    @property
    def overnight(self) -> bool:
        """A stop time before the start time ends the next day (unverified reading)."""
        return self.stopTime < self.startTime


_HOLIDAY_FIELDS = SpanFields("startDay", "stopDay", "startTime", "stopTime")


class HolidayPeriod(Wire):
    """A holiday (calendar schedule) period: whole days, or a stretch between two times."""

    name: Name
    type: Literal["Full days", "Partial days"]
    startDay: WireDate
    stopDay: WireDate
    startTime: WireTime | None = None
    stopTime: WireTime | None = None
    active: StrictBool = True

    @model_validator(mode="before")
    @classmethod
    def _full_days_have_no_times(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("type") == "Full days":
            data = {k: v for k, v in data.items() if k not in ("startTime", "stopTime")}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> HolidayPeriod:
        partial = self.type == "Partial days"
        check_span(
            self.startDay,
            self.stopDay,
            self.startTime,
            self.stopTime,
            times_needed='needed when type is "Partial days"' if partial else None,
            fields=_HOLIDAY_FIELDS,
            noun="period",
            zero_length=False,
        )
        return self

    def to_wire(self) -> dict[str, Any]:
        body = super().to_wire()
        if self.active:
            body.pop("active")  # not a documented holiday field: sent only when it matters
        return body


# --- advanced family -----------------------------------------------------------------------


class RecurDaily(Wire):
    recurInterval: Interval = 1


class RecurWeekly(WeeklyDays):
    recurInterval: Interval = 1


class RecurMonthlyByDay(Wire):
    recurInterval: Interval = 1
    dayOfMonth: DayOfMonth


class RecurMonthlyByWeek(Wire):
    recurInterval: Interval = 1
    dayOfWeekInMonth: WeekInMonth
    dayOfWeek: Weekday


class RecurYearlyByDay(Wire):
    recurInterval: Interval = 1
    dayOfMonth: DayOfMonth
    month: Month

    @model_validator(mode="after")
    def _day_exists(self) -> RecurYearlyByDay:
        if self.dayOfMonth > calendar.monthrange(2000, self.month + 1)[1]:  # 2000: leap year
            raise problem(f"{MONTH_NAMES[self.month]} has no day {self.dayOfMonth}")
        return self


class RecurYearlyByWeek(Wire):
    recurInterval: Interval = 1
    dayOfWeekInMonth: WeekInMonth
    dayOfWeek: Weekday
    month: Month


Pattern = (
    RecurDaily
    | RecurWeekly
    | RecurMonthlyByDay
    | RecurMonthlyByWeek
    | RecurYearlyByDay
    | RecurYearlyByWeek
)
PATTERN_FIELDS: dict[str, type[Wire]] = {
    "recurDaily": RecurDaily,
    "recurWeekly": RecurWeekly,
    "recurMonthlyByDay": RecurMonthlyByDay,
    "recurMonthlyByWeek": RecurMonthlyByWeek,
    "recurYearlyByDay": RecurYearlyByDay,
    "recurYearlyByWeek": RecurYearlyByWeek,
}


class AdvancedRecurrence(StructuredRecurrence):
    PATTERN_FIELDS: ClassVar[Mapping[str, type[Wire]]] = PATTERN_FIELDS

    recurDaily: RecurDaily | None = None
    recurWeekly: RecurWeekly | None = None
    recurMonthlyByDay: RecurMonthlyByDay | None = None
    recurMonthlyByWeek: RecurMonthlyByWeek | None = None
    recurYearlyByDay: RecurYearlyByDay | None = None
    recurYearlyByWeek: RecurYearlyByWeek | None = None

    def pattern_problem(self, present: list[str]) -> str | None:
        if len(present) == 1:
            return None
        found = ", ".join(present) or "none"
        return f"needs exactly one of {', '.join(PATTERN_FIELDS)} (found: {found})"

    @property
    def pattern(self) -> Pattern:
        return cast(Pattern, self.pattern_model())

    def pattern_rule(self) -> RuleParts:
        p = self.pattern
        if isinstance(p, RecurDaily):
            return RuleParts("DAILY", interval=p.recurInterval)
        if isinstance(p, RecurWeekly):
            return p.weekly_rule()
        if isinstance(p, RecurMonthlyByDay):
            return RuleParts("MONTHLY", interval=p.recurInterval, bymonthday=(p.dayOfMonth,))
        if isinstance(p, RecurMonthlyByWeek):
            ref = WeekdayRef(p.dayOfWeek, WEEKS_IN_MONTH[p.dayOfWeekInMonth])
            return RuleParts("MONTHLY", interval=p.recurInterval, byday=(ref,))
        if isinstance(p, RecurYearlyByDay):
            return RuleParts(
                "YEARLY",
                interval=p.recurInterval,
                bymonth=(p.month + 1,),
                bymonthday=(p.dayOfMonth,),
            )
        ref = WeekdayRef(p.dayOfWeek, WEEKS_IN_MONTH[p.dayOfWeekInMonth])
        return RuleParts("YEARLY", interval=p.recurInterval, bymonth=(p.month + 1,), byday=(ref,))


class AdvancedEvent(Wire):
    """One BroadWorks event (assumed shape, see the module docstring)."""

    name: Name
    startDate: WireDate
    endDate: WireDate
    allDayEvent: StrictBool = False
    startTime: WireTime | None = None
    endTime: WireTime | None = None
    recurrence: AdvancedRecurrence | None = None

    @model_validator(mode="before")
    @classmethod
    def _all_day_has_no_times(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("allDayEvent") is True:
            data = {k: v for k, v in data.items() if k not in ("startTime", "endTime")}
        return data

    @model_validator(mode="after")
    def _coherent(self) -> AdvancedEvent:
        needed = None if self.allDayEvent else "needed unless allDayEvent is true"
        check_event(self, times_needed=needed)
        return self


# --- schedules -----------------------------------------------------------------------------


# ``periods`` is not required, unlike Webex's ``events``: the API's documentation shows
# it in its GET examples, but also creates schedules "without any periods" and never
# shows what GET answers for one (``[]`` or no key). A schedule that had periods and
# answers without them is held back by the feed store's per-calendar empty guard.


class TimeSchedule(Wire):
    name: Name
    periods: list[TimePeriod] = Field(default_factory=list)


class HolidaySchedule(Wire):
    name: Name
    periods: list[HolidayPeriod] = Field(default_factory=list)


class AdvancedSchedule(Wire):
    name: Name
    periods: list[AdvancedEvent] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _events_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "periods" not in data and "events" in data:
            data = {**{k: v for k, v in data.items() if k != "events"}, "periods": data["events"]}
        return data


ApioSchedule = TimeSchedule | HolidaySchedule | AdvancedSchedule
Period = TimePeriod | HolidayPeriod | AdvancedEvent
SCHEDULE_MODELS: dict[str, type[TimeSchedule | HolidaySchedule | AdvancedSchedule]] = {
    "time": TimeSchedule,
    "holiday": HolidaySchedule,
    "advanced": AdvancedSchedule,
}


def parse_schedule(data: object, *, family: Family, where: str) -> ApioSchedule:
    """Validate a decoded schedule answer of ``family``; any problem -> one-line PayloadError.

    ``where`` names the schedule for the user, e.g. ``group "east" time schedule "Office"``.
    Period names are the API's keys, so they must be unique within the schedule.
    """
    if not isinstance(data, dict):
        raise PayloadError(f"apio: {where}: expected a JSON object, got {show(data)}")
    model = SCHEDULE_MODELS[family]
    try:
        schedule = model.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(one_line(exc.errors()[0], data, where)) from exc
    seen: set[str] = set()
    for period in schedule.periods:
        if period.name in seen:
            raise PayloadError(f"apio: {where}: period {show(period.name)}: the name is used twice")
        seen.add(period.name)
    return schedule


def parse_period(data: object, *, family: Family, where: str) -> Period:
    """Validate one period answer (GET .../<schedule>/<period>/) like a schedule's period."""
    schedule = parse_schedule({"name": "-", "periods": [data]}, family=family, where=where)
    return schedule.periods[0]
