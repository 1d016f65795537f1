"""Wordbee login, silent re-login, 429 waits and the hourly quota, on a fake clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.sources.wordbee import WordbeeSourceSettings
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.simulators.wordbee.app import WordbeeSimState, create_app
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.wordbee.auth import MAX_THROTTLED
from icsbridge.daemon.sources.wordbee.quota import SlidingWindowLimiter, shared_limiter
from icsbridge.daemon.sources.wordbee.source import WordbeeSource

pytestmark = pytest.mark.anyio
NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
KEY = "demo-key"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = NOW
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


class World:
    """The simulator, a fake clock and a source, with settings changed per test."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WB_KEY", KEY)
        self.clock = Clock()
        self.sim = wordbee_seed.demo_state(self.clock)
        self.app = create_app(self.sim)

    def settings(self, **extra: Any) -> WordbeeSourceSettings:
        data = {
            "name": "wb",
            "interval": "15m",
            "base_url": "http://wordbee.test/api",
            "account_id": "demo",
            "key": "env:WB_KEY",
            "persons": [143],
            "months_back": 0,
            "months_ahead": 1,
            **extra,
        }
        return WordbeeSourceSettings.model_validate(data)

    async def pull(self, **extra: Any) -> tuple[WordbeeSource, int]:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport) as client:
            source = WordbeeSource(
                self.settings(**extra),
                client,
                tokens=DictTokens(),
                clock=self.clock,
                sleep=self.clock.sleep,
            )
            calendars = await source.pull()
        return source, sum(len(c.events) for c in calendars)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


def statuses(sim: WordbeeSimState) -> list[tuple[str, str, int]]:
    return [(r.method, r.path.split("?")[0], r.status) for r in sim.requests]


async def test_login_sends_account_and_key_and_the_token_is_reused(world: World) -> None:
    source, events = await world.pull()
    assert events > 0
    login = world.sim.requests[0]
    assert (login.method, login.path, login.body) == ("POST", "/api/auth/token", b"<redacted>")
    assert source.session.logins == 1
    assert [s for _, _, s in statuses(world.sim)] == [200, 200, 200]
    assert KEY not in repr(source.session) and "wb-token" not in repr(source.session)


@pytest.mark.parametrize("expired_status", [401, 400])
async def test_an_expired_token_means_one_silent_login(world: World, expired_status: int) -> None:
    world.sim.auth.expired_status = expired_status
    world.sim.auth.idle_lifetime = timedelta(minutes=30)
    original = world.sim.check_token

    calls = {"n": 0}

    def expire_after_first(token: str | None, account: str | None) -> str | None:
        calls["n"] += 1
        if calls["n"] == 2:  # the token "idles out" before the second month
            world.clock.now += timedelta(minutes=31)
        return original(token, account)

    world.sim.check_token = expire_after_first  # type: ignore[method-assign]
    source, _ = await world.pull()
    assert source.session.logins == 2
    assert statuses(world.sim) == [
        ("POST", "/api/auth/token", 200),
        ("GET", "/api/persons/143/calendar/view", 200),
        ("GET", "/api/persons/143/calendar/view", expired_status),
        ("POST", "/api/auth/token", 200),
        ("GET", "/api/persons/143/calendar/view", 200),
    ]
    assert world.clock.slept == []


async def test_a_second_refusal_is_an_error_without_secrets(world: World) -> None:
    world.sim.inject(401, times=2, path_contains="/calendar/view")
    with pytest.raises(SourceError) as caught:
        await world.pull()
    assert str(caught.value) == (
        'source "wb": GET /persons/143/calendar/view?range=m&year=2026&month=3: 401 '
        "Unauthorized: Simulated HTTP 401; check account_id and key"
    )
    assert [s for m, _, s in statuses(world.sim) if m == "POST"] == [200, 200]


async def test_a_400_about_something_else_is_not_a_token_problem(world: World) -> None:
    body = {"error": {"title": "Invalid parameter", "details": "month"}, "reason": "bad"}
    world.sim.inject(400, path_contains="/calendar/view", body=body)
    with pytest.raises(SourceError) as caught:
        await world.pull()
    assert "400 Bad Request: Invalid parameter: month: bad" in str(caught.value)
    assert [m for m, _, _ in statuses(world.sim)].count("POST") == 1


async def test_a_wrong_key_fails_in_one_line_that_never_shows_it(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WB_KEY", "wrong-key-123")
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as caught:
        await world.pull()
    assert str(caught.value) == (
        'source "wb": POST /auth/token: 401 Unauthorized: Authentication failed: The account '
        "id or the key is wrong; check account_id and key"
    )
    assert "wrong-key-123" not in caplog.text
    assert world.sim.view_requests() == []


async def test_an_echoed_secret_is_scrubbed(world: World) -> None:
    world.sim.inject(403, path_contains="/calendar/view", body={"error": f"bad key {KEY}"})
    with pytest.raises(SourceError) as caught:
        await world.pull()
    assert str(caught.value).endswith(
        "403 Forbidden: bad key ***; check that the account may read this person's calendar"
    )


async def test_429_without_retry_after_waits_the_throttle_time(world: World) -> None:
    world.sim.inject(429, times=2, path_contains="month=4")
    source, _ = await world.pull(throttle_wait=15)
    assert world.clock.slept == [15.0, 30.0]
    assert source.session.throttle_waits == [15.0, 30.0]
    assert [s for _, _, s in statuses(world.sim)] == [200, 200, 429, 429, 200]


async def test_429_waits_at_least_ten_seconds_even_with_a_short_retry_after(
    world: World,
) -> None:
    world.sim.inject(429, path_contains="month=3", retry_after=2)
    await world.pull()
    assert world.clock.slept == [10.0]


async def test_endless_429_gives_up_in_one_line(world: World) -> None:
    world.sim.inject(429, times=100, path_contains="month=3")
    with pytest.raises(SourceError) as caught:
        await world.pull()
    assert len(world.clock.slept) == MAX_THROTTLED
    assert world.clock.slept[:4] == [10.0, 20.0, 40.0, 80.0]
    assert max(world.clock.slept) == 600.0
    assert sum(world.clock.slept) > 3600  # a whole sliding hour was waited out
    assert str(caught.value) == (
        'source "wb": GET /persons/143/calendar/view?range=m&year=2026&month=3: 429 Too Many '
        "Requests: Simulated HTTP 429; still throttled after 11 waits; lower hourly_quota, "
        "read fewer persons or months, or raise interval"
    )


async def test_the_quota_defers_calls_instead_of_failing(world: World) -> None:
    # The platform allows 5 calls an hour; the source is told so and reads 3 persons x 2
    # months + 1 login = 7 calls: the 6th and 7th wait for the first ones to age out.
    world.sim.calls_per_hour = 5
    source, events = await world.pull(persons=[143, 3, 143], hourly_quota=5)
    assert events > 0
    assert [s for _, _, s in statuses(world.sim)] == [200] * 5  # 143 is read once
    world.sim.requests.clear()
    source, _ = await world.pull(persons=[143, 3], hourly_quota=5)
    assert all(s == 200 for _, _, s in statuses(world.sim))  # never a 429
    assert len(world.sim.requests) == 5
    assert sum(world.clock.slept) == pytest.approx(3600.0)
    assert source.limiter.used() <= 5


async def test_the_platform_429_for_an_over_quota_account_is_waited_out(world: World) -> None:
    # The source believes it may make 1000 calls, the platform allows 3: the 4th call is
    # answered 429 and the source waits until the platform lets it through.
    world.sim.calls_per_hour = 3
    await world.pull(months_ahead=3)
    codes = [s for _, _, s in statuses(world.sim)]
    assert codes.count(429) >= 1 and codes[-1] == 200
    assert all(wait >= 10 for wait in world.clock.slept)


async def test_5xx_and_dropped_connections_are_retried(world: World) -> None:
    world.sim.inject(503, path_contains="month=3")
    await world.pull()
    assert [s for _, _, s in statuses(world.sim)] == [200, 503, 200, 200]


async def test_limiter_slides_and_survives_a_sleep_that_does_not_move_the_clock() -> None:
    now = [NOW]
    limiter = SlidingWindowLimiter(3, lambda: now[0])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)  # the clock does not move

    for minute in (0, 10, 20):
        now[0] = NOW + timedelta(minutes=minute)
        assert await limiter.acquire(sleep) == 0.0
    now[0] = NOW + timedelta(minutes=30)
    assert await limiter.acquire(sleep) == pytest.approx(1800.0)  # until 10:00 + 1 h
    assert waits == [pytest.approx(1800.0)]
    assert limiter.used() == 3


def test_limiters_are_shared_per_account_and_renewed_on_change() -> None:
    def clock() -> datetime:
        return NOW

    first = shared_limiter("http://w/api/", "acme", 10, clock)
    assert shared_limiter("http://w/api", "acme", 10, clock) is first
    assert shared_limiter("http://w/api", "other", 10, clock) is not first
    assert shared_limiter("http://w/api", "acme", 20, clock) is not first
    with pytest.raises(ValueError, match="at least 1"):
        SlidingWindowLimiter(0, clock)
