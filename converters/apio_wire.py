"""APIO wire primitives: times ("9:45"), dates, day and month names, and error lines.

Shared by the APIO payload models (:mod:`converters.apio_models`). Every check raises a
``PydanticCustomError`` of type ``apio_payload`` whose message reads as the "what is
wrong" part of a one-line :class:`~converters.errors.PayloadError`.
"""

from __future__ import annotations

import calendar
import json
import re
from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    StrictStr,
)
from pydantic_core import ErrorDetails, PydanticCustomError

Family = Literal["time", "holiday", "advanced"]

DAY_NAMES: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
"""APIO weekday names, indexed like ``date.weekday()`` (Monday = 0)."""
MONTH_NAMES: tuple[str, ...] = tuple(calendar.month_name[1:])
"""APIO month names; index + 1 is the month number."""
WEEKS_IN_MONTH: dict[str, int] = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
"""BroadWorks dayOfWeekInMonth names and their RFC 5545 BYDAY ordinal."""
WEEKLY_FLAGS: tuple[str, ...] = tuple(name.lower() for name in DAY_NAMES)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def show(value: object) -> str:
    """A value as it was in the JSON, on one line and not too long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("apio_payload", message, context or None)


def wire_time_text(value: time) -> str:
    """``9:45`` (no leading zero on the hour, as the API's examples write it)."""
    return f"{value.hour}:{value.minute:02d}"


def _wire_time(value: object) -> time:
    if isinstance(value, time):
        if value.second or value.microsecond or value.tzinfo is not None:
            raise problem(f"{value.isoformat()} is not a whole-minute wall-clock time")
        return value
    if isinstance(value, str):
        match = _TIME.fullmatch(value)
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return time(int(match.group(1)), int(match.group(2)))
    raise problem(f"{show(value)} is not a time H:MM or HH:MM (24 h)")


def _wire_date(value: object) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise problem(f"{show(value)} is not a date YYYY-MM-DD")


def _named(names: tuple[str, ...], what: str) -> Any:
    def parse(value: object) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return value  # already parsed (models built in code)
        if isinstance(value, str):
            for index, name in enumerate(names):
                if value.strip().lower() == name.lower():
                    return index
        raise problem(f"{show(value)} is not {what}")

    return parse


WireTime = Annotated[
    time,
    PlainValidator(_wire_time),
    PlainSerializer(wire_time_text, return_type=str, when_used="json"),
]
WireDate = Annotated[
    date,
    PlainValidator(_wire_date),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
]
Weekday = Annotated[
    int,
    PlainValidator(_named(DAY_NAMES, "a day of the week (Monday..Sunday)")),
    PlainSerializer(lambda value: DAY_NAMES[value], return_type=str, when_used="json"),
]
"""A weekday, Monday = 0, written ``"Friday"`` on the wire."""
Month = Annotated[
    int,
    PlainValidator(_named(MONTH_NAMES, "a month (January..December)")),
    PlainSerializer(lambda value: MONTH_NAMES[value], return_type=str, when_used="json"),
]
"""A month, January = 0, written ``"May"`` on the wire."""
WeekInMonth = Literal["First", "Second", "Third", "Fourth", "Last"]
DayOfMonth = Annotated[StrictInt, Field(ge=1, le=31)]
Interval = Annotated[StrictInt, Field(ge=1)]
Name = Annotated[StrictStr, Field(min_length=1)]


class Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The wire JSON: camelCase keys, dates/times/days as text, None fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


_PLAIN_WORDS = {
    "model_type": "is not a JSON object",
    "model_attributes_type": "is not a JSON object",
    "dict_type": "is not a JSON object",
    "list_type": "is not a JSON array",
    "bool_type": "is not true or false",
    "int_type": "is not an integer",
    "string_type": "is not a string",
}


def one_line(error: ErrorDetails, data: dict[Any, Any], where: str) -> str:
    """``apio: <where>: period "X": field "a.b": <what is wrong>`` from a pydantic error."""
    loc = list(error["loc"])
    pieces = [f"apio: {where}"]
    if len(loc) >= 2 and loc[0] in ("periods", "events") and isinstance(loc[1], int):
        pieces.append(_period_label(data.get("periods", data.get("events")), loc[1]))
        loc = loc[2:]
    context = error.get("ctx") or {}
    if "field" in context:
        loc.append(str(context["field"]))
    if loc:
        pieces.append(f'field "{".".join(str(part) for part in loc)}"')
    if error["type"] == "missing":
        pieces.append("missing")
    elif error["type"] == "apio_payload":
        pieces.append(error["msg"])
    elif error["type"] in _PLAIN_WORDS:
        pieces.append(f"{show(error['input'])} {_PLAIN_WORDS[error['type']]}")
    else:
        message = error["msg"]
        pieces.append(f"{show(error['input'])}: {message[:1].lower()}{message[1:]}")
    return ": ".join(pieces).replace("\n", " ")


def _period_label(periods: object, index: int) -> str:
    if isinstance(periods, list) and index < len(periods):
        item = periods[index]
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            return f"period {show(item['name'])}"
    return f"period #{index + 1}"
