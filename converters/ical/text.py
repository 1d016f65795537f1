"""Deterministic RFC 5545 text: escaping, content lines, folding, and reading them back.

icalendar 7.3 is used for the data model but not for writing bytes, because its TEXT
escaping turns a literal ``\\N`` into a line break (``"Office\\North"`` comes out as
``Office\\north`` and reads back as "Office" + newline + "orth"), and its property order
follows its own ``canonical_order`` tables that may change between releases. Owning the
last step keeps the bytes stable and exactly what the feed rules ask for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar.cal.component import Component
from icalendar.parser import Parameters
from icalendar.prop import vCategory, vDDDLists, vDDDTypes, vText

MAX_OCTETS = 75

# Properties written first, in this order; the rest follow alphabetically. Fixed here so
# the bytes (and ETags) do not move when icalendar changes its own ordering tables.
_LEADING: dict[str, tuple[str, ...]] = {
    "VCALENDAR": (
        "VERSION",
        "PRODID",
        "CALSCALE",
        "NAME",
        "X-WR-CALNAME",
        "DESCRIPTION",
        "X-WR-CALDESC",
        "X-WR-TIMEZONE",
        "REFRESH-INTERVAL",
        "X-PUBLISHED-TTL",
    ),
    "VEVENT": (
        "UID",
        "DTSTAMP",
        "LAST-MODIFIED",
        "SEQUENCE",
        "RECURRENCE-ID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
    ),
    "VTODO": (
        "UID",
        "DTSTAMP",
        "LAST-MODIFIED",
        "SEQUENCE",
        "RECURRENCE-ID",
        "DTSTART",
        "DUE",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
    ),
    "VTIMEZONE": ("TZID",),
    "STANDARD": ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME", "RRULE", "RDATE"),
    "DAYLIGHT": ("DTSTART", "TZOFFSETFROM", "TZOFFSETTO", "TZNAME", "RRULE", "RDATE"),
    "VALARM": ("ACTION", "TRIGGER"),
}

# RFC 5545 3.3.11: TEXT allows no control characters but HTAB; line breaks become "\n".
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_NEEDS_ESCAPING = re.compile(r"[\\;,\x00-\x1f\x7f]")


def escape_text(value: str) -> str:
    r"""Escape a TEXT value: ``\`` ``;`` ``,`` and line breaks (CRLF, CR or LF -> ``\n``).

    Other control characters cannot be written in TEXT and are dropped; a lone surrogate
    (JSON allows "\\ud800") cannot be UTF-8 and becomes "?".
    """
    if value.isascii() and _NEEDS_ESCAPING.search(value) is None:
        return value  # the common case: nothing to change
    value = value.encode("utf-8", errors="replace").decode("utf-8")
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return _CONTROL.sub("", _NEWLINE.sub("\\\\n", escaped))


def unescape_text(value: str) -> str:
    r"""Undo :func:`escape_text` (also reads ``\N``), scanning left to right."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] in "nN" else m[1], value, flags=re.DOTALL)


# A backslash escape stays on one physical line: some readers unescape before unfolding.
_FOLD_UNIT = re.compile(r"\\.|.", re.DOTALL)


def fold(line: str) -> bytes:
    """One content line as CRLF-terminated bytes folded at 75 octets.

    Folds fall between characters (never inside a UTF-8 sequence) and never split a
    backslash escape; continuation lines start with one space, which counts in the 75.
    """
    if len(line) <= MAX_OCTETS and line.isascii():  # most lines: nothing to fold
        return line.encode("ascii") + b"\r\n"
    pieces: list[bytes] = []
    current = bytearray()
    budget = MAX_OCTETS
    for unit in _FOLD_UNIT.findall(line):
        encoded = unit.encode("utf-8")
        if current and len(current) + len(encoded) > budget:
            pieces.append(bytes(current))
            current = bytearray()
            budget = MAX_OCTETS - 1
        current += encoded
    pieces.append(bytes(current))
    return b"\r\n ".join(pieces) + b"\r\n"


def duration_text(seconds: int) -> str:
    """An RFC 5545 DURATION: 900 -> PT15M, 86400 -> P1D, 0 -> PT0S, -60 -> -PT1M."""
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not days and not clock:
        clock = "0S"
    return sign + "P" + (f"{days}D" if days else "") + (f"T{clock}" if clock else "")


def _period_line(name: str, value: vDDDLists) -> str | None:
    """RDATE periods written right: icalendar 7.3 drops TZID and VALUE=PERIOD from them,
    leaving zoned starts floating (``RDATE:20240305T090000/PT2H``)."""
    periods: list[Any] = [item.dt for item in value.dts]
    if not periods or not all(isinstance(period, tuple) for period in periods):
        return None
    first = periods[0][0]
    zone = first.tzinfo if isinstance(first, datetime) else None
    tzid = vDDDTypes(first).params.get("TZID") if zone is not None else None

    def moment(when: datetime) -> str:
        if when.tzinfo is None:
            return when.strftime("%Y%m%dT%H%M%S")
        if tzid is None:
            return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return when.astimezone(zone).strftime("%Y%m%dT%H%M%S")

    pieces = []
    for start, end in periods:
        tail = (
            duration_text(int(end.total_seconds())) if isinstance(end, timedelta) else moment(end)
        )
        pieces.append(f"{moment(start)}/{tail}")
    params = Parameters(
        {k: v for k, v in value.params.items() if k.upper() not in ("TZID", "VALUE")}
    )
    params["VALUE"] = "PERIOD"
    if tzid:
        params["TZID"] = tzid
    raw = params.to_ical(sorted=True)
    rendered = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    return f"{name.upper()};{rendered}:{','.join(pieces)}"


def render_value(component: Component, name: str, value: Any) -> str:
    """The value part of a content line (TEXT escaped by :func:`escape_text`)."""
    if isinstance(value, vCategory):
        return ",".join(escape_text(str(category)) for category in value.cats)
    if isinstance(value, (vText, str)):
        return escape_text(str(value))
    if not hasattr(value, "to_ical"):
        value = component.types_factory.for_property(name)(value)
    raw = value.to_ical()
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def _fast_time_line(name: str, value: vDDDTypes) -> str | None:
    """The line of a plain DATE or zoned DATE-TIME, without icalendar's slower path.

    Covers what nearly every event has (DTSTART/DTEND as a date, or with a TZID that is
    the zone's IANA key); anything else returns None and goes the general way. A property
    test holds this to icalendar's own rendering.
    """
    dt = value.dt
    params = value.params
    if type(dt) is date:
        if params and dict(params) != {"VALUE": "DATE"}:
            return None
        return f"{name.upper()};VALUE=DATE:{dt.year:04d}{dt.month:02d}{dt.day:02d}"
    if type(dt) is not datetime or dt.tzinfo is None or dt.microsecond:
        return None
    key = getattr(dt.tzinfo, "key", None)
    if not key or dict(params) != {"TZID": key} or any(c in key for c in ',;:"'):
        return None
    return (
        f"{name.upper()};TZID={key}:{dt.year:04d}{dt.month:02d}{dt.day:02d}"
        f"T{dt.hour:02d}{dt.minute:02d}{dt.second:02d}"
    )


def property_line(component: Component, name: str, value: Any) -> str:
    """The unfolded content line ``NAME;PARAMS:VALUE`` of one property value."""
    if type(value) is vDDDTypes:
        fast = _fast_time_line(name, value)
        if fast is not None:
            return fast
    if isinstance(value, vDDDLists):
        period = _period_line(name, value)
        if period is not None:
            return period
    params = getattr(value, "params", None)
    rendered = ""
    if isinstance(params, Parameters) and params:
        raw = params.to_ical(sorted=True)
        rendered = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
    head = f"{name.upper()};{rendered}" if rendered else name.upper()
    return f"{head}:{render_value(component, name, value)}"


def _ordered_names(component: Component) -> list[str]:
    leading = _LEADING.get(component.name or "", ())
    names = [str(key).upper() for key in component]
    first = [name for name in leading if name in names]
    return first + sorted(name for name in names if name not in leading)


def component_lines(
    component: Component,
    *,
    skip: frozenset[str] = frozenset(),
    sort_subcomponents: bool = True,
) -> list[str]:
    """Unfolded content lines of ``component`` in a canonical order.

    Properties: a fixed leading order per component type, then alphabetical; repeated
    properties (several ATTENDEE, EXDATE...) sorted by their text, so the lines depend only
    on the content and never on the order a converter happened to add things in.
    ``skip`` names top-level properties to leave out. Subcomponents (VALARM) are sorted by
    their text unless ``sort_subcomponents`` is False (VTIMEZONE keeps its chronology).
    """
    lines = [f"BEGIN:{component.name}"]
    for name in _ordered_names(component):
        if name in skip:
            continue
        found: Any = component[name]
        values = found if isinstance(found, list) else [found]
        lines.extend(sorted(property_line(component, name, value) for value in values))
    children = [
        component_lines(child, sort_subcomponents=sort_subcomponents)
        for child in component.subcomponents
    ]
    if sort_subcomponents:
        children.sort(key="\r\n".join)
    for child in children:
        lines.extend(child)
    lines.append(f"END:{component.name}")
    return lines


@dataclass
class ContentLine:
    """One unfolded content line as read back: name, parameters, raw (escaped) value."""

    name: str
    params: dict[str, list[str]]
    value: str
    lineno: int  # physical line number (1-based) where it starts

    def param(self, key: str) -> str | None:
        values = self.params.get(key)
        return values[0] if values else None


def parse_content_line(text: str, lineno: int) -> ContentLine | None:
    """Split ``NAME;P=V;Q="x:y":VALUE``; None when there is no unquoted colon."""
    name_end = next((i for i, ch in enumerate(text) if ch in ";:"), -1)
    if name_end <= 0:
        return None
    params: dict[str, list[str]] = {}
    pos = name_end
    while pos < len(text) and text[pos] == ";":
        eq = text.find("=", pos)
        if eq < 0:
            return None
        key = text[pos + 1 : eq].upper()
        values, pos = _read_param_values(text, eq + 1)
        if values is None:
            return None
        params.setdefault(key, []).extend(values)
    if pos >= len(text) or text[pos] != ":":
        return None
    return ContentLine(text[:name_end].upper(), params, text[pos + 1 :], lineno)


def _read_param_values(text: str, pos: int) -> tuple[list[str] | None, int]:
    values: list[str] = []
    while True:
        if pos < len(text) and text[pos] == '"':
            close = text.find('"', pos + 1)
            if close < 0:
                return None, pos
            values.append(text[pos + 1 : close])
            pos = close + 1
        else:
            start = pos
            while pos < len(text) and text[pos] not in ",;:":
                pos += 1
            values.append(text[start:pos])
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return values, pos


def iter_unfolded(physical: list[str]) -> Iterator[tuple[int, str]]:
    """Join folded physical lines; yields (first physical line number, logical line)."""
    start = 0
    parts: list[str] = []
    for index, piece in enumerate(physical):
        if piece[:1] in (" ", "\t") and parts:
            parts.append(piece[1:])
            continue
        if parts:
            yield start + 1, "".join(parts)
        start, parts = index, [piece]
    if parts:
        yield start + 1, "".join(parts)
