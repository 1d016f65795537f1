"""B2CORE sign-in: tokens renewed ahead of expiry, refresh then sign-in again on a 401,
the refresh token kept across restarts, and refusals in one line without secrets."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from support.fakes import DictTokens

from icsbridge.config.sources.b2core import B2coreSourceSettings
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.b2core.app import create_app
from icsbridge.daemon.simulators.b2core.state import DEMO_EMAIL, DEMO_PASSWORD
from icsbridge.daemon.sources.b2core.source import B2coreSource
from icsbridge.daemon.sources.http import SourceError

pytestmark = pytest.mark.anyio
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EVENTS = "/api/v2/calendars/events"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class World:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = START
        self.sim = b2core_seed.demo_state(date(2025, 3, 1), now=lambda: self.now)
        self.tokens = DictTokens()
        monkeypatch.setenv("B2CORE_EMAIL", DEMO_EMAIL)
        monkeypatch.setenv("B2CORE_PASSWORD", DEMO_PASSWORD)

    def source(self) -> B2coreSource:
        settings = B2coreSourceSettings.model_validate(
            {
                "name": "bo",
                "kind": "b2core",
                "interval": "15m",
                "base_url": "https://bo.example.com",
                "email": "env:B2CORE_EMAIL",
                "password": "env:B2CORE_PASSWORD",
            }
        )
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(self.sim)))

        async def no_sleep(_seconds: float) -> None:
            return None

        return B2coreSource(
            settings,
            client,
            tokens=self.tokens,
            sleep=no_sleep,
            rng=random.Random(1),
            clock=lambda: self.now,
        )

    def calls(self) -> list[str]:
        """Each request as "METHOD path status", without the query."""
        return [f"{r.method} {urlsplit(r.path).path} {r.status}" for r in self.sim.requests]

    def stored(self) -> dict[str, str]:
        value: dict[str, str] = json.loads(self.tokens.data["b2core:bo:refresh_token"])
        return value


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return World(monkeypatch)


SIGNIN = "POST /api/v2/signin 200"
REFRESH = "POST /api/v2/refresh 200"
LIST = f"GET {EVENTS} 200"
REFUSED = f"GET {EVENTS} 401"


async def test_sign_in_once_and_keep_the_refresh_token(world: World) -> None:
    source = world.source()
    await source.pull()
    await source.pull()
    assert world.calls() == [SIGNIN, LIST, LIST]
    signin = world.sim.requests[0]
    assert signin.headers["content-type"] == "application/json"
    assert world.stored() == {
        "token": "sim-refresh-1",
        "expiresAt": "2025-03-31T12:00:00+00:00",
    }


async def test_renewed_by_refresh_ahead_of_expiry(world: World) -> None:
    source = world.source()
    await source.pull()
    world.now += timedelta(minutes=54)  # 6 minutes left: still used
    await source.pull()
    world.now += timedelta(minutes=2)  # 4 minutes left: renewed before use
    await source.pull()
    assert world.calls() == [SIGNIN, LIST, LIST, REFRESH, LIST]
    assert world.stored()["token"] == "sim-refresh-2"  # rotated, and kept


async def test_a_refused_access_token_is_refreshed_once(world: World) -> None:
    source = world.source()
    await source.pull()
    world.sim.auth.access_tokens.clear()  # e.g. the server restarted its sessions
    await source.pull()
    assert world.calls() == [SIGNIN, LIST, REFUSED, REFRESH, LIST]


async def test_refresh_refused_then_sign_in_again(world: World) -> None:
    source = world.source()
    await source.pull()
    world.sim.revoke_tokens()  # e.g. a password change
    await source.pull()
    assert world.calls() == [
        SIGNIN,
        LIST,
        REFUSED,
        "POST /api/v2/refresh 401",
        SIGNIN,
        LIST,
    ]


async def test_refreshed_token_refused_too_then_sign_in_again(world: World) -> None:
    source = world.source()
    await source.pull()
    world.sim.inject(401, times=2, path_contains=EVENTS, method="GET")
    [calendar] = await source.pull()
    assert calendar.events
    assert world.calls() == [SIGNIN, LIST, REFUSED, REFRESH, REFUSED, SIGNIN, LIST]


async def test_gives_up_when_a_fresh_sign_in_is_refused_too(world: World) -> None:
    source = world.source()
    world.sim.inject(401, times=10, path_contains=EVENTS, method="GET")
    with pytest.raises(SourceError) as caught:
        await source.pull()
    assert world.calls() == [SIGNIN, REFUSED, REFRESH, REFUSED, SIGNIN, REFUSED]
    assert str(caught.value).startswith(
        f'source "bo": GET {EVENTS}: 401 Unauthorized: simulated HTTP 401'
    )


async def test_a_restart_refreshes_instead_of_signing_in(world: World) -> None:
    await world.source().pull()
    world.now += timedelta(hours=3)  # the access token died with the old process anyway
    await world.source().pull()
    assert world.calls() == [SIGNIN, LIST, REFRESH, LIST]
    assert world.sim.auth.signins == 1


async def test_an_expired_stored_refresh_token_is_not_tried(world: World) -> None:
    await world.source().pull()
    world.now += timedelta(days=31)
    await world.source().pull()
    assert world.calls() == [SIGNIN, LIST, SIGNIN, LIST]


async def test_a_damaged_stored_entry_costs_a_sign_in(world: World) -> None:
    world.tokens.data["b2core:bo:refresh_token"] = "not json"
    await world.source().pull()
    assert world.calls() == [SIGNIN, LIST]


async def test_no_refresh_endpoint_means_signing_in(world: World) -> None:
    world.sim.auth.refresh_enabled = False
    source = world.source()
    await source.pull()
    world.now += timedelta(minutes=58)
    await source.pull()
    assert world.calls() == [SIGNIN, LIST, "POST /api/v2/refresh 404", SIGNIN, LIST]


async def test_wrong_password_is_one_line_without_the_password(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B2CORE_PASSWORD", "s3cret-but-wrong")
    with pytest.raises(SourceError) as caught:
        await world.source().pull()
    message = str(caught.value)
    assert message.startswith(
        'source "bo": POST /api/v2/signin: 401 Unauthorized: Invalid credentials.'
    )
    assert message.endswith(
        "; the back-office sign-in refused the email and password; check them, or give a "
        "token instead"
    )
    assert "s3cret" not in message


async def test_two_factor_accounts_are_explained(world: World) -> None:
    world.sim.auth.two_factor.add(DEMO_EMAIL)
    with pytest.raises(SourceError) as caught:
        await world.source().pull()
    assert str(caught.value) == (
        'source "bo": POST /api/v2/signin: the back-office user must confirm a second factor '
        "(2FA), which icsbridge cannot do; use an account without 2FA or give a token instead"
    )


async def test_a_sign_in_answer_without_a_token(world: World) -> None:
    world.sim.mangle(lambda _answer: {"2faRequired": False}, path_contains="/signin")
    with pytest.raises(SourceError) as caught:
        await world.source().pull()
    assert str(caught.value) == (
        'source "bo": POST /api/v2/signin: the answer has no accessToken; check base_url '
        "points at the B2CORE back office"
    )


async def test_describe_names_the_reference_not_the_secret(world: World) -> None:
    assert world.source().describe()[0] == (
        "auth: sign-in as env:B2CORE_EMAIL (the refresh token is kept in the state file)"
    )
    assert repr(world.source()._auth) == "SessionLogin(source='bo', access_token=***)"
