"""The feed store's guards: the empty guard, feeds over 1 MB, files that cannot be
written, Last-Modified that only moves forward, syncs that do not belong."""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.feed_world import (
    BRANCH,
    BRANCH_OFFICE,
    FEEDS_OF_HQ,
    FRENCH,
    HQ,
    LEAVE,
    NOW,
    OFFICE,
    SECOND,
    Ev,
    Spec,
    World,
    later,
    pulled,
)

import icsbridge.daemon.feeds.files
from icsbridge.config.daemon.state import StateLocation
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.sync.pull import render_pulled


@pytest.fixture
def world(tmp_path: Path, state_at: StateLocation) -> Iterator[World]:
    made = World(tmp_path, state=state_at)
    yield made
    made.state.close()


@pytest.mark.parametrize("answer", [{}, {OFFICE: [], FRENCH: [], LEAVE: []}])
def test_empty_guard_holds_the_last_good_content(
    world: World, answer: Spec, caplog: pytest.LogCaptureFixture
) -> None:
    world.sync("hq", HQ)
    before = world.served()
    mtimes = world.age_files()
    caplog.set_level(logging.WARNING, logger="icsbridge.feeds")

    assert world.sync("hq", answer, later(15)) == []
    assert world.sync("hq", answer, later(30)) == []
    assert world.served() == before
    assert world.mtimes() == mtimes
    line = (
        'source "hq" answered with nothing where it had 3 calendars with 4 events; its feeds '
        "keep their last good content (run with --accept-empty if the schedules really were "
        "emptied)"
    )
    assert world.store.warnings() == {"hq": [line]}
    assert [r.getMessage() for r in caplog.records] == [line]  # once per occurrence

    back = world.sync("hq", HQ, later(45))
    assert world.store.warnings() == {}
    # The identities were kept while the source was empty (render_pulled does not forget
    # items when nothing came back): the same bytes, SEQUENCE and stamps come back.
    assert back == []


def test_empty_guard_is_lifted_by_accept_empty(tmp_path: Path, state_at: StateLocation) -> None:
    world = World(tmp_path, accept_empty=True, state=state_at)
    try:
        world.sync("hq", HQ)
        emptied: Spec = {OFFICE: [], FRENCH: [], LEAVE: []}
        assert world.sync("hq", emptied, later(15)) == [OFFICE, FRENCH, LEAVE, *FEEDS_OF_HQ]
        assert world.store.warnings() == {}
        office = world.store.get(OFFICE)
        assert office is not None and office.events == 0
        assert validate_feed(office.data) == []
        # No calendar at all: every calendar feed of the source goes.
        # (the merged feeds lose their X-WR-TIMEZONE: no calendar is left to give one)
        assert world.sync("hq", {}, later(30)) == [OFFICE, FRENCH, LEAVE, *FEEDS_OF_HQ]
        assert world.store.names() == ["all-hq", "holidays", "support"]
        assert world.summaries("all-hq") == set()
        world.all_valid()
    finally:
        world.state.close()


def test_a_source_that_never_had_events_is_not_held(world: World) -> None:
    assert world.sync("hq", {OFFICE: []}) == [OFFICE, *FEEDS_OF_HQ]
    assert world.sync("hq", {OFFICE: [], FRENCH: []}, later(1)) == [FRENCH, "holidays"]
    assert world.sync("hq", {OFFICE: [], FRENCH: []}, later(2)) == []
    assert world.store.warnings() == {}
    # Losing every calendar at once still looks like an API fault.
    assert world.sync("hq", {}, later(3)) == []
    assert world.store.get(OFFICE) is not None
    assert list(world.store.warnings()) == ["hq"]


def test_feeds_over_one_megabyte_are_warned_about_once_per_change(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="icsbridge.feeds")
    text = "Long notes. " * 4_000  # about 48 KB per event
    big = {**HQ, LEAVE: [Ev(f"al-{n}", f"Away {n}", 1 + n % 28, text) for n in range(22)]}
    world.sync("hq", big)
    warned = world.store.warnings()
    assert sorted(warned) == ["all-hq", "holidays", LEAVE]
    holidays = world.store.get("holidays")
    assert holidays is not None
    size = len(holidays.data)
    fit = world.store.over_budget()["holidays"].fit
    assert fit is not None
    assert warned["holidays"] == [
        f'feed "holidays" is {size:,} bytes (23 events): Google stops reading subscribed '
        f"feeds near 1 MB; {fit.text()} would bring it to {fit.size:,} bytes"
    ]
    assert (
        "(22 events): Google stops reading subscribed feeds near 1 MB; a [[feeds]] "
        in (warned[LEAVE][0])
    )
    assert len(caplog.records) == 3
    world.sync("hq", big, later(15))
    assert len(caplog.records) == 3  # unchanged: no new warning
    world.all_valid()
    world.sync("hq", HQ, later(30))
    assert world.store.warnings() == {}


def test_last_modified_always_moves_forward(world: World) -> None:
    world.sync("hq", HQ, later(10))
    edited = {**HQ, OFFICE: HQ[OFFICE][:1]}
    # the same second again, then a clock that stepped back
    world.sync("hq", edited, later(10) + timedelta(microseconds=5))
    office = world.store.get(OFFICE)
    assert office is not None and office.last_modified == SECOND + timedelta(minutes=10, seconds=1)
    world.sync("hq", HQ, later(5))
    office = world.store.get(OFFICE)
    assert office is not None and office.last_modified == SECOND + timedelta(minutes=10, seconds=2)


def test_unknown_sources_and_foreign_calendars(world: World) -> None:
    assert world.sync("gone", {"gone/x": [Ev("g", "Gone")]}) == []
    assert world.store.names() == []
    rendered = render_pulled(pulled({BRANCH_OFFICE: []}), "branch", world.state, now=NOW)
    with pytest.raises(ValueError, match="returned calendars of another source"):
        world.store.update_source("hq", rendered, now=NOW)
    with pytest.raises(ValueError, match="naive"):
        world.store.update_source("hq", [], now=NOW.replace(tzinfo=None))


def test_a_feed_that_cannot_be_written_is_served_from_memory(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.sync("hq", HQ)
    world.sync("branch", BRANCH, later(1))
    office = world.store.get(OFFICE)
    assert office is not None

    def disk_full(path: Path, data: bytes, mode: int = 0o644, *, sync_dir: bool = True) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(icsbridge.daemon.feeds.files, "write_atomic", disk_full)
    edited = {**HQ, OFFICE: [Ev("oh-1", "Office hours", 2)]}
    assert world.sync("hq", edited, later(15)) == [OFFICE, "support", "all-hq"]
    served = world.store.get(OFFICE)
    assert served is not None and b"Saturday desk" not in served.data
    assert world.store.warnings()[OFFICE] == [
        f'feed "{OFFICE}": cannot write {office.path}: No space left on device; served from '
        "memory only until a write succeeds (check [daemon].output_dir)"
    ]
    # The record describes the file; on PostgreSQL it holds the bytes themselves, which
    # the other daemons serve: it follows what is served.
    recorded = served.etag if world.state.dialect == "postgresql" else office.etag
    assert world.state.feed_records()[OFFICE].etag == recorded
    assert office.path.read_bytes() == office.data

    monkeypatch.undo()
    # The write is tried again, though the content served does not change.
    assert world.sync("hq", edited, later(30)) == []
    assert world.store.warnings() == {}
    assert world.state.feed_records()[OFFICE].etag == served.etag
    assert world.store.get(OFFICE) == served  # the content did not change again
    world.all_valid()


# -- one calendar emptied while the source still has events -----------------------------

FRENCH_HELD = (
    f'calendar "{FRENCH}" answered with no events where it had 1, while other calendars of '
    'source "hq" have events; its feed keeps its last good content (run with --accept-empty '
    "if it really was emptied)"
)


def test_a_calendar_dropping_to_no_events_is_held_while_the_source_has_events(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # A schedule answer without its events list was read as "no events": holiday feeds
    # were published empty, health 200, while the source's other calendars were fine.
    world.sync("hq", HQ)
    before = world.served()
    caplog.set_level(logging.WARNING, logger="icsbridge.feeds")
    dropped = {**HQ, FRENCH: []}

    assert world.sync("hq", dropped, later(15)) == []
    assert world.sync("hq", dropped, later(30)) == []
    assert world.served() == before
    assert "Mid-Lent" in world.summaries("holidays")  # the merged feeds keep it too
    assert world.store.warnings() == {FRENCH: [FRENCH_HELD]}
    assert [r.getMessage() for r in caplog.records] == [FRENCH_HELD]  # once per occurrence

    # Other calendars of the source still follow their API.
    edited = {**dropped, OFFICE: HQ[OFFICE][:1]}
    assert world.sync("hq", edited, later(45)) == [OFFICE, "support", "all-hq"]
    assert world.served()[FRENCH] == before[FRENCH]

    # Back with its events: the same identities, so the same bytes; the warning goes.
    assert world.sync("hq", HQ, later(60)) == [OFFICE, "support", "all-hq"]
    assert world.served()[FRENCH] == before[FRENCH]
    assert world.store.warnings() == {}
    world.all_valid()


def test_a_held_calendar_after_a_restart_keeps_the_merged_feeds_as_served(
    world: World,
) -> None:
    world.sync("hq", HQ)
    world.sync("branch", BRANCH, later(1))
    holidays = world.store.get("holidays")
    world.restart()
    assert world.sync("hq", {**HQ, FRENCH: []}, later(15)) == []
    assert world.store.get("holidays") == holidays
    assert list(world.store.warnings()) == [FRENCH]
    assert world.sync("hq", HQ, later(30)) == []
    assert world.store.warnings() == {}


def test_a_calendar_emptied_on_purpose_is_published_empty(
    tmp_path: Path, state_at: StateLocation
) -> None:
    world = World(tmp_path, accept_empty=True, state=state_at)
    try:
        world.sync("hq", HQ)
        assert world.sync("hq", {**HQ, FRENCH: []}, later(15)) == [FRENCH, "holidays", "all-hq"]
        french = world.store.get(FRENCH)
        assert french is not None and french.events == 0
        assert world.store.warnings() == {}
    finally:
        world.state.close()


def test_a_push_that_deleted_every_event_of_a_calendar_is_not_held(world: World) -> None:
    # The push engine forgets the items it deleted (journal.record_write): that
    # emptiness is the user's, and the re-render after the push is published.
    world.sync("hq", HQ)
    for row in world.state.items("hq", FRENCH):
        world.state.forget_item(row.uid)
    assert world.sync("hq", {**HQ, FRENCH: []}, later(15)) == [FRENCH, "holidays", "all-hq"]
    assert world.store.warnings() == {}
