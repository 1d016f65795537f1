"""Edits that queue behind a running sync or push of their source (``push.service``).

The daemon serves a B2CORE simulator's demo; the tests hold the source's lock themselves
(as a running sync does) and queue PUTs behind it, so what happens while an edit waits
is decided by asyncio events, never by timing.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from support.push_world import NOW, events_of, kind_setup, renamed, with_events
from support.webex_org import FakeSleep

from icsbridge.daemon.feeds.tokens import feed_url_path, write_name
from icsbridge.daemon.push import engine, service
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

SOURCE = "b2core-demo"
FEED = "b2core-demo/events"
GUARD = 10.0
"""Seconds a test waits for what should happen at once; reached only when it fails."""


class QueueWatch(asyncio.Lock):
    """The source's lock, telling the test how many acquirers queued behind its holder."""

    def __init__(self) -> None:
        super().__init__()
        self.queued = 0
        self._more = asyncio.Event()

    async def acquire(self) -> Literal[True]:
        if self.locked():
            self.queued += 1
            self._more.set()
        return await super().acquire()

    async def until_queued(self, count: int) -> None:
        while self.queued < count:
            self._more.clear()
            await self._more.wait()


class World:
    def __init__(self, daemon: Daemon, sim: Any) -> None:
        self.daemon = daemon
        self.sim = sim
        self.lock = QueueWatch()
        daemon.pusher._locks[SOURCE] = self.lock  # what the sync job and the edits take

    def feed(self) -> Any:
        content = self.daemon.feeds.get(FEED)
        assert content is not None
        return content

    async def call(self, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.daemon.app), base_url="http://icsbridge.test"
        ) as client:
            return await client.request(method, path, content=body, headers=headers)

    def put(self, body: bytes, **headers: str) -> asyncio.Task[Any]:
        token = self.daemon.tokens.token(write_name(FEED))
        return asyncio.create_task(self.call("PUT", feed_url_path(token, FEED), body, **headers))

    def captions(self) -> list[str]:
        return sorted(str(ev["caption"]) for ev in self.sim.events.values())

    def writes(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.sim.writes()]


@asynccontextmanager
async def open_world(tmp_path: Path, extra: str = "") -> AsyncIterator[World]:
    """The daemon on a B2CORE simulator, its source writable over HTTP, synced once."""
    setup = kind_setup("b2core")
    for name, content in setup.secret_files.items():
        (tmp_path / name).write_text(content)
    config = tmp_path / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + setup.source_toml(setup.base_url)
        + "feed_writes = true\n"
        + extra
    )
    daemon = Daemon(
        config,
        clock=lambda: NOW,
        transport_for=lambda _src: httpx.ASGITransport(app=setup.app),
        sleep=FakeSleep(),
    )
    with StateStore(daemon.settings.daemon.state) as state:
        daemon.open(state)
        w = World(daemon, setup.sim)
        await daemon._sync_job(SOURCE)
        yield w


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path) as w:
        yield w


def _renaming(data: bytes, index: int, caption: str) -> bytes:
    """The calendar ``data`` with its ``index``-th event (by UID) renamed ``caption``."""
    events = [ev for _uid, ev in sorted(events_of(data).items())]
    events[index] = renamed(events[index], caption)
    return with_events(data, events)


async def test_if_match_is_checked_again_after_waiting_for_the_lock(world: World) -> None:
    before = world.feed()
    first = _renaming(before.data, 0, "Renamed by the first app")
    second = _renaming(before.data, 1, "Renamed by the second app")
    await world.lock.acquire()  # a sync is running
    puts = [world.put(body, **{"If-Match": before.etag}) for body in (first, second)]
    await world.lock.until_queued(2)
    world.lock.release()
    answers = await asyncio.gather(*puts)

    assert sorted(a.status_code for a in answers) == [200, 412]
    won = 0 if answers[0].status_code == 200 else 1
    lost = answers[1 - won]
    assert "changed since the ETag in If-Match" in lost.json()["error"]
    assert answers[won].headers["etag"] == world.feed().etag
    winner, loser = ("first", "second") if won == 0 else ("second", "first")
    assert f"Renamed by the {winner} app" in world.captions()
    assert f"Renamed by the {loser} app" not in world.captions()  # nothing of it applied
    assert len(world.writes()) == 1


@pytest.mark.parametrize(("headers", "status"), [(True, 412), (False, 409)])
async def test_a_calendar_saved_as_a_sync_starts_keeps_the_event_that_sync_brought(
    world: World, headers: bool, status: int
) -> None:
    seen = world.feed()  # what the app has: it saves it back unchanged
    template = next(iter(world.sim.events.values()))
    fields = ("description", "startDate", "endDate", "notifications", "recipients")
    await world.lock.acquire()  # the sync job starts ...
    put = world.put(seen.data, **({"If-Match": seen.etag} if headers else {}))
    await world.lock.until_queued(1)
    # ... and brings an event someone just created in the back office.
    world.sim.add_event({"caption": "Created meanwhile", **{k: template[k] for k in fields}})
    await world.daemon._sync_once(SOURCE)
    synced = world.feed()
    assert "Created meanwhile" in {str(ev["SUMMARY"]) for ev in events_of(synced.data).values()}
    world.lock.release()
    answer = await put

    assert answer.status_code == status, answer.text
    if not headers:
        assert answer.json()["error"] == (
            f'feed "{FEED}" changed while this upload waited for a sync or push of its source, '
            "and the upload would undo those changes; nothing was applied: fetch it again, "
            "re-apply the edits and upload again"
        )
    assert "Created meanwhile" in world.captions()
    assert world.writes() == []
    assert world.feed() is synced


def _expiring_at_once(
    asked: list[float],
) -> Callable[[float], AbstractAsyncContextManager[object]]:
    def timeout(seconds: float) -> AbstractAsyncContextManager[object]:
        asked.append(seconds)
        return asyncio.timeout(0)  # the wait runs out at the loop's next turn

    return timeout


async def test_a_write_stuck_behind_a_slow_sync_is_503_with_retry_after_and_applies_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[float] = []
    monkeypatch.setattr(world.daemon.pusher, "_timeout", _expiring_at_once(asked))
    before = world.feed()
    await world.lock.acquire()  # a sync that takes its time
    put = world.put(_renaming(before.data, 0, "Too late"))
    await asyncio.wait({put}, timeout=GUARD)  # answered without the lock coming free
    world.lock.release()
    answer = await put

    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "30"
    assert answer.json()["error"] == (
        f'source "{SOURCE}": a sync or push of it has been running for longer than '
        'write_wait = "30s"; nothing was applied, try again shortly'
    )
    assert asked == [30.0]
    await world.daemon._sync_job(SOURCE)  # the lock is free again; nothing runs late
    assert "Too late" not in world.captions()
    assert world.writes() == []
    assert world.feed().etag == before.etag


async def test_write_wait_zero_refuses_at_once_while_a_sync_runs(tmp_path: Path) -> None:
    async with open_world(tmp_path, 'write_wait = "0s"\n') as world:
        before = world.feed()
        await world.lock.acquire()
        put = world.put(_renaming(before.data, 0, "Not now"))
        await asyncio.wait({put}, timeout=GUARD)
        world.lock.release()
        answer = await put
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert world.writes() == []
        # With the lock free, the same upload goes through at once.
        assert (await world.put(_renaming(before.data, 0, "Now"))).status_code == 200


async def test_a_feed_is_served_while_a_large_upload_is_parsed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsing, parsed = threading.Event(), threading.Event()
    real = service.parse_upload

    def slow_parse(data: bytes, **kwargs: Any) -> Any:
        parsing.set()
        # Blocks until the feed below was served: on the event loop, it never would be.
        assert parsed.wait(GUARD), "the feed was not served while the upload was parsed"
        return real(data, **kwargs)

    monkeypatch.setattr(service, "parse_upload", slow_parse)
    before = world.feed()
    put = world.put(_renaming(before.data, 0, "Parsed aside"))
    assert await asyncio.to_thread(parsing.wait, GUARD)
    answer = await world.call("GET", world.daemon.tokens.url_path(FEED))
    parsed.set()
    assert answer.status_code == 200
    assert answer.headers["etag"] == before.etag
    assert (await put).status_code == 200
    assert "Parsed aside" in world.captions()


async def test_a_push_is_planned_off_the_event_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    planned_in: list[int] = []
    real = engine.plan_push

    def recording(*args: Any, **kwargs: Any) -> Any:
        planned_in.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "plan_push", recording)
    answer = await world.put(_renaming(world.feed().data, 0, "Planned aside"))
    assert answer.status_code == 200, answer.text
    assert len(planned_in) == 1
    assert planned_in[0] != threading.get_ident()  # not the loop's thread


async def test_the_calendar_re_read_after_a_push_is_rendered_off_the_event_loop(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every event of the re-read was normalised and rendered on the loop (render_pulled),
    # about 0.3 s for a 1,000-event calendar during which no feed was served.
    from icsbridge.daemon.sync import pull

    loop_thread = threading.get_ident()
    on_loop: list[str] = []
    real = pull.prepare

    def recording(component: Any) -> Any:
        if threading.get_ident() == loop_thread:
            on_loop.append(str(component.get("SUMMARY")))
        return real(component)

    monkeypatch.setattr(pull, "prepare", recording)
    answer = await world.put(_renaming(world.feed().data, 0, "Rendered aside"))
    assert answer.status_code == 200, answer.text
    assert "Rendered aside" in world.captions()
    assert on_loop == []


async def test_a_one_event_put_that_waited_is_checked_against_what_the_sync_it_waited_on_changed(
    world: World,
) -> None:
    # The event was planned against the rows the sync wrote while the PUT waited: the
    # API's change it brought read as "not changed since the last sync", and the app's
    # older copy overwrote it without a conflict.
    seen = world.feed()
    uid, event = sorted(events_of(seen.data).items())[0]
    caption = str(event["SUMMARY"])
    body = with_events(seen.data, [renamed(event, "Renamed in the app")])
    token = world.daemon.tokens.token(write_name(FEED))
    path = feed_url_path(token, f"{FEED}/{uid}")
    await world.lock.acquire()  # the sync job starts ...
    put = asyncio.create_task(world.call("PUT", path, body))
    await world.lock.until_queued(1)
    # ... and brings a change made to that very event in the back office.
    held = next(ev for ev in world.sim.events.values() if ev["caption"] == caption)
    world.sim.update_event(
        str(held["id"]), {"description": "moved by the back office"}, replace=False
    )
    await world.daemon._sync_once(SOURCE)
    world.lock.release()
    answer = await put

    assert answer.status_code == 409, answer.text
    assert answer.json()["details"] == [
        f"{uid}: changed in the API while this edit waited for a sync or push of its source"
    ]
    assert world.writes() == []
    assert "Renamed in the app" not in world.captions()
    now = next(ev for ev in world.sim.events.values() if ev["id"] == held["id"])
    assert now["description"] == "moved by the back office"
