"""The sharing keys of [[feeds]] and sources: details, attendees, summary, window,
max_bytes, open/closed/show; each bad value is one line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support.config_files import config_problems

from icsbridge.config.loader import load_settings

SOURCE = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
locations = "all"
"""


def feed(tmp_path: Path, body: str) -> list[str]:
    return config_problems(tmp_path, f'{SOURCE}\n[[feeds]]\nname = "shared"\n{body}\n')


def test_sharing_keys_are_read(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        SOURCE + 'feed_details = "limited"\n\n[[feeds]]\nname = "open"\n'
        'open = ["hq/*/businessHours/*"]\nclosed = ["hq/*/holidays/*"]\nshow = "closed"\n'
        'window = { past = "7d", future = "180d" }\nmax_bytes = 50000\n'
        'details = "availability"\nsummary = "Shut"\n'
    )
    settings = load_settings(config)
    (source,) = settings.sources
    assert (source.feed_details, source.publishes_attendees) == ("limited", False)
    (hours,) = settings.feeds
    assert hours.hours and hours.show == "closed" and hours.summary == "Shut"
    assert hours.window is not None
    assert (hours.window.past, hours.window.future) == (timedelta(days=7), timedelta(days=180))
    assert hours.window.text() == '{ past = "7d", future = "180d" }'
    assert hours.matches("hq/locations/Paris/holidays/French")
    assert hours.max_bytes == 50000


@pytest.mark.parametrize(
    ("body", "line"),
    [
        (
            'calendars = ["hq/*"]\ndetails = "some"',
            'feed "shared": field "details": "some" is not a detail level '
            '(use one of "full", "limited", "availability")',
        ),
        (
            'calendars = ["hq/*"]\nattendees = "yes"',
            'feed "shared": field "attendees": expected true or false, got a string',
        ),
        (
            'calendars = ["hq/*"]\ndetails = "limited"\nattendees = true',
            'feed "shared": field "attendees": attendees = true contradicts details = "limited" '
            '(that level publishes no attendees); remove one of them or use details = "full"',
        ),
        (
            'calendars = ["hq/*"]\nwindow = { past = "3x" }',
            'feed "shared": field "window": past: "3x" is not a duration (e.g. "90d", "400d")',
        ),
        (
            'calendars = ["hq/*"]\nmax_bytes = 5',
            'feed "shared": field "max_bytes": 5 is out of range (10000-1000000000)',
        ),
        (
            'calendars = ["hq/*"]\nopen = ["hq/*"]',
            'feed "shared": field "open": give either calendars (a merged feed) or open '
            "(effective hours), not both",
        ),
        (
            'closed = ["hq/*"]',
            'feed "shared": field "closed": needs open: the business hours it belongs to '
            '(e.g. open = ["hq/*"])',
        ),
        (
            'open = ["hq/*"]\nshow = "shut"',
            'feed "shared": field "show": "shut" is not "open" or "closed"',
        ),
        (
            'open = ["nowhere/*"]',
            'feed "shared": field "open": "nowhere/*" names no source (sources: hq)',
        ),
    ],
)
def test_bad_sharing_values_are_one_line_each(tmp_path: Path, body: str, line: str) -> None:
    assert feed(tmp_path, body) == [line]


def test_a_writable_source_keeps_its_calendar_feeds_whole(tmp_path: Path) -> None:
    text = SOURCE + 'feed_writes = true\nfeed_details = "limited"\n'
    assert config_problems(tmp_path, text) == [
        'source "hq": feed_writes = true takes back the whole calendar feed, so it must show '
        "everything: remove feed_details/feed_attendees (publish a [[feeds]] entry at the "
        "lower level instead)"
    ]
    config = tmp_path / "config.toml"
    config.write_text(SOURCE + "feed_writes = true\n")
    (source,) = load_settings(config).sources
    assert source.publishes_attendees
