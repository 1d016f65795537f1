"""Two sources, three merged feeds, a state and a feed store: the world of the feed-store
tests (tests/daemon/feeds/). Calendars are rendered by the real pipeline
(``sync.pull.render_pulled`` with the state store), from converted events built here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from icsbridge.config.daemon.state import StateLocation
from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent
from icsbridge.daemon.feeds.store import FeedContent, FeedStore
from icsbridge.daemon.sources.base import PulledCalendar
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import render_pulled

NOW = datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC)
SECOND = NOW.replace(microsecond=0)
PARIS = ZoneInfo("Europe/Paris")
OLD_MTIME = 1_000_000_000

CONFIG = """
[daemon]
state = "state.sqlite"
output_dir = "feeds"

[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:T"
locations = "all"

[[sources]]
name = "branch"
kind = "webex"
interval = "5m"
token = "env:T"
locations = "all"
"""
FEEDS = """
[[feeds]]
name = "support"
calendars = ["hq/locations/*/businessHours/*", "branch/time/Office"]
description = "Support hours"

[[feeds]]
name = "holidays"
calendars = ["*/holidays/*"]

[[feeds]]
name = "all-hq"
calendars = ["hq/*"]
"""

OFFICE = "hq/locations/Paris HQ/businessHours/Office Hours"
FRENCH = "hq/locations/Paris HQ/holidays/French Holidays"
LEAVE = "hq/people/Alice/holidays/Leave"
BRANCH_OFFICE = "branch/time/Office"


@dataclass(frozen=True)
class Ev:
    native: str
    summary: str
    day: int = 2
    description: str = ""


Spec = dict[str, list[Ev]]

HQ: Spec = {
    OFFICE: [Ev("oh-1", "Office hours", 2), Ev("oh-2", "Saturday desk", 7)],
    FRENCH: [Ev("fh-1", "Mid-Lent", 19)],
    LEAVE: [Ev("al-1", "Alice away", 10)],
}
BRANCH: Spec = {
    BRANCH_OFFICE: [Ev("bo-1", "Branch office", 3)],
    "branch/time/Other": [Ev("bx-1", "Branch other", 4)],
    "branch/holidays/Bank": [Ev("bb-1", "Bank holiday", 5)],
}


def converted(ev: Ev) -> ConvertedEvent:
    component = Event()
    component.add("summary", ev.summary)
    component.add("dtstart", datetime(2026, 3, ev.day, 9, tzinfo=PARIS))
    component.add("dtend", datetime(2026, 3, ev.day, 17, tzinfo=PARIS))
    if ev.description:
        component.add("description", ev.description)
    return ConvertedEvent(native_key=ev.native, component=component, rename_hint=ev.native)


def pulled(spec: Spec) -> list[PulledCalendar]:
    return [
        PulledCalendar(
            CalendarMeta(key=key, name=key.rsplit("/", 1)[-1], timezone="Europe/Paris"),
            [converted(ev) for ev in events],
            ref={},
        )
        for key, events in spec.items()
    ]


class World:
    """A config with two sources and three merged feeds, its state and a feed store."""

    def __init__(
        self,
        folder: Path,
        feeds: str = FEEDS,
        *,
        accept_empty: bool = False,
        state: StateLocation | None = None,
    ):
        self.config = folder / "config.toml"
        self.state_setting = "state.sqlite" if state is None else str(state)
        self.settings = self.write_config(CONFIG + feeds)
        self.output = self.settings.daemon.output_dir
        self.state = StateStore(self.settings.daemon.state)
        self.store = FeedStore(self.settings, self.state, accept_empty=accept_empty)

    def write_config(self, text: str) -> Settings:
        self.config.write_text(text.replace('"state.sqlite"', f'"{self.state_setting}"'))
        self.settings = load_settings(self.config)
        return self.settings

    def sync(self, source: str, spec: Spec, now: datetime = NOW) -> list[str]:
        rendered = render_pulled(pulled(spec), source, self.state, now=now)
        return self.store.update_source(source, rendered, now=now)

    def restart(self, config: str | None = None) -> FeedStore:
        """A new process (on ``config`` if given): fresh state connection and feed store,
        the published feeds loaded."""
        self.state.close()
        if config is not None:
            self.write_config(config)
        self.state = StateStore(self.settings.daemon.state)
        self.store = FeedStore(self.settings, self.state)
        self.store.load_published()
        return self.store

    def served(self) -> dict[str, FeedContent | None]:
        return {name: self.store.get(name) for name in self.store.names()}

    def summaries(self, name: str) -> set[str]:
        content = self.store.get(name)
        assert content is not None, name
        return {str(ev["SUMMARY"]) for ev in Calendar.from_ical(content.data).walk("VEVENT")}

    def age_files(self) -> dict[Path, int]:
        """Set every feed file's mtime far in the past; returns them for comparison."""
        for path in self.output.rglob("*.ics"):
            os.utime(path, ns=(OLD_MTIME, OLD_MTIME))
        return self.mtimes()

    def mtimes(self) -> dict[Path, int]:
        return {path: path.stat().st_mtime_ns for path in self.output.rglob("*.ics")}

    def all_valid(self) -> None:
        for name in self.store.names():
            content = self.store.get(name)
            assert content is not None
            assert validate_feed(content.data) == [], name
            assert content.path.read_bytes() == content.data, name


FEEDS_OF_HQ = ["support", "holidays", "all-hq"]


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)
