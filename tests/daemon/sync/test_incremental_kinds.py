"""Every kind's memo: a daemon sync with warm caches publishes what a sync without any
cache does (bytes, ETags, state rows), also after an edit and after a restart with
cold caches; an unchanged answer is not converted again, and an edit converts only
the events it changed (Webex: tests/daemon/sync/test_incremental.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import SourceSettings
from icsbridge.converters.b2core import convert as b2core_convert
from icsbridge.daemon.feeds.files import strong_etag
from icsbridge.daemon.simulators.apio import app as apio
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.b2core import app as b2core
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.wordbee import app as wordbee
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.sources.apio import source as apio_source
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import SourceClients, new_client
from icsbridge.daemon.sources.wordbee import source as wordbee_source
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync import pull
from icsbridge.daemon.sync.pull import RenderedCalendar, pull_source, render_pulled

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@dataclasses.dataclass
class World:
    app: Any
    toml: Callable[[str], str]
    secrets: dict[str, str]
    edit: Callable[[], None]  # changes one event of the API's data


def _apio() -> World:
    sim = apio_seed.demo_state(lambda: NOW)

    def edit() -> None:
        for tenant in sim.tenants.values():
            for scope in [tenant.own, *tenant.groups.values()]:
                for schedule in scope.stores["time_schedules"].values():
                    for period in schedule.periods.values():
                        period["stopTime"] = "23:00"  # one period of one schedule
                        return
        raise AssertionError("the demo has no time period")

    app = apio.create_app(sim)
    return World(app, apio_seed.demo_source, apio_seed.demo_secret_files(), edit)


def _b2core() -> World:
    sim = b2core_seed.demo_state(NOW.date(), now=lambda: NOW)
    first = min(sim.events, key=int)
    app = b2core.create_app(sim)

    def edit() -> None:
        sim.update_event(str(first), {"caption": "Moved meeting"}, replace=False)

    return World(app, b2core_seed.demo_source, b2core_seed.demo_secret_files(), edit)


def _wordbee() -> World:
    sim = wordbee_seed.demo_state(lambda: NOW)
    first = min(sim.appointments)

    def edit() -> None:
        appointment = sim.appointments[first]
        sim.appointments[first] = dataclasses.replace(appointment, subject="Moved meeting")

    app = wordbee.create_app(sim)
    return World(app, wordbee.demo_source, wordbee.demo_secret_files(), edit)


WORLDS = {"apio": _apio, "b2core": _b2core, "wordbee": _wordbee}
# Where each kind reads its converter's version for the memo's keys.
VERSION_READ_IN = {"apio": apio_source, "b2core": b2core_convert, "wordbee": wordbee_source}


async def _uncached(
    src: SourceSettings, state: StateStore, now: datetime, transport: httpx.AsyncBaseTransport
) -> list[RenderedCalendar]:
    async with new_client(src, transport) as client:
        source = source_for(src, client, tokens=state, clock=lambda: NOW)
        pulled = await source.pull()  # full events (components), no memo
        assert all(ev.component is not None for cal in pulled for ev in cal.events)
        return render_pulled(pulled, src.name, state, now=now)


@pytest.mark.parametrize("kind", sorted(WORLDS))
async def test_warm_cold_and_uncached_syncs_publish_the_same(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The daemon's sources read the wall clock (B2CORE's window, Wordbee's months): on
    # the simulators' clock here, as the uncached pull's.
    monkeypatch.setattr(pull, "source_for", partial(source_for, clock=lambda: NOW))
    world = WORLDS[kind]()
    made = [0]  # Wordbee: how many persons' months were converted, after each sync
    calendars = wordbee_source.WordbeeSource._calendars

    def counted(self: Any, *args: Any) -> Any:
        made[-1] += self._lean  # the daemon's pulls only, not the uncached ones
        return calendars(self, *args)

    monkeypatch.setattr(wordbee_source.WordbeeSource, "_calendars", counted)
    for name, content in world.secrets.items():
        (tmp_path / name).write_text(content)
    (tmp_path / "config.toml").write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + world.toml("http://api.test" + ("/api" if kind == "wordbee" else ""))
    )
    src = load_settings(tmp_path / "config.toml").sources[0]

    def transport(_s: SourceSettings) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=world.app)

    clients = SourceClients(transport)
    steps = ["first", "same", "edit", "same", "bump", "restart"]
    previous: list[RenderedCalendar] = []
    with (
        StateStore(tmp_path / "cached.sqlite") as cached,
        StateStore(tmp_path / "full.sqlite") as full,
    ):
        for step, what in enumerate(steps):
            if what == "edit":
                world.edit()
            if what == "bump":  # a new converter: nothing it made before is reused
                monkeypatch.setattr(VERSION_READ_IN[kind], "CONVERTER_VERSION", "bumped")
            if what == "restart":  # the caches start cold
                await clients.aclose()
                clients = SourceClients(transport)
            now = NOW + timedelta(minutes=step)
            memo_before = clients.memo(src.name).misses if what not in ("first", "restart") else 0
            warm = await pull_source(src, cached, now=now, settle=None, clients=clients)
            plain = await _uncached(src, full, now, transport(src))
            assert {c.meta.key: c.data for c in warm} == {c.meta.key: c.data for c in plain}
            assert [strong_etag(c.data) for c in warm] == [strong_etag(c.data) for c in plain]
            for cal in warm:
                assert cached.items(src.name, cal.meta.key) == full.items(src.name, cal.meta.key)
            memo = clients.memo(src.name)
            events = sum(len(c.events) for c in warm)
            if what == "same":  # nothing converted, every calendar reused whole
                assert made[-1] == made[-2]
                assert memo.misses == memo_before
                # (a calendar without events is held back by the guards, rendered each time)
                assert all(a is b for a, b in zip(previous, warm, strict=True) if b.events)
            if what == "edit":  # the changed event alone converted (Wordbee: rendered)
                assert 0 < memo.misses - memo_before < events
                changed = [
                    a.meta.key for a, b in zip(previous, warm, strict=True) if a.data != b.data
                ]
                assert len(changed) == 1
            if what == "bump" and kind != "wordbee":
                assert memo.misses - memo_before == events
            if what == "bump" and kind == "wordbee":
                # Its events are keyed by what the conversion made (it converts a
                # person's months at once): converted again, rendered where they differ.
                assert made[-1] > made[-2]
            if what in ("first", "restart"):
                assert memo.misses == events  # cold: everything converted once
            previous = warm
            made.append(0 if what == "restart" else made[-1])
    await clients.aclose()
