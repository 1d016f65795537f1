"""Data of the APIO simulator: tenants, groups, schedules and their periods, with the
server-side checks an APIO gateway makes before BroadWorks stores anything.

Schedules live in "stores" named after their URL family: ``time_schedules`` (simple
periods), ``calendar_schedules`` (holiday periods), ``advanced_time_schedules`` and
``advanced_calendar_schedules`` (BroadWorks events; the second path is an assumption).
An advanced schedule is listed by its simple family too (BroadWorks keeps one schedule
list) but reading it there answers 400 with sub-code 62. Periods are kept as the JSON
the client sent, so answers echo its spelling (``"9:45"``).

Independent of the client and the converter on purpose: the checks below are written
from the API documentation, not shared with the code they judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

SIMPLE_STORES = ("time_schedules", "calendar_schedules")
ADVANCED_OF = {
    "time_schedules": "advanced_time_schedules",
    "calendar_schedules": "advanced_calendar_schedules",
}
STORES = (*SIMPLE_STORES, *ADVANCED_OF.values())
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKS = ("First", "Second", "Third", "Fourth", "Last")
PATTERNS = (
    "recurDaily",
    "recurWeekly",
    "recurMonthlyByDay",
    "recurMonthlyByWeek",
    "recurYearlyByDay",
    "recurYearlyByWeek",
)
SUB_CODE_NOT_SIMPLE = 62
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class ApiError(Exception):
    """An error answer. ``shape`` picks one of the error-body shapes APIO uses:
    ``details`` (errors[0].details.errors[0].summary, BroadWorks text), ``errors``
    (errors[0].message), ``message`` or ``error`` (top-level keys)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        shape: str = "errors",
        code: int | None = None,
        summary: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.shape = shape
        self.code = code
        self.summary = summary


def error_body(
    shape: str, message: str, *, code: int | None = None, summary: str | None = None
) -> dict[str, Any]:
    """An APIO error body of the given shape."""
    if shape == "message":
        return {"message": message}
    if shape == "error":
        return {"error": message}
    entry: dict[str, Any] = {"message": message}
    if code is not None:
        entry["code"] = code
    if shape == "details":
        entry["details"] = {"errors": [{"summary": summary or message}]}
    return {"errors": [entry]}


def broadworks(message: str, status: int = 400) -> ApiError:
    """A BroadWorks refusal, relayed in the ``details`` shape with an OCI-like summary."""
    return ApiError(status, "BroadWorks refused the request", shape="details", summary=message)


@dataclass
class SimSchedule:
    name: str
    periods: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class SimScope:
    """A group, or a tenant's own (enterprise-level) schedules."""

    stores: dict[str, dict[str, SimSchedule]] = field(
        default_factory=lambda: {store: {} for store in STORES}
    )

    def lookup(self, store: str, name: str) -> SimSchedule:
        """The schedule ``name`` of ``store``; 62 when it is advanced-only, else 404."""
        found = self.stores[store].get(name)
        if found is not None:
            return found
        advanced = ADVANCED_OF.get(store)
        if advanced is not None and name in self.stores[advanced]:
            raise ApiError(
                400,
                "Schedule period not compatible with simplified mode",
                code=SUB_CODE_NOT_SIMPLE,
            )
        raise ApiError(404, f"schedule {name!r} not found", shape="errors")

    def names(self, store: str) -> list[str]:
        """What GET <store>/ lists: its schedules, plus the advanced-only ones."""
        names = list(self.stores[store])
        advanced = ADVANCED_OF.get(store)
        if advanced is not None:
            names += [n for n in self.stores[advanced] if n not in names]
        return names

    def taken(self, store: str, name: str) -> bool:
        advanced = ADVANCED_OF.get(store)
        simple = next((s for s, a in ADVANCED_OF.items() if a == store), None)
        return any(
            name in self.stores[other] for other in (store, advanced, simple) if other is not None
        )


@dataclass
class SimTenant:
    id: str
    own: SimScope = field(default_factory=SimScope)
    groups: dict[str, SimScope] = field(default_factory=dict)


# --- period checks -------------------------------------------------------------------------


def _minutes(value: object, field_name: str) -> int:
    if isinstance(value, str):
        match = _TIME.fullmatch(value)
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return int(match.group(1)) * 60 + int(match.group(2))
    raise broadworks(f"[Error 4001] Invalid {field_name}: {value!r} (expected H:MM)")


def _day(value: object, field_name: str) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise broadworks(f"[Error 4002] Invalid {field_name}: {value!r} (expected YYYY-MM-DD)")


NAME_LIMIT = 40  # BroadWorks' OCI EventName: a token of 1 to 40 characters


def _name(period: dict[str, Any]) -> str:
    name = period.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "a period needs a non-empty name", shape="errors")
    problem = name_problem(name)
    if problem is not None:
        raise broadworks(problem)
    return name


def name_problem(name: str) -> str | None:
    """Why BroadWorks refuses ``name`` as a period name (None: it takes it)."""
    if len(name) > NAME_LIMIT:
        return f"[Error 4008] Invalid name: {len(name)} characters, at most {NAME_LIMIT}"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "[Error 4008] Invalid name: a control character"
    return None


def check_period(store: str, period: object) -> dict[str, Any]:
    """``period`` if it is a valid period of ``store``; else an ApiError (400)."""
    if not isinstance(period, dict):
        raise ApiError(400, "a period must be a JSON object", shape="errors")
    _name(period)
    if store == "time_schedules":
        _check_time_period(period)
    elif store == "calendar_schedules":
        _check_holiday_period(period)
    else:
        _check_event(period)
    return period


def _check_time_period(period: dict[str, Any]) -> None:
    kind = period.get("type")
    if kind == "Day of the week":
        if period.get("dayOfWeek") not in DAYS:
            raise broadworks(f"[Error 4003] Invalid dayOfWeek: {period.get('dayOfWeek')!r}")
    elif kind == "Day of the month":
        day = period.get("dayOfMonth")
        if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
            raise broadworks(f"[Error 4004] Invalid dayOfMonth: {day!r}")
    else:
        raise ApiError(400, f"type must be 'Day of the week' or 'Day of the month', not {kind!r}")
    if _minutes(period.get("startTime"), "startTime") == _minutes(
        period.get("stopTime"), "stopTime"
    ):
        raise broadworks("[Error 4005] stopTime must differ from startTime")
    if "active" in period and not isinstance(period["active"], bool):
        raise ApiError(400, "active must be true or false")


def _check_holiday_period(period: dict[str, Any]) -> None:
    kind = period.get("type")
    if kind not in ("Full days", "Partial days"):
        raise ApiError(400, f"type must be 'Full days' or 'Partial days', not {kind!r}")
    start, stop = _day(period.get("startDay"), "startDay"), _day(period.get("stopDay"), "stopDay")
    if stop < start:
        raise broadworks("[Error 4006] stopDay is before startDay")
    if kind == "Partial days":
        begin = _minutes(period.get("startTime"), "startTime")
        end = _minutes(period.get("stopTime"), "stopTime")
        if (stop, end) <= (start, begin):
            raise broadworks("[Error 4007] the period ends before it starts")


def _check_event(event: dict[str, Any]) -> None:
    start, end = _day(event.get("startDate"), "startDate"), _day(event.get("endDate"), "endDate")
    if end < start:
        raise broadworks("[Error 4006] endDate is before startDate")
    if not isinstance(event.get("allDayEvent", False), bool):
        raise ApiError(400, "allDayEvent must be true or false")
    if not event.get("allDayEvent"):
        begin = _minutes(event.get("startTime"), "startTime")
        finish = _minutes(event.get("endTime"), "endTime")
        if (end, finish) < (start, begin):
            raise broadworks("[Error 4007] the event ends before it starts")
    recurrence = event.get("recurrence")
    if recurrence is None:
        return
    if not isinstance(recurrence, dict):
        raise ApiError(400, "recurrence must be a JSON object")
    patterns = [p for p in PATTERNS if recurrence.get(p) is not None]
    if len(patterns) != 1:
        raise broadworks(f"[Error 4010] exactly one recurrence pattern is needed, got {patterns}")
    ends = [
        key
        for key in ("recurForEver", "recurEndDate", "recurEndOccurrence")
        if recurrence.get(key) not in (None, False)
    ]
    if not ends:
        raise broadworks("[Error 4011] the recurrence needs an end (or recurForEver)")
    body = recurrence[patterns[0]]
    if not isinstance(body, dict):
        raise ApiError(400, f"{patterns[0]} must be a JSON object")
    interval = body.get("recurInterval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
        raise broadworks(f"[Error 4012] Invalid recurInterval: {interval!r}")
    for key, allowed in (("dayOfWeek", DAYS), ("month", MONTHS), ("dayOfWeekInMonth", WEEKS)):
        if key in body and body[key] not in allowed:
            raise broadworks(f"[Error 4013] Invalid {key}: {body[key]!r}")


# --- period changes ------------------------------------------------------------------------


def apply_period_change(
    store: str, schedule: SimSchedule, change: object, failing: set[str]
) -> str | None:
    """Apply one entry of a PUT's ``periods``; the failure text, or None when applied.

    An entry naming an existing period updates it (fields merged, ``newName`` renames)
    or removes it (``delete: true``); any other name creates a period (full fields
    needed). Names in ``failing`` fail as BroadWorks would (fault injection).
    """
    if not isinstance(change, dict) or not isinstance(change.get("name"), str):
        return "a period entry needs a name"
    name = change["name"]
    if name in failing:
        return f"[Error 4100] BroadWorks refused the change of period {name!r}"
    try:
        if change.get("delete") is True:
            if name not in schedule.periods:
                return f"period {name!r} not found"
            del schedule.periods[name]
            return None
        fields = {k: v for k, v in change.items() if k not in ("newName", "delete")}
        if name in schedule.periods:
            merged = check_period(store, {**schedule.periods[name], **fields})
            new_name = change.get("newName")
            if new_name is not None and new_name != name:
                if not isinstance(new_name, str) or not new_name.strip():
                    return "newName must be a non-empty string"
                if (problem := name_problem(new_name)) is not None:
                    return problem
                if new_name in schedule.periods:
                    return f"period {new_name!r} already exists"
                schedule.periods = {
                    (new_name if key == name else key): value
                    for key, value in schedule.periods.items()
                }
                name, merged = new_name, {**merged, "name": new_name}
            schedule.periods[name] = merged
            return None
        schedule.periods[name] = check_period(store, fields)
        return None
    except ApiError as err:
        return err.summary or err.message
