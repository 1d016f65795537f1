"""What ``validate_feed`` reads a feed into: a component tree and typed time values."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from icsbridge.converters.ical.text import ContentLine


@dataclass
class Node:
    """One component (BEGIN..END) with its content lines and subcomponents."""

    name: str
    lineno: int
    lines: list[ContentLine] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    def all(self, name: str) -> list[ContentLine]:
        return [line for line in self.lines if line.name == name]

    def one(self, name: str) -> ContentLine | None:
        found = self.all(name)
        return found[0] if found else None


def label(node: Node) -> str:
    """How a problem names its place: the top-level component holding ``node``."""
    while node.parent is not None and node.parent.name not in ("", "VCALENDAR"):
        node = node.parent
    if node.name in ("VEVENT", "VTODO"):
        noun = "event" if node.name == "VEVENT" else "to-do"
        uid = node.one("UID")
        if uid is None or not uid.value:
            return f"{noun} at line {node.lineno} (no UID)"
        rid = node.one("RECURRENCE-ID")
        return f'{noun} "{uid.value}"' + (f" (RECURRENCE-ID {rid.value})" if rid else "")
    if node.name == "VTIMEZONE":
        tzid = node.one("TZID")
        return f'VTIMEZONE "{tzid.value}"' if tzid else f"VTIMEZONE at line {node.lineno}"
    if node.name == "VCALENDAR":
        return "calendar"
    if not node.name:
        return "feed"
    return f"{node.name} at line {node.lineno}"


_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")


@dataclass(frozen=True)
class TimeValue:
    """A DATE or DATE-TIME value as written: its form and the wall time it names."""

    is_date: bool
    utc: bool
    tzid: str | None
    wall: datetime  # naive; midnight for a DATE

    @property
    def form(self) -> str:
        if self.is_date:
            return "DATE"
        if self.utc:
            return "UTC DATE-TIME"
        return f"DATE-TIME with TZID={self.tzid}" if self.tzid else "floating DATE-TIME"

    def instant(self) -> datetime | None:
        """The moment in UTC when it can be known (UTC, or a TZID zoneinfo has)."""
        if self.utc:
            return self.wall.replace(tzinfo=UTC)
        if self.tzid is None or self.is_date:
            return None
        try:
            return self.wall.replace(tzinfo=ZoneInfo(self.tzid)).astimezone(UTC)
        except (KeyError, ValueError, OSError):  # unknown zone, or a key zoneinfo refuses
            return None


def parse_time(text: str, tzid: str | None) -> TimeValue | None:
    """Read one DATE / DATE-TIME value (None when it is neither)."""
    date_match = _DATE.match(text)
    try:
        if date_match:
            year, month, day = (int(part) for part in date_match.groups())
            return TimeValue(True, False, None, datetime(year, month, day))
        match = _DATE_TIME.match(text)
        if match:
            year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
            wall = datetime(year, month, day, hour, minute, second)
            utc = match.group(7) == "Z"
            return TimeValue(False, utc, None if utc else tzid, wall)
    except ValueError:  # 20241340 and the like
        return None
    return None


def line_times(line: ContentLine) -> list[TimeValue | None]:
    """Every value of a date-time property (PERIOD values: their start)."""
    tzid = line.param("TZID")
    return [parse_time(piece.split("/")[0], tzid) for piece in line.value.split(",")]


_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def duration_seconds(text: str) -> int | None:
    """Seconds of an RFC 5545 DURATION value (None when it does not parse)."""
    match = _DURATION.match(text)
    if match is None or text.rstrip("T").endswith("P"):
        return None
    sign, weeks, days, hours, minutes, seconds = match.groups()
    total = (
        int(weeks or 0) * 604800
        + int(days or 0) * 86400
        + int(hours or 0) * 3600
        + int(minutes or 0) * 60
        + int(seconds or 0)
    )
    return -total if sign == "-" else total
