"""One sync per source across daemons sharing a PostgreSQL state (``sync.turn``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from support.webex_org import NOW

from icsbridge.config.daemon.state import PostgresState
from icsbridge.config.settings import Settings
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.turn import sync_turn


def test_a_source_another_daemon_is_syncing_is_skipped(
    settings: Settings, postgres_dsn: str
) -> None:
    src = settings.sources[0]
    with (
        StateStore(PostgresState(postgres_dsn)) as mine,
        StateStore(PostgresState(postgres_dsn)) as other,
    ):
        with other.source_lock(src.name), sync_turn(mine, src, NOW, synced_here=False) as skipped:
            assert skipped == 'source "hq": another daemon is syncing it; this run is skipped'
        with sync_turn(mine, src, NOW, synced_here=False) as skipped:
            assert skipped is None
            with other.source_lock(src.name) as taken:
                assert not taken  # held for the whole sync


def test_a_source_synced_by_another_within_most_of_its_interval_is_skipped(
    settings: Settings, postgres_dsn: str
) -> None:
    src = settings.sources[0]  # every 15 minutes
    with StateStore(PostgresState(postgres_dsn)) as state:
        state.record_attempt(src.name, NOW - timedelta(minutes=11), None)
        with sync_turn(state, src, NOW, synced_here=True) as skipped:
            assert skipped == (
                f'source "hq": synced at {(NOW - timedelta(minutes=11)).isoformat()} by '
                "another daemon; this run is skipped"
            )
        # This daemon's first sync of it is its own: it serves from what it rendered.
        with sync_turn(state, src, NOW, synced_here=False) as skipped:
            assert skipped is None
        state.record_attempt(src.name, NOW - timedelta(minutes=13), None)
        with sync_turn(state, src, NOW, synced_here=True) as skipped:
            assert skipped is None


def test_a_sqlite_state_syncs_every_run_without_a_lock(settings: Settings, tmp_path: Path) -> None:
    src = settings.sources[0]
    with StateStore(tmp_path / "s.sqlite") as state:
        state.record_attempt(src.name, NOW, None)
        with sync_turn(state, src, NOW, synced_here=True) as skipped:
            assert skipped is None
            with state.source_lock(src.name) as taken:
                assert taken  # the push lock stays free for the vdir edits' push
