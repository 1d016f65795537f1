"""Every demo simulator pulled into one feed store, with [[feeds]] at every level: the
world of the sharing tests (tests/daemon/feeds/test_store_sharing.py and
test_store_hours.py, tests/realclients/test_shared_feeds.py).

The simulators and sources run on an injected clock (``now``), never the wall clock.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.cli.demo import FEEDS_TOML, DemoApi, webex_demo_api
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.simulators.apio import app as apio
from icsbridge.daemon.simulators.apio import seed as apio_seed
from icsbridge.daemon.simulators.b2core import app as b2core
from icsbridge.daemon.simulators.b2core import seed as b2core_seed
from icsbridge.daemon.simulators.webex import seed as webex_seed
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.simulators.wordbee import app as wordbee
from icsbridge.daemon.simulators.wordbee import seed as wordbee_seed
from icsbridge.daemon.sources.kinds import source_for
from icsbridge.daemon.sources.pool import new_client
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import pull_and_render

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
KINDS = ("webex", "apio", "wordbee", "b2core")
LEVELS = ("full", "limited", "availability")


def level_feeds() -> str:
    """A [[feeds]] entry per source kind and level ("<kind>-<level>"), and the B2CORE
    calendars at full with attendees ("b2core-people")."""
    blocks = [
        f'[[feeds]]\nname = "{kind}-{level}"\ncalendars = ["{kind}-demo/*"]\ndetails = "{level}"\n'
        for kind in KINDS
        for level in LEVELS
    ]
    blocks.append(
        '[[feeds]]\nname = "b2core-people"\ncalendars = ["b2core-demo/*"]\nattendees = true\n'
    )
    return "\n".join(blocks)


def demo_apis_at(now: datetime, webex: WebexSimState | None) -> list[DemoApi]:
    """The demo's four simulators with their clocks on ``now``."""
    clock = lambda: now  # noqa: E731
    return [
        webex_demo_api(webex or webex_seed.demo_state(clock)),
        DemoApi(
            "APIO",
            apio.create_app(apio_seed.demo_state(clock)),
            "",
            apio_seed.demo_source,
            apio_seed.demo_secret_files(),
        ),
        DemoApi(
            "Wordbee",
            wordbee.create_app(wordbee_seed.demo_state(clock)),
            "/api",
            wordbee.demo_source,
            wordbee.demo_secret_files(),
        ),
        DemoApi(
            "B2CORE",
            b2core.create_app(b2core_seed.demo_state(now.date(), now=clock)),
            "",
            b2core_seed.demo_source,
            b2core_seed.demo_secret_files(),
        ),
    ]


def demo_store(
    folder: Path, extra: str, now: datetime, webex: WebexSimState | None = None
) -> tuple[Settings, FeedStore]:
    """The demo's sources (over ASGI, on the clock ``now``; the Webex org ``webex`` when
    given) synced once into a store, with the demo's [[feeds]], :func:`level_feeds` and
    ``extra``."""
    apis = demo_apis_at(now, webex)
    blocks = []
    for number, api in enumerate(apis):
        for name, content in api.secret_files.items():
            (folder / name).write_text(content)
        blocks.append(api.source_toml(f"http://api-{number}.test{api.base_path}"))
    config = folder / "config.toml"
    config.write_text(
        '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
        + "\n".join([*blocks, FEEDS_TOML, level_feeds(), extra])
    )
    settings = load_settings(config)
    state = StateStore(settings.daemon.state)
    store = FeedStore(settings, state)

    async def pull(api: DemoApi, src: SourceSettings) -> None:
        async with new_client(src, httpx.ASGITransport(app=api.app)) as client:
            source = source_for(src, client, tokens=state, clock=lambda: now)
            rendered = await pull_and_render(source, src.name, state, now=now, settle=None)
        store.update_source(src.name, rendered, now=now)

    for api, src in zip(apis, settings.sources, strict=True):
        asyncio.run(pull(api, src))
    return settings, store
