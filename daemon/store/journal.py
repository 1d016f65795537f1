"""The state store's tables for pushing edits: the journal and the vdir file hashes.

Kept apart from ``daemon.store.state`` (which mixes this class in) to keep each module small;
the tables are created by the store's migration 3.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from icsbridge.daemon.store.backend import Backend

JOURNAL_KEEP = timedelta(days=30)
"""How long settled journal entries are kept (for a look at what a push did)."""


def ts(value: datetime) -> str:
    """An aware datetime as the UTC ISO text the store keeps."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the state store")
    return value.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class JournalEntry:
    """One API call of a push: ``write`` is a ``PlannedWrite`` as JSON text."""

    id: int
    batch: str
    source: str
    calendar: str
    write: str
    status: str  # pending | done | failed | cancelled


class PushState:
    """Journal and vdir methods of :class:`icsbridge.daemon.store.state.StateStore`."""

    _db: Backend

    # -- push journal -----------------------------------------------------------

    def journal_add(
        self, batch: str, source: str, calendar: str, writes: Iterable[str], when: datetime
    ) -> list[int]:
        """Record ``writes`` (JSON texts) as pending, in order; returns their ids.
        Closed entries older than :data:`JOURNAL_KEEP` go, so the journal stays small."""
        self._db.execute(
            "DELETE FROM journal WHERE status != 'pending' AND finished < ?",
            (ts(when - JOURNAL_KEEP),),
        )
        # One statement for all (a round trip each on PostgreSQL was ~0.1 ms a write, on the
        # event loop); the batch is new, so its ids in order are the writes' in order.
        self._db.executemany(
            "INSERT INTO journal (batch, source, calendar, write, status, created)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            [(batch, source, calendar, write, ts(when)) for write in writes],
        )
        rows = self._db.execute("SELECT id FROM journal WHERE batch = ? ORDER BY id", (batch,))
        return [int(row[0]) for row in rows.fetchall()]

    def journal_pending(self, source: str) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT id, batch, source, calendar, write, status FROM journal"
            " WHERE source = ? AND status = 'pending' ORDER BY id",
            (source,),
        ).fetchall()
        return [JournalEntry(*r) for r in rows]

    def journal_entries(self, batch: str) -> list[JournalEntry]:
        rows = self._db.execute(
            "SELECT id, batch, source, calendar, write, status FROM journal"
            " WHERE batch = ? ORDER BY id",
            (batch,),
        ).fetchall()
        return [JournalEntry(*r) for r in rows]

    def journal_finish(
        self,
        entry_id: int,
        status: str,
        when: datetime,
        *,
        result_key: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Close an entry: ``done`` (sent and accepted), ``failed`` (refused or found not
        to apply) or ``cancelled`` (never sent: an earlier call of its push failed)."""
        self._db.execute(
            "UPDATE journal SET status = ?, result_key = ?, detail = ?, finished = ? WHERE id = ?",
            (status, result_key, detail, ts(when), entry_id),
        )

    # -- vdir files -------------------------------------------------------------

    def vdir_calendars(self, source: str) -> list[str]:
        """The calendars of ``source`` whose vdir icsbridge wrote (the daemon and export
        alike): those with a file recorded, ``displayname`` included."""
        rows = self._db.execute(
            "SELECT DISTINCT calendar FROM vdir_files WHERE source = ? ORDER BY calendar",
            (source,),
        ).fetchall()
        return [r[0] for r in rows]

    def vdir_hashes(self, source: str, calendar: str) -> dict[str, str]:
        """File name -> sha256 of what icsbridge last wrote to it (the ``uid`` column holds
        the file name, which :func:`icsbridge.daemon.push.vdir.file_name` derives)."""
        rows = self._db.execute(
            "SELECT uid, hash FROM vdir_files WHERE source = ? AND calendar = ?",
            (source, calendar),
        ).fetchall()
        return {r[0]: r[1] for r in rows}

    def set_vdir_hashes(self, source: str, calendar: str, hashes: dict[str, str]) -> None:
        self._db.execute(
            "DELETE FROM vdir_files WHERE source = ? AND calendar = ?", (source, calendar)
        )
        self._db.executemany(
            "INSERT INTO vdir_files (source, calendar, uid, hash) VALUES (?, ?, ?, ?)",
            [(source, calendar, uid, h) for uid, h in sorted(hashes.items())],
        )
