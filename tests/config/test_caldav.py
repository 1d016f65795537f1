"""``[caldav]`` and ``[[caldav.users]]``: a contract (the keys are the issue's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config_files import config_problems

from icsbridge.config.loader import load_settings, resolve_secrets

SOURCES = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
locations = "all"
"""
GOOD = """
[caldav]
path = "/dav/"
[[caldav.users]]
name = "reception"
password = "env:RECEPTION_DAV_PASSWORD"
calendars = ["hq/*"]
write = false
"""


def test_the_documented_caldav_table_loads(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(SOURCES + GOOD)
    settings = load_settings(tmp_path / "c.toml")
    assert settings.caldav is not None
    user = settings.caldav.users[0]
    assert (settings.caldav.path, user.name, user.write) == ("/dav/", "reception", False)
    assert user.sees("hq/locations/Paris/holidays/x") and not user.sees("other/x")
    assert str(user.password) == "env:RECEPTION_DAV_PASSWORD"


def test_caldav_is_off_without_its_table(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(SOURCES)
    assert load_settings(tmp_path / "c.toml").caldav is None


def test_every_caldav_problem_is_one_line_naming_the_user(tmp_path: Path) -> None:
    text = SOURCES + (
        '[caldav]\npath = "dav"\n'
        '[[caldav.users]]\nname = "Reception"\npassword = "hunter2"\n'
        'calendars = ["nope/*", "hq"]\nwrite = "yes"\n'
        '[[caldav.users]]\nname = "bob"\npassword = "env:B"\ncalendars = ["hq/*"]\ncolour = 1\n'
        '[[caldav.users]]\nname = "bob"\ncalendars = ["hq/*"]\n'
    )
    found = config_problems(tmp_path, text)
    assert found == [
        'caldav: field "path": "dav" is not a path below the root that starts and ends '
        'with / (e.g. "/dav/")',
        'caldav user #1: field "name": "Reception" is not a valid user name (use lowercase '
        'letters, digits and "-", e.g. "reception")',
        'caldav user #1: field "password": secrets are written as env:NAME, file:PATH or '
        "credential:NAME, not a literal value",
        'caldav user #1: field "calendars": "hq" names a source, not calendars (calendar '
        'keys are source/path: write "hq/*" for all of them)',
        'caldav user #1: field "write": expected true or false',
        'caldav user "bob": unknown field "colour" (known: calendars, details, name, password, '
        "write)",
        'caldav user #3: field "password" is missing (e.g. password = '
        '"env:RECEPTION_DAV_PASSWORD")',
        'caldav user #3: field "name": "bob" is already the name of user #2 (names must be unique)',
        'caldav user #1: field "calendars": "nope/*" names no source (sources: hq)',
    ]
    assert not any("hunter2" in line for line in found)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/feeds/dav/", 'overlaps "/feeds/"'),
        ("/", "starts and ends with /"),
        ("/d av/", "use letters, digits"),
    ],
)
def test_a_caldav_path_the_daemon_cannot_serve_is_refused(
    tmp_path: Path, path: str, why: str
) -> None:
    text = SOURCES + GOOD.replace('path = "/dav/"', f'path = "{path}"')
    [line] = config_problems(tmp_path, text)
    assert line.startswith('caldav: field "path"') and why in line


def test_a_caldav_table_without_users_says_how_to_add_one(tmp_path: Path) -> None:
    assert config_problems(tmp_path, SOURCES + '[caldav]\npath = "/dav/"\n') == [
        "caldav: no user given; add a [[caldav.users]] table (name, password, calendars, "
        'e.g. name = "reception")'
    ]


def test_an_unset_caldav_password_is_named_by_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "t")
    monkeypatch.delenv("RECEPTION_DAV_PASSWORD", raising=False)
    (tmp_path / "c.toml").write_text(SOURCES + GOOD)
    [line] = resolve_secrets(load_settings(tmp_path / "c.toml"))
    assert line.endswith(
        'caldav user "reception": field "password": environment variable '
        "RECEPTION_DAV_PASSWORD is not set"
    )


def test_a_user_details_level_is_checked_like_a_feeds(tmp_path: Path) -> None:
    good = GOOD + 'details = "limited"\n'
    (tmp_path / "c.toml").write_text(SOURCES + good)
    settings = load_settings(tmp_path / "c.toml")
    assert settings.caldav is not None and settings.caldav.users[0].details == "limited"
    found = config_problems(tmp_path, SOURCES + GOOD + 'details = "secret"\n')
    assert len(found) == 1 and found[0].startswith('caldav user "reception": field "details"')
    assert '"full", "limited", "availability"' in found[0]
