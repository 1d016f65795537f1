"""Feeds served alike by every daemon sharing a PostgreSQL state.

The state is the truth; each daemon serves from memory and follows it:

- a daemon publishes (a sync, a push, a reload, its start) inside one transaction that
  holds the publish lock (``StateStore.publishing``). It first catches up on what the
  others stored (:meth:`SharedFeeds.catch_up`), then renders: a merged feed is assembled
  from the latest pieces of every source, whichever daemon synced them, and bytes equal
  to what is stored keep the stored Last-Modified. It then stores each changed feed's
  record with its bytes, the rendered pieces of the calendars of the source it synced
  (:meth:`SharedFeeds.save`, ``daemon.feeds.pieces``), and NOTIFYs the feeds' names;
- the other daemons hear the notice (``daemon.store.postgres.notify``) and catch up
  outside any lock: the records whose ETag or Last-Modified differ from what they serve
  are read with their bytes and served (and written to their own ``output_dir``); the
  pieces whose digest differs are read, so that CalDAV and the next merged feed use them.

So any daemon serves the same bytes, ETag and Last-Modified for every feed once it has
heard the last notice, or caught up after a reconnect. A SQLite state has one daemon
and none of this.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from icsbridge.daemon.feeds.atomic import sync_dirs
from icsbridge.daemon.feeds.files import FeedContent, Writes, strong_etag
from icsbridge.daemon.feeds.pieces import decode, encode
from icsbridge.daemon.store.feeds import FeedRecord, StoredPiece
from icsbridge.daemon.store.postgres.notify import payload
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar

log = logging.getLogger("icsbridge.feeds")


class Host(Protocol):
    """What :class:`SharedFeeds` needs of the feed store it follows the state for."""

    def configured(self, name: str) -> bool: ...

    def get(self, name: str) -> FeedContent | None: ...

    def names(self) -> list[str]: ...

    def adopt(self, writes: Writes, record: FeedRecord, data: bytes) -> None:
        """Serve ``data`` as ``record`` says (its file written through ``writes``)."""

    def drop(self, writes: Writes, name: str) -> None:
        """Stop serving ``name``: another daemon removed it."""

    def adopt_calendar(
        self, key: str, source: str, cal: RenderedCalendar | None, basis: bytes
    ) -> None:
        """Hold ``cal`` as calendar ``key`` of ``source`` (None: forget it)."""


class SharedFeeds:
    """The feed store's link to a shared state (see the module doc)."""

    def __init__(self, state: StateStore) -> None:
        self._state = state
        self._digests: dict[str, tuple[str, str]] = {}
        """Calendar key -> (source, digest) of the pieces held in memory."""
        self.changed: set[str] = set()
        """Feeds written in the current publishing, announced at its end."""
        self._warned: set[str] = set()  # each damaged row is said once, not per catch-up

    def _warn(self, line: str) -> None:
        if line not in self._warned:
            self._warned.add(line)
            log.warning("%s", line)

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """One transaction under the publish lock (the caller catches up first and saves
        the pieces before the end); the feeds written in it are announced at its commit."""
        self.changed.clear()
        with self._state.publishing():
            yield
            if self.changed:
                self._state.announce(payload(self.changed))
        self.changed.clear()

    def catch_up(self, host: Host, records: Mapping[str, FeedRecord]) -> list[str]:
        """Serve what the state holds where it differs from what ``host`` serves; the
        names of the feeds that changed. ``records``: the state's, read just before."""
        stale = [
            name
            for name, record in records.items()
            if host.configured(name) and _differs(host.get(name), record)
        ]
        writes = _LocalWrites(data={})
        changed = []
        for name, (record, data) in sorted(self._state.stored_feeds(stale).items()):
            if strong_etag(data) != record.etag:
                self._warn(f'feed "{name}": the bytes stored do not match its ETag; not served')
                continue
            host.adopt(writes, record, data)
            changed.append(name)
        for name in host.names():
            if name not in records and host.configured(name):
                host.drop(writes, name)
                changed.append(name)
        self._calendars(host)
        sync_dirs(writes.folders)
        return changed

    def _calendars(self, host: Host) -> None:
        stored = self._state.piece_digests()
        wanted = [
            key
            for key, digest in stored.items()
            if host.configured(key) and self._digests.get(key, ("", ""))[1] != digest
        ]
        for piece in self._state.stored_pieces(wanted):
            try:
                cal = decode(piece.pieces, piece.digest)
            except ValueError as exc:
                self._warn(f'calendar "{piece.calendar}": its stored pieces are not used: {exc}')
                continue
            host.adopt_calendar(piece.calendar, piece.source, cal, piece.basis)
            self._digests[piece.calendar] = (piece.source, piece.digest)
        for key, (source, _digest) in list(self._digests.items()):
            if key not in stored:
                host.adopt_calendar(key, source, None, b"")
                del self._digests[key]

    def save(
        self,
        source: str,
        calendars: Mapping[str, RenderedCalendar],
        basis: Mapping[str, bytes],
        skip: frozenset[str] = frozenset(),
    ) -> None:
        """Store the pieces of ``source``'s calendars that changed, forget those it no
        longer has; ``skip``: calendars held by the empty guard without content of theirs
        here (the stored ones stay)."""
        for key, cal in sorted(calendars.items()):
            digest = strong_etag(cal.data)
            if key in skip or self._digests.get(key) == (source, digest):
                continue
            piece = StoredPiece(key, source, digest, basis.get(key, b""), encode(cal))
            self._state.set_piece(piece)
            self._digests[key] = (source, digest)
        for key, (owner, _digest) in list(self._digests.items()):
            if owner == source and key not in calendars:
                self._state.forget_piece(key)
                del self._digests[key]


class _LocalWrites(Writes):
    """This machine's files only (the state has the records already); a file that holds
    the bytes already is left as it is."""

    def write(self, content: FeedContent) -> str | None:
        try:
            if content.path.read_bytes() == content.data:
                self._stage(content)
                return None
        except OSError:
            pass  # missing or unreadable: written
        return super().write(content)


def _differs(served: FeedContent | None, record: FeedRecord) -> bool:
    return (
        served is None or served.etag != record.etag or served.last_modified != record.last_modified
    )
