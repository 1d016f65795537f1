"""The state store's CalDAV tables: what each calendar collection held at each revision,
so sync tokens (RFC 6578) outlive a restart, and the resource names clients chose.

A calendar's sync token is ``<generation>-<revision>``: the revision grows by one each
time its members change, and every member name keeps the revision it last changed at
(a deleted one keeps a tombstone), so the changes since any token are one query. The
generation is random per calendar: a token from another state file (or a calendar
removed and added again) is unknown, never mistaken for one of this state's.

The SQL is the store's one text for both backends: upserts are ``ON CONFLICT`` (not
SQLite's ``INSERT OR REPLACE``), and the column ``user`` is quoted (a keyword of PostgreSQL).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

from icsbridge.daemon.store.backend import Backend

SCHEMA = """
CREATE TABLE caldav_calendars (
    calendar   TEXT PRIMARY KEY,
    generation TEXT NOT NULL,
    revision   INTEGER NOT NULL
);
CREATE TABLE caldav_members (
    calendar TEXT NOT NULL,
    name     TEXT NOT NULL,
    etag     TEXT,
    revision INTEGER NOT NULL,
    PRIMARY KEY (calendar, name)
);
CREATE TABLE caldav_names (
    calendar TEXT NOT NULL,
    uid      TEXT NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (calendar, uid)
);
CREATE TABLE caldav_alarms (
    "user" TEXT NOT NULL,
    uid    TEXT NOT NULL,
    alarms BLOB NOT NULL,
    PRIMARY KEY ("user", uid)
)
"""
"""Migration 4 of :mod:`icsbridge.daemon.store.schema`."""


@dataclass(frozen=True)
class SyncPoint:
    """A calendar's revision: its sync token is ``f"{generation}-{revision}"``."""

    generation: str
    revision: int

    @property
    def token(self) -> str:
        return f"{self.generation}-{self.revision}"


class CaldavState:
    """CalDAV methods of :class:`icsbridge.daemon.store.state.StateStore`."""

    _db: Backend

    def transaction(self) -> AbstractContextManager[None]:
        raise NotImplementedError

    def caldav_observe(self, calendar: str, members: Mapping[str, str]) -> SyncPoint:
        """Record that ``calendar`` holds ``members`` (name -> ETag) now; a change to the
        last recorded set is a new revision. Returns the revision it is at."""
        with self.transaction():
            row = self._db.execute(
                "SELECT generation, revision FROM caldav_calendars WHERE calendar = ?",
                (calendar,),
            ).fetchone()
            if row is None:
                row = (secrets.token_hex(8), 0)
                self._db.execute(
                    "INSERT INTO caldav_calendars VALUES (?, ?, 0)", (calendar, row[0])
                )
            generation, revision = str(row[0]), int(row[1])
            known = self._alive(calendar)
            changed = [(n, e) for n, e in members.items() if known.get(n) != e]
            gone = [n for n in known if n not in members]
            if not changed and not gone:
                return SyncPoint(generation, revision)
            revision += 1
            self._db.executemany(
                "INSERT INTO caldav_members VALUES (?, ?, ?, ?) ON CONFLICT (calendar, name)"
                " DO UPDATE SET etag = excluded.etag, revision = excluded.revision",
                [(calendar, n, e, revision) for n, e in changed]
                + [(calendar, n, None, revision) for n in gone],
            )
            self._db.execute(
                "UPDATE caldav_calendars SET revision = ? WHERE calendar = ?",
                (revision, calendar),
            )
            return SyncPoint(generation, revision)

    def caldav_changes(self, calendar: str, since: int) -> Iterator[tuple[str, bool]]:
        """(name, still there) of every member changed after revision ``since``."""
        rows = self._db.execute(
            "SELECT name, etag IS NOT NULL FROM caldav_members "
            "WHERE calendar = ? AND revision > ? ORDER BY name",
            (calendar, since),
        )
        for name, alive in rows.fetchall():
            yield str(name), bool(alive)

    def caldav_point(self, calendar: str) -> SyncPoint | None:
        row = self._db.execute(
            "SELECT generation, revision FROM caldav_calendars WHERE calendar = ?", (calendar,)
        ).fetchone()
        return None if row is None else SyncPoint(str(row[0]), int(row[1]))

    def _alive(self, calendar: str) -> dict[str, str]:
        rows = self._db.execute(
            "SELECT name, etag FROM caldav_members WHERE calendar = ? AND etag IS NOT NULL",
            (calendar,),
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def caldav_names(self, calendar: str) -> dict[str, str]:
        """UID -> the resource name a client created it under, where that is not the
        name icsbridge would give it."""
        rows = self._db.execute(
            "SELECT uid, name FROM caldav_names WHERE calendar = ?", (calendar,)
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def set_caldav_name(self, calendar: str, uid: str, name: str) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT INTO caldav_names VALUES (?, ?, ?)"
                " ON CONFLICT (calendar, uid) DO UPDATE SET name = excluded.name",
                (calendar, uid, name),
            )

    def caldav_alarms(self, user: str, uid: str) -> bytes | None:
        """The VALARM lines ``user`` added to event ``uid`` over CalDAV (never pushed)."""
        row = self._db.execute(
            'SELECT alarms FROM caldav_alarms WHERE "user" = ? AND uid = ?', (user, uid)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def caldav_user_alarms(self, user: str) -> dict[str, bytes]:
        """UID -> the VALARM lines ``user`` added to it."""
        rows = self._db.execute('SELECT uid, alarms FROM caldav_alarms WHERE "user" = ?', (user,))
        return {str(r[0]): bytes(r[1]) for r in rows.fetchall()}

    def set_caldav_alarms(self, user: str, uid: str, alarms: bytes | None) -> None:
        with self.transaction():
            if alarms:
                self._db.execute(
                    "INSERT INTO caldav_alarms VALUES (?, ?, ?)"
                    ' ON CONFLICT ("user", uid) DO UPDATE SET alarms = excluded.alarms',
                    (user, uid, alarms),
                )
            else:
                self._db.execute(
                    'DELETE FROM caldav_alarms WHERE "user" = ? AND uid = ?', (user, uid)
                )
