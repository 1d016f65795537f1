"""Every number in the config is bounded to what the code can hold: past the bound it is
one line naming the file, the section, the field and the range, never a traceback later
(issue 19, item 5: `interval = "3000000d"` passed `check`, then killed the daemon)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config_files import config_problems, load_config

from icsbridge.config.durations import parse_duration

SOURCE = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
people = ["person-1"]
"""
WORDBEE = """
[[sources]]
name = "translations"
kind = "wordbee"
interval = "15m"
base_url = "https://acme.wordbee-translator.com/api/"
account_id = "acme"
key = "env:WORDBEE_KEY"
persons = [635]
"""
RANGE = 'longer than the maximum "30d" (an interval is from "1m" to "30d")'


def _interval(value: str) -> str:
    return SOURCE.replace('interval = "15m"', f"interval = {value}")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('"3000000d"', '"3000000d"'),
        ('"30d1s"', '"30d1s"'),
        ("2592001", "2592001 seconds"),
        ("99999999999999999999", "99999999999999999999 seconds"),
        ("9223372036854775807", "9223372036854775807 seconds"),
    ],
)
def test_a_huge_interval_is_refused_naming_the_allowed_range(
    tmp_path: Path, value: str, shown: str
) -> None:
    assert config_problems(tmp_path, _interval(value)) == [
        f'source "hq": field "interval": {shown} is {RANGE}'
    ]


@pytest.mark.parametrize("value", ['"30d"', "2592000"])
def test_the_longest_interval_is_accepted(tmp_path: Path, value: str) -> None:
    assert load_config(tmp_path, _interval(value)).sources[0].interval_seconds == 30 * 86400


def test_a_duration_of_thousands_of_digits_is_too_long_not_a_python_error() -> None:
    text = "9" * 5000 + "d"
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == f'"{text}" is too long a duration'


def test_an_integer_of_thousands_of_digits_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    assert config_problems(tmp_path, _interval("9" * 5000)) == [
        "a number in the file is too long to read; no setting takes one that long"
    ]


def test_a_huge_throttle_wait_is_refused_instead_of_overflowing_float(tmp_path: Path) -> None:
    text = f"{WORDBEE}throttle_wait = {10**400}\n"
    assert config_problems(tmp_path, text) == [
        f'source "translations": field "throttle_wait": {10**400} seconds is longer than '
        "the maximum of one hour"
    ]


def test_a_person_id_past_64_bits_is_refused(tmp_path: Path) -> None:
    text = WORDBEE.replace("persons = [635]", f"persons = [635, {2**63}]")
    assert config_problems(tmp_path, text) == [
        f'source "translations": field "persons": item 2: {2**63} is too large for a person '
        f"id (at most {2**63 - 1})"
    ]
