"""The settings every source kind shares for pushing edits and for pooled reads."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from support.config_files import config_problems, load_config

WEBEX = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
people = ["p1"]
"""
WORDBEE = """
[[sources]]
name = "translations"
kind = "wordbee"
interval = "15m"
base_url = "https://acme.wordbee-translator.com/api"
account_id = "acme"
key = "env:WORDBEE_KEY"
persons = [635]
"""


def test_defaults_keep_writes_off(tmp_path: Path) -> None:
    source = load_config(tmp_path, WEBEX).sources[0]
    assert source.concurrency == 8
    assert source.read_only is False
    assert source.feed_writes is False
    assert source.vdir is False
    assert source.conflict == "reject"
    assert source.max_deletes == 10
    assert source.max_creates == 100
    assert source.write_wait == timedelta(seconds=30)


def test_values_are_read(tmp_path: Path) -> None:
    text = WEBEX + (
        'concurrency = 2\nfeed_writes = true\nvdir = true\nconflict = "local-wins"\n'
        'max_deletes = 0\nmax_creates = 5000\nwrite_wait = "1m30s"\n'
    )
    source = load_config(tmp_path, text).sources[0]
    assert (source.concurrency, source.feed_writes, source.vdir) == (2, True, True)
    assert (source.conflict, source.max_deletes, source.max_creates) == ("local-wins", 0, 5000)
    assert source.write_wait == timedelta(seconds=90)


@pytest.mark.parametrize(("line", "seconds"), [('write_wait = "0s"', 0), ("write_wait = 45", 45)])
def test_write_wait_takes_zero_and_whole_seconds(tmp_path: Path, line: str, seconds: int) -> None:
    source = load_config(tmp_path, f"{WEBEX}{line}\n").sources[0]
    assert source.write_wait == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("concurrency = 0", 'field "concurrency": 0 is out of range (1-64)'),
        ("max_deletes = -1", 'field "max_deletes": -1 is out of range (0-100000)'),
        ("max_creates = -1", 'field "max_creates": -1 is out of range (0-100000)'),
        ("max_creates = 1e9", 'field "max_creates": '),
        ('vdir = "yes"', 'field "vdir": expected true or false'),
        ('conflict = "mine"', 'field "conflict"'),
        (
            'write_wait = "soon"',
            'field "write_wait": "soon" is not a duration (e.g. "15m", "1h30m")',
        ),
        ('write_wait = "2h"', 'field "write_wait": "2h" is out of range ("0s" to "10m")'),
        ("write_wait = -1", 'field "write_wait": -1 seconds is out of range ("0s" to "10m")'),
        (
            "write_wait = 100000000000000000000",
            'field "write_wait": 100000000000000000000 seconds is out of range ("0s" to "10m")',
        ),
        ("write_wait = true", 'field "write_wait": expected a duration like "30s", got a boolean'),
        (
            "feed_writes = true\nread_only = true",
            "feed_writes = true contradicts read_only = true; remove one of them",
        ),
    ],
)
def test_bad_values_are_one_line_each(tmp_path: Path, line: str, message: str) -> None:
    found = config_problems(tmp_path, f"{WEBEX}{line}\n", 'source "hq": ')
    assert len(found) == 1
    assert found[0].startswith(message), found


def test_feed_writes_on_a_read_only_kind_is_refused(tmp_path: Path) -> None:
    found = config_problems(tmp_path, WORDBEE + "feed_writes = true\n", 'source "translations": ')
    assert found == [
        "feed_writes = true, but this kind's API takes no writes (read-only); remove feed_writes"
    ]


def test_a_read_only_kind_may_still_have_a_vdir(tmp_path: Path) -> None:
    assert load_config(tmp_path, WORDBEE + "vdir = true\n").sources[0].vdir is True


def test_source_of_calendar_reads_the_key_prefix(tmp_path: Path) -> None:
    settings = load_config(tmp_path, WEBEX)
    assert settings.source_of_calendar("hq/people/p1/holidays/x") is settings.sources[0]
    assert settings.source_of_calendar("hq") is None  # a [[feeds]] name, never a calendar
    assert settings.source_of_calendar("gone/people/p1/holidays/x") is None
