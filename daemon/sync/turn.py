"""Whose turn it is to sync a source, when several daemons share a PostgreSQL state.

Every daemon schedules every source (each keeps its own in-memory schedule; APScheduler
job stores are never shared). When a run fires it takes the source's lock across
daemons (``StateStore.source_lock``: a session advisory lock on the connection the
results are committed on) and skips when another daemon holds it, or when the state says
the source was synced within :data:`RECENT` of its interval (by another daemon: their
schedules drift apart, and the first to fire does the work). A daemon's first sync of a
source in its run is never skipped: it waits for the other's sync to end, since it needs
the rendered calendars in its own memory to serve and assemble feeds. Nor is a run the
operator asked for (SIGUSR1, ``asked``), nor one that finds calls of a push pending in the
journal: the daemon that was sending them died with its lock, and the edit is settled now
rather than at the end of the interval.

A daemon that lost its connection to the database connects again at the next run of
each source, and at the next edit (in a worker thread: a server that does not answer
stalls no feed); until then each run is skipped with one line saying why, edits are
answered 503, and it serves what it has.

A SQLite state has one daemon (``daemon.store.opening``): nothing is taken or skipped here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from icsbridge.config.settings import SourceSettings
from icsbridge.daemon.sources.pool import Sleep
from icsbridge.daemon.store.errors import StateError
from icsbridge.daemon.store.opening import opened_backend
from icsbridge.daemon.store.state import StateStore

log = logging.getLogger("icsbridge.daemon")

RECENT = 0.8
"""The share of its interval within which a source synced by another daemon is left."""
RETRY = 1.0
FIRST_TRIES = 120
"""How often (every ``RETRY`` seconds) a daemon's first sync of a source asks again for
the lock another daemon holds: it needs the calendars in its memory to serve."""


@asynccontextmanager
async def sync_turn(
    state: StateStore,
    src: SourceSettings,
    now: datetime,
    *,
    sleep: Sleep | None,
    asked: bool = False,
) -> AsyncIterator[str | None]:
    """Yields None when this daemon syncs ``src`` now (holding its lock until the block
    ends), else the reason it does not, as a log line. A daemon that has not synced
    ``src`` yet (``StateStore.synced_here``) waits for another's sync to end
    (``FIRST_TRIES`` x ``RETRY`` seconds); ``asked``: the operator asked for this run, a
    recent sync by another daemon does not skip it."""
    if state.dialect != "postgresql":
        yield None
        return
    lost = await reconnected(state)
    if lost is not None:  # nothing could be saved: said at each run, health says it too
        yield f'source "{src.name}": this run is skipped: {lost}'
        return
    synced_here = state.synced_here(src.name)
    for _ in range(FIRST_TRIES):
        with state.source_lock(src.name) as taken:
            if taken:
                last = state.source_status(src.name).last_success
                if (
                    synced_here
                    and not asked
                    and last is not None
                    and now - last < src.interval * RECENT
                    and not state.journal_pending(src.name)
                ):
                    yield (
                        f'source "{src.name}": synced at {last.isoformat()} by another '
                        "daemon; this run is skipped"
                    )
                else:
                    yield None
                return
        if synced_here:
            break
        await (sleep or asyncio.sleep)(RETRY)
    yield f'source "{src.name}": another daemon is syncing it; this run is skipped'


async def reconnected(state: StateStore) -> str | None:
    """For a PostgreSQL state: None when its connection works, or works again after
    connecting anew (said once in the log); else why it cannot be reached now, as one
    line. A SQLite state is left as it is (None): its file is never opened anew."""
    if state.dialect != "postgresql":
        return None
    lost = state.file_problem()
    if lost is None:
        return None
    try:
        fresh = await asyncio.to_thread(opened_backend, state.location)
    except StateError as exc:
        return str(exc)
    if state.adopt(fresh):
        log.warning("state database %s: connected again", fresh.where)
    return None
