"""The state store's feed tables: each feed's URL token and what was last published.

On PostgreSQL, where daemons share the state, a feed's record also holds its bytes, and
``feed_pieces`` each calendar's rendered events (``daemon.feeds.shared`` writes and reads
them); a change is announced with NOTIFY at commit (``daemon.store.postgres.notify``).

Kept apart from ``daemon.store.state`` (which mixes this class in) to keep each module small.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from icsbridge.daemon.store.backend import Backend
from icsbridge.daemon.store.journal import ts
from icsbridge.daemon.store.postgres.notify import CHANNEL


@dataclass(frozen=True)
class FeedRecord:
    """What was last published for a feed."""

    name: str
    path: str
    etag: str
    last_modified: datetime
    events: int
    size: int


@dataclass(frozen=True)
class StoredPiece:
    """One calendar's rendered events as the daemon that synced its source stored them."""

    calendar: str
    source: str
    digest: str
    """The strong ETag of the calendar's assembled bytes (what the pieces give back)."""
    basis: bytes
    """The digest of the calendar's item rows they were rendered from (``items_digest``)."""
    pieces: bytes


def _record(r: Any) -> FeedRecord:
    return FeedRecord(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5])


class FeedsState:
    """Feed methods of :class:`icsbridge.daemon.store.state.StateStore`."""

    _db: Backend

    def feed_tokens(self) -> dict[str, str]:
        """Feed name -> its current URL token."""
        rows = self._db.execute("SELECT feed, token FROM feed_tokens").fetchall()
        return {r[0]: r[1] for r in rows}

    def set_feed_token(self, feed: str, token: str, when: datetime) -> None:
        """Give ``feed`` a new token; the old one stops working at once."""
        self._db.execute(
            "INSERT INTO feed_tokens (feed, token, created) VALUES (?, ?, ?)"
            " ON CONFLICT (feed) DO UPDATE SET token = excluded.token,"
            " created = excluded.created",
            (feed, token, ts(when)),
        )

    def add_feed_token(self, feed: str, token: str, when: datetime) -> bool:
        """Give a new ``feed`` its first token unless it has one already (another daemon
        may have just made it): whether this one was stored. Re-read the tokens after."""
        row = self._db.execute(
            "INSERT INTO feed_tokens (feed, token, created) VALUES (?, ?, ?)"
            " ON CONFLICT (feed) DO NOTHING RETURNING feed",
            (feed, token, ts(when)),
        ).fetchone()
        return row is not None

    def feed_records(self) -> dict[str, FeedRecord]:
        rows = self._db.execute(
            "SELECT name, path, etag, last_modified, events, size FROM feeds"
        ).fetchall()
        return {r[0]: _record(r) for r in rows}

    def set_feed_record(self, record: FeedRecord, data: bytes | None = None) -> None:
        """Record what was published; ``data`` (its bytes) only where daemons share the
        state, so that every one of them can serve it."""
        self._db.execute(
            "INSERT INTO feeds (name, path, etag, last_modified, events, size, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " path = excluded.path, etag = excluded.etag,"
            " last_modified = excluded.last_modified, events = excluded.events,"
            " size = excluded.size, data = excluded.data",
            (
                record.name,
                record.path,
                record.etag,
                ts(record.last_modified),
                record.events,
                record.size,
                data,
            ),
        )

    def forget_feed(self, name: str) -> None:
        self._db.execute("DELETE FROM feeds WHERE name = ?", (name,))

    def stored_feeds(self, names: Iterable[str]) -> dict[str, tuple[FeedRecord, bytes]]:
        """The records of ``names`` that hold their bytes, with the bytes (each row read
        whole: its bytes and validators always belong together)."""
        rows = self._db.rows_in(
            "SELECT name, path, etag, last_modified, events, size, data FROM feeds"
            " WHERE data IS NOT NULL AND name IN ({})",
            names,
        )
        return {r[0]: (_record(r), bytes(r[6])) for r in rows}

    def piece_digests(self) -> dict[str, str]:
        """Calendar key -> the digest of its stored pieces."""
        rows = self._db.execute("SELECT calendar, digest FROM feed_pieces").fetchall()
        return {r[0]: r[1] for r in rows}

    def stored_pieces(self, calendars: Iterable[str]) -> list[StoredPiece]:
        rows = self._db.rows_in(
            "SELECT calendar, source, digest, basis, pieces FROM feed_pieces"
            " WHERE calendar IN ({}) ORDER BY calendar",
            calendars,
        )
        return [StoredPiece(r[0], r[1], r[2], bytes(r[3]), bytes(r[4])) for r in rows]

    def set_piece(self, piece: StoredPiece) -> None:
        self._db.execute(
            "INSERT INTO feed_pieces (calendar, source, digest, basis, pieces)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (calendar) DO UPDATE SET"
            " source = excluded.source, digest = excluded.digest, basis = excluded.basis,"
            " pieces = excluded.pieces",
            (piece.calendar, piece.source, piece.digest, piece.basis, piece.pieces),
        )

    def forget_piece(self, calendar: str) -> None:
        self._db.execute("DELETE FROM feed_pieces WHERE calendar = ?", (calendar,))

    def announce(self, payload: str) -> None:
        """Tell the other daemons sharing a PostgreSQL state that feeds or tokens changed
        (``daemon.store.postgres.notify``): delivered when the transaction commits, or at
        once outside one. Nothing on SQLite (one daemon)."""
        if self._db.dialect == "postgresql":
            self._db.execute("SELECT pg_notify(?, ?)", (CHANNEL, payload))
