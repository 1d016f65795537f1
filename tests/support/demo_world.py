"""Every demo simulator pulled into one feed store, with [[feeds]] at every level: the
world of the sharing tests (tests/daemon/feeds/test_store_sharing.py, tests/realclients)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import httpx
from freezegun import freeze_time

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings
from icsbridge.daemon.cli.demo import FEEDS_TOML, demo_apis
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import pull_source

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


def demo_store(folder: Path, extra: str = "", now: datetime = NOW) -> tuple[Settings, FeedStore]:
    """The demo's sources (over ASGI, clock frozen at ``now``) synced once into a store."""
    with freeze_time(now):
        apis = demo_apis()
        blocks = []
        for number, api in enumerate(apis):
            for name, content in api.secret_files.items():
                (folder / name).write_text(content)
            blocks.append(api.source_toml(f"http://api-{number}.test{api.base_path}"))
        config = folder / "config.toml"
        config.write_text(
            '[daemon]\nstate = "state.sqlite"\noutput_dir = "feeds"\n\n'
            + "\n".join(blocks)
            + "\n"
            + FEEDS_TOML
            + "\n"
            + level_feeds()
            + "\n"
            + extra
        )
        settings = load_settings(config)
        state = StateStore(settings.daemon.state)
        store = FeedStore(settings, state)
        for api, src in zip(apis, settings.sources, strict=True):
            transport = httpx.ASGITransport(app=api.app)
            rendered = asyncio.run(
                pull_source(src, state, now=now, settle=None, transport=transport)
            )
            store.update_source(src.name, rendered, now=now)
    return settings, store
