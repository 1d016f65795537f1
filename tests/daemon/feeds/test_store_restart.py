"""The feed store across restarts (load_published) and config reloads (reconfigure)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from support.feed_world import (
    BRANCH,
    BRANCH_OFFICE,
    CONFIG,
    FEEDS,
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
from icsbridge.daemon.store.feeds import FeedRecord


@pytest.fixture
def world(tmp_path: Path, state_at: StateLocation) -> Iterator[World]:
    made = World(tmp_path, state=state_at)
    made.sync("hq", HQ)
    made.sync("branch", BRANCH, later(1))
    yield made
    made.state.close()


def test_a_restart_serves_the_same_bytes_and_validators(world: World) -> None:
    before = world.served()
    assert len(before) == 9
    mtimes = world.age_files()
    store = world.restart()
    assert world.served() == before
    assert store.warnings() == {}
    # The first syncs after the restart find nothing new: no write, same validators.
    assert world.sync("hq", HQ, later(15)) == []
    assert world.sync("branch", BRANCH, later(16)) == []
    assert world.served() == before
    assert world.mtimes() == mtimes
    world.all_valid()


def test_a_restored_merged_feed_waits_for_all_its_sources(world: World) -> None:
    before = world.served()
    world.restart()
    edited = {**HQ, OFFICE: [Ev("oh-1", "Office hours", 2)]}
    if world.state.dialect == "postgresql":
        # Daemons sharing the state store every calendar's pieces: nothing waits.
        assert world.sync("hq", edited, later(15)) == [OFFICE, "support", "all-hq"]
        assert world.summaries("support") == {"Office hours", "Branch office"}
        assert world.sync("branch", BRANCH, later(20)) == []
        assert world.store.get("holidays") == before["holidays"]
        return
    # all-hq reaches hq alone; support and holidays also reach branch, not synced yet.
    assert world.sync("hq", edited, later(15)) == [OFFICE, "all-hq"]
    assert world.served()["support"] == before["support"]
    assert "Saturday desk" in world.summaries("support")

    assert world.sync("branch", BRANCH, later(20)) == ["support"]
    assert world.summaries("support") == {"Office hours", "Branch office"}
    support, holidays = world.store.get("support"), world.store.get("holidays")
    assert support is not None and support.last_modified == SECOND + timedelta(minutes=20)
    assert holidays == before["holidays"]  # rendered again, the same bytes: untouched


def test_a_failing_source_keeps_restored_merged_feeds_whole(world: World) -> None:
    before = world.served()
    world.restart()
    assert world.sync("hq", HQ, later(15)) == []
    # branch never answers in this process
    assert world.served() == before
    assert "Branch office" in world.summaries("support")


def test_a_file_that_no_longer_matches_its_record_is_not_served(world: World) -> None:
    before = world.served()
    office, leave = before[OFFICE], before[LEAVE]
    assert office is not None and leave is not None
    office.path.write_bytes(office.data.replace(b"Saturday desk", b"Sunday desk!!"))
    leave.path.unlink()
    store = world.restart()
    if world.state.dialect == "postgresql":
        # The state holds the bytes (daemons sharing it serve them): the files are
        # written again from there.
        assert world.served() == before
        assert office.path.read_bytes() == office.data
        assert leave.path.read_bytes() == leave.data
        return
    assert store.get(OFFICE) is None
    assert store.get(LEAVE) is None
    assert {n: c for n, c in world.served().items()} == {
        n: c for n, c in before.items() if n not in (OFFICE, LEAVE)
    }
    # The next sync writes them again; the same bytes as published keep their date.
    assert world.sync("hq", HQ, later(15)) == [OFFICE, LEAVE]
    assert world.served() == before
    assert office.path.read_bytes() == office.data
    assert leave.path.read_bytes() == leave.data


def test_restart_without_a_source_or_feed_drops_their_feeds(world: World) -> None:
    branch_files = [c.path for n, c in world.served().items() if c and n.startswith("branch/")]
    holidays = world.output / "holidays.ics"
    assert holidays.exists() and len(branch_files) == 3
    hq_only = CONFIG.split("[[sources]]")
    config = "[[sources]]".join(hq_only[:2]) + FEEDS.split('[[feeds]]\nname = "holidays"')[0]
    store = world.restart(config.replace(', "branch/time/Office"', ""))
    assert store.names() == sorted([*HQ, "support"])
    assert not holidays.exists()
    assert not any(path.exists() for path in branch_files)
    assert set(world.state.feed_records()) == {*HQ, "support"}


def test_reconfigure_adds_changes_and_removes_merged_feeds(world: World) -> None:
    mtimes = world.age_files()
    changed_feeds = (
        FEEDS.replace('name = "holidays"', 'name = "days-off"').replace(
            '"Support hours"', '"Support desk"'
        )
        + '\n[[feeds]]\nname = "branch-only"\ncalendars = ["branch/*"]\n'
    )
    settings = world.write_config(CONFIG + changed_feeds)
    now = later(30)
    assert world.store.reconfigure(settings, now=now) == [
        "holidays",
        "support",
        "days-off",
        "branch-only",
    ]
    assert world.store.get("holidays") is None
    assert not (world.output / "holidays.ics").exists()
    assert "holidays" not in world.state.feed_records()
    assert world.summaries("branch-only") == {"Branch office", "Branch other", "Bank holiday"}
    assert world.summaries("days-off") == {"Mid-Lent", "Alice away", "Bank holiday"}
    support = world.store.get("support")
    assert support is not None and support.last_modified == now.replace(microsecond=0)
    assert str(Calendar.from_ical(support.data)["NAME"]) == "Support desk"
    # untouched: all-hq and every calendar feed
    now_mtimes = world.mtimes()
    for path, mtime in mtimes.items():
        if path.name not in ("support.ics", "holidays.ics"):
            assert now_mtimes[path] == mtime, path
    assert world.store.reconfigure(settings, now=later(40)) == []
    world.all_valid()


def test_reconfigure_without_a_source_drops_its_feeds(world: World) -> None:
    branch_office = world.store.get(BRANCH_OFFICE)
    assert branch_office is not None
    hq_only = "[[sources]]".join(CONFIG.split("[[sources]]")[:2])
    settings = world.write_config(hq_only + FEEDS.replace(', "branch/time/Office"', ""))
    assert world.store.reconfigure(settings, now=later(30)) == [
        "branch/holidays/Bank",
        BRANCH_OFFICE,
        "branch/time/Other",
        "support",
        "holidays",
    ]
    assert not branch_office.path.exists()
    assert world.summaries("holidays") == {"Mid-Lent", "Alice away"}
    assert world.sync("branch", BRANCH, later(31)) == []  # a late job of the old config
    assert world.store.get(BRANCH_OFFICE) is None


def test_reconfigure_before_every_source_synced_keeps_restored_feeds(world: World) -> None:
    before = world.served()
    world.restart()
    world.sync("hq", HQ, later(15))
    settings = world.write_config(CONFIG + FEEDS.replace('"Support hours"', '"Support desk"'))
    if world.state.dialect == "postgresql":  # branch's stored pieces: nothing to wait for
        assert world.store.reconfigure(settings, now=later(16)) == ["support"]
        support = world.store.get("support")
        assert support is not None and b"NAME:Support desk\r\n" in support.data
        return
    assert world.store.reconfigure(settings, now=later(16)) == []
    assert world.store.get("support") == before["support"]
    assert world.sync("branch", BRANCH, later(20)) == ["support"]
    support = world.store.get("support")
    assert support is not None and b"NAME:Support desk\r\n" in support.data


def test_a_record_that_points_outside_the_output_folder_is_ignored(world: World) -> None:
    outside = world.output.parent / "outside.ics"
    outside.write_bytes(b"keep me")
    world.state.set_feed_record(FeedRecord("hq/../../outside", str(outside), '"x"', SECOND, 0, 7))
    store = world.restart()
    assert store.get("hq/../../outside") is None
    assert FRENCH in store.names()
    # hq does not have that calendar: the record goes, the file outside stays.
    assert world.sync("hq", HQ, later(15)) == ["hq/../../outside"]
    assert "hq/../../outside" not in world.state.feed_records()
    assert outside.read_bytes() == b"keep me"
