"""Turn pydantic's validation errors into the one-line problems users read.

A pydantic location such as ``("sources", 1, "webex", "interval")`` becomes
``source "hq": field "interval"``; the message comes from our own checks
(:data:`icsbridge.config.fields.PROBLEM`) or is phrased here for pydantic's built-in error types.
Pydantic's own multi-line text never reaches the user, and inputs are only quoted by
checks that know the field holds no secret.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from icsbridge.config.caldav import DUPLICATE_USER, CaldavSettings, CaldavUser
from icsbridge.config.fields import PROBLEM
from icsbridge.config.settings import (
    DUPLICATE_NAME,
    SOURCE_KINDS,
    SOURCE_MODELS,
    DaemonSettings,
    FeedSettings,
    Settings,
)
from icsbridge.config.wording import quote, toml_type

_NAME = re.compile(r"[a-z0-9-]+")
_SET_BY_LOADER = frozenset({"path"})
_MISSING_HINTS = {
    "name": '(e.g. name = "hq")',
    "interval": '(e.g. interval = "15m")',
}
_FEED_MISSING_HINTS = {
    "name": '(e.g. name = "support-hours")',
    "calendars": '(e.g. calendars = ["hq/*"])',
}
_USER_MISSING_HINTS = {
    "name": '(e.g. name = "reception")',
    "password": '(e.g. password = "env:RECEPTION_DAV_PASSWORD")',
    "calendars": '(e.g. calendars = ["hq/*"])',
}
_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def describe_errors(error: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    """One line per problem (without the file name), in file order, duplicates dropped.

    ``raw`` is the parsed TOML, used to name sources by their ``name``.
    """
    lines: list[str] = []
    for detail in error.errors():
        line = describe_error(detail, raw)
        if line not in lines:
            lines.append(line)
    return lines


def unknown_key_line(key: str, known: Sequence[str], section: str | None) -> str:
    """``source "hq": unknown field "tokne" (known: ...); did you mean "token"?``"""
    what = f"unknown field {quote(key)}" if section else f"unknown top-level key {quote(key)}"
    line = f"{what} (known: {', '.join(sorted(known))})"
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        line += f"; did you mean {quote(close[0])}?"
    return f"{section}: {line}" if section else line


def known_top_level_keys() -> list[str]:
    return [key for key in Settings.model_fields if key not in _SET_BY_LOADER]


def describe_error(detail: ErrorDetails, raw: Mapping[str, Any]) -> str:
    """One pydantic error as one line: ``<section>: field "<name>": <what is wrong>``."""
    loc = list(detail["loc"])
    kind, value = detail["type"], detail["input"]
    section: str | None = None
    model: type[BaseModel] | None = Settings
    hints = _MISSING_HINTS
    if loc[:1] == ["daemon"] and len(loc) > 1:
        section, model, loc = "daemon", DaemonSettings, loc[1:]
    elif loc[:1] == ["feeds"] and len(loc) > 1 and isinstance(loc[1], int):
        section = _entry_label(raw, "feeds", loc[1], by_number=kind == DUPLICATE_NAME)
        model, loc, hints = FeedSettings, loc[2:], _FEED_MISSING_HINTS
        if not loc:
            return f"{section}: {_what(kind, value, 'expected a table')}"
    elif loc[:1] == ["sources"] and len(loc) > 1 and isinstance(loc[1], int):
        section = _entry_label(raw, "sources", loc[1], by_number=kind == DUPLICATE_NAME)
        loc = loc[2:]
        model = SOURCE_MODELS.get(str(loc[0])) if loc else None
        if model is not None:
            loc = loc[1:]
        elif not loc:
            return f"{section}: {_describe_source_itself(kind, value)}"
    elif loc in (["sources"], ["daemon"], ["feeds"]):
        return _describe_section_itself(str(loc[0]), kind, value)
    elif loc[:2] == ["caldav", "users"] and len(loc) > 2 and isinstance(loc[2], int):
        section = _user_label(raw, loc[2], by_number=kind == DUPLICATE_USER)
        model, loc, hints = CaldavUser, loc[3:], _USER_MISSING_HINTS
        if not loc:
            return f"{section}: {_what(kind, value, 'expected a table')}"
    elif loc == ["caldav", "users"]:
        if kind in ("missing", "too_short"):
            return (
                "caldav: no user given; add a [[caldav.users]] table "
                '(name, password, calendars, e.g. name = "reception")'
            )
        got = toml_type(value)
        return f'caldav: field "users": expected an array of tables ([[caldav.users]]), got {got}'
    elif loc == ["caldav"]:
        return f"caldav: expected a table ([caldav]), got {toml_type(value)}"
    elif loc[:1] == ["caldav"]:
        section, model, loc = "caldav", CaldavSettings, loc[1:]

    field = str(loc[0]) if loc else None
    if kind == "extra_forbidden" and field is not None:
        known = [
            name for name in (model.model_fields if model else ()) if name not in _SET_BY_LOADER
        ]
        return unknown_key_line(field, known, section)
    items = "".join(f" item {part + 1}" for part in loc[1:] if isinstance(part, int))
    where = [section] if section else []
    if field is not None:
        where.append(f"field {quote(field)}{items}")
    if kind == "missing" and field is not None:
        hint = hints.get(field)
        return ": ".join(where) + " is missing" + (f" {hint}" if hint else "")
    return ": ".join([*where, _what(kind, value, detail["msg"])])


def _what(kind: str, value: object, message: str) -> str:
    if kind in (PROBLEM, DUPLICATE_NAME, DUPLICATE_USER):
        return message
    expected = _EXPECTED.get(kind)
    if expected:
        return f"expected {expected}, got {toml_type(value)}"
    # An error type we did not phrase: pydantic's one-line summary, never its input.
    return " ".join(message.split())


def _describe_section_itself(name: str, kind: str, value: object) -> str:
    if name == "sources" and kind in ("missing", "too_short"):
        return "sources: none given; add at least one [[sources]] table"
    if name in ("sources", "feeds"):
        return f"{name}: expected an array of tables ([[{name}]]), got {toml_type(value)}"
    return f"daemon: expected a table ([daemon]), got {toml_type(value)}"


def _describe_source_itself(kind: str, value: object) -> str:
    all_kinds = ", ".join(SOURCE_KINDS)
    source_kind = value.get("kind") if isinstance(value, Mapping) else None
    if kind == "union_tag_not_found" or (kind == "union_tag_invalid" and source_kind is None):
        return f'field "kind" is missing (one of: {all_kinds})'
    if kind == "union_tag_invalid":
        if not isinstance(source_kind, str):
            return f'field "kind": expected one of {all_kinds}, got {toml_type(source_kind)}'
        return f'field "kind": {quote(source_kind)} is not a source kind (one of: {all_kinds})'
    return _what(kind, value, "expected a table")


def _entry_label(raw: Mapping[str, Any], section: str, index: int, *, by_number: bool) -> str:
    """``source "hq"`` (``feed "x"``) when that name is valid and first used here, else
    ``source #2`` (``feed #2``)."""
    noun = section.removesuffix("s")
    entries = raw.get(section)
    name = None
    if isinstance(entries, list) and 0 <= index < len(entries):
        entry = entries[index]
        name = entry.get("name") if isinstance(entry, Mapping) else None
    if by_number or not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"{noun} #{index + 1}"
    assert isinstance(entries, list)
    earlier = (entry.get("name") for entry in entries[:index] if isinstance(entry, Mapping))
    if name in earlier:
        return f"{noun} #{index + 1}"
    return f"{noun} {quote(name)}"


def _user_label(raw: Mapping[str, Any], index: int, *, by_number: bool) -> str:
    """``caldav user "reception"``, or ``caldav user #2`` (a repeated or invalid name)."""
    caldav = raw.get("caldav")
    users = caldav.get("users") if isinstance(caldav, Mapping) else None
    if not isinstance(users, list) or not 0 <= index < len(users):
        return f"caldav user #{index + 1}"
    label = _entry_label({"users": users}, "users", index, by_number=by_number)
    return f"caldav {label}"
