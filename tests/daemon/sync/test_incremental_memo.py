"""Warm syncs skip conversion and whole calendars, yet publish what a full render does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from support.webex_org import NOW

from icsbridge.config.daemon.state import StateLocation
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.sources.pool import SourceClients
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import pull_source

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
NewState = Callable[[str], StateLocation]


def _bytes(calendars: list[object]) -> dict[str, bytes]:
    return {c.meta.key: c.data for c in calendars}  # type: ignore[attr-defined]


async def test_an_unchanged_answer_is_not_converted_again(
    settings: Settings, transport_for: Transports, sim: WebexSimState, new_state: NewState
) -> None:
    src = settings.sources[0]
    clients = SourceClients(transport_for)
    with StateStore(new_state("s.sqlite")) as state:
        first = await pull_source(src, state, now=NOW, settle=None, clients=clients)
        memo = clients.memo(src.name)
        converted = memo.misses
        second = await pull_source(
            src, state, now=NOW + timedelta(hours=1), settle=None, clients=clients
        )
        assert memo.misses == converted  # every schedule answer was the same bytes
        assert [a is b for a, b in zip(first, second, strict=True)] == [True] * len(first)
        alice = next(p.id for p in sim.people.values() if p.display_name == "Alice Martin")
        sim.rename_event(alice, "businessHours", "Shifts", "Day_Shift", "Early_Shift")
        third = await pull_source(
            src, state, now=NOW + timedelta(hours=2), settle=None, clients=clients
        )
        assert memo.misses == converted + 1  # only the renamed event was converted
        changed = [a.meta.key for a, b in zip(second, third, strict=True) if a.data != b.data]
        assert len(changed) == 1 and "Shifts" in changed[0]
    await clients.aclose()


async def test_a_state_row_changed_between_syncs_is_rendered_again(
    settings: Settings, transport_for: Transports, new_state: NewState
) -> None:
    """Same answers but an item row changed in the state (a push, another process): the
    calendar must not be reused whole; the warm sync equals a sync without any cache."""
    src = settings.sources[0]
    clients = SourceClients(transport_for)
    with (
        StateStore(new_state("warm.sqlite")) as warm,
        StateStore(new_state("full.sqlite")) as full,
    ):
        first = await pull_source(src, warm, now=NOW, settle=None, clients=clients)
        await pull_source(src, full, now=NOW, settle=None, transport=transport_for(src))
        key = first[0].meta.key
        for store in (warm, full):
            row = store.items(src.name, key)[0]
            store.put_item(replace(row, sequence=row.sequence + 3, published_hash=None))
        later = NOW + timedelta(hours=1)
        got = await pull_source(src, warm, now=later, settle=None, clients=clients)
        want = await pull_source(src, full, now=later, settle=None, transport=transport_for(src))
        assert _bytes(got) == _bytes(want)
        assert b"SEQUENCE:3" in _bytes(got)[key]
        for cal in got:
            assert warm.items(src.name, cal.meta.key) == full.items(src.name, cal.meta.key)
    await clients.aclose()
