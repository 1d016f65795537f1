"""Webex Calling schedule payloads: pydantic models of the wire JSON and ``parse_schedule``.

The models ignore fields they do not know (the API grows) and validate the ones they do,
strictly: dates are exactly ``YYYY-MM-DD``, times exactly ``HH:MM`` (24 h), booleans and
integers are JSON booleans and integers. ``to_wire()`` gives back the wire JSON (camelCase,
``None`` fields left out).

A recurrence has exactly one pattern (recurDaily | recurWeekly | recurYearlyByDate |
recurYearlyByDay); two patterns at once is an unknown shape and refused. Its end is read
with the precedence recurForEver=true > recurEndDate > recurEndOccurrence: the API's own
documentation sample fills every end field at once (recurForEver true, recurEndDate equal
to startDate, recurEndOccurrence 1), so extra end fields are defaults, not intent.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Mapping
from datetime import time
from typing import Annotated, ClassVar, Literal, cast, get_args

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.rrule import RuleParts, WeekdayRef
from icsbridge.converters.wire.base import (
    Interval,
    Wire,
    WireDate,
    listed_item_line,
    problem,
    show,
    wall_time_parser,
)
from icsbridge.converters.wire.schedule import StructuredRecurrence, WeeklyDays, check_event

DAY_NAMES: tuple[str, ...] = (
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
)
"""Webex weekday names, indexed like ``date.weekday()`` (Monday = 0)."""

WEEKS: dict[str, int] = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "LAST": -1}
"""Webex week-of-month names and their RFC 5545 BYDAY ordinal."""

Month = Literal[
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
]
DayName = Literal["SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY"]
WeekOfMonth = Literal["FIRST", "SECOND", "THIRD", "FOURTH", "LAST"]
ScheduleType = Literal["businessHours", "holidays"]

MONTHS: tuple[str, ...] = get_args(Month)
"""Webex month names; index + 1 is the month number."""

WireTime = Annotated[
    time,
    PlainValidator(
        wall_time_parser(
            re.compile(r"([0-9]{2}):([0-9]{2})"), written="HH:MM", whole_minute="whole minute"
        )
    ),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
]


class RecurDaily(Wire):
    recurInterval: Interval | None = None

    @property
    def interval(self) -> int:
        return self.recurInterval or 1


class RecurWeekly(WeeklyDays):
    """Every ``interval`` weeks (recurInterval absent: 1) on the flagged days."""


class RecurYearlyByDate(Wire):
    dayOfMonth: Annotated[StrictInt, Field(ge=1, le=31)]
    month: Month

    @model_validator(mode="after")
    def _day_exists(self) -> RecurYearlyByDate:
        month_number = MONTHS.index(self.month) + 1
        if self.dayOfMonth > calendar.monthrange(2000, month_number)[1]:  # 2000: a leap year
            raise problem(f"{self.month} has no day {self.dayOfMonth}")
        return self


class RecurYearlyByDay(Wire):
    day: DayName
    week: WeekOfMonth
    month: Month


Pattern = RecurDaily | RecurWeekly | RecurYearlyByDate | RecurYearlyByDay


def _and_list(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]


class WebexRecurrence(StructuredRecurrence):
    PATTERN_FIELDS: ClassVar[Mapping[str, type[Wire]]] = {
        "recurDaily": RecurDaily,
        "recurWeekly": RecurWeekly,
        "recurYearlyByDate": RecurYearlyByDate,
        "recurYearlyByDay": RecurYearlyByDay,
    }

    recurDaily: RecurDaily | None = None
    recurWeekly: RecurWeekly | None = None
    recurYearlyByDate: RecurYearlyByDate | None = None
    recurYearlyByDay: RecurYearlyByDay | None = None

    def pattern_problem(self, present: list[str]) -> str | None:
        if len(present) > 1:
            both = "both " if len(present) == 2 else ""
            return f"has {both}{_and_list(present)} (an unknown recurrence shape)"
        if not present:
            return f"has no pattern (one of {', '.join(self.PATTERN_FIELDS)} is needed)"
        return None

    @property
    def pattern(self) -> Pattern:
        return cast(Pattern, self.pattern_model())

    def pattern_rule(self) -> RuleParts:
        pattern = self.pattern
        if isinstance(pattern, RecurDaily):
            return RuleParts("DAILY", interval=pattern.interval)
        if isinstance(pattern, RecurWeekly):
            return pattern.weekly_rule()
        month = MONTHS.index(pattern.month) + 1
        if isinstance(pattern, RecurYearlyByDate):
            return RuleParts("YEARLY", bymonth=(month,), bymonthday=(pattern.dayOfMonth,))
        ref = WeekdayRef(DAY_NAMES.index(pattern.day), WEEKS[pattern.week])
        return RuleParts("YEARLY", bymonth=(month,), byday=(ref,))


class WebexEvent(Wire):
    """One schedule event. startDate/endDate (and times) describe the FIRST occurrence.

    All-day events have an inclusive endDate; times, if the API sends them anyway, are
    kept but carry no meaning. Timed events need both times; an end equal to the start
    is a zero-length event.
    """

    id: StrictStr | None = None
    name: Annotated[StrictStr, Field(min_length=1)]
    startDate: WireDate
    endDate: WireDate
    startTime: WireTime | None = None
    endTime: WireTime | None = None
    allDayEnabled: StrictBool = False
    recurrence: WebexRecurrence | None = None

    @model_validator(mode="after")
    def _coherent(self) -> WebexEvent:
        needed = None if self.allDayEnabled else "needed unless allDayEnabled is true"
        check_event(self, times_needed=needed)
        return self


class WebexSchedule(Wire):
    """A schedule as GET .../{type}/{scheduleId} answers it: ``{id, name, type, events}``.

    ``events`` is always in that answer (``[]`` for a schedule without events), so an
    answer without it is malformed, never "no events": read as empty, it once published
    four holiday calendars empty with a healthy status.
    """

    id: StrictStr | None = None
    name: Annotated[StrictStr, Field(min_length=1)]
    type: ScheduleType
    events: list[WebexEvent]


def parse_schedule(data: object, *, where: str) -> WebexSchedule:
    """Validate a decoded schedule answer. Any problem -> one-line :class:`PayloadError`.

    ``where`` names the schedule for the user, e.g. ``schedule "Office" (businessHours)``.
    Besides the model rules, an answer must carry the schedule's and every event's id,
    and event ids and names are unique.
    """
    if not isinstance(data, dict):
        raise PayloadError(f"webex: {where}: expected a JSON object, got {show(data)}")
    try:
        schedule = WebexSchedule.model_validate(data)
    except ValidationError as exc:
        line = listed_item_line(
            exc.errors()[0], data, head=f"webex: {where}", lists=("events",), noun="event"
        )
        raise PayloadError(line) from exc
    if schedule.id is None:
        raise PayloadError(f'webex: {where}: field "id": missing')
    seen_ids: set[str] = set()
    seen_names: set[str] = set()
    for event in schedule.events:
        label = f"webex: {where}: event {show(event.name)}"
        if event.id is None:
            raise PayloadError(f'{label}: field "id": missing')
        if event.id in seen_ids:
            raise PayloadError(f'{label}: field "id": {json.dumps(event.id)} is used twice')
        if event.name in seen_names:
            raise PayloadError(f"{label}: the name is used by two events")
        seen_ids.add(event.id)
        seen_names.add(event.name)
    return schedule
