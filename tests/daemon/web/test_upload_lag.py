"""A 1,000-event Outlook calendar uploaded through the write URL never stalls the feeds
(issue 14, "Bounded cost"): the daemon's real app, in-process, on a Webex simulator.

A ticker task records how late each of its 5 ms ticks comes (the event-loop lag) while
the upload runs and another task fetches feeds; the test asserts the lag, not wall-clock
durations, and that the feeds were answered during the upload.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.loopback import ServedApp
from support.outlook_upload import outlook_calendar
from support.push_world import NOW, kind_setup
from support.webex_org import FakeSleep

from icsbridge.daemon.feeds.tokens import feed_url_path, write_name
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

EVENTS = 1000
TARGET = "webex-demo/locations/New York/businessHours/NY Office Hours"
OTHER = "webex-demo/locations/Paris HQ/holidays/French Holidays"
TICK = 0.005
MAX_LAG = 0.050
BODY = outlook_calendar(EVENTS)


class Ticker:
    """Wakes every :data:`TICK` seconds and keeps how late each wake-up was."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            due = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            self.lags.append(time.perf_counter() - due)

    async def __aenter__(self) -> Ticker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        # The tick due when the upload ended is kept: a stall at its very end counts.
        assert self._task is not None
        self._stop.set()
        await self._task


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    # The API on a loopback port, as a real one answers: over a socket, from another
    # thread (in-process, a request would never give the loop back).
    setup = kind_setup("webex")
    api = ServedApp(setup.app)
    for name, content in setup.secret_files.items():
        (tmp_path / name).write_text(content)
    config = tmp_path / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + setup.source_toml(f"http://127.0.0.1:{api.port}/v1")
        + f"feed_writes = true\nmax_creates = {EVENTS}\n"
    )
    d = Daemon(config, clock=lambda: NOW, sleep=FakeSleep())
    try:
        with StateStore(d.settings.daemon.state) as state:
            d.open(state)
            try:
                await d._sync_job("webex-demo")
                yield d
            finally:
                await d.clients.aclose()
    finally:
        api.stop()


async def _call(d: Daemon, method: str, path: str, body: bytes = b"") -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        return await client.request(method, path, content=body)


async def _upload_while_fetching(d: Daemon) -> tuple[Any, list[float], int]:
    """The PUT's answer, the ticker's lags and how many feed fetches were answered while
    the upload ran."""
    token = d.tokens.token(write_name(TARGET))
    answered = 0
    async with Ticker() as ticker:
        put = asyncio.create_task(_call(d, "PUT", feed_url_path(token, TARGET), BODY))

        async def fetch_feeds() -> None:
            nonlocal answered
            while not put.done():
                answer = await _call(d, "GET", d.tokens.url_path(OTHER))
                assert answer.status_code == 200
                answered += not put.done()
                await asyncio.sleep(TICK)  # one fetch a tick: a subscriber, not a flood

        fetching = asyncio.create_task(fetch_feeds())
        answer = await put
        await fetching
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["plan"]) == EVENTS + 1  # the 1,000 creates, one delete
    served = d.feeds.get(TARGET)
    assert served is not None and served.data.count(b"BEGIN:VEVENT") == EVENTS
    return answer, ticker.lags, answered


async def test_feeds_are_answered_while_a_1000_event_outlook_upload_is_pushed(
    daemon: Daemon,
) -> None:
    _answer, _lags, answered = await _upload_while_fetching(daemon)
    assert answered >= 10


async def test_a_1000_event_outlook_upload_never_lags_the_event_loop_by_50_ms(
    daemon: Daemon,
) -> None:
    _answer, lags, _answered = await _upload_while_fetching(daemon)
    worst = max(lags)
    assert worst <= MAX_LAG, f"the event loop lagged {worst * 1000:.0f} ms"
