"""A daemon killed (SIGKILL) between a CalDAV PUT's API call and its answer loses nothing
and doubles nothing: the journal settles the call at the next start, and the client's
retry of the same PUT is no second event."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from support.caldav_world import PASSWORD, VIEWER_PASSWORD, World, make_world
from support.dav_requests import calendar_named, client, holiday
from support.loopback import WAIT

RECEPTION = ("reception", PASSWORD)
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class AfterFirstWrite:
    """Applies the first API write, then holds its answer until released."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = False
        self.hit = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        write = scope["type"] == "http" and scope["method"] in WRITES
        if not (self.armed and write and "access_token" not in scope["path"]):
            await self.app(scope, receive, send)
            return
        self.armed = False

        async def swallow(_message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)  # applied; the answer never leaves
        self.hit.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT)


@pytest.fixture
def gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, AfterFirstWrite]]:
    monkeypatch.setenv("VIEWER_DAV_PASSWORD", VIEWER_PASSWORD)
    gates: list[AfterFirstWrite] = []

    def wrap(app: ASGIApp) -> ASGIApp:
        gates.append(AfterFirstWrite(app))
        return gates[0]

    world = make_world(tmp_path, wrap)
    try:
        yield world, gates[0]
    finally:
        gates[0].release.set()
        if world.daemon is not None:
            world.daemon.stop()
        for served in world.served:
            served.stop()


def _names(world: World) -> Counter[str]:
    def count() -> Counter[str]:
        owners = [*world.sim.people.values(), *world.sim.locations.values()]
        return Counter(n for o in owners for sched in o.schedules for n in sched.events)

    result: Counter[str] = world.webex.call(count)
    return result


def test_a_put_killed_after_its_api_call_lands_once_and_its_retry_is_no_second(
    gated: tuple[World, AfterFirstWrite],
) -> None:
    world, gate = gated
    daemon = world.start()
    cal = calendar_named(client(world.dav, *RECEPTION).principal(), "French Holidays")
    url = f"{cal.url}B1D4-CRASH-TEST.ics"
    body = holiday("Crash party", "20261211")
    gate.armed = True
    with ThreadPoolExecutor(1) as pool:
        sent: Future[httpx.Response] = pool.submit(
            httpx.put,
            url,
            content=body,
            auth=RECEPTION,
            timeout=WAIT,
            trust_env=False,
            headers={"Content-Type": "text/calendar"},
        )
        assert gate.hit.wait(WAIT)
        daemon.kill()
        gate.release.set()
        with pytest.raises(httpx.HTTPError):
            sent.result(timeout=WAIT)
    world.daemon = None
    assert _names(world)["Crash party"] == 1

    world.start("daemon2")  # its first sync settles the journal
    assert _names(world)["Crash party"] == 1
    retried = httpx.put(
        url,
        content=body,
        auth=RECEPTION,
        timeout=WAIT,
        trust_env=False,
        headers={"Content-Type": "text/calendar"},
    )
    assert retried.status_code in (201, 204), retried.text
    assert _names(world)["Crash party"] == 1
    fetched = httpx.get(url, auth=RECEPTION, trust_env=False)
    assert fetched.status_code == 200 and b"SUMMARY:Crash party" in fetched.content
    world.stop()
