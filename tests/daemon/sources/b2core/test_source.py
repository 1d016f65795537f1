"""B2coreSource.pull() against the B2CORE simulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.converters.errors import PayloadError
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import create_app
from icsbridge.daemon.simulators.b2core.state import DEMO_TOKEN
from icsbridge.daemon.sources.b2core.source import B2coreSource
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.kinds import SOURCE_KINDS, source_for

pytestmark = pytest.mark.anyio
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
IN_WINDOW = 12  # demo events between 30 days back and 180 days ahead


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sim = b2core_seed.demo_state(date(2025, 3, 1), now=lambda: NOW)
        self.delays: list[float] = []
        monkeypatch.setenv("B2CORE_TEST_TOKEN", DEMO_TOKEN)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def source(self, **config: Any) -> B2coreSource:
        raw = {
            "name": "bo",
            "kind": "b2core",
            "interval": "15m",
            "base_url": "https://bo.example.com",
            "token": "env:B2CORE_TEST_TOKEN",
            **config,
        }
        settings = B2coreSourceSettings.model_validate(raw)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        source = source_for(
            settings,
            client,
            tokens=DictTokens(),
            sleep=self.sleep,
            rng=random.Random(1),
            clock=lambda: NOW,
        )
        assert isinstance(source, B2coreSource)
        return source

    def offsets(self) -> list[str]:
        return [r.query.get("offset", "-") for r in self.sim.lists()]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


async def test_registered_kind() -> None:
    assert SOURCE_KINDS["b2core"] is B2coreSource


async def test_pull_the_demo_back_office(world: World) -> None:
    [calendar] = await world.source(timezone="Europe/Paris").pull()
    assert calendar.meta.key == "bo/events"
    assert calendar.meta.name == "B2CORE events (bo.example.com)"
    assert calendar.meta.timezone == "Europe/Paris"
    assert calendar.meta.refresh_seconds == 900
    assert calendar.ref == {"timezone": "Europe/Paris", "organizer": "noreply@bo.example.com"}
    assert [e.native_key for e in calendar.events] == [str(n) for n in range(1, 13)]
    summaries = {str(e.component["SUMMARY"]) for e in calendar.events}
    assert "Archived: 2023 external audit kickoff" not in summaries  # outside the window


async def test_the_query_and_headers(world: World) -> None:
    await world.source(language="ja", page_size=50).pull()
    [request] = world.sim.lists()
    assert request.query == {
        "limit": "50",
        "offset": "0",
        "sort_by": "startTime",
        "sort_order": "asc",
        "filter[startDate]": "2025-01-30T00:00:00+00:00",
        "filter[endDate]": "2025-08-29T00:00:00+00:00",
    }
    # "+" must travel percent-encoded, or the server reads a space.
    assert "%2B00%3A00" in request.path
    assert request.headers["accept-language"] == "ja"
    assert request.headers["accept"] == "application/json"


async def test_paging_stops_on_a_short_page(world: World) -> None:
    [calendar] = await world.source(page_size=5).pull()
    assert len(calendar.events) == IN_WINDOW
    assert world.offsets() == ["0", "5", "10"]


async def test_exact_multiple_of_the_page_size_reads_one_empty_page(world: World) -> None:
    [calendar] = await world.source(page_size=4).pull()
    assert len(calendar.events) == IN_WINDOW
    assert world.offsets() == ["0", "4", "8", "12"]
    assert [r.status for r in world.sim.lists()] == [200] * 4


@pytest.mark.parametrize("shape", ["data", "items"])
async def test_wrapped_lists_stop_at_the_total(world: World, shape: Any) -> None:
    world.sim.list_shape = shape
    [calendar] = await world.source(page_size=4).pull()
    assert len(calendar.events) == IN_WINDOW
    assert world.offsets() == ["0", "4", "8"]  # total = 12: no empty page


async def test_empty_window(world: World) -> None:
    world.sim.events.clear()
    [calendar] = await world.source().pull()
    assert calendar.events == []
    assert world.offsets() == ["0"]


async def test_a_server_ignoring_offset_does_not_loop(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    first_page = [dict(world.sim.events[n]) for n in (1, 2)]
    world.sim.mangle(lambda _answer: first_page, times=50)
    [calendar] = await world.source(page_size=2).pull()
    assert [e.native_key for e in calendar.events] == ["1", "2"]
    assert world.offsets() == ["0", "2"]
    assert "offset 2 repeats events already read; stopping" in caplog.text


async def test_recipients_read_once_each_and_merge(world: World) -> None:
    source = world.source(recipients=["sofia.ng@broker.example", "omar.haddad@broker.example"])
    [calendar] = await source.pull()
    # Sofia: 5, 8, 9; Omar: 5, 9, 10; events 5 and 9 are listed for both.
    assert [e.native_key for e in calendar.events] == ["5", "8", "9", "10"]
    asked = [r.query["filter[recipients]"] for r in world.sim.lists()]
    assert asked == ["sofia.ng@broker.example", "omar.haddad@broker.example"]
    assert calendar.meta.description.endswith(
        "for sofia.ng@broker.example, omar.haddad@broker.example"
    )


async def test_retries_429_and_5xx(world: World) -> None:
    world.sim.inject(429, retry_after=3, path_contains="offset=0")
    world.sim.inject(503, times=2, path_contains="offset=5")
    [calendar] = await world.source(page_size=5).pull()
    assert len(calendar.events) == IN_WINDOW
    assert world.delays[0] == 3
    assert len(world.delays) == 3


async def test_a_refused_token_is_one_line(world: World) -> None:
    world.sim.auth.static_tokens.clear()
    with pytest.raises(SourceError) as caught:
        await world.source().pull()
    message = str(caught.value)
    assert message.startswith(
        'source "bo": GET /api/v2/calendars/events: 401 Unauthorized: Unauthenticated.'
    )
    assert message.endswith("; check the token, or the email and password")
    assert DEMO_TOKEN not in message


async def test_a_bad_event_names_the_event(world: World) -> None:
    def spoil(answer: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer[1]["startDate"] = "2025-03-02T10:00:00"
        return answer

    world.sim.mangle(spoil)
    with pytest.raises(PayloadError) as caught:
        await world.source().pull()
    assert str(caught.value) == (
        'source "bo": b2core: event list (offset 0): event 2 "Onboarding call: Northwind '
        'Capital (IB partner)": field "startDate": "2025-03-02T10:00:00" has no UTC offset '
        "(e.g. +00:00); its instant is unknown"
    )


async def test_an_answer_that_is_not_an_event_list(world: World) -> None:
    world.sim.mangle(lambda _answer: {"status": "ok"})
    with pytest.raises(PayloadError, match=r"check base_url points at the B2CORE host$"):
        await world.source().pull()


async def test_describe_does_no_io(world: World) -> None:
    source = world.source(recipients=["ops@broker.example"], timezone="Europe/Paris")
    assert source.describe() == [
        "auth: bearer token",
        "events from 30 days before to 180 days after today (UTC), 100 per page",
        "only events for: ops@broker.example",
        "language (Accept-Language): en",
        "time zone shown: Europe/Paris (times in another offset are written in UTC)",
        "calendar: bo/events",
    ]
    assert world.sim.requests == []


async def test_no_credentials_on_a_hand_built_settings_object(world: World) -> None:
    settings = B2coreSourceSettings.model_construct(
        name="bo", kind="b2core", base_url="https://bo.example.com", token=None, email=None
    )
    with pytest.raises(SourceError) as caught:
        B2coreSource(settings, httpx.AsyncClient(), tokens=DictTokens())
    assert str(caught.value) == 'source "bo": no credentials; set token, or email and password'


@pytest.mark.parametrize(
    ("base_url", "organizer"),
    [
        ("https://bo.example.com:8443", "noreply@bo.example.com"),
        ("http://127.0.0.1:8123", "noreply@[127.0.0.1]"),
        ("http://[::1]:8123", "noreply@[IPv6:::1]"),
    ],
)
async def test_the_organizer_is_a_neutral_address_at_the_host(
    world: World, base_url: str, organizer: str
) -> None:
    [calendar] = await world.source(base_url=base_url).pull()
    assert calendar.ref["organizer"] == organizer
    with_recipients = next(e.component for e in calendar.events if "ATTENDEE" in e.component)
    assert str(with_recipients["ORGANIZER"]) == f"mailto:{organizer}"
