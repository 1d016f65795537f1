"""Daemons sharing one PostgreSQL state take turns at each source (in-process)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from support.dav_requests import holiday
from support.postgres import Cluster
from support.webex_org import NOW, FakeSleep

from icsbridge.config.daemon.state import PostgresState
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.feeds.tokens import feed_url_path, write_name
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def two(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep, postgres_dsn: str
) -> Iterator[tuple[Daemon, Daemon, Clock]]:
    text = settings.path.read_text().replace('"state.sqlite"', f'"{postgres_dsn}"')
    settings.path.write_text(text)
    clock = Clock()
    with ExitStack() as stack:
        daemons = []
        for _ in range(2):
            d = Daemon(settings.path, clock=clock, transport_for=transport_for, sleep=fake_sleep)
            d.open(stack.enter_context(StateStore(d.settings.daemon.state)))
            daemons.append(d)
        yield daemons[0], daemons[1], clock


async def test_a_source_synced_by_another_daemon_is_left_until_its_interval_ends(
    two: tuple[Daemon, Daemon, Clock],
) -> None:
    first, second, clock = two
    assert isinstance(first.settings.daemon.state, PostgresState)
    await first._sync_job("hq")
    await second._sync_job("hq")  # its own first sync: it needs the calendars to serve
    assert first.health_by_source["hq"].last_success == second.health_by_source["hq"].last_success
    clock.now = NOW + timedelta(minutes=5)
    await first._sync_job("hq")  # the second synced it 5 of 15 minutes ago
    assert first.health_by_source["hq"].last_success == NOW
    assert first.state.source_status("hq").last_success == NOW
    clock.now = NOW + timedelta(minutes=14)
    await first._sync_job("hq")
    assert first.state.source_status("hq").last_success == clock.now


async def test_a_daemon_skips_a_source_another_is_syncing(
    two: tuple[Daemon, Daemon, Clock],
) -> None:
    first, second, _clock = two
    with second.state.source_lock("hq") as taken:
        assert taken
        await first._sync_job("hq")
    assert first.health_by_source["hq"].last_success is None
    assert first.state.source_status("hq").last_attempt is None
    await first._sync_job("hq")
    assert first.health_by_source["hq"].last_success == NOW


async def test_health_says_which_daemon_synced_each_source_and_which_holds_it(
    two: tuple[Daemon, Daemon, Clock],
) -> None:
    first, second, _clock = two
    await first._sync_job("hq")
    me = f"{socket.gethostname()}:{os.getpid()}"
    _status, body = second.health()
    assert body["sources"]["hq"]["synced_by"] == me
    assert body["sources"]["hq"]["held_by"] is None
    with first.state.source_lock("hq"):
        _status, body = second.health()
    assert body["sources"]["hq"]["held_by"] == me


async def test_metrics_on_any_daemon_say_which_daemon_synced_each_source_and_which_holds_it(
    two: tuple[Daemon, Daemon, Clock],
) -> None:
    first, second, _clock = two
    await first._sync_job("hq")
    me = f"{socket.gethostname()}:{os.getpid()}"
    synced = f'icsbridge_source_synced_by{{source="hq",daemon="{me}"}} 1\n'
    held = f'icsbridge_source_held_by{{source="hq",daemon="{me}"}} 1\n'
    text = second.metrics.render()  # the second never synced hq: it reads the state
    assert synced in text and held not in text
    assert 'icsbridge_source_synced_by{source="branch"' not in text  # never synced
    with first.state.source_lock("hq"):
        assert held in second.metrics.render()
        assert held in first.metrics.render()
    assert held not in second.metrics.render()


async def test_a_daemon_started_after_another_synced_still_makes_its_own_first_sync(
    two: tuple[Daemon, Daemon, Clock],
    transport_for: Transports,
    fake_sleep: FakeSleep,
) -> None:
    """Its health is restored from the state (the other's success): that is not a sync
    of its own, and without one it would have nothing to serve for the source."""
    first, _second, clock = two
    await first._sync_job("hq")
    clock.now = NOW + timedelta(minutes=1)
    late = Daemon(first.settings.path, clock=clock, transport_for=transport_for, sleep=fake_sleep)
    with StateStore(late.settings.daemon.state) as state:
        late.open(state)
        assert late.health_by_source["hq"].last_success == NOW  # restored
        await late._sync_job("hq")
        assert late.health_by_source["hq"].last_success == clock.now
        assert "hq/locations/Paris HQ/holidays/French Holidays" in late.feeds.names()


async def test_a_daemon_that_lost_the_database_skips_its_syncs_until_it_connects_again(
    two: tuple[Daemon, Daemon, Clock], caplog: pytest.LogCaptureFixture, postgres_cluster: Cluster
) -> None:
    first, second, clock = two
    caplog.set_level(logging.INFO, logger="icsbridge.daemon")
    await first._sync_job("hq")
    pid = first.state._db.execute("SELECT pg_backend_pid()").fetchone()[0]
    database = second.state._db.execute("SELECT current_database()").fetchone()[0]
    # The server refuses new sessions of this database (as while it is down), then drops
    # the first daemon's (waiting for it to end); the second's stays.
    postgres_cluster.admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    second.state._db.execute("SELECT pg_terminate_backend(?, 5000)", (pid,))
    clock.now = NOW + timedelta(hours=1)
    await first._sync_job("hq")  # no driver error escapes to the scheduler
    dsn = first.settings.daemon.state
    skipped = [r.getMessage() for r in caplog.records if "this run is skipped" in r.getMessage()]
    assert len(skipped) == 1
    assert skipped[0].startswith(f'source "hq": this run is skipped: state database {dsn}: ')
    assert f'database "{database}" is not currently accepting connections' in skipped[0]
    status, body = first.health()
    assert status == 503
    assert body["state"]["problem"] == (
        f"state database {dsn}: the connection was lost; icsbridge goes on serving what it "
        "has and connects again at each source's next sync"
    )
    assert "icsbridge_source_synced_by{" not in first.metrics.render()  # unknown now
    assert "hq/locations/Paris HQ/holidays/French Holidays" in first.feeds.names()  # still served
    assert first.health_by_source["hq"].last_success == NOW

    postgres_cluster.admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")  # back
    await first._sync_job("hq")
    assert f"state database {dsn}: connected again" in caplog.messages
    assert first.health_by_source["hq"].last_success == clock.now  # synced and saved
    assert second.state.source_status("hq").last_success == clock.now
    status, body = first.health()
    assert body["state"] == {"ok": True, "problem": None}


async def test_an_edit_after_the_connection_was_lost_connects_again_and_is_applied(
    settings: Settings,
    transport_for: Transports,
    fake_sleep: FakeSleep,
    postgres_dsn: str,
    postgres_cluster: Cluster,
    sim: WebexSimState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The server dropped the daemon's session (a restart, a failover) and is back: the
    next edit connects again first, so it is not refused until the next sync."""
    text = settings.path.read_text().replace('"state.sqlite"', f'"{postgres_dsn}"')
    settings.path.write_text(text + "feed_writes = true\n")
    caplog.set_level(logging.INFO, logger="icsbridge.daemon")
    d = Daemon(settings.path, clock=Clock(), transport_for=transport_for, sleep=fake_sleep)
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("hq")
        pid = state._db.execute("SELECT pg_backend_pid()").fetchone()[0]
        postgres_cluster.admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        feed = "hq/locations/Paris HQ/holidays/French Holidays"
        uid = "BACK-AGAIN@example.com"
        path = feed_url_path(d.tokens.token(write_name(feed)), f"{feed}/{uid}")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
        ) as client:
            answer = await client.put(path, content=holiday("Back again", "20261224", uid))
    assert answer.status_code == 200, answer.text
    assert f"state database {d.settings.daemon.state}: connected again" in caplog.messages
    owners = [*sim.people.values(), *sim.locations.values()]
    assert sum("Back again" in sched.events for o in owners for sched in o.schedules) == 1
