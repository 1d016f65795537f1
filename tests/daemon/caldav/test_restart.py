"""After a restart, before a source's first sync, its calendars are listed but their
events answer 503 with Retry-After: never an empty calendar, which a client would read
as every event deleted. Once synced, the sync token from before the restart holds."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from support.webex_org import NOW, FakeSleep

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio
CALDAV = """
[caldav]
path = "/dav/"

[[caldav.users]]
name = "desk"
password = "env:ICSBRIDGE_TEST_DAV_PASSWORD"
calendars = ["hq/*"]
"""
AUTH = ("desk", "pw-1")
SYNC = (
    '<sync-collection xmlns="DAV:"><sync-token>{}</sync-token><sync-level>1</sync-level>'
    "<prop><getetag/></prop></sync-collection>"
)


async def _dav(
    d: Daemon, method: str, path: str, body: str = "", depth: str = "1"
) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        headers = {"Depth": depth, "Content-Type": "application/xml"}
        return await client.request(method, path, content=body, headers=headers, auth=AUTH)


async def test_events_are_503_until_the_first_sync_and_old_tokens_hold_after_it(
    settings: Settings,
    transport_for: Callable[[SourceSettings], httpx.AsyncBaseTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_DAV_PASSWORD", AUTH[1])
    settings.path.write_text(settings.path.read_text() + CALDAV)

    def daemon() -> Daemon:
        return Daemon(
            settings.path, clock=lambda: NOW, transport_for=transport_for, sleep=FakeSleep()
        )

    first = daemon()
    with StateStore(first.settings.daemon.state) as state:
        first.open(state)
        await first._sync_job("hq")
        home = await _dav(first, "PROPFIND", "/dav/desk/")
        calendar = next(h for h in re.findall(r"href>([^<]+)<", home.text) if "holidays" in h)
        before = await _dav(first, "REPORT", calendar, SYNC.format(""))
        token = re.findall(r"sync-token>([^<]+)<", before.text)[0]

    second = daemon()
    with StateStore(second.settings.daemon.state) as state:
        second.open(state)
        listed = await _dav(second, "PROPFIND", "/dav/desk/")
        assert listed.status_code == 207 and calendar in listed.text
        early = await _dav(second, "REPORT", calendar, SYNC.format(token))
        assert early.status_code == 503 and early.headers["retry-after"] == "5"
        await second._sync_job("hq")
        after = await _dav(second, "REPORT", calendar, SYNC.format(token))
        assert after.status_code == 207
        assert re.findall(r"sync-token>([^<]+)<", after.text) == [token]
        assert "<ns0:response>" not in after.text  # no change


async def test_a_reload_turns_caldav_on_and_off(
    settings: Settings,
    transport_for: Callable[[SourceSettings], httpx.AsyncBaseTransport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_DAV_PASSWORD", AUTH[1])
    d = Daemon(settings.path, clock=lambda: NOW, transport_for=transport_for, sleep=FakeSleep())
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        assert (await _dav(d, "PROPFIND", "/dav/")).status_code == 404
        settings.path.write_text(settings.path.read_text() + CALDAV)
        d.settings = load_settings(settings.path)  # what a reload makes current
        assert (await _dav(d, "PROPFIND", "/dav/")).status_code == 207
        d.settings = settings
        assert (await _dav(d, "PROPFIND", "/dav/")).status_code == 404
