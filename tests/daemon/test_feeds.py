"""The feed store during syncs: per-calendar and merged feeds, validators, the guards.

Calendars are rendered by the real pipeline (``daemon.sync.render_pulled`` with the
state store), from converted events built here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from config.loader import load_settings
from config.settings import Settings
from converters.feedcheck import validate_feed
from converters.model import CalendarMeta, ConvertedEvent
from daemon.feeds import FeedContent, FeedStore
from daemon.sources.base import PulledCalendar
from daemon.state import StateStore
from daemon.sync import render_pulled

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

    def __init__(self, folder: Path, feeds: str = FEEDS, *, accept_empty: bool = False):
        self.config = folder / "config.toml"
        self.settings = self.write_config(CONFIG + feeds)
        self.output = self.settings.daemon.output_dir
        self.state = StateStore(self.settings.daemon.state)
        self.store = FeedStore(self.settings, self.state, accept_empty=accept_empty)

    def write_config(self, text: str) -> Settings:
        self.config.write_text(text)
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


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = World(tmp_path)
    yield made
    made.state.close()


FEEDS_OF_HQ = ["support", "holidays", "all-hq"]


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def test_calendar_and_merged_feeds_by_pattern(world: World) -> None:
    assert world.sync("hq", HQ) == [OFFICE, FRENCH, LEAVE, "support", "holidays", "all-hq"]
    assert world.sync("branch", BRANCH, later(1)) == [
        "branch/holidays/Bank",
        BRANCH_OFFICE,
        "branch/time/Other",
        "support",
        "holidays",
    ]
    assert world.summaries("support") == {"Office hours", "Saturday desk", "Branch office"}
    assert world.summaries("holidays") == {"Mid-Lent", "Alice away", "Bank holiday"}
    # "hq/*" reaches calendars several folders down.
    assert world.summaries("all-hq") == {"Office hours", "Saturday desk", "Mid-Lent", "Alice away"}
    assert world.store.names() == sorted([*HQ, *BRANCH, "support", "holidays", "all-hq"])
    world.all_valid()

    support = world.store.get("support")
    assert support is not None
    assert support.path == world.output / "support.ics"
    assert support.etag == '"' + hashlib.sha256(support.data).hexdigest() + '"'
    assert support.last_modified == SECOND + timedelta(minutes=1)
    assert support.events == 3
    head = Calendar.from_ical(support.data)
    assert str(head["NAME"]) == "Support hours"
    # the shortest interval of the sources it reaches (branch: 5m)
    assert head["REFRESH-INTERVAL"].to_ical() == b"PT5M"
    assert str(head["X-WR-TIMEZONE"]) == "Europe/Paris"
    assert b"NAME:all-hq\r\n" in (world.store.get("all-hq") or support).data

    office = world.store.get(OFFICE)
    assert office is not None
    assert office.path == world.output / "hq/locations/Paris HQ/businessHours/Office Hours.ics"
    assert office.events == 2
    records = world.state.feed_records()
    assert records["support"].etag == support.etag
    assert records["support"].last_modified == support.last_modified
    assert records[OFFICE].path == str(office.path)


def test_merged_feed_is_partial_until_its_other_source_first_syncs(world: World) -> None:
    world.sync("hq", HQ)
    assert world.summaries("support") == {"Office hours", "Saturday desk"}
    world.sync("branch", BRANCH, later(1))
    assert world.summaries("support") == {"Office hours", "Saturday desk", "Branch office"}
    support = world.store.get("support")
    assert support is not None
    assert support.last_modified == SECOND + timedelta(minutes=1)


def test_unchanged_sync_writes_nothing_and_keeps_the_validators(world: World) -> None:
    world.sync("branch", BRANCH)
    world.sync("hq", HQ, later(1))
    before = world.served()
    mtimes = world.age_files()
    assert world.sync("hq", HQ, later(15)) == []
    assert world.sync("branch", BRANCH, later(20)) == []
    assert world.mtimes() == mtimes
    assert world.served() == before
    stamps = {c.name: c.last_modified for c in before.values() if c is not None}
    assert stamps == {
        **{name: SECOND for name in BRANCH},
        **{name: SECOND + timedelta(minutes=1) for name in [*HQ, *FEEDS_OF_HQ]},
    }


def test_a_change_moves_etag_and_last_modified_of_the_feeds_it_touches(world: World) -> None:
    world.sync("hq", HQ)
    world.sync("branch", BRANCH)
    before = world.served()
    mtimes = world.age_files()
    edited = {**HQ, OFFICE: [Ev("oh-1", "Office hours (new)", 2), HQ[OFFICE][1]]}

    assert world.sync("hq", edited, later(15)) == [OFFICE, "support", "all-hq"]
    for name in world.store.names():
        now, then = world.store.get(name), before[name]
        assert now is not None and then is not None
        moved = name in (OFFICE, "support", "all-hq")
        assert (now.etag != then.etag, now.last_modified != then.last_modified) == (moved, moved)
        assert (world.mtimes()[now.path] != mtimes[now.path]) == moved
        if moved:
            assert now.last_modified == SECOND + timedelta(minutes=15)
    assert "Office hours (new)" in world.summaries("support")
    world.all_valid()


def test_deleting_an_event_moves_last_modified(world: World) -> None:
    world.sync("hq", HQ)
    fewer = {**HQ, OFFICE: HQ[OFFICE][:1]}
    assert world.sync("hq", fewer, later(30)) == [OFFICE, "support", "all-hq"]
    office = world.store.get(OFFICE)
    assert office is not None
    assert (office.events, office.last_modified) == (1, SECOND + timedelta(minutes=30))
    assert world.summaries("support") == {"Office hours"}
    assert world.state.feed_records()[OFFICE].last_modified == office.last_modified


def test_a_vanished_calendar_is_removed_everywhere(world: World) -> None:
    world.sync("hq", HQ)
    world.sync("branch", BRANCH)
    leave = world.store.get(LEAVE)
    assert leave is not None and leave.path.exists()
    without = {key: events for key, events in HQ.items() if key != LEAVE}

    assert world.sync("hq", without, later(15)) == [LEAVE, "holidays", "all-hq"]
    assert world.store.get(LEAVE) is None
    assert LEAVE not in world.store.names()
    assert not leave.path.exists()
    assert LEAVE not in world.state.feed_records()
    assert world.summaries("holidays") == {"Mid-Lent", "Bank holiday"}
    holidays = world.store.get("holidays")
    assert holidays is not None and holidays.last_modified == SECOND + timedelta(minutes=15)
    world.all_valid()


def test_a_failed_source_keeps_its_events_in_merged_feeds(world: World) -> None:
    world.sync("hq", HQ)
    world.sync("branch", BRANCH)
    # branch fails from now on: the daemon simply does not pass it.
    edited = {**HQ, OFFICE: [Ev("oh-1", "Office hours", 2)]}
    assert world.sync("hq", edited, later(15)) == [OFFICE, "support", "all-hq"]
    assert world.summaries("support") == {"Office hours", "Branch office"}
    assert world.store.get(BRANCH_OFFICE) is not None
