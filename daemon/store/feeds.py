"""The state store's feed tables: each feed's URL token and what was last published.

Kept apart from ``daemon.store.state`` (which mixes this class in) to keep each module small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from icsbridge.daemon.store.backend import Backend
from icsbridge.daemon.store.journal import ts


@dataclass(frozen=True)
class FeedRecord:
    """What was last published for a feed."""

    name: str
    path: str
    etag: str
    last_modified: datetime
    events: int
    size: int


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
        return {
            r[0]: FeedRecord(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5])
            for r in rows
        }

    def set_feed_record(self, record: FeedRecord) -> None:
        self._db.execute(
            "INSERT INTO feeds (name, path, etag, last_modified, events, size)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " path = excluded.path, etag = excluded.etag,"
            " last_modified = excluded.last_modified, events = excluded.events,"
            " size = excluded.size",
            (
                record.name,
                record.path,
                record.etag,
                ts(record.last_modified),
                record.events,
                record.size,
            ),
        )

    def forget_feed(self, name: str) -> None:
        self._db.execute("DELETE FROM feeds WHERE name = ?", (name,))
