"""Webex auth against the simulator: OAuth refresh, expiry, 401, rotation kept, secrets hidden."""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.settings import WebexSourceSettings
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import create_app
from icsbridge.daemon.simulators.webex.state import (
    DEMO_ACCESS_TOKEN,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REFRESH_TOKEN,
)
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.webex.source import WebexSource

pytestmark = pytest.mark.anyio
STORE_KEY = "webex:hq:refresh_token"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = Clock()
        self.sim = webex_seed.demo_state(now=self.clock)
        self.tokens = DictTokens()
        self.delays: list[float] = []
        self.carol = next(
            p.id for p in self.sim.people.values() if p.display_name == "Carol Johnson"
        )
        monkeypatch.setenv("WX_CLIENT_ID", DEMO_CLIENT_ID)
        monkeypatch.setenv("WX_CLIENT_SECRET", DEMO_CLIENT_SECRET)
        monkeypatch.setenv("WX_REFRESH", DEMO_REFRESH_TOKEN)
        monkeypatch.setenv("WX_TOKEN", DEMO_ACCESS_TOKEN)

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def source(self, **config: Any) -> WebexSource:
        auth = {
            "client_id": "env:WX_CLIENT_ID",
            "client_secret": "env:WX_CLIENT_SECRET",
            "refresh_token": "env:WX_REFRESH",
        }
        raw = {
            "name": "hq",
            "kind": "webex",
            "interval": "15m",
            "base_url": "https://webex.sim/v1",
            "people": [self.carol],
            **(auth if "token" not in config else {}),
            **config,
        }
        settings = WebexSourceSettings.model_validate(raw)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))
        source = source_for(
            settings,
            client,
            tokens=self.tokens,
            sleep=self.sleep,
            rng=random.Random(1),
            clock=self.clock,
        )
        assert isinstance(source, WebexSource)
        return source

    def token_calls(self) -> list[Any]:
        return [r for r in self.sim.requests if r.path.startswith("/v1/access_token")]

    def statuses(self) -> list[int]:
        return [r.status for r in self.sim.requests]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


async def test_oauth_gets_an_access_token_first(world: World) -> None:
    source = world.source(org_id=world.sim.org_id)
    assert source.describe()[0] == "auth: OAuth refresh token"
    assert world.sim.requests == []
    assert len(await source.pull()) == 4
    calls = world.token_calls()
    assert len(calls) == 1 and world.sim.requests[0] is calls[0]
    assert calls[0].method == "POST"
    assert calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
    # The token endpoint gets neither a bearer token nor orgId; every other call both.
    assert "authorization" not in calls[0].headers
    assert "orgId" not in calls[0].query
    assert all(r.query.get("orgId") == world.sim.org_id for r in world.sim.requests[1:])
    assert set(world.statuses()) == {200}
    assert world.tokens.data == {}  # nothing rotated, nothing stored


async def test_access_token_is_kept_until_300_s_before_expiry(world: World) -> None:
    world.sim.auth.access_token_lifetime = timedelta(hours=1)
    source = world.source()
    await source.pull()
    world.clock.now += timedelta(minutes=54)
    await source.pull()
    assert len(world.token_calls()) == 1
    world.clock.now += timedelta(minutes=1, seconds=1)  # 4 min 59 s left
    await source.pull()
    assert len(world.token_calls()) == 2
    assert 401 not in world.statuses()


async def test_401_refreshes_once_and_retries(world: World) -> None:
    source = world.source()
    await source.pull()
    world.sim.revoke_access_token("sim-access-1")
    assert len(await source.pull()) == 4
    assert world.statuses().count(401) == 1
    assert len(world.token_calls()) == 2


async def test_401_that_persists_is_one_line(world: World) -> None:
    source = world.source()
    await source.pull()
    world.sim.inject(401, times=5, path_contains="/people/")
    with pytest.raises(SourceError) as info:
        await source.pull()
    assert str(info.value).endswith("; check the token or OAuth credentials")
    # Each call (reads run concurrently) got its first 401, then one after the refresh.
    refused = Counter(r.headers["trackingid"] for r in world.sim.requests if r.status == 401)
    assert refused and set(refused.values()) == {2}


async def test_rotated_refresh_token_is_kept_across_a_restart(world: World) -> None:
    world.sim.auth.rotate_refresh_tokens = True
    await world.source().pull()
    assert world.tokens.data == {STORE_KEY: "sim-refresh-1"}
    # A restart: the config still names the first refresh token, which no longer works.
    restarted = world.source()
    assert len(await restarted.pull()) == 4
    assert world.tokens.data == {STORE_KEY: "sim-refresh-2"}
    assert set(world.statuses()) == {200}


async def test_refused_stored_token_falls_back_to_the_config(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.tokens.data[STORE_KEY] = "stale-refresh-token"
    with caplog.at_level(logging.WARNING, "icsbridge.webex"):
        assert len(await world.source().pull()) == 4
    assert 'source "hq": the stored refresh token was refused' in caplog.text
    assert world.tokens.data == {STORE_KEY: DEMO_REFRESH_TOKEN}
    assert [c.status for c in world.token_calls()] == [400, 200]


async def test_refused_refresh_token_says_what_to_do(world: World) -> None:
    world.sim.auth.refresh_tokens.clear()
    with pytest.raises(SourceError) as info:
        await world.source().pull()
    tracking = world.token_calls()[0].headers["trackingid"]
    assert str(info.value) == (
        'source "hq": POST /access_token: 400 Bad Request: the refresh token is invalid or '
        f"revoked (trackingId {tracking}); the refresh token or the client id/secret was "
        "refused: check client_id and client_secret, or get a new refresh token and set "
        "refresh_token in the config"
    )


async def test_wrong_client_secret(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WX_CLIENT_SECRET", "not-the-secret-xyz")
    with pytest.raises(SourceError) as info:
        await world.source().pull()
    text = str(info.value)
    assert text.startswith(
        'source "hq": POST /access_token: 401 Unauthorized: unknown client_id or wrong '
        "client_secret (trackingId "
    )
    assert text.count("; ") == 1  # one hint, not two
    assert "not-the-secret-xyz" not in text


async def test_token_endpoint_503_with_retry_after_is_retried(world: World) -> None:
    world.sim.inject(503, retry_after=3, path_contains="/access_token")
    assert len(await world.source().pull()) == 4
    assert world.delays == [3.0]


async def test_token_endpoint_500_is_not_retried(world: World) -> None:
    world.sim.inject(500, path_contains="/access_token")
    with pytest.raises(SourceError, match=r"^source \"hq\": POST /access_token: 500 "):
        await world.source().pull()
    assert len(world.token_calls()) == 1


async def test_secrets_never_in_errors_logs_or_reprs(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    source = world.source()
    await source.pull()
    # An API that echoes what it was sent.
    echo = json.dumps(
        {
            "message": f"bad {DEMO_CLIENT_SECRET} {DEMO_REFRESH_TOKEN} sim-access-1",
            "errors": [],
            "trackingId": "T",
        }
    ).encode()
    world.sim.inject(500, times=2, body=echo, path_contains="/schedules")
    world.sim.inject(403, body=echo, path_contains="/schedules")
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceError) as info:
        await source.pull()
    assert str(info.value).startswith('source "hq": GET /people/')
    assert "403 Forbidden: bad *** *** *** (trackingId ICSBRIDGE_" in str(info.value)
    assert str(info.value).endswith("; check the admin scopes / orgId")
    for secret in (DEMO_CLIENT_SECRET, DEMO_REFRESH_TOKEN, "sim-access-1", DEMO_CLIENT_ID):
        assert secret not in str(info.value)
        assert secret not in caplog.text
        assert secret not in repr(source)
        assert secret not in repr(source.api)
        assert secret not in repr(vars(source))


async def test_static_token(world: World) -> None:
    assert len(await world.source(token="env:WX_TOKEN").pull()) == 4
    assert world.token_calls() == []


async def test_static_token_refused_fails_at_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WX_TOKEN", "wrong-token-123")
    with pytest.raises(SourceError) as info:
        await world.source(token="env:WX_TOKEN").pull()
    assert str(info.value) == (
        f'source "hq": GET /people/{world.carol.replace("=", "%3D")}: 401 Unauthorized: '
        "The request requires a valid access token set in the Authorization header. "
        f"[errorCode 0] (trackingId {world.sim.requests[0].headers['trackingid']}); "
        "check the token or OAuth credentials"
    )
    assert len(world.sim.requests) == 1


async def test_missing_secret_is_the_config_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WX_REFRESH")
    source = world.source()  # no secret is read before the first call
    with pytest.raises(Exception) as info:
        await source.pull()
    assert str(info.value) == (
        'source "hq": field "refresh_token": environment variable WX_REFRESH is not set'
    )
