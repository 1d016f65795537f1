"""``kind = "apio"`` settings: defaults, login modes and the one-line problems users read."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config_files import config_problems, load_config

from icsbridge.config.secrets import SecretRef
from icsbridge.config.sources.apio import ApioSourceSettings, api_root, api_shape

HEAD = """
[[sources]]
name = "east"
kind = "apio"
interval = "15m"
"""
BODY = """base_url = "https://apio.example.com/api/v1"
tenant = "acme"
groups = ["brussels"]
timezone = "Europe/Brussels"
"""
USER = 'username = "env:APIO_USER"\npassword = "file:secrets/apio-password"\n'
WHERE = 'source "east"'


def load(tmp_path: Path, text: str) -> ApioSourceSettings:
    source = load_config(tmp_path, text).sources[0]
    assert isinstance(source, ApioSourceSettings)
    return source


def problems(tmp_path: Path, text: str) -> list[str]:
    return config_problems(tmp_path, text)


def source(body: str = BODY, creds: str = USER) -> str:
    return f"{HEAD}{body}{creds}"


def test_defaults_with_a_gateway_url(tmp_path: Path) -> None:
    s = load(tmp_path, source())
    assert (s.base_url, s.tenant, s.groups) == (
        "https://apio.example.com/api/v1",
        "acme",
        ["brussels"],
    )
    assert s.families == ["time", "holiday"]
    assert s.all_levels is False
    assert s.zone.key == "Europe/Brussels"
    assert s.login is None and s.login_mode == "gateway-session"
    assert s.username == SecretRef("env", "APIO_USER")
    assert s.password == SecretRef("file", str(tmp_path / "secrets" / "apio-password"))
    assert s.password is not None and s.password.where == f'{WHERE}: field "password"'


def test_core_url_defaults_to_jwt_login_and_login_overrides(tmp_path: Path) -> None:
    core = BODY.replace("https://apio.example.com/api/v1", "https://core.example.com/api/v01/p1/")
    s = load(tmp_path, source(core))
    assert (s.base_url, s.login_mode) == ("https://core.example.com/api/v01/p1", "core-jwt")
    s = load(tmp_path, source(core, USER + 'login = "gateway-session"\n'))
    assert s.login_mode == "gateway-session"
    s = load(tmp_path, source(BODY, USER + 'login = "core-jwt"\n'))
    assert s.login_mode == "core-jwt"


def test_every_field_set_with_a_token(tmp_path: Path) -> None:
    body = BODY.replace('groups = ["brussels"]', 'groups = ["brussels", "antwerp"]')
    extra = 'families = ["advanced", "time"]\nall_levels = true\n'
    s = load(tmp_path, source(body + extra, 'token = "credential:apio-token"\n'))
    assert s.groups == ["brussels", "antwerp"]
    assert s.families == ["advanced", "time"]
    assert s.all_levels is True
    assert s.token == SecretRef("credential", "apio-token")
    assert s.login_mode is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'base_url = "https://apio.example.com/rest"',
            'field "base_url": "https://apio.example.com/rest" is not an APIO API prefix: it '
            'should end in /api/v1 (gateway, e.g. "https://apio.example.com/api/v1") or '
            '/api/v01/<proxy> (APIO Core, e.g. "https://core.example.com/api/v01/p1")',
        ),
        (
            'base_url = "apio.example.com/api/v1"',
            'field "base_url": "apio.example.com/api/v1" is not an http(s) URL '
            '(e.g. "https://apio.example.com/api/v1")',
        ),
        ('tenant = ""', 'field "tenant": expected a tenant id (e.g. "acme"), got an empty string'),
        ("groups = []", 'field "groups": no group given; list the group ids (e.g. ["brussels"])'),
        ('groups = ["a", ""]', 'field "groups": item 2 is empty; give an id or remove it'),
        ('groups = ["a", "a"]', 'field "groups": "a" is listed twice; list each group once'),
        (
            'families = ["time", "holidays"]',
            'field "families": item 2: "holidays" is not one of "time", "holiday", "advanced"',
        ),
        (
            "families = []",
            'field "families": no family given; choose from "time", "holiday", "advanced"',
        ),
        ('families = ["time", "time"]', 'field "families": "time" is listed twice'),
        ('all_levels = "yes"', 'field "all_levels": expected true or false, got a string'),
        ('login = "oauth"', 'field "login": "oauth" is not "core-jwt" or "gateway-session"'),
        (
            'timezone = "Europe/Bruxelles"',
            'field "timezone": "Europe/Bruxelles" is not an IANA time zone (e.g. "Europe/Paris")',
        ),
    ],
)
def test_field_problems(tmp_path: Path, line: str, message: str) -> None:
    key = line.split(" = ")[0]
    body = "\n".join(row for row in BODY.splitlines() if not row.startswith(f"{key} ")) + "\n"
    assert problems(tmp_path, source(body + line + "\n")) == [f"{WHERE}: {message}"]


def test_timezone_is_required(tmp_path: Path) -> None:
    body = BODY.replace('timezone = "Europe/Brussels"\n', "")
    assert problems(tmp_path, source(body)) == [
        f'{WHERE}: field "timezone" is missing: APIO schedules carry no time zone; '
        'give the groups\' zone (e.g. timezone = "Europe/Brussels")'
    ]


@pytest.mark.parametrize(
    ("creds", "message"),
    [
        (
            "",
            'no credentials: give token = "env:NAME" (an APIO Core machine token; or '
            "file:PATH, credential:NAME), or username and password",
        ),
        ('username = "env:U"\n', "username and password go together; add password"),
        ('password = "env:P"\n', "username and password go together; add username"),
        (
            'token = "env:T"\npassword = "env:P"\n',
            "give either token or username and password, not both (remove token or password)",
        ),
        (
            'token = "env:T"\nlogin = "core-jwt"\n',
            "login applies to username and password; remove it (a token needs no login)",
        ),
    ],
)
def test_credential_problems(tmp_path: Path, creds: str, message: str) -> None:
    assert problems(tmp_path, source(BODY, creds)) == [f"{WHERE}: {message}"]


def test_a_literal_password_is_refused_without_being_repeated(tmp_path: Path) -> None:
    found = problems(tmp_path, source(BODY, 'username = "env:U"\npassword = "hunter2"\n'))
    assert found == [
        f'{WHERE}: field "password": secrets are written as env:NAME, file:PATH or '
        "credential:NAME, not a literal value"
    ]
    assert "hunter2" not in "".join(found)


def test_missing_required_fields_and_unknown_ones(tmp_path: Path) -> None:
    found = problems(tmp_path, f'{HEAD}{USER}tennant = "x"\n')
    assert f'{WHERE}: field "base_url" is missing' in found
    assert f'{WHERE}: field "tenant" is missing' in found
    assert f'{WHERE}: field "groups" is missing' in found
    assert any(line.startswith(f'{WHERE}: unknown field "tennant"') for line in found)
    assert any("timezone" in line for line in found)


@pytest.mark.parametrize(
    ("url", "shape", "v1", "v01"),
    [
        (
            "https://a.example/api/v1",
            "gateway",
            "https://a.example/api/v1",
            "https://a.example/api/v01",
        ),
        (
            "https://a.example/apio/api/v01/p1",
            "core",
            "https://a.example/apio/api/v1",
            "https://a.example/apio/api/v01",
        ),
        (
            "https://a.example:8443/api/v01/p/q",
            "core",
            "https://a.example:8443/api/v1",
            "https://a.example:8443/api/v01",
        ),
        (
            "https://a.example/api/v2",
            None,
            "https://a.example/api/v2/api/v1",
            "https://a.example/api/v2/api/v01",
        ),
    ],
)
def test_url_shapes_and_auth_roots(url: str, shape: str | None, v1: str, v01: str) -> None:
    assert api_shape(url) == shape
    assert (api_root(url, "v1"), api_root(url, "v01")) == (v1, v01)
