"""The ``[[feeds]]`` section: merged feeds declared by name and calendar patterns."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from support import paths
from support.config_files import config_problems

from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import load_settings, resolve_secrets
from icsbridge.config.secrets import SecretRef
from icsbridge.config.settings import FeedSettings, Settings, WebexSourceSettings

FIXTURES = paths.FIXTURES / "config"
LITERAL = "secrets are written as env:NAME, file:PATH or credential:NAME, not a literal value"
SOURCES = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
locations = "all"

[[sources]]
name = "branch-2"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
locations = "all"
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problem lines for a config made of ``text``, without the file prefix."""
    return config_problems(tmp_path, text)


def feed_problems(tmp_path: Path, body: str) -> list[str]:
    return problems(tmp_path, f'{SOURCES}\n[[feeds]]\nname = "mixed"\n{body}\n')


def test_good_feeds() -> None:
    settings = load_settings(FIXTURES / "feeds_good.toml")
    support, holidays, branches = settings.feeds
    assert support == FeedSettings(
        name="support-hours",
        calendars=["hq/*", "branch-2/locations/Lyon/businessHours/Office"],
        token=SecretRef("env", "SUPPORT_FEED_TOKEN"),
        description="Support hours, all sites",
    )
    assert support.token is not None
    assert support.token.where == 'feed "support-hours": field "token"'
    assert (holidays.name, holidays.token, holidays.description) == ("holidays", None, "")
    assert branches.calendars == ["branch-*"]


def test_feeds_default_to_none() -> None:
    assert load_settings(FIXTURES / "good.toml").feeds == []


def test_patterns_match_calendar_keys_across_folders() -> None:
    support, holidays, branches = load_settings(FIXTURES / "feeds_good.toml").feeds
    assert support.matches("hq/locations/Paris HQ/holidays/French Holidays")
    assert support.matches("branch-2/locations/Lyon/businessHours/Office")
    assert not support.matches("branch-2/locations/Lyon/businessHours/Office Hours")
    assert not support.matches("hqx/locations/Paris/holidays/X")
    assert holidays.matches("branch-2/locations/Lyon/holidays/Bank")
    assert not holidays.matches("hq/locations/Paris HQ/businessHours/Office")
    assert branches.matches("branch-2/people/Ann/holidays/Leave")
    assert [f.reaches("hq") for f in (support, holidays, branches)] == [True, True, False]
    assert [f.reaches("branch-2") for f in (support, holidays, branches)] == [True, True, True]


def test_every_feed_problem_is_reported_in_one_run() -> None:
    file = FIXTURES / "feeds_problems.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert caught.value.problems == [
        f'{file}: feed #2: field "name": "Support Hours" is not a valid name '
        '(use lowercase letters, digits and "-", e.g. "support-hours")',
        f'{file}: feed #2: field "calendars": no pattern given; list the calendars to merge '
        '(e.g. ["hq/*"])',
        f'{file}: feed #3: field "calendars": "hq" names a source, not calendars '
        '(calendar keys are source/path: write "hq/*" for all of them)',
        f'{file}: feed #3: unknown field "tokne" (known: attendees, calendars, closed, '
        f"description, details, max_bytes, name, open, show, summary, timezone, token, window); "
        'did you mean "token"?',
        f'{file}: feed "literal": field "token": {LITERAL}',
        f'{file}: feed "literal": field "description": expected a string, got an integer',
        f'{file}: feed #5: field "name" is missing (e.g. name = "support-hours")',
        f'{file}: feed #3: field "name": "support-hours" is already the name of feed #1 '
        "(names must be unique)",
        f'{file}: feed "support-hours": field "calendars": "nope/*" names no source '
        "(sources: hq, branch-2)",
        f'{file}: feed "support-hours": field "calendars": "branch-3/*" names no source '
        "(sources: hq, branch-2)",
    ]
    assert "my-secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('calendars = "hq/*"', 'expected an array of patterns like ["hq/*"], got a string'),
        ('calendars = ["hq/*", 7]', "item 2: expected a pattern string, got an integer"),
        ('calendars = ["hq/*", " "]', "item 2 is empty; give a pattern or remove it"),
        (
            'calendars = ["branch-2"]',
            '"branch-2" names a source, not calendars '
            '(calendar keys are source/path: write "branch-2/*" for all of them)',
        ),
        ('calendars = ["hq/*", "HQ/*"]', '"HQ/*" names no source (sources: hq, branch-2)'),
        ('calendars = ["x*/y"]', '"x*/y" names no source (sources: hq, branch-2)'),
    ],
)
def test_bad_calendars(tmp_path: Path, line: str, message: str) -> None:
    assert feed_problems(tmp_path, line) == [f'feed "mixed": field "calendars": {message}']


def test_calendars_missing(tmp_path: Path) -> None:
    assert feed_problems(tmp_path, "") == [
        'feed "mixed": field "calendars" is missing (e.g. calendars = ["hq/*"])'
    ]


@pytest.mark.parametrize("pattern", ["*", "*/holidays/*", "h?/*", "[hb]*", "*Paris*"])
def test_wildcards_in_the_first_segment_reach_sources(tmp_path: Path, pattern: str) -> None:
    file = tmp_path / "config.toml"
    file.write_text(f'{SOURCES}\n[[feeds]]\nname = "x"\ncalendars = ["{pattern}"]\n')
    (feed,) = load_settings(file).feeds
    assert feed.reaches("hq")


def test_feeds_not_written_as_tables(tmp_path: Path) -> None:
    assert problems(tmp_path, f'feeds = "all"\n{SOURCES}') == [
        "feeds: expected an array of tables ([[feeds]]), got a string"
    ]
    assert problems(tmp_path, f'feeds = ["x"]\n{SOURCES}') == [
        "feed #1: expected a table, got a string"
    ]


def test_feed_token_is_resolved_by_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "t")
    monkeypatch.delenv("SUPPORT_FEED_TOKEN", raising=False)
    file = FIXTURES / "feeds_good.toml"
    settings = load_settings(file)
    assert resolve_secrets(settings) == [
        f'{file}: feed "support-hours": field "token": '
        "environment variable SUPPORT_FEED_TOKEN is not set"
    ]
    monkeypatch.setenv("SUPPORT_FEED_TOKEN", "feed-secret")
    assert resolve_secrets(settings) == []
    assert "feed-secret" not in f"{settings!r} {settings.model_dump_json()}"


def test_feeds_are_checked_in_code_too() -> None:
    source = WebexSourceSettings.model_validate(
        {"name": "hq", "interval": timedelta(minutes=5), "token": "env:T", "people": ["p"]}
    )
    feed = FeedSettings(name="a", calendars=["hq/*"])
    assert Settings(sources=[source], feeds=[feed], path=Path("/c.toml")).feeds == [feed]
    with pytest.raises(ValidationError) as caught:
        Settings(
            sources=[source],
            feeds=[feed, FeedSettings(name="a", calendars=["lab/*"])],
            path=Path("/c.toml"),
        )
    assert [error["msg"] for error in caught.value.errors()] == [
        '"a" is already the name of feed #1 (names must be unique)',
        '"lab/*" names no source (sources: hq)',
    ]
