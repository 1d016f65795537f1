"""Edits over HTTP: PUT/DELETE on a feed's write URL, through the daemon's app in-process."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from icalendar import vText
from support import paths
from support.push_world import events_of, with_events
from support.webex_org import NOW, FakeSleep

from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.feeds.tokens import feed_url_path, write_name
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio
FIXTURES = paths.FIXTURES / "ics"

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]


def _daemon(settings: Settings, transport_for: Transports, extra: str) -> Daemon:
    text = settings.path.read_text()
    settings.path.write_text(text + extra)
    return Daemon(settings.path, clock=lambda: NOW, transport_for=transport_for, sleep=FakeSleep())


@pytest.fixture
def daemon(settings: Settings, transport_for: Transports) -> Iterator[Daemon]:
    d = _daemon(settings, transport_for, "feed_writes = true\n")
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        yield d


async def _call(d: Daemon, method: str, path: str, body: bytes = b"", **headers: str) -> Any:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        return await client.request(method, path, content=body, headers=headers)


def _calendar(d: Daemon) -> str:
    """A location holiday calendar with several events."""
    return next(
        n
        for n in sorted(d.feeds.names())
        if "/holidays/" in n and (d.feeds.get(n) is not None) and d.feeds.get(n).events >= 3  # type: ignore[union-attr]
    )


def _event_names(sim: WebexSimState) -> Counter[str]:
    """How many schedules of the org hold an event of each name."""
    owners = [*sim.people.values(), *sim.locations.values()]
    return Counter(name for o in owners for sched in o.schedules for name in sched.events)


def _write_path(d: Daemon, feed: str, uid: str | None = None) -> str:
    token = d.tokens.token(write_name(feed))
    return feed_url_path(token, feed if uid is None else f"{feed}/{uid}")


async def test_put_of_an_edited_calendar_changes_webex_and_answers_the_new_etag(
    daemon: Daemon, sim: WebexSimState
) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    before = daemon.feeds.get(feed)
    assert before is not None
    events = events_of(before.data)
    uid, event = sorted(events.items())[0]
    old_name = str(event["SUMMARY"])
    held = _event_names(sim)
    event["SUMMARY"] = vText(old_name + " (moved)")
    body = with_events(before.data, list(events.values()))

    dry = await _call(daemon, "PUT", _write_path(daemon, feed) + "?dry_run=1", body)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    [line] = dry.json()["plan"]
    assert line.startswith("PUT /telephony/config/locations/")
    assert f"name {old_name} -> {old_name} (moved)" in line
    assert daemon.feeds.get(feed) is before  # nothing happened

    answer = await _call(
        daemon, "PUT", _write_path(daemon, feed), body, **{"If-Match": before.etag}
    )
    assert answer.status_code == 200, answer.text
    after = daemon.feeds.get(feed)
    assert after is not None and after.etag != before.etag
    assert answer.headers["etag"] == after.etag == answer.json()["etag"]
    served = events_of(after.data)
    assert str(served[uid]["SUMMARY"]) == old_name + " (moved)"  # same UID, new name
    names = _event_names(sim)
    assert names[old_name + " (moved)"] == held[old_name + " (moved)"] + 1
    assert names[old_name] == held[old_name] - 1


async def test_a_stale_if_match_is_412_and_sends_nothing(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    content = daemon.feeds.get(feed)
    assert content is not None
    answer = await _call(
        daemon, "PUT", _write_path(daemon, feed), content.data, **{"If-Match": '"stale"'}
    )
    assert answer.status_code == 412
    assert "changed since the ETag in If-Match" in answer.json()["error"]


async def test_delete_of_one_event(daemon: Daemon, sim: WebexSimState) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    content = daemon.feeds.get(feed)
    assert content is not None
    uid, event = sorted(events_of(content.data).items())[0]
    held = _event_names(sim)
    answer = await _call(daemon, "DELETE", _write_path(daemon, feed, uid))
    assert answer.status_code == 200, answer.text
    after = daemon.feeds.get(feed)
    assert after is not None and uid not in events_of(after.data)
    assert _event_names(sim)[str(event["SUMMARY"])] == held[str(event["SUMMARY"])] - 1


async def test_put_of_one_event_must_carry_the_uid_of_the_url(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    content = daemon.feeds.get(feed)
    assert content is not None
    uid = sorted(events_of(content.data))[0]
    answer = await _call(daemon, "PUT", _write_path(daemon, feed, uid + "-other"), content.data)
    assert answer.status_code in (400, 404)


async def test_unsupported_rule_is_422_listing_the_uid(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    content = daemon.feeds.get(feed)
    assert content is not None
    events = events_of(content.data)
    uid, event = sorted(events.items())[0]
    event.pop("RRULE", None)
    event.add("RRULE", {"FREQ": "MINUTELY"})  # Webex has no minutely recurrence
    body = with_events(content.data, list(events.values()))
    answer = await _call(daemon, "PUT", _write_path(daemon, feed), body)
    assert answer.status_code == 422, answer.text
    assert any(line.startswith(f"{uid}: ") for line in answer.json()["details"])
    assert daemon.feeds.get(feed) is content


async def test_read_url_refuses_edits_with_405(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    content = daemon.feeds.get(feed)
    assert content is not None
    answer = await _call(daemon, "PUT", daemon.tokens.url_path(feed), content.data)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"
    assert "read-only URL" in answer.text


async def test_a_wrong_write_token_is_the_usual_404(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    answer = await _call(daemon, "PUT", feed_url_path("x" * 24, feed), b"")
    assert answer.status_code == 404
    assert answer.text == "not found"


async def test_writes_are_off_unless_configured(
    settings: Settings, transport_for: Transports
) -> None:
    d = _daemon(settings, transport_for, "")
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("hq")
        feed = _calendar(d)
        with pytest.raises(Exception, match="no feed named"):
            d.tokens.token(write_name(feed))
        content = d.feeds.get(feed)
        assert content is not None
        answer = await _call(d, "PUT", d.tokens.url_path(feed), content.data)
        assert answer.status_code == 405


async def test_garbage_upload_is_400_in_one_line(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    answer = await _call(daemon, "PUT", _write_path(daemon, feed), b"\xff\xfe not a calendar")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("the upload: not UTF-8 text")


async def test_an_event_in_an_unknown_zone_is_400_not_a_crash(daemon: Daemon) -> None:
    await daemon._sync_job("hq")
    feed = _calendar(daemon)
    body = (FIXTURES / "upload_unknown_tzid.ics").read_bytes()
    answer = await _call(daemon, "PUT", _write_path(daemon, feed, "unknown-zone@example.com"), body)
    assert answer.status_code == 400
    assert 'TZID "Mars/Base" is not a time zone known here' in answer.json()["error"]
