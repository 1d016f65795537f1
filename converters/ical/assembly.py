"""Calendar assembly: converted events -> deterministic .ics bytes.

The same events (in any order) and the same :class:`Stamp` values always give the same
bytes, so a feed's ETag only moves when its content does. Nothing here reads the clock:
DTSTAMP and LAST-MODIFIED come from the state store through :func:`finalize_event`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from importlib import metadata
from typing import TypeVar

from icalendar import Event, Todo

from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent, PreparedEvent, Zones
from icsbridge.converters.ical.normalize import normalized
from icsbridge.converters.ical.text import (
    component_lines,
    duration_text,
    escape_text,
    fold,
    parse_content_line,
)
from icsbridge.converters.ical.vtimezone import default_last, vtimezone

__all__ = [
    "PreparedEvent",
    "RenderedEvent",
    "Stamp",
    "assemble",
    "content_hash",
    "duration_text",
    "finalize_event",
    "lean_event",
    "normalized",
    "prepare",
    "published_hash",
    "stamp_prepared",
    "validate_feed",
]

IDENTITY_PROPERTIES = frozenset({"UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE"})
_Item = TypeVar("_Item", bound=Event | Todo)


@dataclass(frozen=True)
class Stamp:
    """Identity and version of one event, as kept by the state store (never the clock).

    ``modified`` must be aware; it is stored in UTC and becomes DTSTAMP and LAST-MODIFIED.
    ``sequence`` is written as SEQUENCE when above zero.
    """

    uid: str
    modified: datetime
    sequence: int = 0

    def __post_init__(self) -> None:
        if not self.uid:
            raise ValueError("Stamp.uid is empty")
        if self.modified.tzinfo is None or self.modified.utcoffset() is None:
            raise ValueError(f"Stamp {self.uid}: modified {self.modified} has no time zone")
        if self.sequence < 0:
            raise ValueError(f"Stamp {self.uid}: sequence {self.sequence} is negative")
        object.__setattr__(self, "modified", self.modified.astimezone(UTC))


def finalize_event(component: _Item, stamp: Stamp) -> _Item:
    """A normalised copy of ``component`` with UID, DTSTAMP, LAST-MODIFIED and SEQUENCE.

    Empty text properties are dropped; see :func:`normalized` for the rest.
    """
    event = normalized(component)
    for name in IDENTITY_PROPERTIES:
        event.pop(name, None)
    event.add("uid", stamp.uid)
    event.add("dtstamp", stamp.modified)
    event.add("last-modified", stamp.modified)
    if stamp.sequence > 0:
        event.add("sequence", stamp.sequence)
    return event


def content_hash(component: Event | Todo) -> str:
    """sha256 hex of the event's canonical lines without UID/DTSTAMP/LAST-MODIFIED/SEQUENCE.

    Property order, the order of repeated properties and of alarms do not matter; neither
    do empty text properties nor how an aware time is spelled (any UTC zone gives ``Z``).
    """
    lines = component_lines(normalized(component), skip=IDENTITY_PROPERTIES)
    return hashlib.sha256("\r\n".join(lines).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RenderedEvent:
    """An event's final bytes, ready for :func:`assemble` (see :func:`stamp_prepared`).

    ``head`` is its BEGIN and identity lines and ``tail`` the rest (the very bytes of its
    :class:`PreparedEvent`, shared, not copied), both folded.
    """

    uid: str
    recurrence_key: str
    zones: Zones
    head: bytes
    tail: bytes

    @property
    def data(self) -> bytes:
        return self.head + self.tail

    def unfolded(self) -> bytes:
        """The event's lines unfolded, joined by CRLF (no final CRLF), in UTF-8.

        Folding only inserts CRLF + space, and a content line never holds a CR or LF
        (text escapes them), so removing every CRLF + space gives the lines back.
        """
        return self.data.replace(b"\r\n ", b"")[:-2]

    @property
    def lines(self) -> tuple[str, ...]:
        return tuple(self.unfolded().decode("utf-8").split("\r\n"))

    @property
    def sort_key(self) -> _SortKey:
        # The full text breaks ties (UTF-8 bytes sort as their code points do).
        return (self.uid, self.recurrence_key, self.unfolded())


def published_hash(event: RenderedEvent) -> str:
    """sha256 hex of the event's published lines (identity and stamps included), joined
    by CRLF: what the push compares an uploaded copy with."""
    return hashlib.sha256(event.unfolded()).hexdigest()


def prepare(component: Event | Todo) -> PreparedEvent:
    """Normalise and render ``component`` (a VEVENT or VTODO) once (see :class:`PreparedEvent`)."""
    clean = normalized(component)
    if clean.name not in ("VEVENT", "VTODO"):
        raise ValueError(f"prepare() takes a VEVENT or VTODO, not {clean.name}")
    body = component_lines(clean, skip=IDENTITY_PROPERTIES)
    digest = hashlib.sha256("\r\n".join(body).encode("utf-8")).hexdigest()
    recurrence_id = clean.get("RECURRENCE-ID")
    rid = "" if recurrence_id is None else _instant_key(recurrence_id.dt)
    zones = _shared(tuple((tzid, lo, hi) for tzid, (lo, hi) in sorted(_zone_dates(body).items())))
    tail = b"".join(fold(line) for line in body[1:])
    return PreparedEvent(digest, _shared(rid), zones, _shared(fold(body[0])), tail)


def lean_event(event: ConvertedEvent) -> ConvertedEvent:
    """``event`` (a full one) without its component, prepared instead (see
    ``ConvertedEvent``)."""
    return ConvertedEvent(event.native_key, None, event.rename_hint, prepare(event.vevent()))


_SHARED: dict[object, object] = {}
_S = TypeVar("_S", str, bytes, Zones)


def _shared(value: _S) -> _S:
    """One object for equal small values (BEGIN lines, zone spans, "" recurrence keys),
    which thousands of events repeat; bounded, as the values are few in practice."""
    if len(_SHARED) > 4096:
        _SHARED.clear()
    found = _SHARED.setdefault(value, value)
    return found  # type: ignore[return-value]  # equal values have the same type


def stamp_prepared(prepared: PreparedEvent, stamp: Stamp) -> RenderedEvent:
    """The final event: ``prepared`` with the identity lines in their canonical place.

    Gives exactly the bytes of ``finalize_event`` + render, without a second render.
    """
    modified = stamp.modified.strftime("%Y%m%dT%H%M%SZ")  # Stamp keeps it in UTC
    head = [f"UID:{escape_text(stamp.uid)}", f"DTSTAMP:{modified}", f"LAST-MODIFIED:{modified}"]
    if stamp.sequence > 0:
        head.append(f"SEQUENCE:{stamp.sequence}")
    # The canonical order of VEVENT and VTODO puts exactly these first, after BEGIN.
    data = b"".join([prepared.begin, *(fold(line) for line in head)])
    return RenderedEvent(
        uid=stamp.uid,
        recurrence_key=prepared.recurrence_key,
        zones=prepared.zones,
        head=data,
        tail=prepared.tail,
    )


def assemble(meta: CalendarMeta, events: Sequence[Event | Todo | RenderedEvent]) -> bytes:
    """The feed: a VCALENDAR with ``meta``'s properties, VTIMEZONEs and ``events``.

    Events may come from several calendars (a merged feed). They must carry UID and
    DTSTAMP (see :func:`finalize_event`); they are written sorted by UID then
    RECURRENCE-ID, whatever their input order. Every TZID used gets one VTIMEZONE from
    :mod:`converters.ical.vtimezone`, covering the zone's dates in the feed. Raises ValueError
    when an event lacks UID/DTSTAMP, holds a floating time or an unknown zone.
    """
    if meta.refresh_seconds <= 0:
        raise ValueError(f"calendar {meta.key}: refresh_seconds must be positive")
    pieces: list[tuple[_SortKey, bytes]] = []
    zones: dict[str, tuple[date, date]] = {}
    for event in events:
        if isinstance(event, RenderedEvent):
            # Already serialised (and its zones known) once: reuse the piece as it is.
            key = event.sort_key
            pieces.append((key, event.head))
            pieces.append((key, event.tail))
            for tzid, low, high in event.zones:
                _widen(zones, tzid, low, high)
        else:
            key, event_lines = _render_event(event)
            pieces.append((key, b"".join(fold(line) for line in event_lines)))
            for tzid, (low, high) in _zone_dates(event_lines).items():
                _widen(zones, tzid, low, high)
    pieces.sort(key=lambda piece: piece[0])  # stable: a head stays before its tail
    lines = _calendar_head(meta)
    for tzid in sorted(zones):
        first, latest = zones[tzid]
        last = latest if latest > default_last(first) else None
        try:
            lines.extend(_vtimezone_lines(tzid, first, last))
        except KeyError as err:  # ZoneInfoNotFoundError, or a bad key
            raise ValueError(f'TZID "{tzid}" is not a zone of the tz database') from err
    out = [fold(line) for line in lines]
    out.extend(data for _, data in pieces)
    out.append(fold("END:VCALENDAR"))
    return b"".join(out)


def _widen(zones: dict[str, tuple[date, date]], tzid: str, low: date, high: date) -> None:
    known = zones.get(tzid)
    zones[tzid] = (low, high) if known is None else (min(known[0], low), max(known[1], high))


@lru_cache(maxsize=512)
def _vtimezone_lines(tzid: str, first: date, last: date | None) -> tuple[str, ...]:
    """The rendered VTIMEZONE: calendars of one zone and range share it."""
    return tuple(component_lines(vtimezone(tzid, first, last), sort_subcomponents=False))


@cache
def _prodid() -> str:
    try:
        version = metadata.version("icsbridge")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"-//icsbridge//icsbridge {version}//EN"


def _calendar_head(meta: CalendarMeta) -> list[str]:
    ttl = duration_text(meta.refresh_seconds)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_prodid()}", "CALSCALE:GREGORIAN"]
    if meta.name:
        lines += [f"NAME:{escape_text(meta.name)}", f"X-WR-CALNAME:{escape_text(meta.name)}"]
    if meta.description:
        text = escape_text(meta.description)
        lines += [f"DESCRIPTION:{text}", f"X-WR-CALDESC:{text}"]
    if meta.timezone:
        lines.append(f"X-WR-TIMEZONE:{escape_text(meta.timezone)}")
    lines += [f"REFRESH-INTERVAL;VALUE=DURATION:{ttl}", f"X-PUBLISHED-TTL:{ttl}"]
    categories = [escape_text(category) for category in meta.categories if category]
    if categories:
        lines.append(f"CATEGORIES:{','.join(categories)}")
    return lines


_SortKey = tuple[str, str, bytes]


def _render_event(event: Event | Todo) -> tuple[_SortKey, list[str]]:
    clean = normalized(event)
    uid = str(clean.get("UID", ""))
    if not uid or "DTSTAMP" not in clean:
        summary = clean.get("SUMMARY", "")
        raise ValueError(f'event "{summary}" has no UID or DTSTAMP: call finalize_event first')
    lines = component_lines(clean)
    recurrence_id = clean.get("RECURRENCE-ID")
    rid = "" if recurrence_id is None else _instant_key(recurrence_id.dt)
    # the full text breaks ties, so even duplicate UIDs come out in one order
    return (uid, rid, "\r\n".join(lines).encode("utf-8")), lines


def _instant_key(value: date | datetime) -> str:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if isinstance(value, datetime):
        return value.strftime("%Y%m%dT%H%M%S")
    return value.strftime("%Y%m%d")


def _zone_dates(lines: Iterable[str]) -> dict[str, tuple[date, date]]:
    """For each TZID in the lines: the earliest and latest local date written with it."""
    zones: dict[str, tuple[date, date]] = {}
    for text in lines:
        if "TZID=" not in text:  # cheap test first: few lines carry a TZID
            continue
        line = parse_content_line(text, 0)
        tzid = line.param("TZID") if line is not None else None
        if line is None or tzid is None:
            continue
        for piece in line.value.split(","):
            digits = piece[:8]
            if len(digits) < 8 or not digits.isdigit():
                continue
            try:
                day = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
            except ValueError:  # digits that are no date (a TZID on a text property)
                continue
            low, high = zones.get(tzid, (day, day))
            zones[tzid] = (min(low, day), max(high, day))
    return zones
