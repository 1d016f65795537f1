"""What every API's payload models share: the frozen base model, strict wire dates and
times, and the one-line :class:`~icsbridge.converters.errors.PayloadError` texts.

Each API keeps its own models, field names and wording; this module holds only what is
the same for all of them. A model check raises :func:`problem`, whose message reads as
the "what is wrong" part of the line (``... field "endDate": 2024-01-01 is before ...``);
:func:`what_is_wrong` turns any pydantic error into that part, so an API's error line
only has to say where (``webex: <where>: event "X": field "a.b"``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, StrictInt
from pydantic_core import ErrorDetails, PydanticCustomError

PROBLEM_TYPE = "icsbridge_payload"
"""The pydantic error type of :func:`problem`: its message is already in the user's words."""

PLAIN_WORDS: Mapping[str, str] = {
    "model_type": "is not a JSON object",
    "model_attributes_type": "is not a JSON object",
    "dict_type": "is not a JSON object",
    "list_type": "is not a JSON array",
    "bool_type": "is not true or false",
    "int_type": "is not an integer",
    "string_type": "is not a string",
}
"""pydantic's type errors in words (an API may pass its own subset or additions)."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def show(value: object) -> str:
    """A value as it was in the JSON, on one line and not too long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problem(message: str, **context: Any) -> PydanticCustomError:
    """A check's failure in words; ``field=`` names the field when the check is the model's."""
    return PydanticCustomError(PROBLEM_TYPE, message, context or None)


class Wire(BaseModel):
    """A payload model: unknown fields ignored (the APIs grow), values frozen."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The wire JSON: camelCase keys, dates/times as text, None fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


# --- wire values ---------------------------------------------------------------------------


def parse_wire_date(value: object) -> date:
    """Exactly ``YYYY-MM-DD`` (a ``date`` built in code passes as it is)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise problem(f"{show(value)} is not a date YYYY-MM-DD")


def wall_time_parser(
    pattern: re.Pattern[str], *, written: str, whole_minute: str
) -> Callable[[object], time]:
    """A validator of ``HH:MM``-like wall times: ``pattern`` captures hour and minute.

    ``written`` says the form in the error (``HH:MM``); ``whole_minute`` is the API's own
    spelling of "whole minute" in the error for a ``time`` with seconds or a zone.
    """

    def parse(value: object) -> time:
        if isinstance(value, time):
            if value.second or value.microsecond or value.tzinfo is not None:
                raise problem(f"{value.isoformat()} is not a {whole_minute} wall-clock time")
            return value
        if isinstance(value, str):
            match = pattern.fullmatch(value)
            if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
                return time(int(match.group(1)), int(match.group(2)))
        raise problem(f"{show(value)} is not a time {written} (24 h)")

    return parse


WireDate = Annotated[
    date,
    PlainValidator(parse_wire_date),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
]
Interval = Annotated[StrictInt, Field(ge=1)]


# --- one-line errors -----------------------------------------------------------------------


def what_is_wrong(error: ErrorDetails, plain_words: Mapping[str, str] = PLAIN_WORDS) -> str:
    """The last part of an error line: ``missing``, a :func:`problem`'s message, or the
    offending value with pydantic's complaint in words."""
    kind = error["type"]
    if kind == "missing":
        return "missing"
    if kind == PROBLEM_TYPE:
        return error["msg"]
    if kind in plain_words:
        return f"{show(error['input'])} {plain_words[kind]}"
    message = error["msg"]
    return f"{show(error['input'])}: {message[:1].lower()}{message[1:]}"


def field_words(loc: list[str | int]) -> str:
    """``field "a.b"`` for a pydantic location."""
    return f'field "{".".join(str(part) for part in loc)}"'


def one_line(pieces: list[str]) -> str:
    """The pieces of an error line joined, never more than one line."""
    return ": ".join(pieces).replace("\n", " ")


def listed_item_line(
    error: ErrorDetails, data: Mapping[Any, Any], *, head: str, lists: tuple[str, ...], noun: str
) -> str:
    """``<head>: <noun> "X": field "a.b": <what is wrong>`` for a payload whose items sit
    in a list under one of the keys ``lists`` and are named by their ``name``.

    An item without a usable name is ``<noun> #n``; a :func:`problem` raised by a model
    check names its field in its ``field`` context.
    """
    loc = list(error["loc"])
    pieces = [head]
    if len(loc) >= 2 and loc[0] in lists and isinstance(loc[1], int):
        items = next((data[key] for key in lists if key in data), None)
        pieces.append(_item_label(items, loc[1], noun))
        loc = loc[2:]
    context = error.get("ctx") or {}
    if "field" in context:
        loc.append(str(context["field"]))
    if loc:
        pieces.append(field_words(loc))
    pieces.append(what_is_wrong(error))
    return one_line(pieces)


def _item_label(items: object, index: int, noun: str) -> str:
    if isinstance(items, list) and index < len(items):
        item = items[index]
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            return f"{noun} {show(item['name'])}"
    return f"{noun} #{index + 1}"


def name_problems(name: str, *, what: str, limit: int) -> list[str]:
    """What an API keying events by name refuses in ``name`` (an event's SUMMARY, already
    stripped): more than ``limit`` characters, or a line break or other control character
    (no admin tool can type one, and BroadWorks folds them into spaces, which would rename
    the event behind the user's back). ``what`` names the target ("a Webex event name")."""
    problems = []
    if len(name) > limit:
        problems.append(
            f"SUMMARY of {len(name)} characters ({what} holds at most {limit}; shorten it)"
        )
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        problems.append(f"SUMMARY with a line break or control character ({what} is one line)")
    return problems
