"""Telling daemons that share a PostgreSQL state what changed: NOTIFY and LISTEN.

A daemon that changes what the feeds serve (a sync, a push, a reload, a token) sends
``NOTIFY icsbridge_feeds`` in the transaction that saves it: PostgreSQL delivers it at
commit to every session listening, and replays none. So the state stays the truth and a
notice is only a hint: its payload is the sender and the names of the feeds that changed
(no names when they would not fit under PostgreSQL's 8000 bytes), and a listener that
(re)connects compares what it serves with the state rather than trust that it heard
everything (:data:`CATCH_UP`).

:func:`listen` holds a connection of its own (psycopg's async one: waiting for a notice
never blocks the event loop, and ``notifies()`` holds its connection), and reconnects
with a backoff when that connection is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.store.backend import process_name
from icsbridge.daemon.store.postgres.backend import connect_args

try:  # the optional extra icsbridge[postgresql]
    import psycopg
except ImportError:  # pragma: no cover - installed by every setup script
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger("icsbridge.state")

CHANNEL = "icsbridge_feeds"
LIMIT = 7000
"""The longest payload sent (bytes), under PostgreSQL's 8000."""
BACKOFF = (0.2, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before each try to reconnect; the last repeats."""


@dataclass(frozen=True)
class Notice:
    """What a notice says: who sent it, which feeds changed, whether tokens did."""

    sender: str
    """``host:pid`` of the process that sent it; empty for :data:`CATCH_UP`."""
    feeds: frozenset[str] | None
    """The feeds whose content changed; None when any may have."""
    tokens: bool = False


CATCH_UP = Notice("", None, tokens=True)
"""Handed on after each (re)connect: anything may have changed meanwhile."""


def payload(feeds: Iterable[str] = (), *, tokens: bool = False) -> str:
    """The text of a notice sent by this process (see :class:`Notice`)."""
    names: list[str] | None = sorted(set(feeds))
    text = json.dumps({"by": process_name(), "feeds": names, "tokens": tokens})
    if len(text.encode()) > LIMIT:  # too many names: "any may have changed"
        names = None
        text = json.dumps({"by": process_name(), "feeds": names, "tokens": tokens})
    return text


def read_notice(text: str) -> Notice:
    """A notice's payload read back; one that cannot be read says anything may have changed."""
    try:
        data = json.loads(text)
        feeds = data["feeds"]
        return Notice(
            str(data["by"]),
            None if feeds is None else frozenset(str(f) for f in feeds),
            bool(data["tokens"]),
        )
    except (ValueError, TypeError, KeyError):
        return CATCH_UP


Sleep = Callable[[float], Awaitable[object]]


async def listen(
    state: PostgresState, on_notice: Callable[[Notice], object], *, sleep: Sleep = asyncio.sleep
) -> None:
    """LISTEN on ``state``'s database until cancelled, calling ``on_notice`` (on the loop)
    for each notice, and with :data:`CATCH_UP` each time LISTEN is in place (at first and
    after every reconnect). A lost connection is said once per outage and tried again
    after :data:`BACKOFF` seconds."""
    failures = 0
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(state.dsn, **connect_args(state, "listen"))
            async with conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                if failures:
                    log.warning("state database %s: hearing of feed changes again", state.dsn)
                failures = 0
                on_notice(CATCH_UP)
                async for notify in conn.notifies():
                    on_notice(read_notice(notify.payload))
            problem = "the server closed it"
        except (psycopg.Error, OSError) as exc:
            problem = " ".join(str(exc).split()) or type(exc).__name__
        delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
        if failures == 0:
            log.warning(
                "state database %s: the connection that hears of feed changes made by other "
                "daemons was lost (%s); feeds are served as they are and caught up once it "
                "is back (trying again in %gs)",
                state.dsn,
                problem,
                delay,
            )
        failures += 1
        await sleep(delay)
