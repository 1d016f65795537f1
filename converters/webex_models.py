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
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from converters.errors import PayloadError
from converters.rrule import MONDAY, SUNDAY, RuleParts, WeekdayRef, first_occurrence

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([0-9]{2}):([0-9]{2})")

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


def _show(value: object) -> str:
    """A value as the user wrote it in JSON, on one line and not too long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _problem(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("webex_payload", message, context or None)


def _wire_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _problem(f"{_show(value)} is not a date YYYY-MM-DD")


def _wire_time(value: object) -> time:
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise _problem(f"{value.isoformat()} is not a whole minute wall-clock time")
        return value
    if isinstance(value, str):
        match = _TIME.fullmatch(value)
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return time(int(match.group(1)), int(match.group(2)))
    raise _problem(f"{_show(value)} is not a time HH:MM (24 h)")


WireDate = Annotated[
    date,
    PlainValidator(_wire_date),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
]
WireTime = Annotated[
    time,
    PlainValidator(_wire_time),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
]
Interval = Annotated[StrictInt, Field(ge=1)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The exact wire JSON: camelCase keys, dates/times as text, None fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


class RecurDaily(_Wire):
    recurInterval: Interval | None = None

    @property
    def interval(self) -> int:
        return self.recurInterval or 1


class RecurWeekly(_Wire):
    recurInterval: Interval | None = None
    sunday: StrictBool = False
    monday: StrictBool = False
    tuesday: StrictBool = False
    wednesday: StrictBool = False
    thursday: StrictBool = False
    friday: StrictBool = False
    saturday: StrictBool = False

    @property
    def interval(self) -> int:
        return self.recurInterval or 1

    @property
    def weekdays(self) -> tuple[int, ...]:
        """Selected days as ``date.weekday()`` indexes, Monday first."""
        return tuple(i for i, name in enumerate(DAY_NAMES) if getattr(self, name.lower()))

    @model_validator(mode="after")
    def _some_day(self) -> RecurWeekly:
        if not self.weekdays:
            raise _problem("selects no day of the week")
        return self


class RecurYearlyByDate(_Wire):
    dayOfMonth: Annotated[StrictInt, Field(ge=1, le=31)]
    month: Month

    @model_validator(mode="after")
    def _day_exists(self) -> RecurYearlyByDate:
        month_number = MONTHS.index(self.month) + 1
        if self.dayOfMonth > calendar.monthrange(2000, month_number)[1]:  # 2000: a leap year
            raise _problem(f"{self.month} has no day {self.dayOfMonth}")
        return self


class RecurYearlyByDay(_Wire):
    day: DayName
    week: WeekOfMonth
    month: Month


Pattern = RecurDaily | RecurWeekly | RecurYearlyByDate | RecurYearlyByDay
_PATTERN_FIELDS = ("recurDaily", "recurWeekly", "recurYearlyByDate", "recurYearlyByDay")


def _and_list(names: list[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1]


class WebexRecurrence(_Wire):
    recurForEver: StrictBool | None = None
    recurEndDate: WireDate | None = None
    recurEndOccurrence: Interval | None = None
    recurDaily: RecurDaily | None = None
    recurWeekly: RecurWeekly | None = None
    recurYearlyByDate: RecurYearlyByDate | None = None
    recurYearlyByDay: RecurYearlyByDay | None = None

    @model_validator(mode="after")
    def _one_pattern_one_end(self) -> WebexRecurrence:
        present = [name for name in _PATTERN_FIELDS if getattr(self, name) is not None]
        if len(present) > 1:
            both = "both " if len(present) == 2 else ""
            raise _problem(f"has {both}{_and_list(present)} (an unknown recurrence shape)")
        if not present:
            raise _problem(f"has no pattern (one of {', '.join(_PATTERN_FIELDS)} is needed)")
        if not self.recurForEver and self.recurEndDate is None and self.recurEndOccurrence is None:
            raise _problem(
                "has no end (recurForEver true, recurEndDate or recurEndOccurrence is needed)"
            )
        return self

    @property
    def pattern(self) -> Pattern:
        for name in _PATTERN_FIELDS:
            value: Pattern | None = getattr(self, name)
            if value is not None:
                return value
        raise AssertionError("validated recurrence without a pattern")

    @property
    def end_date(self) -> date | None:
        """The effective last start date (None when forever or counted)."""
        return None if self.recurForEver else self.recurEndDate

    @property
    def end_count(self) -> int | None:
        """The effective number of occurrences (None when forever or ending on a date)."""
        if self.recurForEver or self.recurEndDate is not None:
            return None
        return self.recurEndOccurrence

    def pattern_rule(self) -> RuleParts:
        """The pattern as an RRULE without its end (COUNT/UNTIL depend on the zone)."""
        pattern = self.pattern
        if isinstance(pattern, RecurDaily):
            return RuleParts("DAILY", interval=pattern.interval)
        if isinstance(pattern, RecurWeekly):
            days = pattern.weekdays
            # Which week a Sunday belongs to matters only with INTERVAL > 1; Webex lists
            # weeks Sunday first (unverified), so say so in the RRULE.
            wkst = SUNDAY if pattern.interval > 1 and SUNDAY in days and len(days) > 1 else MONDAY
            byday = tuple(WeekdayRef(day) for day in days)
            return RuleParts("WEEKLY", interval=pattern.interval, byday=byday, wkst=wkst)
        month = MONTHS.index(pattern.month) + 1
        if isinstance(pattern, RecurYearlyByDate):
            return RuleParts("YEARLY", bymonth=(month,), bymonthday=(pattern.dayOfMonth,))
        ref = WeekdayRef(DAY_NAMES.index(pattern.day), WEEKS[pattern.week])
        return RuleParts("YEARLY", bymonth=(month,), byday=(ref,))


class WebexEvent(_Wire):
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
        if self.endDate < self.startDate:
            raise _problem(f"{self.endDate} is before startDate {self.startDate}", field="endDate")
        if not self.allDayEnabled:
            for field in ("startTime", "endTime"):
                if getattr(self, field) is None:
                    raise _problem("missing (needed unless allDayEnabled is true)", field=field)
            start = datetime.combine(self.startDate, self.startTime or time())
            end = datetime.combine(self.endDate, self.endTime or time())
            if end < start:
                raise _problem(
                    f"the event ends ({end:%Y-%m-%d %H:%M}) before it starts "
                    f"({start:%Y-%m-%d %H:%M})",
                    field="endTime",
                )
        if self.recurrence is not None:
            last = self.recurrence.end_date
            first = first_occurrence(self.recurrence.pattern_rule(), self.startDate)
            if first is None or (last is not None and first > last):
                until = f" on or before recurEndDate {last}" if last is not None else ""
                raise _problem(
                    f"no occurrence from startDate {self.startDate}{until}", field="recurrence"
                )
        return self

    def first_occurrence_shift(self) -> int:
        """Days from startDate to the first real occurrence (the server moves it there)."""
        if self.recurrence is None:
            return 0
        first = first_occurrence(self.recurrence.pattern_rule(), self.startDate)
        return 0 if first is None else (first - self.startDate).days


class WebexSchedule(_Wire):
    """A schedule as GET .../{type}/{scheduleId} answers it. A missing events list = []."""

    id: StrictStr | None = None
    name: Annotated[StrictStr, Field(min_length=1)]
    type: ScheduleType
    events: list[WebexEvent] = Field(default_factory=list)


def parse_schedule(data: object, *, where: str) -> WebexSchedule:
    """Validate a decoded schedule answer. Any problem -> one-line :class:`PayloadError`.

    ``where`` names the schedule for the user, e.g. ``schedule "Office" (businessHours)``.
    Besides the model rules, an answer must carry the schedule's and every event's id,
    and event ids and names are unique.
    """
    if not isinstance(data, dict):
        raise PayloadError(f"webex: {where}: expected a JSON object, got {_show(data)}")
    try:
        schedule = WebexSchedule.model_validate(data)
    except ValidationError as exc:
        raise PayloadError(_one_line(exc.errors()[0], data, where)) from exc
    if schedule.id is None:
        raise PayloadError(f'webex: {where}: field "id": missing')
    seen_ids: set[str] = set()
    seen_names: set[str] = set()
    for event in schedule.events:
        label = f"webex: {where}: event {_show(event.name)}"
        if event.id is None:
            raise PayloadError(f'{label}: field "id": missing')
        if event.id in seen_ids:
            raise PayloadError(f'{label}: field "id": {json.dumps(event.id)} is used twice')
        if event.name in seen_names:
            raise PayloadError(f"{label}: the name is used by two events")
        seen_ids.add(event.id)
        seen_names.add(event.name)
    return schedule


_PLAIN_WORDS = {
    "model_type": "is not a JSON object",
    "model_attributes_type": "is not a JSON object",
    "dict_type": "is not a JSON object",
    "list_type": "is not a JSON array",
    "bool_type": "is not true or false",
    "int_type": "is not an integer",
    "string_type": "is not a string",
}


def _one_line(error: ErrorDetails, data: dict[Any, Any], where: str) -> str:
    """``webex: <where>: event "X": field "a.b": <what is wrong>`` from a pydantic error."""
    loc = list(error["loc"])
    pieces = [f"webex: {where}"]
    if len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int):
        pieces.append(_event_label(data.get("events"), loc[1]))
        loc = loc[2:]
    context = error.get("ctx") or {}
    if "field" in context:
        loc.append(str(context["field"]))
    if loc:
        pieces.append(f'field "{".".join(str(part) for part in loc)}"')
    if error["type"] == "missing":
        pieces.append("missing")
    elif error["type"] == "webex_payload":
        pieces.append(error["msg"])
    elif error["type"] in _PLAIN_WORDS:
        pieces.append(f"{_show(error['input'])} {_PLAIN_WORDS[error['type']]}")
    else:
        message = error["msg"]
        pieces.append(f"{_show(error['input'])}: {message[:1].lower()}{message[1:]}")
    return ": ".join(pieces).replace("\n", " ")


def _event_label(events: object, index: int) -> str:
    if isinstance(events, list) and index < len(events):
        item = events[index]
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            return f"event {_show(item['name'])}"
    return f"event #{index + 1}"
