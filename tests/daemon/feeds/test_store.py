"""The feed store during syncs: per-calendar and merged feeds, validators, the guards.

Calendars are rendered by the real pipeline (``icsbridge.daemon.sync.pull.render_pulled`` with the
state store), from converted events built here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from support.feed_world import (
    BRANCH,
    BRANCH_OFFICE,
    FEEDS_OF_HQ,
    FRENCH,
    HQ,
    LEAVE,
    OFFICE,
    SECOND,
    Ev,
    World,
    later,
)

from icsbridge.config.daemon.state import StateLocation


@pytest.fixture
def world(tmp_path: Path, state_at: StateLocation) -> Iterator[World]:
    made = World(tmp_path, state=state_at)
    yield made
    made.state.close()


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
