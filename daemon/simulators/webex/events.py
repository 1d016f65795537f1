"""Server-side checks of Webex schedule events, as the Webex simulator plays them.

The simulator is the server: it must not trust (or import) the icsbridge client or
converter. This module validates an event payload for a schedule level, applies the
capability rules of that level and the server normalisation (startDate moved to the first
real occurrence of the rule), and returns the event as the server stores it.

Error codes other than 25030 are the simulator's own choice (Webex documents no list).
"""

from __future__ import annotations

import base64
import re
from datetime import date, datetime, timedelta
from typing import Any, Literal

from dateutil.rrule import SU, WEEKLY, YEARLY, rrule, weekday

Level = Literal["PEOPLE", "LOCATION"]
SCHEDULE_TYPES = ("businessHours", "holidays")

ERROR_INVALID = 25008
ERROR_NOT_FOUND = 4008
ERROR_NAME_TAKEN = 25034
ERROR_NAME_TAKEN_BY_LOCATION = 25030

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NAMES = tuple(day.upper() for day in WEEKDAYS)
MONTHS = (
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
)
WEEKS = {"FIRST": 1, "SECOND": 2, "THIRD": 3, "FOURTH": 4, "LAST": -1}
PATTERNS = ("recurDaily", "recurWeekly", "recurYearlyByDate", "recurYearlyByDay")
ENDS = ("recurForEver", "recurEndDate", "recurEndOccurrence")
# What each level can hold (the contract's capability table).
ALLOWED_PATTERNS: dict[Level, tuple[str, ...]] = {
    "PEOPLE": ("recurDaily", "recurWeekly"),
    "LOCATION": ("recurWeekly", "recurYearlyByDate", "recurYearlyByDay"),
}
ALLOWED_ENDS: dict[Level, tuple[str, ...]] = {
    "PEOPLE": ENDS,
    "LOCATION": ("recurForEver", "recurEndDate"),
}
LEVEL_WORDS: dict[Level, str] = {"PEOPLE": "person", "LOCATION": "location"}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class ApiError(Exception):
    """A request the simulated server refuses: HTTP status plus the Webex error entry."""

    def __init__(self, status: int, description: str, error_code: int = ERROR_INVALID) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.error_code = error_code


def invalid(description: str) -> ApiError:
    return ApiError(400, description, ERROR_INVALID)


def b64(text: str) -> str:
    """Standard base64 alphabet, padding kept (the contract's id encoding)."""
    return base64.b64encode(text.encode()).decode("ascii")


def schedule_id(level: Level, schedule_type: str, name: str) -> str:
    """Opaque schedule id: the type is folded in so businessHours and holidays differ."""
    kind = "USER_SCHEDULE" if level == "PEOPLE" else "LOCATION_SCHEDULE"
    return b64(f"ciscospark://us/{kind}/{b64(f'{schedule_type}:{name}')}")


def event_id(level: Level, name: str) -> str:
    """Opaque event id; unique within its schedule only, like the real one."""
    kind = "USER_SCHEDULE_EVENT" if level == "PEOPLE" else "LOCATION_SCHEDULE_EVENT"
    return b64(f"ciscospark://us/{kind}/{b64(name)}")


def check_schedule_type(schedule_type: object) -> str:
    if schedule_type not in SCHEDULE_TYPES:
        raise invalid(f"type must be businessHours or holidays, not {schedule_type!r}")
    return str(schedule_type)


def check_name(value: object, field: str = "name") -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{field} is required and must be a non-empty string")
    if len(value) > 80:
        raise invalid(f"{field} must be at most 80 characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise invalid(f"{field} must be one line without control characters")
    return value


def validate_event(payload: object, level: Level) -> dict[str, Any]:
    """Check one event payload for ``level``; return the stored (normalised) event, no id.

    Raises ApiError(400) with a description naming the field and the rule broken.
    """
    if not isinstance(payload, dict):
        raise invalid("an event must be a JSON object")
    name = check_name(payload.get("name"))
    start_date = _date(payload, "startDate")
    end_date = _date(payload, "endDate")
    all_day = payload.get("allDayEnabled", False)
    if not isinstance(all_day, bool):
        raise invalid("allDayEnabled must be true or false")
    event: dict[str, Any] = {"name": name}
    if all_day:
        if end_date < start_date:
            raise invalid(f"event {name!r}: endDate is before startDate")
    else:
        start_time = _time(payload, "startTime")
        end_time = _time(payload, "endTime")
        start = datetime.combine(start_date, datetime.strptime(start_time, "%H:%M").time())
        end = datetime.combine(end_date, datetime.strptime(end_time, "%H:%M").time())
        if end <= start:
            raise invalid(f"event {name!r}: the end ({end_date} {end_time}) is not after the start")
    recurrence = payload.get("recurrence")
    if recurrence is not None:
        recurrence = _recurrence(recurrence, level, name)
        first = first_occurrence(recurrence, start_date)
        if first is None:
            raise invalid(f"event {name!r}: the rule has no occurrence on or before recurEndDate")
        shift = first - start_date
        start_date, end_date = first, end_date + shift
    event.update(startDate=start_date.isoformat(), endDate=end_date.isoformat())
    if not all_day:
        event.update(startTime=start_time, endTime=end_time)
    event["allDayEnabled"] = all_day
    if recurrence is not None:
        event["recurrence"] = recurrence
    return event


def _date(payload: dict[str, Any], field: str) -> date:
    value = payload.get(field)
    if not isinstance(value, str) or not _DATE.match(value):
        raise invalid(f"{field} is required in the format YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"{field} {value!r} is not a calendar date") from None


def _time(payload: dict[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not _TIME.match(value):
        raise invalid(
            f"{field} is required in the format HH:MM (24 hours) unless allDayEnabled is true,"
            f" got {value!r}"
        )
    return value


def _recurrence(raw: object, level: Level, name: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid(f"event {name!r}: recurrence must be a JSON object")
    where = f"event {name!r}"
    patterns = [key for key in PATTERNS if raw.get(key) is not None]
    ends = [key for key in ENDS if raw.get(key) not in (None, False)]
    if len(patterns) != 1:
        raise invalid(f"{where}: recurrence needs exactly one of {', '.join(PATTERNS)}")
    if len(ends) != 1:
        raise invalid(f"{where}: recurrence needs exactly one of {', '.join(ENDS)}")
    pattern, end = patterns[0], ends[0]
    word = LEVEL_WORDS[level]
    if pattern not in ALLOWED_PATTERNS[level]:
        allowed = " or ".join(ALLOWED_PATTERNS[level])
        raise invalid(f"{where}: {pattern} is not supported for {word} schedules (use {allowed})")
    if end not in ALLOWED_ENDS[level]:
        allowed = " or ".join(ALLOWED_ENDS[level])
        raise invalid(f"{where}: {end} is not supported for {word} schedules (use {allowed})")
    result: dict[str, Any] = {}
    if end == "recurForEver":
        if raw[end] is not True:
            raise invalid(f"{where}: recurForEver must be true or absent")
        result[end] = True
    elif end == "recurEndDate":
        result[end] = _date(raw, end).isoformat()
    else:
        result[end] = _positive_int(raw[end], f"{where}: recurEndOccurrence")
    result[pattern] = _pattern(pattern, raw[pattern], level, where)
    return result


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise invalid(f"{what} must be a whole number of at least 1, got {value!r}")
    return value


def _pattern(pattern: str, raw: object, level: Level, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise invalid(f"{where}: {pattern} must be a JSON object")
    if pattern == "recurDaily":
        return {"recurInterval": _positive_int(raw.get("recurInterval"), f"{where}: recurInterval")}
    if pattern == "recurWeekly":
        interval = raw.get("recurInterval", 1)
        if level == "LOCATION":
            if interval not in (None, 1):
                raise invalid(
                    f"{where}: recurWeekly.recurInterval must be 1 for location schedules"
                )
            interval = 1
        days: dict[str, bool] = {}
        for day in ("sunday", *WEEKDAYS[:6]):
            flag = raw.get(day, False)
            if not isinstance(flag, bool):
                raise invalid(f"{where}: recurWeekly.{day} must be true or false")
            days[day] = flag
        if not any(days.values()):
            raise invalid(f"{where}: recurWeekly needs at least one day set to true")
        return {"recurInterval": _positive_int(interval, f"{where}: recurInterval"), **days}
    month = raw.get("month")
    if month not in MONTHS:
        raise invalid(f"{where}: {pattern}.month must be one of JANUARY..DECEMBER, got {month!r}")
    if pattern == "recurYearlyByDate":
        day_of_month = raw.get("dayOfMonth")
        limit = 29 if month == "FEBRUARY" else 30 if month in _SHORT_MONTHS else 31
        if type(day_of_month) is not int or not 1 <= day_of_month <= limit:
            raise invalid(f"{where}: dayOfMonth must be 1..{limit} for {month}")
        return {"dayOfMonth": day_of_month, "month": month}
    day_name, week = raw.get("day"), raw.get("week")
    if day_name not in DAY_NAMES:
        raise invalid(f"{where}: recurYearlyByDay.day must be one of SUNDAY..SATURDAY")
    if week not in WEEKS:
        raise invalid(f"{where}: recurYearlyByDay.week must be FIRST..FOURTH or LAST")
    return {"day": day_name, "week": week, "month": month}


_SHORT_MONTHS = ("APRIL", "JUNE", "SEPTEMBER", "NOVEMBER")


def first_occurrence(recurrence: dict[str, Any], start: date) -> date | None:
    """The first date on or after ``start`` the rule produces (None: none before its end).

    Weekly rules with an interval count weeks from the start's week, weeks starting on
    Sunday: the order of the API's own weekday fields, and what converters/webex/convert.py
    assumes (unverified against the real service; both must change together).
    """
    dtstart = datetime.combine(start, datetime.min.time())
    until = None
    if "recurEndDate" in recurrence:
        until = datetime.combine(date.fromisoformat(recurrence["recurEndDate"]), dtstart.time())
    if "recurDaily" in recurrence:
        return start if until is None or dtstart <= until else None
    if "recurWeekly" in recurrence:
        weekly = recurrence["recurWeekly"]
        days = [weekday(i) for i, day in enumerate(WEEKDAYS) if weekly[day]]
        rule = rrule(
            WEEKLY,
            dtstart=dtstart,
            interval=weekly["recurInterval"],
            byweekday=days,
            wkst=SU,
            until=until,
        )
    elif "recurYearlyByDate" in recurrence:
        by_date = recurrence["recurYearlyByDate"]
        month = MONTHS.index(by_date["month"]) + 1
        rule = rrule(
            YEARLY, dtstart=dtstart, bymonth=month, bymonthday=by_date["dayOfMonth"], until=until
        )
    else:
        by_day = recurrence["recurYearlyByDay"]
        month = MONTHS.index(by_day["month"]) + 1
        nth = weekday(DAY_NAMES.index(by_day["day"]), WEEKS[by_day["week"]])
        rule = rrule(YEARLY, dtstart=dtstart, bymonth=month, byweekday=nth, until=until)
    found = rule.after(dtstart - timedelta(seconds=1))
    return found.date() if found is not None else None
