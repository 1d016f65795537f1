"""The state store's tables of sources: each one's last sync attempt, and the secrets the
APIs hand back (a rotated OAuth refresh token), so a restart keeps them.

Kept apart from ``daemon.store.state`` (which mixes this class in) to keep each module small.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from icsbridge.daemon.store.backend import Backend, process_name
from icsbridge.daemon.store.errors import StateUnavailable
from icsbridge.daemon.store.journal import ts

log = logging.getLogger("icsbridge.state")


@dataclass(frozen=True)
class SourceStatus:
    name: str
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    synced_by: str | None = None
    """``host:pid`` of the process whose sync last succeeded (daemons share a state)."""


def _parsets(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class SourcesState:
    """Source and secret methods of :class:`icsbridge.daemon.store.state.StateStore`."""

    _db: Backend
    _synced_here: set[str]

    # -- sources --------------------------------------------------------------

    def record_attempt(self, name: str, when: datetime, error: str | None) -> None:
        """Note a sync attempt; ``error`` None means it succeeded. A state that cannot
        save it is logged, not raised: the attempt's outcome is in health already, and
        the sync's own error (often that same state error) must be the one reported."""
        try:
            self._record_attempt(name, when, error)
        except StateUnavailable as exc:
            log.warning('%s (the sync of source "%s" is not recorded in it)', exc, name)

    def _record_attempt(self, name: str, when: datetime, error: str | None) -> None:
        if error is None:
            self._db.execute(
                "INSERT INTO sources (name, last_attempt, last_success, last_error, synced_by)"
                " VALUES (?, ?, ?, NULL, ?) ON CONFLICT (name) DO UPDATE SET"
                " last_attempt = excluded.last_attempt, last_success = excluded.last_success,"
                " last_error = NULL, synced_by = excluded.synced_by",
                (name, ts(when), ts(when), process_name()),
            )
            self._synced_here.add(name)
        else:
            self._db.execute(
                "INSERT INTO sources (name, last_attempt, last_error) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET last_attempt = excluded.last_attempt,"
                " last_error = excluded.last_error",
                (name, ts(when), error),
            )

    def source_status(self, name: str) -> SourceStatus:
        row = self._db.execute(
            "SELECT last_attempt, last_success, last_error, synced_by FROM sources WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return SourceStatus(name, None, None, None)
        return SourceStatus(name, _parsets(row[0]), _parsets(row[1]), row[2], row[3])

    def synced_by(self) -> dict[str, str]:
        """Source -> ``host:pid`` of the process whose sync of it last succeeded, for every
        source the state has one for (one query: health and metrics ask at each request)."""
        rows = self._db.execute(
            "SELECT name, synced_by FROM sources WHERE synced_by IS NOT NULL"
        ).fetchall()
        return {str(name): str(by) for name, by in rows}

    def synced_here(self, name: str) -> bool:
        """Whether this store (this process) recorded a successful sync of ``name``: on a
        shared state, the last success may be another daemon's."""
        return name in self._synced_here

    # -- secrets (the TokenStore protocol of icsbridge.daemon.sources.base) -------------

    def get_secret(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM secrets WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_secret(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO secrets (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
