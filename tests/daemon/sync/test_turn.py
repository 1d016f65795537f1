"""One sync per source across daemons sharing a PostgreSQL state (``sync.turn``)."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from support.webex_org import NOW

from icsbridge.config.daemon.state import PostgresState
from icsbridge.config.settings import Settings
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.turn import FIRST_TRIES, RETRY, sync_turn

pytestmark = pytest.mark.anyio

EARLIER = NOW - timedelta(hours=1)


class Sleeps:
    """An injected sleep: records the delays, runs ``then`` at the n-th; never sleeps."""

    def __init__(self, at: int | None = None, then: ExitStack | None = None) -> None:
        self.delays: list[float] = []
        self.at, self.then = at, then

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.then is not None and len(self.delays) == self.at:
            self.then.close()


async def test_a_source_another_daemon_is_syncing_is_skipped(
    settings: Settings, postgres_dsn: str
) -> None:
    src, sleeps = settings.sources[0], Sleeps()
    with (
        StateStore(PostgresState(postgres_dsn)) as mine,
        StateStore(PostgresState(postgres_dsn)) as other,
    ):
        with other.source_lock(src.name):
            async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
                assert skipped is not None
            assert sleeps.delays == [RETRY] * FIRST_TRIES  # a first sync waits, by a count
            mine.record_attempt(src.name, EARLIER, None)  # this daemon has synced it since
            async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
                assert skipped == 'source "hq": another daemon is syncing it; this run is skipped'
            assert len(sleeps.delays) == FIRST_TRIES  # a daemon with the calendars does not wait
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is None
            with other.source_lock(src.name) as taken:
                assert not taken  # held for the whole sync


async def test_a_first_sync_waits_for_the_other_daemons_sync_to_end(
    settings: Settings, postgres_dsn: str
) -> None:
    src = settings.sources[0]
    with (
        StateStore(PostgresState(postgres_dsn)) as mine,
        StateStore(PostgresState(postgres_dsn)) as other,
    ):
        held = ExitStack()
        assert held.enter_context(other.source_lock(src.name))
        sleeps = Sleeps(at=3, then=held)  # the other's sync ends during the third wait
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is None
        assert sleeps.delays == [RETRY] * 3


async def test_a_source_synced_by_another_within_most_of_its_interval_is_skipped(
    settings: Settings, postgres_dsn: str
) -> None:
    src, sleeps = settings.sources[0], Sleeps()  # every 15 minutes
    with (
        StateStore(PostgresState(postgres_dsn)) as mine,
        StateStore(PostgresState(postgres_dsn)) as other,
    ):
        other.record_attempt(src.name, NOW - timedelta(minutes=11), None)
        # This daemon's first sync of it is its own: it serves from what it rendered.
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is None
        mine.record_attempt(src.name, EARLIER, None)
        other.record_attempt(src.name, NOW - timedelta(minutes=11), None)
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped == (
                f'source "hq": synced at {(NOW - timedelta(minutes=11)).isoformat()} by '
                "another daemon; this run is skipped"
            )
        other.record_attempt(src.name, NOW - timedelta(minutes=13), None)
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is None


async def test_a_sqlite_state_syncs_every_run_without_a_lock(
    settings: Settings, tmp_path: Path
) -> None:
    src = settings.sources[0]
    with StateStore(tmp_path / "s.sqlite") as state:
        state.record_attempt(src.name, NOW, None)
        async with sync_turn(state, src, NOW, sleep=Sleeps()) as skipped:
            assert skipped is None
            with state.source_lock(src.name) as taken:
                assert taken  # the push lock stays free for the vdir edits' push


async def test_a_recent_sync_by_another_skips_no_run_asked_for_or_with_a_dead_push_pending(
    settings: Settings, postgres_dsn: str
) -> None:
    """SIGUSR1 asks for a sync now; calls of a push left pending in the journal belong to
    a daemon that died holding the lock (a live one would hold it still): both are run
    at once, not at the end of the interval."""
    src, sleeps = settings.sources[0], Sleeps()
    with (
        StateStore(PostgresState(postgres_dsn)) as mine,
        StateStore(PostgresState(postgres_dsn)) as other,
    ):
        mine.record_attempt(src.name, EARLIER, None)
        other.record_attempt(src.name, NOW - timedelta(minutes=1), None)
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is not None and skipped.endswith(
                "by another daemon; this run is skipped"
            )
        async with sync_turn(mine, src, NOW, sleep=sleeps, asked=True) as skipped:
            assert skipped is None
        with other.transaction():
            other.journal_add("b1", src.name, "cal", ['{"op": "create"}'], NOW)
        async with sync_turn(mine, src, NOW, sleep=sleeps) as skipped:
            assert skipped is None
        assert sleeps.delays == []
