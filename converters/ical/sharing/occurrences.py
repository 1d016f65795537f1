"""Occurrences of rendered events, expanded by python-dateutil (never by hand).

Times are expanded as the calendar shows them: a recurring 22:00-06:00 shift keeps its
wall times across a change of clock (the rule runs on aware wall times in the event's
own zone; the end is the start's wall time plus the nominal length). An all-day event
is the span of its dates in the zone the caller gives. Overrides (RECURRENCE-ID)
replace the occurrence they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil.rrule import rruleset, rrulestr
from icalendar import Component

from icsbridge.converters.ical.assembly import RenderedEvent

__all__ = ["Occurrence", "Shape", "Stamped", "any_inside", "occurrences", "read_shape"]

Occurrence = tuple[datetime, datetime]
"""An occurrence's start and end, aware."""
Stamped = tuple[datetime, datetime, datetime | None]
"""An occurrence's start and end, and the LAST-MODIFIED of its event."""


@dataclass(frozen=True)
class Shape:
    """What of an event its occurrences depend on."""

    uid: str
    start: date | datetime
    length: timedelta
    """End minus start, as wall times (nominal days for all-day events)."""
    rules: rruleset | None
    recurrence_id: date | datetime | None
    cancelled: bool
    transparent: bool
    modified: datetime | None

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


def read_shape(event: RenderedEvent) -> Shape:
    """The shape of one rendered VEVENT or VTODO (raises ValueError when it has no start)."""
    component = Component.from_ical(event.data)
    start_prop = component.get("DTSTART") or component.get("DUE")
    if start_prop is None:
        raise ValueError(f"event {event.uid} has no DTSTART")
    start = start_prop.dt
    if isinstance(start, datetime) and start.tzinfo is None:
        raise ValueError(f"event {event.uid}: floating DTSTART")
    length = _length(component, start)
    rid = component.get("RECURRENCE-ID")
    modified = component.get("LAST-MODIFIED")
    return Shape(
        uid=event.uid,
        start=start,
        length=length,
        rules=_rules(component, start),
        recurrence_id=None if rid is None else rid.dt,
        cancelled=str(component.get("STATUS", "")).upper() == "CANCELLED",
        transparent=str(component.get("TRANSP", "")).upper() == "TRANSPARENT",
        modified=None if modified is None else modified.dt,
    )


def _length(component: Component, start: date | datetime) -> timedelta:
    end = component.get("DTEND")
    if end is not None:
        value = end.dt
        if isinstance(start, datetime) and isinstance(value, datetime):
            # Wall time against wall time in the start's zone: the nominal length.
            wall_end = value.astimezone(start.tzinfo).replace(tzinfo=None)
            return wall_end - start.replace(tzinfo=None)
        return _as_date(value) - _as_date(start)
    duration = component.get("DURATION")
    if duration is not None:
        return duration.dt  # type: ignore[no-any-return]
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _rules(component: Component, start: date | datetime) -> rruleset | None:
    if "RRULE" not in component and "RDATE" not in component:
        return None
    first = start if isinstance(start, datetime) else datetime.combine(start, time())
    rules = rruleset()
    rules.rdate(first)
    for recur in _values(component.get("RRULE")):
        text = recur.to_ical().decode("ascii")
        if not isinstance(start, datetime):
            # A date UNTIL with a date DTSTART: dateutil compares it to midnight.
            text = ";".join(_day_until(part) for part in text.split(";"))
        rules.rrule(rrulestr(text, dtstart=first))  # type: ignore[arg-type]
    for name, add in (("RDATE", rules.rdate), ("EXDATE", rules.exdate)):
        for prop in _values(component.get(name)):
            for value in prop.dts:
                moment = value.dt
                if isinstance(moment, tuple):  # a PERIOD: its start
                    moment = moment[0]
                if not isinstance(moment, datetime):
                    moment = datetime.combine(moment, time())
                add(_like(moment, first))
    return rules


def _day_until(part: str) -> str:
    if part.startswith("UNTIL=") and len(part) == 14:
        return part + "T000000"
    return part


def _like(moment: datetime, first: datetime) -> datetime:
    """``moment`` in the form of ``first`` (aware in its zone, or naive)."""
    if first.tzinfo is None:
        return moment.replace(tzinfo=None)
    return moment.astimezone(first.tzinfo) if moment.tzinfo else moment.replace(tzinfo=first.tzinfo)


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _span(shape: Shape, begin: date | datetime, zone: tzinfo) -> Occurrence:
    if isinstance(begin, datetime) and not shape.all_day:
        wall = begin.replace(tzinfo=None) + shape.length
        return begin, wall.replace(tzinfo=begin.tzinfo)
    day = _as_date(begin)
    first = datetime.combine(day, time(), zone)
    return first, datetime.combine(day + timedelta(days=shape.length.days), time(), zone)


def occurrences(
    shapes: Sequence[Shape], zone: tzinfo, start: datetime, end: datetime
) -> list[Stamped]:
    """Every occurrence of ``shapes`` (the events of one calendar or more, overrides
    included) overlapping ``[start, end)``, sorted; all-day dates in ``zone``.
    Cancelled occurrences are left out."""
    overrides: dict[str, set[datetime]] = {}
    for shape in shapes:
        if shape.recurrence_id is not None:
            rid = _span(shape, shape.recurrence_id, zone)[0].astimezone(UTC)
            overrides.setdefault(shape.uid, set()).add(rid)
    found: list[Stamped] = []
    for shape in shapes:
        replaced = overrides.get(shape.uid, set()) if shape.recurrence_id is None else set()
        for begin, finish in _expand(shape, zone, start, end):
            if begin.astimezone(UTC) in replaced or shape.cancelled:
                continue
            found.append((begin, finish, shape.modified))
    return sorted(found, key=lambda span: (span[0].astimezone(UTC), span[1].astimezone(UTC)))


def _expand(shape: Shape, zone: tzinfo, start: datetime, end: datetime) -> Iterator[Occurrence]:
    if shape.rules is None or shape.recurrence_id is not None:
        span = _span(shape, shape.start, zone)
        if span[1] > start and span[0] < end:
            yield span
        return
    # Candidates from a little before the window: an occurrence that started earlier
    # may still overlap it.
    slack = abs(shape.length) + timedelta(days=2)
    low, high = start - slack, end + timedelta(days=2)
    if shape.all_day:
        low, high = low.replace(tzinfo=None), high.replace(tzinfo=None)
    for begin in shape.rules.between(low, high, inc=True):
        span = _span(shape, begin if not shape.all_day else begin.date(), zone)
        if span[1] > start and span[0] < end:
            yield span


def any_inside(shapes: Iterable[Shape], zone: tzinfo, start: datetime, end: datetime) -> bool:
    """True when some occurrence of ``shapes`` overlaps ``[start, end)``."""
    return any(next(_expand(shape, zone, start, end), None) for shape in shapes)
