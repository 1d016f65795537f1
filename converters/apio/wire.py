"""APIO wire primitives: times ("9:45"), day and month names, and error lines.

Shared by the APIO payload models (:mod:`icsbridge.converters.apio.models`); what every API's models
share (dates, the base model, error wording) is in :mod:`icsbridge.converters.wire.base`.
"""

from __future__ import annotations

import calendar
import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import Field, PlainSerializer, PlainValidator, StrictInt, StrictStr
from pydantic_core import ErrorDetails

from icsbridge.converters.wire.base import listed_item_line, problem, show, wall_time_parser

Family = Literal["time", "holiday", "advanced"]

DAY_NAMES: tuple[str, ...] = (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
)  # fmt: skip
"""APIO weekday names, indexed like ``date.weekday()`` (Monday = 0)."""
MONTH_NAMES: tuple[str, ...] = tuple(calendar.month_name[1:])
"""APIO month names; index + 1 is the month number."""
WEEKS_IN_MONTH: dict[str, int] = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
"""BroadWorks dayOfWeekInMonth names and their RFC 5545 BYDAY ordinal."""


def wire_time_text(value: time) -> str:
    """``9:45`` (no leading zero on the hour, as the API's examples write it)."""
    return f"{value.hour}:{value.minute:02d}"


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
    PlainValidator(
        wall_time_parser(
            re.compile(r"([0-9]{1,2}):([0-9]{2})"),
            written="H:MM or HH:MM",
            whole_minute="whole-minute",
        )
    ),
    PlainSerializer(wire_time_text, return_type=str, when_used="json"),
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
Name = Annotated[StrictStr, Field(min_length=1)]


def one_line(error: ErrorDetails, data: dict[Any, Any], where: str) -> str:
    """``apio: <where>: period "X": field "a.b": <what is wrong>`` from a pydantic error."""
    return listed_item_line(
        error, data, head=f"apio: {where}", lists=("periods", "events"), noun="period"
    )
