"""What each feed shares: its detail level, window and (for effective hours) the hours
computed from its calendars, kept incremental.

Every published feed goes through a :class:`Shaper`. A feed shown whole (a calendar feed
at ``full`` with attendees, or one whose events carry no attendee) is served with the
very bytes the sync rendered, so its ETag and Last-Modified behave as before. Otherwise
each event is re-shaped once (:func:`icsbridge.converters.ical.sharing.levels.share_event`)
and kept by its rendered bytes while the feed still uses it; a calendar feed whose bytes
did not change is not re-assembled at all. Windows and effective hours depend on the
day: the feed store passes its clock, and :meth:`Shaper.window_moved` says when a new day
moved a feed's window.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Hashable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from icsbridge.config.settings import FeedSettings, SourceSettings
from icsbridge.config.sharing import WindowSettings
from icsbridge.converters.ical.assembly import RenderedEvent, assemble
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.converters.ical.sharing.hours import effective_intervals, hours_events
from icsbridge.converters.ical.sharing.levels import Level, share_event
from icsbridge.converters.ical.sharing.occurrences import Shape, any_inside, read_shape
from icsbridge.daemon.sync.pull import RenderedCalendar

_PEOPLE = (b"\nATTENDEE", b"\nORGANIZER")
HOURS_WINDOW = WindowSettings(past=timedelta(days=7), future=timedelta(days=180))
_EventKey = tuple[Level, bytes, bytes]


def source_level(source: SourceSettings) -> Level:
    return Level(source.feed_details, source.publishes_attendees)


def feed_level(feed: FeedSettings) -> Level:
    return Level(feed.details, feed.attendees, feed.summary)


def window_bounds(window: WindowSettings, now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``window`` today: whole UTC days, so a feed moves once a day."""
    today = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    return today - _days(window.past), today + _days(window.future) + timedelta(days=1)


def _days(span: timedelta) -> timedelta:
    return timedelta(days=-(-span // timedelta(days=1)))  # a part of a day counts whole


class Shaper:
    """Shaped events and feeds, remembered while they are in use (see the module doc)."""

    def __init__(self) -> None:
        self._events: dict[str, dict[_EventKey, RenderedEvent]] = {}
        self._shapes: dict[str, dict[tuple[str, bytes], Shape | None]] = {}
        self._calendars: dict[str, tuple[Level, bytes, bytes]] = {}
        self._days: dict[str, datetime] = {}
        self._hours_events: dict[str, dict[Hashable, RenderedEvent]] = {}
        self.problems: dict[str, str] = {}
        """A line per feed that cannot be rendered as configured (for health)."""

    def calendar(self, cal: RenderedCalendar, level: Level) -> bytes:
        """The bytes of a calendar's own feed at ``level``."""
        if level.whole or (level.details == "full" and not _has_people(cal.data)):
            self._calendars.pop(cal.meta.key, None)
            self._events.pop(cal.meta.key, None)
            return cal.data
        known = self._calendars.get(cal.meta.key)
        if known is not None and known[0] == level and known[1] == cal.data:
            return known[2]
        data = assemble(cal.meta, self.events(cal.meta.key, cal.events, level))
        self._calendars[cal.meta.key] = (level, cal.data, data)
        return data

    def events(
        self, name: str, events: Sequence[RenderedEvent], level: Level
    ) -> list[RenderedEvent]:
        """``events`` as feed ``name`` shows them at ``level``."""
        if level.whole:
            return list(events)
        previous = self._events.get(name, {})
        kept: dict[_EventKey, RenderedEvent] = {}
        out = []
        for event in events:
            key = (level, event.head, event.tail)
            shared = kept.get(key) or previous.get(key) or share_event(event, level)
            kept[key] = shared
            out.append(shared)
        self._events[name] = kept
        return out

    def shapes(self, name: str, events: Sequence[RenderedEvent]) -> list[Shape | None]:
        """Each event's shape (what its occurrences depend on), read once per content;
        None for an event without a start (no window leaves it out)."""
        previous = self._shapes.get(name, {})
        kept: dict[tuple[str, bytes], Shape | None] = {}
        for event in events:
            key = (event.uid, event.tail)
            if key not in kept:
                kept[key] = previous[key] if key in previous else _shape(event)
        self._shapes[name] = kept
        return [kept[(event.uid, event.tail)] for event in events]

    def in_window(
        self, feed: FeedSettings, events: Sequence[RenderedEvent], zone: tzinfo, now: datetime
    ) -> list[RenderedEvent]:
        """The events of ``feed`` its window keeps: every component of a UID (master and
        overrides) stays while any of its occurrences overlaps the window."""
        if feed.window is None:
            return list(events)
        start, end = window_bounds(feed.window, now)
        self._days[feed.name] = start
        by_uid: dict[str, list[Shape]] = {}
        always: set[str] = set()
        for event, shape in zip(events, self.shapes(feed.name, events), strict=True):
            if shape is None:
                always.add(event.uid)
            else:
                by_uid.setdefault(shape.uid, []).append(shape)
        inside = {uid for uid, found in by_uid.items() if any_inside(found, zone, start, end)}
        inside |= always
        return [event for event in events if event.uid in inside]

    def window_moved(self, feed: FeedSettings, now: datetime) -> bool:
        """True when the day moved ``feed``'s window since it was last rendered."""
        window = _window(feed)
        if window is None or feed.name not in self._days:
            return False
        return window_bounds(window, now)[0] != self._days[feed.name]

    def merged(
        self,
        feed: FeedSettings,
        meta: CalendarMeta,
        calendars: Sequence[RenderedCalendar],
        now: datetime,
    ) -> tuple[bytes, int]:
        """A ``[[feeds]]`` entry's bytes and event count: its window, then its level (or
        its effective hours)."""
        if feed.hours:
            return self._hours(feed, meta, calendars, now)
        events = [event for cal in calendars for event in cal.events]
        zone = ZoneInfo(meta.timezone) if meta.timezone else UTC
        kept = self.in_window(feed, events, zone, now)
        shown = self.events(feed.name, kept, feed_level(feed))
        return assemble(meta, shown), len(shown)

    def _hours(
        self,
        feed: FeedSettings,
        meta: CalendarMeta,
        calendars: Sequence[RenderedCalendar],
        now: datetime,
    ) -> tuple[bytes, int]:
        zones = {cal.meta.timezone for cal in calendars if _matches(feed.open, cal)}
        zone: tzinfo | None = feed.timezone
        if zone is None and len(zones) == 1 and None not in zones:
            zone = ZoneInfo(str(zones.pop()))
        if zone is None:
            found = ", ".join(sorted(z or "none" for z in zones)) or "no calendar yet"
            self.problems[feed.name] = (
                f'feed "{feed.name}": its open calendars do not share one time zone '
                f'({found}); set timezone = "Europe/Paris" (the owner\'s zone) on the feed'
            )
            return assemble(meta, []), 0
        self.problems.pop(feed.name, None)
        start, end = window_bounds(feed.window or HOURS_WINDOW, now)
        self._days[feed.name] = start
        inputs = [(cal, _matches(feed.open, cal), _matches(feed.closed, cal)) for cal in calendars]
        opened = [s for cal, o, _ in inputs if o for s in self._cal_shapes(feed.name, cal)]
        closed = [s for cal, _, c in inputs if c for s in self._cal_shapes(feed.name, cal)]
        spans = effective_intervals(opened, closed, zone, start, end, show=feed.show)
        summary = feed.summary or ("Open" if feed.show == "open" else "Closed")
        known = self._hours_events.get(feed.name)
        made = hours_events(
            spans, zone, feed=feed.name, show=feed.show, summary=summary, known=known
        )
        self._hours_events[feed.name] = made
        events = list(made.values())
        key = getattr(zone, "key", None)
        return assemble(replace(meta, timezone=key or meta.timezone), events), len(events)

    def _cal_shapes(self, feed: str, cal: RenderedCalendar) -> list[Shape]:
        found = self.shapes(f"{feed}\0{cal.meta.key}", cal.events)
        return [shape for shape in found if shape is not None]

    def forget(self, name: str) -> None:
        """Forget feed ``name`` (it is no longer published)."""
        self.retain({n.split("\0")[0] for n in self._known()} - {name})

    def _known(self) -> set[str]:
        tables = (self._events, self._shapes, self._calendars, self._days, self._hours_events)
        return {name for table in (*tables, self.problems) for name in table}

    def retain(self, names: set[str]) -> None:
        """Forget the feeds not in ``names``."""
        tables = (self._events, self._shapes, self._calendars, self._days, self._hours_events)
        for table in (*tables, self.problems):
            for name in [name for name in table if name.split("\0")[0] not in names]:
                del table[name]


def _window(feed: FeedSettings) -> WindowSettings | None:
    """The feed's window; effective hours always have one (default: a week back, 180
    days ahead)."""
    if feed.window is None and feed.hours:
        return HOURS_WINDOW
    return feed.window


def _matches(patterns: Sequence[str], cal: RenderedCalendar) -> bool:
    return any(fnmatch.fnmatchcase(cal.meta.key, pattern) for pattern in patterns)


def _shape(event: RenderedEvent) -> Shape | None:
    try:
        return read_shape(event)
    except ValueError:
        return None


def _has_people(data: bytes) -> bool:
    return any(marker in data for marker in _PEOPLE)
