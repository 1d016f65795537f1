"""Shared fixtures for daemon tests: a simulated Webex org and a config pointing at it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from support.webex_org import FakeSleep, write_config

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState, create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sim() -> WebexSimState:
    return webex_seed.demo_state()


@pytest.fixture
def settings(tmp_path: Path, sim: WebexSimState, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    return load_settings(write_config(tmp_path, sim))


@pytest.fixture
def transport_for(sim: WebexSimState) -> Callable[[SourceSettings], httpx.AsyncBaseTransport]:
    app = create_app(sim)
    return lambda _src: httpx.ASGITransport(app=app)


@pytest.fixture
def fake_sleep() -> FakeSleep:
    return FakeSleep()
