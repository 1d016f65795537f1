"""NOTIFY and LISTEN between daemons sharing a PostgreSQL state: a notice is delivered at
commit, is small, and a listener whose connection is cut reconnects and says so with a
catch-up notice (``daemon.store.postgres.notify``)."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest
from support.postgres import Cluster

from icsbridge.config.daemon.state import PostgresState
from icsbridge.daemon.store.backend import process_name
from icsbridge.daemon.store.postgres.notify import (
    BACKOFF,
    CATCH_UP,
    LIMIT,
    Notice,
    listen,
    payload,
    read_notice,
)
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio


def test_a_notice_names_its_sender_and_feeds_and_stays_under_the_limit() -> None:
    notice = read_notice(payload(["b", "a", "b"], tokens=False))
    assert notice == Notice(process_name(), frozenset({"a", "b"}), tokens=False)
    many = [f"hq/locations/Site {n}/holidays/Public Holidays" for n in range(400)]
    text = payload(many)
    assert len(text.encode()) <= LIMIT < 8000
    assert read_notice(text) == Notice(process_name(), None, tokens=False)  # any may have
    assert read_notice("not json") == CATCH_UP
    assert read_notice(json.dumps({"by": "x"})) == CATCH_UP


class Heard:
    """The notices a listener hands on, awaited one by one (no sleeping)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Notice] = asyncio.Queue()

    def __call__(self, notice: Notice) -> None:
        self.queue.put_nowait(notice)

    async def next(self) -> Notice:
        return await asyncio.wait_for(self.queue.get(), 30)


async def test_notices_arrive_at_commit_and_a_cut_connection_catches_up(
    postgres_dsn: str,
) -> None:
    state = PostgresState(postgres_dsn)
    heard, delays = Heard(), list[float]()

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    task = asyncio.create_task(listen(state, heard, sleep=no_wait))
    try:
        assert await heard.next() == CATCH_UP  # LISTEN is in place
        with StateStore(state) as store:
            with store.transaction():
                store.announce(payload(["support"]))
                assert heard.queue.empty()
                store.announce(payload(tokens=True))
            first, second = await heard.next(), await heard.next()
            assert (first.feeds, first.tokens) == (frozenset({"support"}), False)
            assert (second.feeds, second.tokens) == (frozenset(), True)
            # Cut the listener's connection as an administrator would.
            with psycopg.connect(postgres_dsn, autocommit=True) as admin:
                cut = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name LIKE 'icsbridge listen %'"
                    " AND datname = current_database()"
                ).fetchall()
            assert cut == [(True,)]
            assert await heard.next() == CATCH_UP  # back, and told to compare
            assert delays == [BACKOFF[0]]
            store.announce(payload(["holidays"]))
            assert (await heard.next()).feeds == frozenset({"holidays"})
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_database_that_cannot_be_reached_is_tried_again_with_a_backoff(
    postgres_cluster: Cluster,
) -> None:
    gone = PostgresState(postgres_cluster.dsn("no_such_database"))
    delays = list[float]()
    enough = asyncio.Event()

    async def count(delay: float) -> None:
        delays.append(delay)
        if len(delays) == len(BACKOFF) + 1:
            enough.set()
            await asyncio.Event().wait()  # stop here until cancelled

    task = asyncio.create_task(listen(gone, Heard(), sleep=count))
    try:
        await asyncio.wait_for(enough.wait(), 30)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert delays == [*BACKOFF, BACKOFF[-1]]
