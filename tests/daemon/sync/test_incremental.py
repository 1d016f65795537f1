"""A daemon sync with a warm render cache publishes exactly what a full render does.

The reference renders the source's *full* events (components, as a push reads them),
with no memo and no cache: the daemon's lean events must give the very same bytes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from support.webex_org import NOW

from icsbridge.config.daemon.state import StateLocation
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.feeds.files import strong_etag
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import SourceClients, new_client
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import RenderedCalendar, pull_source, render_pulled

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
NewState = Callable[[str], StateLocation]


def _person(sim: WebexSimState, name: str) -> str:
    return next(p.id for p in sim.people.values() if p.display_name == name)


def _edits(sim: WebexSimState) -> list[Callable[[], object]]:
    alice, carol = _person(sim, "Alice Martin"), _person(sim, "Carol Johnson")
    return [
        lambda: None,  # the first sync
        lambda: None,  # nothing changed
        lambda: sim.rename_event(alice, "businessHours", "Shifts", "Day_Shift", "Early_Shift"),
        lambda: sim.delete_schedule(carol, "holidays", "Carol PTO"),
        lambda: None,
    ]


async def _full_render(
    src: SourceSettings, state: StateStore, now: object, transport: httpx.AsyncBaseTransport
) -> list[RenderedCalendar]:
    async with new_client(src, transport) as client:
        source = source_for(src, client, tokens=state)
        pulled = await source.pull()
        assert all(ev.component is not None for cal in pulled for ev in cal.events)
        return render_pulled(pulled, src.name, state, now=now)  # type: ignore[arg-type]


async def test_warm_cold_and_uncached_syncs_publish_the_same_bytes(
    settings: Settings, transport_for: Transports, sim: WebexSimState, new_state: NewState
) -> None:
    src = settings.sources[0]
    clients = SourceClients(transport_for)
    with (
        StateStore(new_state("cached.sqlite")) as cached,
        StateStore(new_state("full.sqlite")) as full,
    ):
        for step, edit in enumerate(_edits(sim)):
            edit()
            now = NOW + timedelta(hours=step)
            if step == 4:  # a restart: the cache starts cold
                await clients.aclose()
                clients = SourceClients(transport_for)
            warm = await pull_source(src, cached, now=now, settle=None, clients=clients)
            plain = await _full_render(src, full, now, transport_for(src))
            assert {c.meta.key: c.data for c in warm} == {c.meta.key: c.data for c in plain}
            assert [strong_etag(c.data) for c in warm] == [strong_etag(c.data) for c in plain]
            for cal in warm:
                assert cached.items("hq", cal.meta.key) == full.items("hq", cal.meta.key)
            if step == 0:
                first = {c.meta.key: c.data for c in warm}
                cache = clients.cache(src.name)
                misses = cache.misses
            if step == 1:  # the second sync changed nothing: nothing was rendered
                assert {c.meta.key: c.data for c in warm} == first
                assert cache.misses == misses
    await clients.aclose()
