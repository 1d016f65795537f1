"""The state store: one SQLite file (WAL mode) holding what must outlive a run.

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

The file is created with mode 0600 because it may hold a refresh token.
Schema changes go through ``_MIGRATIONS``: each entry upgrades version N-1 to N.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from icsbridge.converters.ical.render_cache import digest_of
from icsbridge.daemon.store.caldav import SCHEMA as CALDAV_SCHEMA
from icsbridge.daemon.store.caldav import CaldavState
from icsbridge.daemon.store.connection import StateConnection, connect
from icsbridge.daemon.store.errors import StateError, StateFull, StateUnavailable
from icsbridge.daemon.store.feeds import FeedsState
from icsbridge.daemon.store.journal import PushState, ts
from icsbridge.daemon.store.location import newer_schema_line, not_sqlite_line, state_path_problem
from icsbridge.daemon.store.sources import SourcesState, SourceStatus

SCHEMA_VERSION = 4
UID_CHUNK = 500  # UIDs per IN (...): under SQLite's variable limit (999 before 3.32)

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE items (
        uid            TEXT PRIMARY KEY,
        source         TEXT NOT NULL,
        calendar       TEXT NOT NULL,
        native_key     TEXT NOT NULL,
        rename_hint    TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        remote_version TEXT,
        published_hash TEXT,
        modified       TEXT NOT NULL,
        sequence       INTEGER NOT NULL DEFAULT 0,
        UNIQUE (source, calendar, native_key)
    );
    CREATE TABLE calendars (
        source   TEXT NOT NULL,
        calendar TEXT NOT NULL,
        path     TEXT NOT NULL,
        PRIMARY KEY (source, calendar)
    );
    CREATE TABLE sources (
        name         TEXT PRIMARY KEY,
        last_attempt TEXT,
        last_success TEXT,
        last_error   TEXT
    );
    CREATE TABLE secrets (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    2: """
    CREATE TABLE feed_tokens (
        feed    TEXT PRIMARY KEY,
        token   TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL
    );
    CREATE TABLE feeds (
        name          TEXT PRIMARY KEY,
        path          TEXT NOT NULL,
        etag          TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        events        INTEGER NOT NULL,
        size          INTEGER NOT NULL
    );
    """,
    3: """
    CREATE TABLE journal (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        batch      TEXT NOT NULL,
        source     TEXT NOT NULL,
        calendar   TEXT NOT NULL,
        write      TEXT NOT NULL,
        status     TEXT NOT NULL,
        result_key TEXT,
        detail     TEXT,
        created    TEXT NOT NULL,
        finished   TEXT
    );
    CREATE INDEX journal_open ON journal (source, status);
    CREATE TABLE vdir_files (
        source   TEXT NOT NULL,
        calendar TEXT NOT NULL,
        uid      TEXT NOT NULL,
        hash     TEXT NOT NULL,
        PRIMARY KEY (source, calendar, uid)
    );
    """,
    4: CALDAV_SCHEMA,
}


__all__ = ["ItemRow", "SourceStatus", "StateError", "StateFull", "StateStore", "StateUnavailable"]


def state_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened as the state (one line), by looking only: ``check``
    asks it, and ``StateStore`` asks it first (see ``daemon.store.location``)."""
    return state_path_problem(path, SCHEMA_VERSION)


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
    """Access to the state file. Use as a context manager or call ``close()``.

    Every method raises :class:`StateFull` when the state's disk is full and
    :class:`StateUnavailable` when it cannot be read or saved now (``daemon.store.errors``);
    a transaction that meets either is rolled back whole.
    """

    _db: StateConnection

    def __init__(self, path: Path) -> None:
        self.path = path
        problem = state_problem(path)
        if problem is not None:  # the line `icsbridge check` gives for this path
            raise StateError(problem)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                # Create it private before SQLite writes anything into it.
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = connect(path, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            opened = os.stat(path)  # the file SQLite has open: it created or read it above
            self._opened = (opened.st_dev, opened.st_ino)
        except StateError:
            raise
        except sqlite3.DatabaseError as exc:
            raise StateError(not_sqlite_line(path, str(exc))) from exc
        except OSError as exc:
            raise StateError(
                f"state file {path}: {exc.strerror}; check [daemon].state and permissions"
            ) from exc

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def file_problem(self) -> str | None:
        """None while ``path`` is still the file this store has open, else one line: a
        state deleted or replaced under a running daemon would be lost at its restart."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return (
                f"state file {self.path} was deleted while icsbridge runs: it goes on with "
                "the open copy, but its next start begins afresh (new feed URLs and event "
                "UIDs); put the file back from a backup before restarting it"
            )
        except OSError as exc:
            return f"state file {self.path}: {exc.strerror}; check [daemon].state"
        if (now.st_dev, now.st_ino) != self._opened:
            return (
                f"state file {self.path} was replaced while icsbridge runs; it keeps "
                "writing the file it opened: restart it to use the new one"
            )
        return None

    # -- schema ---------------------------------------------------------------

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise StateError(newer_schema_line(self.path, version, SCHEMA_VERSION))
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # executescript() would COMMIT on its own: run statement by statement so a
            # migration applies whole or not at all.
            with self.transaction():
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {target}")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing: everything inside commits together or not at all (a COMMIT
        that fails, on a full disk say, is rolled back too)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk can end the transaction);
            # a ROLLBACK that fails too must not hide the error that made it needed.
            if self._db.in_transaction:
                with contextlib.suppress(StateUnavailable):
                    self._db.execute("ROLLBACK")
            raise

    # -- items ----------------------------------------------------------------

    def items(self, source: str, calendar: str) -> list[ItemRow]:
        return [_item(r) for r in self._db.execute(_SELECT_ITEMS, (source, calendar))]

    def items_digest(self, source: str, calendar: str) -> bytes:
        """A digest of the calendar's rows as stored, equal to :func:`rows_digest` of the
        rows last written: whether they changed, without building them (the daemon
        asks for every calendar at every sync)."""
        return digest_of(self._db.execute(_SELECT_ITEMS, (source, calendar)).fetchall())

    def uid_taken(self, uid: str) -> bool:
        return self._db.execute("SELECT 1 FROM items WHERE uid = ?", (uid,)).fetchone() is not None

    def replace_items(self, source: str, calendar: str, rows: Iterable[ItemRow]) -> None:
        """Make ``rows`` the calendar's whole item set (call inside ``transaction``)."""
        self._db.execute("DELETE FROM items WHERE source = ? AND calendar = ?", (source, calendar))
        self._insert_items(rows)

    def _insert_items(self, rows: Iterable[ItemRow]) -> None:
        self._db.executemany(
            "INSERT INTO items (uid, source, calendar, native_key, rename_hint, content_hash,"
            " modified, sequence, remote_version, published_hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_values(r) for r in rows],
        )

    def put_item(self, row: ItemRow) -> None:
        """Insert or replace one item (by UID); a row holding its key goes first."""
        self._db.execute(
            "DELETE FROM items WHERE uid = ? OR (source = ? AND calendar = ? AND native_key = ?)",
            (row.uid, row.source, row.calendar, row.native_key),
        )
        self._insert_items([row])

    def forget_item(self, uid: str) -> None:
        self._db.execute("DELETE FROM items WHERE uid = ?", (uid,))

    def calendar_of_uid(self, uid: str) -> str | None:
        """The key of the calendar whose item has ``uid``, without reading its rows."""
        return self.calendars_of_uids([uid]).get(uid)

    def calendars_of_uids(self, uids: Iterable[str]) -> dict[str, str]:
        """UID -> the key of the calendar whose item has it (UIDs are unique across the
        store), for those of ``uids`` an item has: one query per :data:`UID_CHUNK`."""
        wanted, found = list(uids), dict[str, str]()
        for at in range(0, len(wanted), UID_CHUNK):
            chunk = wanted[at : at + UID_CHUNK]
            sql = f"SELECT uid, calendar FROM items WHERE uid IN ({','.join('?' * len(chunk))})"
            found.update((str(uid), str(cal)) for uid, cal in self._db.execute(sql, chunk))
        return found

    def item_by_uid(self, uid: str) -> ItemRow | None:
        """The one row of ``uid`` (not its calendar's: a push records each write with it)."""
        row = self._db.execute(_ITEM_COLUMNS + " WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else _item(row)

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
        self._db.execute("DELETE FROM items WHERE source = ? AND calendar = ?", (source, calendar))
