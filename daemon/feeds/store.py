"""The feed store: what the daemon serves and writes, one feed per calendar plus the
merged feeds of ``[[feeds]]``.

Each feed's bytes, strong ETag and Last-Modified live in memory (``get()`` is one dict
lookup, the server calls it per request) and in a file under ``[daemon].output_dir``,
written atomically only when the bytes change. The state store keeps a record of what
was last published, so a restarted daemon serves the same bytes with the same
validators before its first sync (:meth:`FeedStore.load_published`).

A source that fails is simply not passed to :meth:`FeedStore.update_source`: its feeds
keep their content. A source that suddenly answers with nothing where it had events is
held the same way (the empty guard) unless ``accept_empty``; so is one calendar that
answers with no events where it had some while others of its source still have events.

Daemons sharing a PostgreSQL state serve the same feeds: see ``daemon.feeds.shared``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import FeedSettings, Settings
from icsbridge.daemon.feeds.budget import Budgets, OverBudget, max_bytes
from icsbridge.daemon.feeds.files import (
    FeedContent,
    Writes,
    commit,
    feed_path,
    is_calendar_key,
    merged_meta,
    next_modified,
    read_published,
    served_as,
    strong_etag,
    whole_seconds,
)
from icsbridge.daemon.feeds.guards import EmptyGuards, emptied_calendars
from icsbridge.daemon.feeds.shared import SharedFeeds
from icsbridge.daemon.feeds.sharing import Shaper, source_level
from icsbridge.daemon.store.feeds import FeedRecord
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar

__all__ = ["FeedContent", "FeedStore"]

log = logging.getLogger("icsbridge.feeds")


class FeedStore:
    """Every feed the daemon publishes. All methods run on the one asyncio thread."""

    def __init__(self, settings: Settings, state: StateStore, *, accept_empty: bool = False):
        self._settings = settings
        self._state = state
        self._feeds: dict[str, FeedContent] = {}
        # What the state says was last published (kept in step with every write).
        self._records: dict[str, FeedRecord] = state.feed_records()
        # Each source's latest good calendars, for the merged feeds.
        self._calendars: dict[str, dict[str, RenderedCalendar]] = {}
        self._synced: set[str] = set()
        # Merged feeds still serving what load_published() restored: they may hold events
        # of sources not synced yet, so they are not rendered before those sources sync.
        self._restored: set[str] = set()
        self._guards = EmptyGuards(accept_empty)
        self._budgets = Budgets()
        self._write_warnings: dict[str, str] = {}
        self._shaper = Shaper()  # levels, windows and hours of what is published
        self._basis: dict[str, bytes] = {}  # calendar -> digest of the rows it shows
        # Several daemons on one PostgreSQL state: what they share (None on SQLite).
        self._shared = SharedFeeds(state) if state.dialect == "postgresql" else None

    # -- reading (cheap: the server calls get() per request) -----------------

    def get(self, name: str) -> FeedContent | None:
        return self._feeds.get(name)

    def names(self) -> list[str]:
        return sorted(self._feeds)

    def rendered(self, key: str) -> RenderedCalendar | None:
        """Calendar ``key`` as its feed serves it, event by event (CalDAV serves them one
        by one); None before its source's first sync in this process."""
        return self._calendars.get(key.partition("/")[0], {}).get(key)

    def rows_moved(self, source: str, calendar: str) -> bool:
        """Whether the state's rows of ``calendar`` changed since its feed was published
        here (``icsbridge push`` beside the daemon, a push whose re-read failed), or are
        not known to be its basis (restored at start): an upload made from the feed
        would then be planned against rows its client never saw."""
        return self._basis.get(calendar) != self._state.items_digest(source, calendar)

    def warnings(self) -> dict[str, list[str]]:
        """Lines for health, by source name (empty guard) or feed name (size, disk)."""
        over = {name: over.line() for name, over in self._budgets.over().items()}
        return self._guards.warnings(over, self._write_warnings, self._shaper.problems)

    # -- start ----------------------------------------------------------------

    def load_published(self) -> None:
        """Serve what was last published, before any sync.

        A record is served only when its file is where the current config puts it and
        still holds the recorded bytes. Records of feeds the config no longer has
        (a removed source or ``[[feeds]]`` entry) are dropped with their files.
        """
        with self._turn(), self._writes() as writes:
            for name, record in sorted(self._records.items()):
                if not self.configured(name):
                    self.drop(writes, name)
                    continue
                if name in self._feeds:  # caught up from a shared state
                    continue
                path = self._path(name)
                content = None if path is None else read_published(record, path)
                if content is None:
                    continue
                self._feeds[name] = content
                if not is_calendar_key(name):
                    self._restored.add(name)
                self._check_size(content)
        log.info("serving %d feeds published earlier", len(self._feeds))

    # -- syncs ----------------------------------------------------------------

    def update_source(
        self, source: str, calendars: list[RenderedCalendar], *, now: datetime
    ) -> list[str]:
        """A successful sync of ``source``; returns the names of the feeds that changed.

        Per-calendar feeds take the calendars' bytes; calendars the source no longer has
        are removed (feed, file, record), unless the empty guard holds the source; every
        merged feed the source can reach is re-rendered. Only changed bytes are written,
        and only they move Last-Modified (to ``now``, whole seconds).
        """
        if source not in self._source_names():
            log.warning('sync of source "%s" ignored: it is no longer configured', source)
            return []
        current = {cal.meta.key: cal for cal in calendars}
        strays = [key for key in current if not key.startswith(source + "/")]
        if strays:
            raise ValueError(f'source "{source}" returned calendars of another source: {strays}')
        with self._turn(source):
            return self._update(source, current, whole_seconds(now))

    def _update(
        self, source: str, current: dict[str, RenderedCalendar], stamp: datetime
    ) -> list[str]:
        before = self._calendar_keys(source)
        events = self._event_count(source, before)
        if self._guards.hold_source(source, list(current.values()), events, len(before)):
            return []
        held = self._guards.hold_calendars(
            source,
            current,
            emptied_calendars(source, current.values(), self._state),
            {key: served.events for key, served in self._feeds.items()},
            self._calendars.get(source, {}),
        )
        changed: list[str] = []
        level = source_level(next(s for s in self._settings.sources if s.name == source))
        with self._writes() as writes:
            self._retry_failed_writes(writes)
            for key in sorted(current.keys() - held):
                cal = current[key]
                data = self._shaper.calendar(cal, level)
                if self._publish(writes, key, data, len(cal.events), stamp):
                    changed.append(key)
            for key in sorted(before - current.keys()):
                self.drop(writes, key)
                changed.append(key)
            first_sync = source not in self._synced
            for key in held:
                kept = self._guards.calendars[key].kept
                current[key] = kept or current[key]
            self._calendars[source] = current
            self._synced.add(source)
            self._basis.update({k: self._state.items_digest(source, k) for k in current})
            for feed in self._settings.feeds:
                moved = self._shaper.window_moved(feed, stamp)
                if not (changed or first_sync or moved) or not feed.reaches(source):
                    continue
                if self._render_merged(writes, feed, stamp):
                    changed.append(feed.name)
        return changed

    def reconfigure(self, settings: Settings, *, now: datetime | None = None) -> list[str]:
        """Apply a re-read config at once; returns the feeds that changed or went away.

        Feeds of removed sources and removed ``[[feeds]]`` entries are dropped; every
        merged feed is re-rendered from memory (written only if its bytes changed).
        ``now`` (default: the clock) becomes the Last-Modified of what changes.
        """
        stamp = whole_seconds(now or datetime.now(UTC))
        self._settings = settings
        changed: list[str] = []
        with self._turn(), self._writes() as writes:
            self._retry_failed_writes(writes)
            for name in sorted(set(self._feeds) | set(self._records)):
                if not self.configured(name):
                    self.drop(writes, name)
                    changed.append(name)
            kept = self._source_names()
            for source in set(self._calendars) | set(self._guards.sources) | self._synced:
                if source not in kept:
                    self._calendars.pop(source, None)
                    self._guards.sources.pop(source, None)
                    self._synced.discard(source)
            for key, one in list(self._guards.calendars.items()):
                if one.source not in kept:
                    del self._guards.calendars[key]
            for src in settings.sources:  # a level may have changed
                for key, cal in sorted(self._calendars.get(src.name, {}).items()):
                    data = self._shaper.calendar(cal, source_level(src))
                    if key in self._feeds and self._publish(
                        writes, key, data, len(cal.events), stamp
                    ):
                        changed.append(key)
            self._shaper.retain({*self._feeds, *(feed.name for feed in settings.feeds)})
            for feed in settings.feeds:
                if self._render_merged(writes, feed, stamp):
                    changed.append(feed.name)
        return changed

    # -- daemons sharing a PostgreSQL state (``daemon.feeds.shared``) -----------

    def refresh(self) -> list[str]:
        """Serve what other daemons published since; the feeds that changed (SQLite: none)."""
        if self._shared is None:
            return []
        self._records = self._state.feed_records()
        return self._shared.catch_up(self, self._records)

    @contextmanager
    def _turn(self, source: str | None = None) -> Iterator[None]:
        """Shared state: publish under its lock, caught up first; store ``source``'s pieces."""
        if self._shared is None:
            yield
            return
        with self._shared.publishing():
            self.refresh()
            yield
            if source is not None:
                blind = frozenset(k for k, h in self._guards.calendars.items() if not h.kept)
                self._shared.save(source, self._calendars.get(source, {}), self._basis, blind)

    def adopt(self, writes: Writes, record: FeedRecord, data: bytes) -> None:
        path = self._path(record.name)
        if path is None:
            return
        content = served_as(record, data, path)
        self._write(writes, content)
        self._feeds[record.name] = content
        if not is_calendar_key(record.name):
            self._restored.add(record.name)
        self._check_size(content)

    def adopt_calendar(
        self, key: str, source: str, cal: RenderedCalendar | None, basis: bytes
    ) -> None:
        if cal is None:
            self._calendars.get(source, {}).pop(key, None)
            return
        self._calendars.setdefault(source, {})[key] = cal
        self._basis[key] = basis
        self._synced.add(source)

    # -- internals ------------------------------------------------------------

    def _source_names(self) -> set[str]:
        return {source.name for source in self._settings.sources}

    def held_calendars(self, source: str) -> set[str]:
        """The calendars of ``source`` the per-calendar empty guard keeps at their last good
        content: what else follows that source (its vdirs) must keep them too."""
        return {key for key, one in self._guards.calendars.items() if one.source == source}

    def configured(self, name: str) -> bool:
        """Whether the config has feed ``name`` (a configured source's calendar, a [[feeds]])."""
        if is_calendar_key(name):
            return self._settings.source_of_calendar(name) is not None
        return any(feed.name == name for feed in self._settings.feeds)

    def _calendar_keys(self, source: str) -> set[str]:
        """Every calendar of ``source`` served, recorded or held in memory."""
        prefix = source + "/"
        known = {*self._calendars.get(source, {}), *self._feeds, *self._records}
        return {key for key in known if key.startswith(prefix)}

    def _event_count(self, source: str, keys: set[str]) -> int:
        if source in self._synced:
            return sum(len(cal.events) for cal in self._calendars[source].values())
        # Not synced since the start: what was last published is the last good sync.
        return sum(self._records[key].events for key in keys if key in self._records)

    def _render_merged(self, writes: Writes, feed: FeedSettings, stamp: datetime) -> bool:
        sources = [s for s in self._settings.sources if feed.reaches(s.name)]
        waiting = sorted(s.name for s in sources if s.name not in self._synced)
        if waiting and feed.name in self._restored:
            # Rendering now would drop those sources' events: keep what is served.
            log.debug('feed "%s" waits for a first sync of %s', feed.name, ", ".join(waiting))
            return False
        if any(h.kept is None and feed.matches(k) for k, h in self._guards.calendars.items()):
            # A held calendar whose events this process never had: keep what is served.
            return False
        calendars = [
            cal
            for source in sources
            for key, cal in sorted(self._calendars.get(source.name, {}).items())
            if feed.matches(key)
        ]
        meta = merged_meta(feed, sources, calendars)
        self._restored.discard(feed.name)
        data, count = self._shaper.merged(feed, meta, calendars, stamp)
        return self._publish(writes, feed.name, data, count, stamp)

    def _publish(
        self, writes: Writes, name: str, data: bytes, events: int, stamp: datetime
    ) -> bool:
        """Make ``data`` the feed's content; True when the content served changed.

        Same bytes: nothing is done, unless the file must go elsewhere (``output_dir``
        changed), which is no change to the content.
        """
        path = feed_path(self._settings, name)
        etag = strong_etag(data)
        current = self._feeds.get(name)
        if current is not None and current.etag == etag and current.path == path:
            return False
        modified = next_modified(current, self._records.get(name), etag, stamp)
        content = FeedContent(name, data, etag, modified, events, path)
        self._write(writes, content)
        self._feeds[name] = content
        self._check_size(content)
        return current is None or current.etag != etag

    def _write(self, writes: Writes, content: FeedContent) -> None:
        problem = writes.write(content)
        if problem is None:
            self._write_warnings.pop(content.name, None)
            self._records[content.name] = writes.staged[content.name]
        else:
            if content.name not in self._write_warnings:  # logged once, kept for health
                log.error("%s", problem)
            self._write_warnings[content.name] = problem

    def _retry_failed_writes(self, writes: Writes) -> None:
        """Files that could not be written: the content is served, the disk catches up."""
        for name in sorted(self._write_warnings):
            content = self._feeds.get(name)
            if content is None:
                del self._write_warnings[name]
            else:
                self._write(writes, content)

    def drop(self, writes: Writes, name: str) -> None:
        """Serve ``name`` no more; its file and record go (config or another daemon)."""
        self._feeds.pop(name, None)
        self._restored.discard(name)
        self._records.pop(name, None)
        self._budgets.drop(name)
        self._shaper.forget(name)
        self._write_warnings.pop(name, None)
        writes.remove(name, self._path(name))
        log.info('feed "%s" removed', name)

    def _path(self, name: str) -> Path | None:
        try:
            return feed_path(self._settings, name)
        except IcsbridgeError as exc:  # a damaged record: never touch a path outside
            log.warning("%s", exc)
            return None

    def _check_size(self, content: FeedContent) -> None:
        # Judged as of the content's own change: the same bytes, the same advice.
        limit = max_bytes(self._settings, content.name)
        self._budgets.check(content, limit, content.last_modified, log=log)

    def over_budget(self) -> dict[str, OverBudget]:
        """The feeds over their ``max_bytes`` now, with the window that would fit them."""
        return self._budgets.over()

    @contextmanager
    def _writes(self) -> Iterator[Writes]:
        writes = Writes(data=None if self._shared is None else {})
        try:
            yield writes
        finally:
            # Files first, then the records that describe them: a crash in between
            # leaves records that do not match their files, which are then not served.
            commit(writes, self._state)
            if self._shared is not None:
                self._shared.changed.update(writes.staged, writes.forgotten)
