"""A whole-calendar PUT is checked (If-Match) against the feed the daemon serves and
planned against the rows of the state; when the rows moved on without the daemon
publishing, an upload made from the served feed undid those changes with a current ETag
(found by the soak, tests/soak):

- ``icsbridge push`` beside the daemon created an event (exit 0); the daemon still served
  the feed without it, and a PUT of that feed plus one new event deleted it;
- a DELETE over HTTP landed but the push's re-read failed (502); the feed still showed
  the event, and a PUT of it created the event again.

Now the push service first syncs the source when its rows moved since the feed was
published: the client's ETag is then of an older feed (412), and its next upload, made
from the fresh feed, keeps both edits.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from support.loopback import ServedApp
from support.push_world import events_of, with_events, with_uid

from icsbridge.config.loader import load_settings, resolve_secrets
from icsbridge.converters.ical.upload.read import parse_upload
from icsbridge.daemon.cli.demo import free_port, webex_demo_api
from icsbridge.daemon.cli.push import run_push
from icsbridge.daemon.feeds.urls import FeedUrl, feed_urls
from icsbridge.daemon.push.plan import PushRequest
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState

CALENDAR = "webex-demo/locations/Paris HQ/holidays/French Holidays"


async def no_sleep(_seconds: float) -> None:
    return None


class ReadsFailAfterDelete:
    """ASGI middleware: once armed, every read after the next DELETE gets 503 (every try
    of the push's re-read), until the test sets ``failing`` back to False."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.armed = False
        self.failing = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.armed and scope["method"] == "DELETE":
            self.armed, self.failing = False, True
        elif scope["type"] == "http" and self.failing and scope["method"] == "GET":
            await Response(b'{"message": "down"}', 503)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass
class World:
    sim: WebexSimState
    gate: ReadsFailAfterDelete
    served: ServedApp
    config: Path
    daemon: Daemon
    url: FeedUrl
    http: httpx.AsyncClient

    def names(self) -> list[str]:
        paris = next(loc for loc in self.sim.locations.values() if loc.name == "Paris HQ")
        return list(next(s for s in paris.schedules if s.name == "French Holidays").events)


@asynccontextmanager
async def world(folder: Path) -> AsyncIterator[World]:
    sim = webex_seed.demo_state()
    api = webex_demo_api(sim)
    gate = ReadsFailAfterDelete(api.app)
    served = ServedApp(gate)
    for name, content in api.secret_files.items():
        (folder / name).write_text(content)
    port = free_port()
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n'
        f'listen = "127.0.0.1:{port}"\npublic_url = "http://127.0.0.1:{port}"\n\n'
        + api.source_toml(f"http://127.0.0.1:{served.port}/v1")
        + "feed_writes = true\n"
    )
    daemon = Daemon(config, notifier=Notifier({}), sleep=no_sleep)
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.first_round_done.wait(), 60)
        urls = feed_urls(daemon.settings, daemon.state, daemon.tokens)
        url = next(u for u in urls if u.feed == CALENDAR)
        async with httpx.AsyncClient(timeout=60) as http:
            yield World(sim, gate, served, config, daemon, url, http)
    finally:
        daemon.request_stop()
        await task
        served.stop()
        shutil.rmtree(folder / "feeds", ignore_errors=True)


async def put_with_one_more(w: World, uid: str, summary: str) -> httpx.Response:
    """What a calendar app does: GET the feed, add an event, PUT it with If-Match."""
    got = await w.http.get(w.url.http)
    events = events_of(got.content)
    new = with_uid(events[sorted(events)[0]], uid, summary)
    upload = with_events(got.content, [*events.values(), new])
    assert w.url.write is not None
    return await w.http.put(w.url.write, content=upload, headers={"If-Match": got.headers["etag"]})


def test_a_put_with_the_served_etag_keeps_what_icsbridge_push_created(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            feed = (await w.http.get(w.url.http)).content
            events = events_of(feed)
            pushed = with_events(feed, [with_uid(events[sorted(events)[0]], "cli@x", "By CLI")])
            settings = load_settings(w.config)
            assert resolve_secrets(settings) == []
            request = PushRequest(CALENDAR, dict(parse_upload(pushed)), "event", None, False)
            outcome = await run_push(settings, request, now=datetime.now(UTC))
            assert len(outcome.plan) == 1 and "By CLI" in w.names()  # exit 0: accepted

            answer = await put_with_one_more(w, "app@x", "By an app")
            assert answer.status_code == 412, answer.text  # made from a feed without it
            assert "By CLI" in w.names()
            again = await put_with_one_more(w, "app@x", "By an app")
            assert again.status_code == 200, again.text
            assert "By CLI" in w.names() and "By an app" in w.names()

    asyncio.run(scenario())


def test_a_put_after_a_delete_whose_re_read_failed_does_not_create_it_again(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with world(tmp_path) as w:
            assert (await put_with_one_more(w, "made@x", "Made")).status_code == 200
            w.gate.armed = True
            assert w.url.write is not None
            gone = await w.http.delete(w.url.write.removesuffix(".ics") + "/made%40x.ics")
            w.gate.failing = False
            assert gone.status_code == 502 and "Made" not in w.names()  # landed, re-read failed

            answer = await put_with_one_more(w, "app@x", "By an app")
            assert answer.status_code == 412, answer.text  # made from a feed still with it
            assert "Made" not in w.names()
            again = await put_with_one_more(w, "app@x", "By an app")
            assert again.status_code == 200, again.text
            assert "Made" not in w.names() and "By an app" in w.names()

    asyncio.run(scenario())
