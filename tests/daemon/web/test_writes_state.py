"""Edits and syncs while the state cannot be saved (issue 19, item 9: every PUT answered
500 "please report it" on a full disk). A full disk is 507, a state locked elsewhere
503 with Retry-After, each with the store's line; nothing is half-applied, an edit the
API took before the state failed is settled by the next sync, never sent twice, and a
sync that cannot save keeps its last good feeds and says so in health and the log.

The failures are SQLite's own (``support.broken_state``): its page limit reached, and
another connection's write lock."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from icalendar import vText
from support.broken_state import fill, held, unfill
from support.push_world import events_of, with_events
from support.webex_org import NOW, FakeSleep

from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.feeds.tokens import feed_url_path, write_name
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]


class AfterWrites(httpx.AsyncBaseTransport):
    """The simulator's transport; ``then`` runs once the API has answered a write."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.then: Callable[[], object] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" and self.then is not None:
            then, self.then = self.then, None
            then()
        return response


@pytest.fixture
def after_writes(transport_for: Transports) -> Callable[[SourceSettings], AfterWrites]:
    wrapped: dict[str, AfterWrites] = {}
    return lambda src: wrapped.setdefault(src.name, AfterWrites(transport_for(src)))


@pytest.fixture
def daemon(
    settings: Settings, after_writes: Callable[[SourceSettings], AfterWrites]
) -> Iterator[Daemon]:
    settings.path.write_text(settings.path.read_text() + "feed_writes = true\n")
    d = Daemon(settings.path, clock=lambda: NOW, transport_for=after_writes, sleep=FakeSleep())
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        yield d


async def _put(d: Daemon, feed: str, body: bytes) -> Any:
    path = feed_url_path(d.tokens.token(write_name(feed)), feed)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        return await client.put(path, content=body)


def _holidays(d: Daemon) -> str:
    return next(
        n for n in sorted(d.feeds.names()) if "/holidays/" in n and d.feeds.get(n).events >= 3
    )  # type: ignore[union-attr]


def _sent(sim: WebexSimState) -> list[str]:
    return [f"{r.method} {r.path}" for r in sim.writes()]


async def test_a_put_on_a_full_disk_is_507_in_one_line_and_sends_nothing(
    daemon: Daemon, sim: WebexSimState
) -> None:
    await daemon._sync_job("hq")
    feed = _holidays(daemon)
    before = daemon.feeds.get(feed)
    assert before is not None
    events = list(events_of(before.data).values())
    for i in range(20):  # 20 creates: their journal entries need pages the disk lacks
        new = copy.deepcopy(events[0])
        new["UID"] = vText(f"new-{i}@test")
        new["SUMMARY"] = vText(f"Added day {i}")
        events.append(new)
    fill(daemon.state)
    answer = await _put(daemon, feed, with_events(before.data, events))
    assert answer.status_code == 507, answer.text
    assert answer.json()["error"] == (
        f"state file {daemon.state.path}: cannot save, the disk is full (database or disk is "
        "full); free space on it; the edit was not saved (not sent, or left to the next sync "
        "to settle): send it again once the state can be saved"
    )
    assert "retry-after" not in answer.headers
    assert _sent(sim) == []  # nothing half-applied
    assert daemon.state.journal_pending("hq") == []
    assert daemon.feeds.get(feed) is before
    unfill(daemon.state)  # room again: the same upload goes through whole
    answer = await _put(daemon, feed, with_events(before.data, events))
    assert answer.status_code == 200, answer.text
    assert len(_sent(sim)) == 20


async def test_an_edit_the_api_took_before_the_state_failed_is_settled_once_by_the_next_sync(
    daemon: Daemon,
    sim: WebexSimState,
    after_writes: Callable[[SourceSettings], AfterWrites],
) -> None:
    await daemon._sync_job("hq")
    feed = _holidays(daemon)
    before = daemon.feeds.get(feed)
    assert before is not None
    events = events_of(before.data)
    uid, event = sorted(events.items())[0]
    event["SUMMARY"] = vText(str(event["SUMMARY"]) + " (moved)")
    with ExitStack() as lock:
        # The API takes the rename; then another process holds the state's write lock,
        # so the journal cannot be marked done.
        after_writes(daemon.settings.sources[0]).then = lambda: lock.enter_context(
            held(daemon.state)
        )
        answer = await _put(daemon, feed, with_events(before.data, list(events.values())))
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert (
            "locked by another process (database is locked); try again shortly"
            in (answer.json()["error"])
        )
        [pending] = daemon.state.journal_pending("hq")  # the journal says what is open
    sent = _sent(sim)
    assert len(sent) == 1
    await daemon._sync_job("hq")  # recovery: it had landed, so it is not sent again
    assert _sent(sim) == sent
    assert daemon.state.journal_pending("hq") == []
    assert [e.status for e in daemon.state.journal_entries(pending.batch)] == ["done"]
    after = daemon.feeds.get(feed)
    assert after is not None
    assert str(events_of(after.data)[uid]["SUMMARY"]) == str(event["SUMMARY"])
    assert daemon.health()[0] == 200


async def test_a_sync_that_cannot_save_keeps_the_last_good_feed_and_says_so(
    daemon: Daemon, sim: WebexSimState, caplog: pytest.LogCaptureFixture
) -> None:
    await daemon._sync_job("hq")
    feed = _holidays(daemon)
    before = daemon.feeds.get(feed)
    assert before is not None
    schedule = next(
        s
        for loc in sim.locations.values()
        for s in loc.schedules
        if feed.endswith(f"/{loc.name}/holidays/{s.name}")
    )
    template = next(iter(schedule.events.values()))
    for i in range(60):  # new events in the API: their rows need pages the disk lacks
        name = f"Added day {i}"
        schedule.events[name] = {**copy.deepcopy(template), "name": name}
    fill(daemon.state)
    caplog.set_level(logging.WARNING)
    await daemon._sync_job("hq")
    line = (
        f'source "hq": state file {daemon.state.path}: cannot save, the disk is full '
        "(database or disk is full); free space on it"
    )
    status, body = daemon.health()
    assert status == 503
    assert body["sources"]["hq"]["last_error"] == line
    assert line in caplog.messages
    assert not any("please report" in m for m in caplog.messages)
    assert daemon.feeds.get(feed) is before  # the last good feed stays served
    unfill(daemon.state)
    await daemon._sync_job("hq")
    assert daemon.health()[0] == 200
    after = daemon.feeds.get(feed)
    assert after is not None and after.events == before.events + 60


async def test_a_sync_whose_feeds_cannot_be_recorded_says_so_not_internal_error(
    daemon: Daemon, sim: WebexSimState, caplog: pytest.LogCaptureFixture
) -> None:
    await daemon._sync_job("hq")
    paris = next(loc.id for loc in sim.locations.values() if loc.name == "Paris HQ")
    for i in range(60):  # new empty calendars: no rows to save, but 60 feeds to record
        sim.add_schedule(paris, "holidays", f"Closed {i:02}")
    fill(daemon.state)
    caplog.set_level(logging.WARNING)
    await daemon._sync_job("hq")  # the scheduler would have said "internal error"
    status, body = daemon.health()
    assert status == 503
    assert body["sources"]["hq"]["last_error"] == (
        f'source "hq": state file {daemon.state.path}: cannot save, the disk is full '
        "(database or disk is full); free space on it"
    )
    assert body["sources"]["hq"]["last_error"] in caplog.messages
    unfill(daemon.state)
    await daemon._sync_job("hq")
    assert daemon.health()[0] == 200
    assert daemon.tokens.token("hq/locations/Paris HQ/holidays/Closed 59")
