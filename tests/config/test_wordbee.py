"""``kind = "wordbee"`` settings: defaults, bounds and the one-line problems users read."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config_files import config_problems, load_config

from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.wordbee import WordbeeSourceSettings

SOURCE = """
[[sources]]
name = "translations"
kind = "wordbee"
interval = "15m"
base_url = "https://acme.wordbee-translator.com/api/"
account_id = "acme"
key = "env:WORDBEE_KEY"
persons = [635, "143"]
"""
WHERE = 'source "translations"'


def load(tmp_path: Path, text: str) -> WordbeeSourceSettings:
    source = load_config(tmp_path, text).sources[0]
    assert isinstance(source, WordbeeSourceSettings)
    return source


def problems(tmp_path: Path, text: str) -> list[str]:
    return config_problems(tmp_path, text)


def with_line(line: str) -> str:
    return f"{SOURCE}{line}\n"


def test_defaults_and_normalised_values(tmp_path: Path) -> None:
    source = load(tmp_path, SOURCE)
    assert source.base_url == "https://acme.wordbee-translator.com/api"
    assert source.persons == [635, 143]
    assert (source.months_back, source.months_ahead, source.months_read) == (1, 6, 8)
    assert source.work_items == "events"
    assert source.hourly_quota == 1000
    assert source.throttle_wait == 10.0
    assert source.timezone is None
    assert source.key == SecretRef("env", "WORDBEE_KEY")
    assert source.key.where == f'{WHERE}: field "key"'


def test_every_field_set(tmp_path: Path) -> None:
    text = with_line(
        'months_back = 0\nmonths_ahead = 24\nwork_items = "todos"\nhourly_quota = 500\n'
        'throttle_wait = "1m"\ntimezone = "Europe/Paris"'
    )
    source = load(tmp_path, text)
    assert (source.months_back, source.months_ahead, source.months_read) == (0, 24, 25)
    assert (source.work_items, source.hourly_quota, source.throttle_wait) == ("todos", 500, 60.0)
    assert source.timezone is not None and source.timezone.key == "Europe/Paris"


ONE_OF = 'is not one of "events", "todos", "none"'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("months_back = 25", "25 is out of range (0-24)"),
        ("months_ahead = -1", "-1 is out of range (0-24)"),
        ('months_ahead = "6"', "expected an integer from 0 to 24, got a string"),
        ("hourly_quota = 0", "0 is out of range (1-100000)"),
        ('work_items = "tasks"', f'"tasks" {ONE_OF}'),
        ("work_items = true", f"a boolean {ONE_OF}"),
        ("throttle_wait = 5", "5 seconds is shorter than the minimum 10 seconds"),
        ('throttle_wait = "9s"', '"9s" is shorter than the minimum 10 seconds'),
        ('throttle_wait = "2h"', '"2h" is longer than the maximum of one hour'),
        ('throttle_wait = "soon"', '"soon" is not a duration (e.g. "15m", "1h30m")'),
        (
            'timezone = "Romance Standard Time"',
            '"Romance Standard Time" is not an IANA time zone (e.g. "Europe/Paris")',
        ),
    ],
)
def test_bad_values(tmp_path: Path, line: str, message: str) -> None:
    field = line.split(" = ")[0]
    assert problems(tmp_path, with_line(line)) == [f'{WHERE}: field "{field}": {message}']


@pytest.mark.parametrize(
    ("persons", "message"),
    [
        ("[]", "no person given; list Wordbee person ids (e.g. persons = [635])"),
        ('"635"', "expected an array of person ids like [635], got a string"),
        ("[635, 0]", "item 2: 0 is not a person id (ids are above 0)"),
        ('[635, "bob"]', "item 2: expected a person id number, got a string"),
        ("[1.5]", "item 1: expected a person id number, got a float"),
    ],
)
def test_bad_persons(tmp_path: Path, persons: str, message: str) -> None:
    text = SOURCE.replace('persons = [635, "143"]', f"persons = {persons}")
    assert problems(tmp_path, text) == [f'{WHERE}: field "persons": {message}']


def test_missing_fields_and_literal_key_are_reported_together(tmp_path: Path) -> None:
    text = (
        '[[sources]]\nname = "translations"\nkind = "wordbee"\ninterval = "15m"\n'
        'base_url = "acme.wordbee-translator.com"\nkey = "s3cret-key"\n'
    )
    found = problems(tmp_path, text)
    assert found == [
        f'{WHERE}: field "base_url": "acme.wordbee-translator.com" is not an http(s) URL '
        '(e.g. "https://company.wordbee-translator.com/api")',
        f'{WHERE}: field "account_id" is missing',
        f'{WHERE}: field "key": secrets are written as env:NAME, file:PATH or credential:NAME, '
        "not a literal value",
        f'{WHERE}: field "persons" is missing',
    ]
    assert not any("s3cret" in line for line in found)


def test_unknown_field_names_the_wordbee_fields(tmp_path: Path) -> None:
    assert problems(tmp_path, with_line("person = [1]")) == [
        f'{WHERE}: unknown field "person" (known: account_id, base_url, concurrency, conflict, '
        "feed_attendees, feed_details, feed_writes, hourly_quota, interval, key, kind, "
        "max_creates, max_deletes, months_ahead, "
        "months_back, name, persons, read_only, throttle_wait, timezone, vdir, work_items, "
        'write_wait); did you mean "persons"?'
    ]


def test_file_key_is_relative_to_the_config(tmp_path: Path) -> None:
    source = load(tmp_path, SOURCE.replace("env:WORDBEE_KEY", "file:wordbee-key"))
    assert source.key.target == str(tmp_path / "wordbee-key")
