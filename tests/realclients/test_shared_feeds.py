"""Every feed the demo serves, at every level, judged by ical.js, libical (strict: its
restriction check too) and icalendar+dateutil (issue 16).

The demo's four sources are synced once into a feed store that also publishes each
source kind at the three detail levels, the B2CORE calendars with attendees, and the
effective hours of Paris HQ and New York (open and closed). libical flags an ATTENDEE in
a published calendar, so only the one feed that asks for attendees may carry them, and
it must carry an ORGANIZER with them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from icalendar import Calendar
from support.demo_world import NOW, demo_store

from icsbridge.daemon.feeds.store import FeedStore
from realclients.harness import assert_parsers_agree, parse_errors_libical, parse_problems

HOURS = "\n".join(
    f'[[feeds]]\nname = "{name}-{show}"\nopen = ["webex-demo/locations/{where}/businessHours/*"]\n'
    f'closed = ["webex-demo/locations/{where}/holidays/*"]\nshow = "{show}"\n'
    for name, where in (("hours-paris", "Paris HQ"), ("hours-ny", "New York"))
    for show in ("open", "closed")
)
WINDOW = (datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> FeedStore:
    _settings, built = demo_store(tmp_path_factory.mktemp("shared"), HOURS, NOW)
    return built


def feeds(store: FeedStore) -> dict[str, bytes]:
    out = {}
    for name in store.names():
        content = store.get(name)
        assert content is not None
        out[name] = content.data
    return out


def test_the_store_serves_every_level_and_the_hours(store: FeedStore) -> None:
    names = set(store.names())
    for kind in ("webex", "apio", "wordbee", "b2core"):
        assert {f"{kind}-full", f"{kind}-limited", f"{kind}-availability"} <= names
    assert {"paris-open", "b2core-busy", "b2core-people", "hours-paris-open"} <= names
    assert len(names) > 40


def test_every_parser_reads_every_shared_feed_without_complaint(store: FeedStore) -> None:
    for name, data in sorted(feeds(store).items()):
        assert parse_problems(data) == [], name


def test_attendees_only_where_asked_and_then_with_an_organizer(store: FeedStore) -> None:
    for name, data in sorted(feeds(store).items()):
        has = b"ATTENDEE" in data
        assert has == (name == "b2core-people"), name
    people = Calendar.from_ical(feeds(store)["b2core-people"])
    for event in people.walk("VEVENT"):
        if "ATTENDEE" in event:
            assert "ORGANIZER" in event, event["UID"]
    # Why attendees are off by default: read as an RFC 5546 PUBLISH (which is what a
    # subscribed feed is), libical's restriction check refuses every ATTENDEE.
    publish = feeds(store)["b2core-people"].replace(
        b"VERSION:2.0\r\n", b"VERSION:2.0\r\nMETHOD:PUBLISH\r\n", 1
    )
    assert any("ATTENDEE property. Expected 0" in p for p in parse_errors_libical(publish))


@pytest.mark.parametrize("kind", ["webex", "apio", "wordbee", "b2core"])
def test_the_parsers_find_the_same_times_at_every_level(store: FeedStore, kind: str) -> None:
    data = feeds(store)
    starts = [
        sorted(
            s
            for found in assert_parsers_agree(data[f"{kind}-{level}"], *WINDOW).values()
            for s in found
        )
        for level in ("full", "limited", "availability")
    ]
    assert starts[0] and starts[0] == starts[1] == starts[2]


@pytest.mark.parametrize(
    "name", ["hours-paris-open", "hours-paris-closed", "hours-ny-open", "paris-open"]
)
def test_the_parsers_agree_on_effective_hours(store: FeedStore, name: str) -> None:
    found = assert_parsers_agree(feeds(store)[name], *WINDOW)
    assert len(found) > 20  # one UID per interval, each occurring once
    assert all(len(starts) == 1 for starts in found.values())


def test_the_shared_feeds_are_written_beside_the_others(store: FeedStore) -> None:
    content = store.get("b2core-busy")
    assert content is not None
    assert content.path.read_bytes() == content.data
