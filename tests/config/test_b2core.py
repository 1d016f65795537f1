"""``kind = "b2core"`` sources in the config file: defaults, checks and their wording."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.config_files import config_problems, load_config

from icsbridge.config.loader import resolve_secrets
from icsbridge.config.secrets import SecretRef
from icsbridge.config.settings import Settings
from icsbridge.config.sources.b2core import B2coreSourceSettings

HEAD = """
[[sources]]
name = "backoffice"
kind = "b2core"
interval = "15m"
"""
GOOD = HEAD + 'base_url = "https://bo.example.com/"\ntoken = "env:B2CORE_TOKEN"\n'


def load(tmp_path: Path, text: str) -> Settings:
    return load_config(tmp_path, text)


def problems(tmp_path: Path, text: str) -> list[str]:
    return config_problems(tmp_path, text, prefix='source "backoffice": ')


def source(settings: Settings) -> B2coreSourceSettings:
    found = settings.sources[0]
    assert isinstance(found, B2coreSourceSettings)
    return found


def test_defaults(tmp_path: Path) -> None:
    s = source(load(tmp_path, GOOD))
    assert s.base_url == "https://bo.example.com"
    assert (s.language, s.days_back, s.days_ahead, s.page_size) == ("en", 30, 180, 100)
    assert s.recipients == [] and s.timezone is None
    assert s.token == SecretRef("env", "B2CORE_TOKEN")
    assert s.token.where == 'source "backoffice": field "token"'
    assert not s.uses_login


def test_everything_set_with_a_login(tmp_path: Path) -> None:
    text = HEAD + (
        'base_url = "https://bo.example.com"\n'
        'email = "env:B2CORE_EMAIL"\n'
        'password = "file:secrets/b2core-password"\n'
        'language = "pt-BR"\n'
        "days_back = 0\n"
        "days_ahead = 3660\n"
        'recipients = ["anna.keller@broker.example", "ops@broker.example", '
        '"anna.keller@broker.example"]\n'
        "page_size = 1000\n"
        'timezone = "Europe/Paris"\n'
    )
    s = source(load(tmp_path, text))
    assert s.uses_login
    assert s.password == SecretRef("file", str(tmp_path / "secrets" / "b2core-password"))
    assert s.email is not None and s.email.where == 'source "backoffice": field "email"'
    assert (s.language, s.days_back, s.days_ahead, s.page_size) == ("pt-BR", 0, 3660, 1000)
    assert s.recipients == ["anna.keller@broker.example", "ops@broker.example"]
    assert s.timezone is not None and s.timezone.key == "Europe/Paris"


@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        (
            "",
            'no credentials: give token = "env:NAME" (or file:PATH, credential:NAME), or '
            "email and password of a back-office user",
        ),
        ('email = "env:E"\n', "signing in needs email and password; add password"),
        ('password = "env:P"\n', "signing in needs email and password; add email"),
        (
            'token = "env:T"\nemail = "env:E"\npassword = "env:P"\n',
            "give either token or email and password, not both "
            "(remove token or email and password)",
        ),
    ],
)
def test_credentials(tmp_path: Path, credentials: str, message: str) -> None:
    text = HEAD + 'base_url = "https://bo.example.com"\n' + credentials
    assert problems(tmp_path, text) == [message]


def test_a_literal_password_is_refused_and_never_echoed(tmp_path: Path) -> None:
    text = HEAD + 'base_url = "https://bo.example.com"\nemail = "env:E"\npassword = "hunter2"\n'
    lines = problems(tmp_path, text)
    assert lines == [
        'field "password": secrets are written as env:NAME, file:PATH or credential:NAME, '
        "not a literal value"
    ]
    assert "hunter2" not in " ".join(lines)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("", 'field "base_url" is missing'),
        (
            'base_url = "bo.example.com"',
            'field "base_url": "bo.example.com" is not an http(s) URL '
            '(e.g. "https://backoffice.example.com")',
        ),
        (
            'base_url = "https://bo.example.com/api/v2"',
            'field "base_url": "https://bo.example.com/api/v2" ends with the API path; give the '
            'host only (e.g. "https://backoffice.example.com"), icsbridge adds /api/v2',
        ),
    ],
)
def test_base_url(tmp_path: Path, line: str, message: str) -> None:
    assert problems(tmp_path, HEAD + 'token = "env:T"\n' + line + "\n") == [message]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('language = "english!"', '"english!" is not a language code (e.g. "en", "ja", "pt-BR")'),
        ("language = 1", 'expected a language code (e.g. "en"), got an integer'),
        ("days_back = -1", "-1 is out of range (0-3660 days)"),
        ("days_ahead = 5000", "5000 is out of range (0-3660 days)"),
        ('days_ahead = "180"', "expected a number of days from 0 to 3660, got a string"),
        ("page_size = 0", "0 is out of range (1-1000)"),
        ("page_size = 1001", "1001 is out of range (1-1000)"),
        (
            'recipients = "ops@broker.example"',
            "expected an array of e-mail addresses, got a string",
        ),
        (
            'recipients = ["ops@broker.example", "ops"]',
            'item 2: "ops" is not an e-mail address (e.g. "ops@example.com")',
        ),
        ("recipients = [3]", "item 1: expected an e-mail address, got an integer"),
    ],
)
def test_bad_values(tmp_path: Path, line: str, message: str) -> None:
    field = line.split(" ")[0]
    assert problems(tmp_path, GOOD + line + "\n") == [f'field "{field}": {message}']


def test_unknown_field_lists_the_b2core_fields(tmp_path: Path) -> None:
    assert problems(tmp_path, GOOD + 'recipient = ["ops@broker.example"]\n') == [
        'unknown field "recipient" (known: base_url, concurrency, conflict, days_ahead, '
        "days_back, email, feed_attendees, feed_details, feed_writes, interval, kind, "
        "language, max_creates, max_deletes, name, "
        "page_size, password, read_only, recipients, timezone, token, vdir, write_wait); "
        'did you mean "recipients"?'
    ]


def test_resolving_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("B2CORE_EMAIL", raising=False)
    text = HEAD + 'base_url = "https://bo.example.com"\nemail = "env:B2CORE_EMAIL"\n'
    text += 'password = "file:missing-password"\n'
    settings = load(tmp_path, text)
    assert resolve_secrets(settings) == [
        f'{settings.path}: source "backoffice": field "email": environment variable '
        "B2CORE_EMAIL is not set",
        f'{settings.path}: source "backoffice": field "password": file '
        f"{tmp_path / 'missing-password'} is not readable: No such file or directory",
    ]
