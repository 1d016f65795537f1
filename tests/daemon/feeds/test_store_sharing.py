"""What each feed shares: the demo's four source kinds at every level (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar
from support.demo_world import KINDS, NOW, demo_store
from support.feed_world import CONFIG, FEEDS, HQ, OFFICE, later
from support.feed_world import World as FeedWorld

from icsbridge.config.settings import Settings
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.store.state import StateStore

World = tuple[Settings, FeedStore]
_PRIVATE = (b"ATTENDEE", b"ORGANIZER", b"DESCRIPTION", b"BEGIN:VALARM", b"\r\nX-")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return demo_store(tmp_path_factory.mktemp("sharing"), "", NOW)


def data(world: World, name: str) -> bytes:
    content = world[1].get(name)
    assert content is not None, name
    return content.data


def events(ics: bytes) -> list[dict[str, str]]:
    return [
        {str(k): str(v) for k, v in event.items()}
        for event in Calendar.from_ical(ics).walk()
        if event.name in ("VEVENT", "VTODO")
    ]


def body(ics: bytes) -> bytes:
    """The events' part of a feed (the calendar's own DESCRIPTION and X-WR- lines cut)."""
    return ics[ics.find(b"BEGIN:VEVENT") :] if b"BEGIN:VEVENT" in ics else ics


def test_attendees_are_not_published_by_default(world: World) -> None:
    _settings, store = world
    people = data(world, "b2core-people")
    assert b"ATTENDEE" in people and b"ORGANIZER" in people
    for name in store.names():
        if name != "b2core-people":
            assert b"ATTENDEE" not in data(world, name), name
            assert b"ORGANIZER" not in data(world, name), name
    # Names may stay as text at full: the DESCRIPTION is the source's.
    assert b"DESCRIPTION" in body(data(world, "b2core-full"))


@pytest.mark.parametrize("kind", KINDS)
def test_limited_shows_summaries_places_and_categories_only(world: World, kind: str) -> None:
    full, limited = (events(data(world, f"{kind}-{level}")) for level in ("full", "limited"))
    assert len(full) == len(limited) > 0
    assert sorted(e["SUMMARY"] for e in full) == sorted(e["SUMMARY"] for e in limited)
    assert not any(marker in body(data(world, f"{kind}-limited")) for marker in _PRIVATE)
    for key in ("CATEGORIES", "LOCATION"):
        assert sorted(e.get(key, "") for e in full) == sorted(e.get(key, "") for e in limited)


@pytest.mark.parametrize("kind", KINDS)
def test_availability_shows_times_under_a_fixed_summary(world: World, kind: str) -> None:
    full, shown = (events(data(world, f"{kind}-{level}")) for level in ("full", "availability"))
    assert len(full) == len(shown) > 0
    assert {e["SUMMARY"] for e in shown} <= {"Busy", "Open"}
    assert not any("CATEGORIES" in e or "LOCATION" in e for e in shown)
    assert not any(marker in body(data(world, f"{kind}-availability")) for marker in _PRIVATE)
    starts = sorted(e["DTSTART"] for e in full)
    assert sorted(e["DTSTART"] for e in shown) == starts


@pytest.mark.parametrize("kind", KINDS)
def test_each_level_has_its_own_uids(world: World, kind: str) -> None:
    uids = [{e["UID"] for e in events(data(world, f"{kind}-{lv}"))} for lv in ("full", "limited")]
    assert uids[0] and uids[1] and not uids[0] & uids[1]
    available = {e["UID"] for e in events(data(world, f"{kind}-availability"))}
    assert not available & (uids[0] | uids[1])


def test_every_feed_at_every_level_is_valid(world: World) -> None:
    for name in world[1].names():
        assert validate_feed(data(world, name)) == [], name


def test_the_same_calendars_behind_two_urls_get_two_tokens(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "state.sqlite")
    tokens = FeedTokens(state, clock=lambda: NOW)
    tokens.ensure(["b2core-full", "b2core-availability"], {})
    assert tokens.token("b2core-full") != tokens.token("b2core-availability")
    assert tokens.check(tokens.token("b2core-full"), "b2core-full")
    assert not tokens.check(tokens.token("b2core-full"), "b2core-availability")


def test_a_changed_source_level_applies_to_its_calendar_feeds_at_once(tmp_path: Path) -> None:
    world = FeedWorld(tmp_path)
    world.sync("hq", HQ)
    assert world.summaries(OFFICE) == {"Office hours", "Saturday desk"}
    whole = world.store.get(OFFICE)
    settings = world.write_config(
        CONFIG.replace('name = "hq"\n', 'name = "hq"\nfeed_details = "availability"\n') + FEEDS
    )
    changed = world.store.reconfigure(settings, now=later(1))
    assert OFFICE in changed and "support" not in changed  # [[feeds]] keep their own level
    assert world.summaries(OFFICE) == {"Busy"}
    shown = world.store.get(OFFICE)
    assert whole is not None and shown is not None and shown.etag != whole.etag
    # The next sync of the same data changes nothing more.
    assert world.sync("hq", HQ, later(2)) == []
    world.all_valid()
    world.state.close()
