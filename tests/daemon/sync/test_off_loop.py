"""A daemon sync of a big source stalls no feed: the API's answers are converted, and
the events matched and assembled, in a worker thread (issue 14, "Bounded cost"); only
the state's SQLite rows are read and written on the loop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.webex_org import NOW

from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.sources.pool import SourceClients
from icsbridge.daemon.sources.webex import source as webex_source
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync import pull

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]


def _recording(calls: list[bool], real: Callable[..., Any]) -> Callable[..., Any]:
    loop_thread = threading.get_ident()

    def recording(*args: Any, **kwargs: Any) -> Any:
        calls.append(threading.get_ident() == loop_thread)
        return real(*args, **kwargs)

    return recording


async def test_a_sync_converts_matches_and_assembles_off_the_event_loop(
    settings: Settings,
    transport_for: Transports,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both ran on the loop: ~0.2 s to convert and ~0.15 s to match and assemble a
    # 1,000-event Webex schedule, during which no feed was served.
    parsed: list[bool] = []
    matched: list[bool] = []
    assembled: list[bool] = []
    monkeypatch.setattr(webex_source, "event_thunks", _recording(parsed, webex_source.event_thunks))
    monkeypatch.setattr(pull, "reconcile", _recording(matched, pull.reconcile))
    monkeypatch.setattr(pull, "assemble", _recording(assembled, pull.assemble))
    src = settings.sources[0]
    clients = SourceClients(transport_for)
    try:
        with StateStore(tmp_path / "state.sqlite") as state:
            rendered = await pull.pull_source(src, state, now=NOW, settle=None, clients=clients)
            assert rendered and all(state.items(src.name, c.meta.key) for c in rendered)
    finally:
        await clients.aclose()
    assert parsed and matched and assembled
    assert not any(parsed + matched + assembled)  # never on the loop's thread
