"""Whose turn it is to sync a source, when several daemons share a PostgreSQL state.

Every daemon schedules every source (each keeps its own in-memory schedule; APScheduler
job stores are never shared). When a run fires it takes the source's lock across
daemons (``StateStore.source_lock``: a session advisory lock on the connection the
results are committed on) and skips when another daemon holds it, or when the state says
the source was synced within :data:`RECENT` of its interval (by another daemon: their
schedules drift apart, and the first to fire does the work). A daemon's first sync of a
source in its run is never skipped for being recent: it needs the rendered calendars in
its own memory to serve and assemble feeds.

A SQLite state has one daemon (``daemon.store.lock``): nothing is taken or skipped here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from icsbridge.config.settings import SourceSettings
from icsbridge.daemon.store.state import StateStore

RECENT = 0.8
"""The share of its interval within which a source synced by another daemon is left."""


@contextmanager
def sync_turn(
    state: StateStore, src: SourceSettings, now: datetime, *, synced_here: bool
) -> Iterator[str | None]:
    """Yields None when this daemon syncs ``src`` now (holding its lock until the block
    ends), else the reason it does not, as a log line."""
    if state.dialect != "postgresql":
        yield None
        return
    with state.source_lock(src.name) as taken:
        if not taken:
            yield f'source "{src.name}": another daemon is syncing it; this run is skipped'
            return
        last = state.source_status(src.name).last_success
        if synced_here and last is not None and now - last < src.interval * RECENT:
            yield (
                f'source "{src.name}": synced at {last.isoformat()} by another daemon; '
                "this run is skipped"
            )
            return
        yield None
