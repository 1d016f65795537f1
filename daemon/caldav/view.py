"""What a CalDAV user sees: the calendars its patterns match, each event as one resource
whose bytes are its vdir file's (``assemble(meta, [event])``), and sync points recorded
in the state so that sync tokens outlive a restart."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from icsbridge.config.caldav import CaldavUser
from icsbridge.config.settings import Settings
from icsbridge.converters.ical.assembly import RenderedEvent, assemble
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.converters.ical.sharing.levels import Level
from icsbridge.daemon.caldav.names import collection_name
from icsbridge.daemon.feeds.files import is_calendar_key
from icsbridge.daemon.feeds.sharing import Shaper
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.push.vdir import file_name
from icsbridge.daemon.store.caldav import SyncPoint
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar

FULL = Level("full", attendees=True)
"""Everything, attendees included: what CalDAV serves unless a level says less."""
_BARE_HEAD = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//icsbridge//query//EN\r\n"


class NotReady(Exception):
    """The calendar's source has not synced since the daemon started: its events are not
    in memory yet (answered 503 with Retry-After, never as an empty calendar)."""


class Member:
    """One event resource: its UID, its strong ETag, and its bytes (assembled when first
    asked for: a VTIMEZONE per event costs milliseconds, and a listing needs only ETags).

    The ETag hashes everything the bytes are made of (the calendar's facts and the
    events' own bytes), so it changes whenever they do."""

    def __init__(self, uid: str, meta: CalendarMeta, events: list[RenderedEvent]) -> None:
        self.uid = uid
        self._meta = meta
        self._events = events
        digest = hashlib.sha256(repr(meta).encode())
        for event in events:
            digest.update(event.head)
            digest.update(event.tail)
        self.etag = f'"{digest.hexdigest()}"'
        self._data: bytes | None = None

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = assemble(self._meta, self._events)
        return self._data

    @property
    def bare(self) -> bytes:
        """The events without their VTIMEZONEs, for calendar-query filters: the TZIDs are
        tz database names, which the parser resolves itself, and a filter over a large
        calendar must not build a VTIMEZONE per event."""
        pieces = [piece for event in self._events for piece in (event.head, event.tail)]
        return b"".join([_BARE_HEAD, *pieces, b"END:VCALENDAR\r\n"])


@dataclass(frozen=True)
class Snapshot:
    """A calendar's members as served now, by resource name, and its sync point."""

    members: dict[str, Member]
    point: SyncPoint
    last_modified: datetime
    components: tuple[str, ...]
    state_key: str
    """Under which name the state keeps this view's sync points (one per level)."""


class CaldavView:
    """The calendars CalDAV serves, from the feed store (what the feeds serve)."""

    def __init__(self, settings: Callable[[], Settings], feeds: FeedStore, state: StateStore):
        self.settings = settings
        self.feeds = feeds
        self.state = state
        self._cache: dict[tuple[str, Level], tuple[RenderedCalendar, dict[str, str], Snapshot]]
        self._cache = {}
        self._shaper = Shaper()

    def calendars(self, user: CaldavUser) -> dict[str, str]:
        """Collection name -> calendar key, of every calendar ``user`` may see."""
        keys = (k for k in self.feeds.names() if is_calendar_key(k) and user.sees(k))
        return {collection_name(key): key for key in keys}

    def level(self, user: CaldavUser, key: str) -> Level:
        """What ``user`` sees of calendar ``key``'s events: the user's ``details``, else
        its source's ``feed_details``; attendees at every level (CalDAV objects hold them)."""
        src = self.settings().source_of_calendar(key)
        details = user.details or (src.feed_details if src is not None else "full")
        return Level(details, attendees=True)

    def writable(self, user: CaldavUser, key: str) -> bool:
        """``write = true`` for the user, a source that takes edits, and every detail
        shown (an app saves back what it was shown)."""
        src = self.settings().source_of_calendar(key)
        writes = src is not None and src.writable and not src.read_only
        return user.write and writes and self.level(user, key).details == "full"

    def snapshot(self, key: str, level: Level = FULL) -> Snapshot:
        """The calendar's members at ``level`` now; a change since the last look is a new
        revision."""
        rendered = self.feeds.rendered(key)
        content = self.feeds.get(key)
        if rendered is None or content is None:
            raise NotReady(key)
        names = self.state.caldav_names(key) if level.whole else {}
        cached = self._cache.get((key, level))
        if cached is not None and cached[0] is rendered and cached[1] == names:
            return cached[2]
        state_key = key if level.whole else f"{key}#{level.details}"
        shown = self._shaper.events(state_key, rendered.events, level)
        by_uid: dict[str, list[RenderedEvent]] = {}
        for event in shown:
            by_uid.setdefault(event.uid, []).append(event)
        members: dict[str, Member] = {}
        components = {"VEVENT"}
        for uid, events in by_uid.items():
            members[names.get(uid) or file_name(uid)] = Member(uid, rendered.meta, events)
            if events[0].head.startswith(b"BEGIN:VTODO"):
                components.add("VTODO")
        point = self.state.caldav_observe(state_key, {n: m.etag for n, m in members.items()})
        sorted_components = tuple(sorted(components))
        snap = Snapshot(members, point, content.last_modified, sorted_components, state_key)
        self._cache[key, level] = (rendered, names, snap)
        return snap

    def name_for(self, key: str, uid: str, name: str) -> None:
        """Keep the resource name a client created ``uid`` under (Apple and DAVx5 pick
        ``<uuid>.ics``), so it keeps working after the re-read."""
        if name != file_name(uid) and self.state.caldav_names(key).get(uid) != name:
            self.state.set_caldav_name(key, uid, name)
