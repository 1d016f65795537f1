"""End to end: a secret an error quotes, in any form, reaches neither /healthz, the state
nor the log. The daemon syncs a Webex source over httpx.MockTransport; the transport
checks headers first as the real HTTP/1.1 one does (h11), so an illegal header value
fails with the very error httpx raises."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import h11
import httpx
import pytest
from support.webex_org import NOW, FakeSleep, write_config

from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Handler = Callable[[httpx.Request], httpx.Response]

TOKEN = 'demo/+tok="en\\42'  # legal in a header; escaped by repr(), JSON and URLs
ACCESS = "AcT0k3n-part1\nQz9x-part2"  # an access token the API hands out, broken


def checked_like_h11(handler: Handler) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        try:
            h11.Request(
                method=request.method,
                target=request.url.raw_path,
                headers=list(request.headers.raw),
            )
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        return handler(request)

    return handle


async def sync_once(path: Path, handler: Handler) -> tuple[list[str], str]:
    """Sync source "hq" once; the texts where an error line may land: the health
    report, /healthz as served, and every row of the state file."""
    d = Daemon(
        path,
        clock=lambda: NOW,
        transport_for=lambda _src: httpx.MockTransport(checked_like_h11(handler)),
        sleep=FakeSleep(),
    )
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        await d._sync_job("hq")
        status, report = d.health()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
        ) as client:
            healthz = (await client.get("/healthz")).text
    assert status == 503
    line = report["sources"]["hq"]["last_error"]
    assert isinstance(line, str) and "***" in line
    with sqlite3.connect(d.settings.daemon.state) as db:
        rows = "\n".join(db.iterdump())
    return [json.dumps(report), healthz, rows], line


def assert_nothing_of(secret: str, texts: list[str]) -> None:
    forms = [
        secret,
        repr(secret),
        repr(secret.encode()),
        json.dumps(secret),
        quote(secret, safe=""),
        base64.b64encode(secret.encode()).decode(),
    ]
    pieces = [secret[i : i + 5] for i in range(len(secret) - 4)]
    for text in texts:
        assert [f for f in forms if f[1:-1] in text] == []
        assert [p for p in pieces if p in text] == []


async def test_a_secret_the_api_echoes_escaped_reaches_neither_health_nor_state(
    tmp_path: Path,
    sim: WebexSimState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", TOKEN)
    basic = base64.b64encode(f"client:{TOKEN}".encode()).decode()
    echoed = (
        f"bad header {f'Bearer {TOKEN}'.encode()!r}, json {json.dumps(TOKEN)}, "
        f"query token={quote(TOKEN, safe='')}, basic {basic}"
    )

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": echoed, "trackingId": "T1"})

    caplog.set_level(logging.DEBUG)
    texts, line = await sync_once(write_config(tmp_path, sim), refuse)
    assert line.endswith(
        "bad header b'Bearer ***', json \"***\", query token=***, basic Y2xpZW50Om***I= "
        "(trackingId T1); check the token or OAuth credentials"
    )
    assert_nothing_of(TOKEN, [*texts, caplog.text])


async def test_an_access_token_with_a_newline_reaches_neither_health_nor_state(
    tmp_path: Path,
    sim: WebexSimState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_config(tmp_path, sim)
    oauth = (
        'client_id = "env:ICSBRIDGE_TEST_ID"\n'
        'client_secret = "env:ICSBRIDGE_TEST_SECRET"\n'
        'refresh_token = "env:ICSBRIDGE_TEST_REFRESH"\n'
    )
    path.write_text(path.read_text().replace('token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"\n', oauth))
    for name, value in [("ID", "client-id-1"), ("SECRET", "cs-2"), ("REFRESH", "rt-3")]:
        monkeypatch.setenv(f"ICSBRIDGE_TEST_{name}", value)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access_token"):
            return httpx.Response(200, json={"access_token": ACCESS, "expires_in": 3600})
        return httpx.Response(200, json={"items": []})

    caplog.set_level(logging.DEBUG)
    texts, line = await sync_once(path, answer)
    assert "(LocalProtocolError: Illegal header value b'Bearer ***')" in line
    assert_nothing_of(ACCESS, [*texts, caplog.text])
    assert all("part1" not in t and "part2" not in t for t in [*texts, caplog.text])
