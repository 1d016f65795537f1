"""Pieces of the feed store that touch files and formats: where a feed's file goes,
reading back what was published, staged writes, merged-feed metadata, validators."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import FeedSettings, Settings, SourceSettings
from icsbridge.converters.ical.model import CalendarMeta
from icsbridge.daemon.feeds.atomic import sync_dirs, write_atomic
from icsbridge.daemon.feeds.sharing import Shaper, source_level
from icsbridge.daemon.store.feeds import FeedRecord
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar

log = logging.getLogger("icsbridge.feeds")


@dataclass(frozen=True)
class FeedContent:
    """One feed as served: its bytes and the validators that go with them."""

    name: str
    """A calendar key ("hq/locations/Paris HQ/holidays/French Holidays") or a
    ``[[feeds]]`` name ("support-hours")."""
    data: bytes
    etag: str
    """Strong ETag with its quotes: ``'"<sha256 hex of data>"'``."""
    last_modified: datetime
    """Aware UTC, whole seconds: the sync at which the bytes last changed, never the
    time of a request."""
    events: int
    path: Path
    """Where it is written under ``output_dir``."""


def strong_etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest() + '"'


def whole_seconds(now: datetime) -> datetime:
    """``now`` in UTC without its fraction of a second (HTTP dates have none)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"naive datetime {now.isoformat()} given to the feed store")
    return now.astimezone(UTC).replace(microsecond=0)


def next_modified(
    current: FeedContent | None, record: FeedRecord | None, etag: str, stamp: datetime
) -> datetime:
    """The Last-Modified of a feed about to serve bytes of ``etag`` at ``stamp``, as it
    serves ``current`` and its record says ``record``."""
    if current is not None and current.etag == etag:
        return current.last_modified  # only the file moves
    if current is None and record is not None and record.etag == etag:
        return record.last_modified  # the same bytes as last published
    if current is None or stamp > current.last_modified:
        return stamp
    # Strictly later than the previous change, so If-Modified-Since sees it even when two
    # changes fall in one second (or the clock stepped back).
    return current.last_modified + timedelta(seconds=1)


def is_calendar_key(name: str) -> bool:
    """Calendar keys are ``<source>/<path>``; ``[[feeds]]`` names never hold a ``/``."""
    return "/" in name


def calendar_path(output_dir: Path, key: str) -> Path:
    """Where a calendar's file goes; refuses a key that would leave ``output_dir``."""
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise IcsbridgeError(f'calendar key "{key}" is not a safe file path; please report it')
    return output_dir.joinpath(*parts[:-1], parts[-1] + ".ics")


def feed_path(settings: Settings, name: str) -> Path:
    """A calendar's file sits where ``icsbridge export`` writes it; a merged feed's file
    beside the source folders. Raises IcsbridgeError for a key that is not a safe path."""
    output_dir = settings.daemon.output_dir
    if is_calendar_key(name):
        return calendar_path(output_dir, name)
    return output_dir / f"{name}.ics"


def read_published(record: FeedRecord, path: Path) -> FeedContent | None:
    """The content ``record`` describes, if its file still holds exactly those bytes."""
    if record.path != str(path):
        log.info(
            'feed "%s": published at %s, now goes to %s; not served until rendered',
            record.name,
            record.path,
            path,
        )
        return None
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.warning(
            'feed "%s": %s is not readable (%s); not served until the next sync',
            record.name,
            path,
            exc.strerror or type(exc).__name__,
        )
        return None
    if strong_etag(data) != record.etag:
        log.warning(
            'feed "%s": %s changed since it was published; not served until the next sync',
            record.name,
            path,
        )
        return None
    return served_as(record, data, path)


def served_as(record: FeedRecord, data: bytes, path: Path) -> FeedContent:
    """``data`` served as ``record`` describes it, from ``path``."""
    return FeedContent(record.name, data, record.etag, record.last_modified, record.events, path)


def merged_meta(
    feed: FeedSettings, sources: Sequence[SourceSettings], calendars: Sequence[RenderedCalendar]
) -> CalendarMeta:
    """NAME is the description (or the name); the refresh hint is the shortest interval
    of the sources the feed reaches; X-WR-TIMEZONE only when all calendars agree."""
    zones = {cal.meta.timezone for cal in calendars}
    return CalendarMeta(
        key=feed.name,
        name=feed.description or feed.name,
        timezone=zones.pop() if len(zones) == 1 else None,
        refresh_seconds=min((s.interval_seconds for s in sources), default=900),
    )


@dataclass
class Writes:
    """File changes made now, and the state records that follow once they are durable."""

    folders: set[Path] = field(default_factory=set)
    staged: dict[str, FeedRecord] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)
    data: dict[str, bytes] | None = None
    """With daemons sharing the state (a dict): each staged record's bytes, stored with
    it, and staged even when this machine's file could not be written."""

    def write(self, content: FeedContent) -> str | None:
        """Write the file atomically and stage its record; a problem line if it failed."""
        try:
            write_atomic(content.path, content.data, sync_dir=False)
        except OSError as exc:
            if self.data is not None:
                self._stage(content)
            return (
                f'feed "{content.name}": cannot write {content.path}: '
                f"{exc.strerror or type(exc).__name__}; served from memory only until a "
                "write succeeds (check [daemon].output_dir)"
            )
        self.folders.add(content.path.parent)
        self._stage(content)
        return None

    def _stage(self, content: FeedContent) -> None:
        if self.data is not None:
            self.data[content.name] = content.data
        self.staged[content.name] = FeedRecord(
            name=content.name,
            path=str(content.path),
            etag=content.etag,
            last_modified=content.last_modified,
            events=content.events,
            size=len(content.data),
        )
        self.forgotten.discard(content.name)

    def remove(self, name: str, path: Path | None) -> None:
        """Delete the feed's file (when ``path`` is known) and forget its record."""
        self.staged.pop(name, None)
        self.forgotten.add(name)
        if path is None:
            return
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning('feed "%s": cannot remove %s: %s', name, path, exc.strerror)
            return
        self.folders.add(path.parent)


def commit(writes: Writes, state: StateStore) -> None:
    """Make the file changes durable, then record them in one transaction (the one open,
    when the feed store publishes under ``StateStore.publishing``)."""
    sync_dirs(writes.folders)
    if not writes.staged and not writes.forgotten:
        return
    with nullcontext() if state.in_transaction else state.transaction():
        for record in writes.staged.values():
            data = None if writes.data is None else writes.data.get(record.name)
            state.set_feed_record(record, data)
        for name in writes.forgotten:
            state.forget_feed(name)


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    events: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def write_files(
    output_dir: Path,
    state: StateStore,
    results: dict[str, list[RenderedCalendar]],
    report: ExportReport,
    *,
    sources: Sequence[SourceSettings],
    held: AbstractSet[str] = frozenset(),
) -> None:
    """Write each calendar's file and drop the files of calendars that vanished; the
    calendars in ``held`` (an empty guard's) keep the file they have.

    A file holds what the daemon's feed of that calendar publishes: the source's
    ``feed_details``/``feed_attendees`` level (``sources``, by name) applies, so a one-shot
    export or push never puts back what the daemon leaves out (attendees' addresses)."""
    touched: set[Path] = set()
    shaper = Shaper()
    levels = {source.name: source_level(source) for source in sources}
    for name, calendars in results.items():
        previous = state.calendars(name)
        level = levels[name]
        for cal in calendars:
            if cal.meta.key in held:
                continue
            path = calendar_path(output_dir, cal.meta.key)
            write_atomic(path, shaper.calendar(cal, level), sync_dir=False)
            touched.add(path.parent)
            state.set_calendar(name, cal.meta.key, str(path))
            report.written.append(path)
            report.events += len(cal.events)
        current = {c.meta.key for c in calendars}
        gone = sorted(set(previous) - current)
        if gone and not calendars:
            log.warning(
                'source "%s" answered with no calendar where it had %d; keeping their files '
                "(remove them by hand if the schedules really were deleted)",
                name,
                len(gone),
            )
            continue
        for key in gone:
            old = Path(previous[key])
            old.unlink(missing_ok=True)
            touched.add(old.parent)
            state.forget_calendar(name, key)
            report.removed.append(old)
    sync_dirs(touched)
