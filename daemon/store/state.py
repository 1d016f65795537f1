"""The state store: what must outlive a run, in one SQLite file (WAL mode, the default)
or one PostgreSQL database that several daemons share (``daemon.store.backend``):

- per item: the iCalendar UID <-> (source, calendar, native key) mapping, the content
  hash, the time that content was first seen (it becomes DTSTAMP/LAST-MODIFIED) and a
  SEQUENCE counter, so UIDs survive restarts and renames and stamps come from data;
- per calendar: the files last written for it, so a vanished schedule's file can go;
- per source: last attempt, last success, last error;
- per feed: its URL token (rotatable) and what was last published (file, ETag,
  Last-Modified), so a restarted daemon serves the same bytes with the same validators;
- secrets the APIs hand back (a rotated OAuth refresh token), so a restart keeps them;
- the push journal: every API call a push makes, written before it is sent and marked
  when it is done, so a crash in between is reconciled by the next run (``daemon.push.engine``);
- per vdir file: the hash of what was last written, so an edit made there is seen;
- per CalDAV calendar: its members by revision (sync tokens), names clients chose, and the
  alarms each CalDAV user added (``daemon.store.caldav``).

A SQLite file is created with mode 0600 because it may hold a refresh token (on
PostgreSQL the role's grants guard it). Schema changes go through
``daemon.store.schema.MIGRATIONS``: each entry upgrades version N-1 to N, on both backends.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from icsbridge.config.daemon.state import StateLocation
from icsbridge.converters.ical.render_cache import digest_of
from icsbridge.daemon.store.advisory import (
    advisory_lock,
    file_lock,
    lock_holder,
    lock_holders,
    publish_lock,
)
from icsbridge.daemon.store.backend import Backend, SqliteBackend
from icsbridge.daemon.store.caldav import CaldavState
from icsbridge.daemon.store.errors import StateError, StateFull, StateUnavailable
from icsbridge.daemon.store.feeds import FeedsState
from icsbridge.daemon.store.journal import PushState, ts
from icsbridge.daemon.store.opening import opened_backend, state_problem
from icsbridge.daemon.store.postgres.backend import PostgresBackend
from icsbridge.daemon.store.sources import SourcesState, SourceStatus

__all__ = ["ItemRow", "SourceStatus", "StateError", "StateFull", "StateStore", "StateUnavailable"]


@dataclass(frozen=True)
class ItemRow:
    """One published item as the store remembers it."""

    uid: str
    source: str
    calendar: str
    native_key: str
    rename_hint: str
    content_hash: str
    modified: datetime
    sequence: int
    remote_version: str | None = None
    published_hash: str | None = None


_ITEM_COLUMNS = (
    "SELECT uid, source, calendar, native_key, rename_hint, content_hash, modified,"
    " sequence, remote_version, published_hash FROM items"
)
_SELECT_ITEMS = _ITEM_COLUMNS + " WHERE source = ? AND calendar = ? ORDER BY uid"
# Per calendar the same order as _SELECT_ITEMS, so each group digests alike.
_SELECT_SOURCE_ITEMS = _ITEM_COLUMNS + " WHERE source = ? ORDER BY calendar, uid"


def _item(r: tuple[Any, ...]) -> ItemRow:
    """An item row from the columns of ``_ITEM_COLUMNS``."""
    modified = datetime.fromisoformat(r[6])
    return ItemRow(r[0], r[1], r[2], r[3], r[4], r[5], modified, r[7], r[8], r[9])


def _values(r: ItemRow) -> tuple[str | int | None, ...]:
    """An item row as stored, in the columns of ``_SELECT_ITEMS``."""
    return (
        r.uid,
        r.source,
        r.calendar,
        r.native_key,
        r.rename_hint,
        r.content_hash,
        ts(r.modified),
        r.sequence,
        r.remote_version,
        r.published_hash,
    )


def rows_digest(rows: Iterable[ItemRow]) -> bytes:
    """The :meth:`StateStore.items_digest` the store gives once ``rows`` are written."""
    return digest_of(sorted(_values(r) for r in rows))


class StateStore(PushState, FeedsState, SourcesState, CaldavState):
    """Access to the state (a SQLite file or a PostgreSQL database, ``daemon.store.backend``).
    Use as a context manager or call ``close()``.

    Every method raises :class:`StateFull` when the state's disk is full and
    :class:`StateUnavailable` when it cannot be read or saved now (``daemon.store.errors``),
    on either backend; a transaction that meets either is rolled back whole.
    """

    _db: Backend

    def __init__(self, location: StateLocation) -> None:
        self.location = location
        self._synced_here: set[str] = set()
        # items_digests' last answer per source, and what it was read at (_items_mark).
        self._items_writes = 0
        self._digests: dict[str, tuple[tuple[int, int], dict[str, bytes]]] = {}
        problem = state_problem(location)
        if problem is not None:  # the line `icsbridge check` gives for this state
            raise StateError(problem)
        self._db = opened_backend(location)

    def adopt(self, fresh: Backend) -> bool:
        """Use ``fresh`` (from :func:`opened_backend`) in place of a PostgreSQL
        connection that was lost; False (``fresh`` closed) when the one in use still
        works (another sync reconnected first). What lived on the lost session (its
        advisory locks) went with it; everything else is in the database."""
        if self._db.file_problem() is None:
            fresh.close()
            return False
        old, self._db = self._db, fresh
        with contextlib.suppress(*old.driver_errors):
            old.close()
        return True

    @property
    def path(self) -> Path:
        """The SQLite file (push locks are files beside it); only for a SQLite state."""
        if not isinstance(self.location, Path):
            raise TypeError("a PostgreSQL state has no path")
        return self.location

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: which backend holds the state."""
        return self._db.dialect

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def file_problem(self) -> str | None:
        """None while the state is still the one this store has open, else one line (a
        SQLite file deleted or replaced under a running daemon, a lost connection)."""
        return self._db.file_problem()

    @property
    def schema_version(self) -> int:
        return self._db.schema_version()

    def source_lock(self, source: str) -> AbstractContextManager[bool]:
        """Try to take ``source``'s lock across processes (``daemon.store.advisory``: an
        flock beside a SQLite file, a session advisory lock on this store's connection on
        PostgreSQL); yields whether it was taken."""
        if isinstance(self._db, PostgresBackend):
            return advisory_lock(self._db, source)
        return file_lock(self.path, source)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: everything inside commits together or not at all (a COMMIT
        that fails, on a full disk say, is rolled back too)."""
        self._db.begin()
        try:
            yield
            self._db.commit()
        except BaseException:
            # The backend may have rolled back already (a full disk can end SQLite's
            # transaction, a lost connection PostgreSQL's); a ROLLBACK that fails too must
            # not hide the error that made it needed.
            self._items_writes += 1  # what was read inside may be undone now
            if self._db.in_transaction:
                with contextlib.suppress(StateUnavailable):
                    self._db.rollback()
            raise

    @property
    def in_transaction(self) -> bool:
        return self._db.in_transaction

    @contextmanager
    def publishing(self) -> Iterator[None]:
        """One :meth:`transaction` that, on PostgreSQL, holds the lock daemons sharing the
        state publish feeds under (``daemon.store.advisory.publish_lock``)."""
        with self.transaction():
            if isinstance(self._db, PostgresBackend):
                publish_lock(self._db)
            yield

    # -- items ----------------------------------------------------------------

    def items(self, source: str, calendar: str) -> list[ItemRow]:
        return [_item(r) for r in self._db.execute(_SELECT_ITEMS, (source, calendar)).fetchall()]

    def items_digest(self, source: str, calendar: str) -> bytes:
        """A digest of the calendar's rows as stored, equal to :func:`rows_digest` of the
        rows last written: whether they changed, without building them (the daemon
        asks for every calendar at every sync)."""
        return digest_of(self._db.execute(_SELECT_ITEMS, (source, calendar)).fetchall())

    def items_digests(self, source: str) -> dict[str, bytes]:
        """:meth:`items_digest` of every calendar of ``source`` that has rows, from one
        query (a sync asks about all of them; on PostgreSQL each query is a round trip,
        on SQLite the ~4.5 MB of rows of 10,040 items cost ~35 ms either way). A calendar
        without rows is absent (its digest is ``rows_digest([])``)."""
        mark = self._items_mark()
        kept = self._digests.get(source)
        if mark is not None and kept is not None and kept[0] == mark:
            return dict(kept[1])
        rows = self._db.execute(_SELECT_SOURCE_ITEMS, (source,)).fetchall()
        by_calendar = itertools.groupby(rows, operator.itemgetter(2))
        digests = {calendar: digest_of(list(group)) for calendar, group in by_calendar}
        if mark is not None:
            self._digests[source] = (mark, dict(digests))
        return digests

    def _items_mark(self) -> tuple[int, int] | None:
        """What the items table was read at, on SQLite: ``PRAGMA data_version`` (which
        moves when any other connection, another process included, commits) and the
        writes to items through this store (every one of them is in this module; a
        rolled-back transaction counts as one). While it is the same, the rows are the
        same, and a re-sync does not read 4.5 MB of rows to learn so. None on
        PostgreSQL: several daemons share it, and it has no such counter."""
        if not isinstance(self._db, SqliteBackend):
            return None
        version = self._db.execute("PRAGMA data_version").fetchone()
        assert version is not None
        return int(version[0]), self._items_writes

    def uid_taken(self, uid: str) -> bool:
        return self._db.execute("SELECT 1 FROM items WHERE uid = ?", (uid,)).fetchone() is not None

    def replace_items(self, source: str, calendar: str, rows: Iterable[ItemRow]) -> None:
        """Make ``rows`` the calendar's whole item set (call inside ``transaction``)."""
        rows = list(rows)
        mark, kept = self._items_mark(), self._digests.get(source)
        self._items_writes += 1
        self._db.execute("DELETE FROM items WHERE source = ? AND calendar = ?", (source, calendar))
        self._insert_items(rows)
        if mark is not None and kept is not None and kept[0] == mark:
            # The calendar's rows are now exactly ``rows``: the kept digests stay true
            # with its own (the sync's writes would otherwise make the next read whole).
            digests = kept[1]
            digests[calendar] = rows_digest(rows)
            if not rows:
                del digests[calendar]
            self._digests[source] = (self._items_mark() or mark, digests)

    def _insert_items(self, rows: Iterable[ItemRow]) -> None:
        self._items_writes += 1
        self._db.executemany(
            "INSERT INTO items (uid, source, calendar, native_key, rename_hint, content_hash,"
            " modified, sequence, remote_version, published_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_values(r) for r in rows],
        )

    def put_item(self, row: ItemRow) -> None:
        """Insert or replace one item (by UID); a row holding its key goes first."""
        self._items_writes += 1
        self._db.execute(
            "DELETE FROM items WHERE uid = ? OR (source = ? AND calendar = ? AND native_key = ?)",
            (row.uid, row.source, row.calendar, row.native_key),
        )
        self._insert_items([row])

    def forget_item(self, uid: str) -> None:
        self._items_writes += 1
        self._db.execute("DELETE FROM items WHERE uid = ?", (uid,))

    def calendar_of_uid(self, uid: str) -> str | None:
        """The key of the calendar whose item has ``uid``, without reading its rows."""
        return self.calendars_of_uids([uid]).get(uid)

    def calendars_of_uids(self, uids: Iterable[str]) -> dict[str, str]:
        """UID -> the key of the calendar whose item has it (UIDs are unique across the
        store), for those of ``uids`` an item has: one query per ``IN_CHUNK`` of them."""
        rows = self._db.rows_in("SELECT uid, calendar FROM items WHERE uid IN ({})", uids)
        return {str(uid): str(cal) for uid, cal in rows}

    def item_by_uid(self, uid: str) -> ItemRow | None:
        """The one row of ``uid`` (not its calendar's: a push records each write with it)."""
        row = self._db.execute(_ITEM_COLUMNS + " WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else _item(row)

    def items_of_uids(self, uids: Iterable[str]) -> dict[str, ItemRow]:
        """UID -> its row, whatever its calendar, for those of ``uids`` an item has: one
        query per ``IN_CHUNK`` of them (a push of 1,000 writes read 1,000 rows one by one
        on the event loop)."""
        items = (_item(row) for row in self._db.rows_in(_ITEM_COLUMNS + " WHERE uid IN ({})", uids))
        return {item.uid: item for item in items}

    # -- calendars ------------------------------------------------------------

    def calendars(self, source: str) -> dict[str, str]:
        """Calendar key -> path of the file last written for it."""
        rows = self._db.execute(
            "SELECT calendar, path FROM calendars WHERE source = ?", (source,)
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def set_calendar(self, source: str, calendar: str, path: str) -> None:
        self._db.execute(
            "INSERT INTO calendars (source, calendar, path) VALUES (?, ?, ?)"
            " ON CONFLICT (source, calendar) DO UPDATE SET path = excluded.path",
            (source, calendar, path),
        )

    def forget_calendar(self, source: str, calendar: str) -> None:
        self._db.execute(
            "DELETE FROM calendars WHERE source = ? AND calendar = ?", (source, calendar)
        )
        self._items_writes += 1
        self._db.execute("DELETE FROM items WHERE source = ? AND calendar = ?", (source, calendar))

    # -- sources (the rest is ``daemon.store.sources``) --------------------------

    def lock_holder(self, source: str) -> str | None:
        """Which daemon (``host:pid``) holds ``source``'s lock now; None when none does,
        and always on SQLite (one daemon per state)."""
        if isinstance(self._db, PostgresBackend):
            return lock_holder(self._db, source)
        return None

    def lock_holders(self, sources: Iterable[str]) -> dict[str, str]:
        """:meth:`lock_holder` of each of ``sources`` in one query: only the held ones."""
        if isinstance(self._db, PostgresBackend):
            return lock_holders(self._db, sources)
        return {}
