from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from support import paths
from support.config_files import config_problems, load_config

from icsbridge.config.loader import load_settings
from icsbridge.config.secrets import SecretRef
from icsbridge.config.settings import DaemonSettings, Settings, WebexSourceSettings

FIXTURES = paths.FIXTURES / "config"
KNOWN = (
    "known: base_url, client_id, client_secret, concurrency, conflict, "
    "feed_attendees, feed_details, feed_writes, interval, "
    "kind, locations, max_creates, max_deletes, name, org_id, page_size, people, read_only, "
    "refresh_token, timezone, token, vdir, write_wait"
)
SOURCE = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
people = ["person-1"]
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    """The problem lines for a config made of ``text``, without the file prefix."""
    return config_problems(tmp_path, text)


def daemon_problems(tmp_path: Path, line: str) -> list[str]:
    return problems(tmp_path, f"[daemon]\n{line}\n{SOURCE}")


def source_problems(tmp_path: Path, line: str) -> list[str]:
    return problems(tmp_path, f"{SOURCE}{line}\n")


def load(tmp_path: Path, text: str) -> Settings:
    return load_config(tmp_path, text)


@pytest.mark.parametrize(
    ("listen", "host", "port", "public_url"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080, "http://127.0.0.1:8080"),
        ("[::1]:8080", "::1", 8080, "http://[::1]:8080"),
        ("[::]:1", "::", 1, "http://[::]:1"),
        ("ics.example.com:65535", "ics.example.com", 65535, "http://ics.example.com:65535"),
    ],
)
def test_listen_and_derived_public_url(
    tmp_path: Path, listen: str, host: str, port: int, public_url: str
) -> None:
    daemon = load(tmp_path, f'[daemon]\nlisten = "{listen}"\n{SOURCE}').daemon
    assert (daemon.listen, daemon.host, daemon.port, daemon.public_url) == (
        listen,
        host,
        port,
        public_url,
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"localhost"', '"localhost" is not host:port (e.g. "127.0.0.1:8080")'),
        ('":8080"', '":8080" is not host:port (e.g. "127.0.0.1:8080")'),
        ('"::1:8080"', '"::1:8080" is not host:port (e.g. "127.0.0.1:8080")'),
        ('"[::1]8080"', '"[::1]8080" is not host:port (e.g. "127.0.0.1:8080")'),
        ('"[nothex]:80"', '"[nothex]:80" is not host:port (e.g. "127.0.0.1:8080")'),
        ('"127.0.0.1:http"', '"127.0.0.1:http" is not host:port (e.g. "127.0.0.1:8080")'),
        ('"127.0.0.1:0"', 'port 0 in "127.0.0.1:0" is out of range (1-65535)'),
        ('"127.0.0.1:65536"', 'port 65536 in "127.0.0.1:65536" is out of range (1-65535)'),
        ("8080", 'expected host:port (e.g. "127.0.0.1:8080"), got an integer'),
    ],
)
def test_bad_listen(tmp_path: Path, value: str, message: str) -> None:
    assert daemon_problems(tmp_path, f"listen = {value}") == [f'daemon: field "listen": {message}']


def test_public_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    text = f'[daemon]\npublic_url = "https://ics.example.com/feeds/"\n{SOURCE}'
    assert load(tmp_path, text).daemon.public_url == "https://ics.example.com/feeds"


@pytest.mark.parametrize(
    "url", ["ftp://ics.example.com", "ics.example.com", "http://", "http://ics example.com"]
)
def test_bad_public_url(tmp_path: Path, url: str) -> None:
    assert daemon_problems(tmp_path, f'public_url = "{url}"') == [
        f'daemon: field "public_url": "{url}" is not an http(s) URL '
        '(e.g. "https://ics.example.com")'
    ]


def test_bad_base_url(tmp_path: Path) -> None:
    assert source_problems(tmp_path, 'base_url = "webexapis.com/v1"') == [
        'source "hq": field "base_url": "webexapis.com/v1" is not an http(s) URL '
        '(e.g. "https://webexapis.com/v1")'
    ]


def test_bad_daemon_paths_and_tables(tmp_path: Path) -> None:
    assert daemon_problems(tmp_path, 'state = ""\noutput_dir = 3') == [
        'daemon: field "state": expected a path, got an empty string',
        'daemon: field "output_dir": expected a path, got an integer',
    ]
    assert problems(tmp_path, f'daemon = "x"\nfoo = 1\n{SOURCE}') == [
        "daemon: expected a table ([daemon]), got a string",
        'unknown top-level key "foo" (known: caldav, daemon, feeds, sources)',
    ]


def test_absolute_daemon_paths_are_kept(tmp_path: Path) -> None:
    daemon = load(tmp_path, f'[daemon]\nstate = "/var/lib/x.sqlite"\n{SOURCE}').daemon
    assert daemon.state == Path("/var/lib/x.sqlite")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("30", '30 seconds is shorter than the minimum "1m"'),
        ('"59s"', '"59s" is shorter than the minimum "1m"'),
        ('"0s"', '"0s" is shorter than the minimum "1m"'),
        ('""', '"" is not a duration (e.g. "15m", "1h30m")'),
        ("true", 'expected a duration like "15m", got a boolean'),
        ("1.5", 'expected a duration like "15m", got a float'),
    ],
)
def test_bad_interval(tmp_path: Path, value: str, message: str) -> None:
    text = SOURCE.replace('interval = "15m"', f"interval = {value}")
    assert problems(tmp_path, text) == [f'source "hq": field "interval": {message}']


@pytest.mark.parametrize(("value", "seconds"), [('"1m"', 60), ("60", 60), ('"1d"', 86400)])
def test_interval_forms(tmp_path: Path, value: str, seconds: int) -> None:
    settings = load(tmp_path, SOURCE.replace('interval = "15m"', f"interval = {value}"))
    assert settings.sources[0].interval_seconds == seconds


@pytest.mark.parametrize("zone", ["Europe", "../etc/passwd", "", "europe/paris", "/etc/localtime"])
def test_bad_timezone(tmp_path: Path, zone: str) -> None:
    assert source_problems(tmp_path, f'timezone = "{zone}"') == [
        f'source "hq": field "timezone": "{zone}" is not an IANA time zone (e.g. "Europe/Paris")'
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("page_size = 0", 'field "page_size": 0 is out of range (1-1000)'),
        ("page_size = 1001", 'field "page_size": 1001 is out of range (1-1000)'),
        (
            "page_size = true",
            'field "page_size": expected an integer from 1 to 1000, got a boolean',
        ),
        (
            'page_size = "100"',
            'field "page_size": expected an integer from 1 to 1000, got a string',
        ),
        ('org_id = " "', 'field "org_id": expected an organisation id, got an empty string'),
        (
            'locations = "some"',
            'field "locations": "some" is not "all"; give an array of location ids',
        ),
        ('locations = [""]', 'field "locations": item 1 is empty; give an id or remove it'),
        ("locations = [1]", 'field "locations": item 1: expected an id string, got an integer'),
        ("locations = {all = true}", 'field "locations": expected an array of ids, got a table'),
        ('token2 = "x"', f'unknown field "token2" ({KNOWN}); did you mean "token"?'),
        ('zzz = "x"', f'unknown field "zzz" ({KNOWN})'),
    ],
)
def test_bad_source_fields(tmp_path: Path, line: str, message: str) -> None:
    assert source_problems(tmp_path, line) == [f'source "hq": {message}']


def test_people_must_be_an_array(tmp_path: Path) -> None:
    text = SOURCE.replace('people = ["person-1"]', 'people = "person-1"')
    assert problems(tmp_path, text) == [
        'source "hq": field "people": expected an array of ids, got a string'
    ]


def test_sources_without_a_valid_name_are_numbered(tmp_path: Path) -> None:
    assert problems(tmp_path, SOURCE.replace('name = "hq"', 'name = "HQ"') + SOURCE) == [
        'source #1: field "name": "HQ" is not a valid name '
        '(use lowercase letters, digits and "-", e.g. "hq")'
    ]
    assert problems(tmp_path, SOURCE.replace('name = "hq"', "name = 5")) == [
        'source #1: field "name": expected a name like "hq", got an integer'
    ]
    assert problems(tmp_path, SOURCE + SOURCE.replace('name = "hq"\n', "")) == [
        'source #2: field "name" is missing (e.g. name = "hq")'
    ]
    assert problems(tmp_path, SOURCE.replace('interval = "15m"\n', "")) == [
        'source "hq": field "interval" is missing (e.g. interval = "15m")'
    ]


def test_odd_source_entries(tmp_path: Path) -> None:
    assert problems(tmp_path, 'sources = ["hq"]') == ["source #1: expected a table, got a string"]
    assert problems(tmp_path, SOURCE.replace('kind = "webex"', "kind = 5")) == [
        'source "hq": field "kind": expected one of webex, apio, wordbee, b2core, got an integer'
    ]


def test_settings_round_trip_through_json() -> None:
    settings = load_settings(FIXTURES / "good.toml")
    dumped = settings.model_dump(mode="json")
    assert dumped["sources"][0]["interval"] == "1h30m"
    assert dumped["sources"][0]["timezone"] == "Europe/Paris"
    assert dumped["sources"][0]["token"] == "env:WEBEX_TOKEN"
    assert Settings.model_validate(json.loads(json.dumps(dumped))) == settings
    assert Settings.model_validate(settings.model_dump()) == settings
    assert Settings.model_json_schema()["required"] == ["sources", "path"]


def test_settings_are_frozen() -> None:
    settings = load_settings(FIXTURES / "good.toml")
    with pytest.raises(ValidationError):
        settings.sources[0].name = "other"


def test_models_can_be_built_in_code() -> None:
    source = WebexSourceSettings(
        name="hq",
        interval=timedelta(minutes=5),
        timezone=ZoneInfo("UTC"),
        token=SecretRef.parse("env:WEBEX_TOKEN"),
        locations="all",
    )
    assert source.token is not None
    assert source.token.where == 'source "hq": field "token"'
    settings = Settings(sources=[source], path=Path("/etc/icsbridge/config.toml"))
    assert settings.daemon == DaemonSettings()
    assert settings.daemon.public_url == "http://127.0.0.1:8080"


def test_duplicate_names_are_refused_in_code_too() -> None:
    source = WebexSourceSettings.model_validate(
        {"name": "hq", "interval": 600, "token": "env:T", "people": ["p"]}
    )
    with pytest.raises(ValidationError) as caught:
        Settings(sources=[source, source], path=Path("/c.toml"))
    assert [error["msg"] for error in caught.value.errors()] == [
        '"hq" is already the name of source #1 (names must be unique)'
    ]
