"""``[daemon].state`` as a PostgreSQL DSN: its password is a secret reference, never inline."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import paths

from icsbridge.config.daemon.state import PostgresState
from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import load_settings, resolve_secrets
from icsbridge.config.secrets import SecretRef

_SOURCE = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
timezone = "Europe/Paris"
token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"
people = ["alice@example.com"]
"""


def _config(tmp_path: Path, daemon: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"[daemon]\n{daemon}\n{_SOURCE}")
    return path


def test_a_postgresql_uri_selects_postgresql_with_its_password_reference(
    tmp_path: Path,
) -> None:
    path = _config(
        tmp_path,
        'state = "postgresql://icsbridge@db.example.com/icsbridge"\n'
        'state_password = "env:ICSBRIDGE_DB_PASSWORD"',
    )
    state = load_settings(path).daemon.state
    assert state == PostgresState(
        "postgresql://icsbridge@db.example.com/icsbridge",
        SecretRef("env", "ICSBRIDGE_DB_PASSWORD"),
    )
    assert str(state) == "postgresql://icsbridge@db.example.com/icsbridge"


def test_a_unix_socket_dsn_is_kept_as_written(tmp_path: Path) -> None:
    path = _config(tmp_path, 'state = "postgresql:///icsbridge?host=/run/postgresql"')
    assert load_settings(path).daemon.state == PostgresState(
        "postgresql:///icsbridge?host=/run/postgresql"
    )


def test_a_password_inside_the_dsn_is_refused_without_repeating_it() -> None:
    path = paths.FIXTURES / "config" / "state_inline_password.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        f'{path}: daemon: field "state": a password in the state DSN would be shown '
        'wherever the DSN is; remove it and set state_password = "env:NAME" (or file:PATH, '
        "credential:NAME) instead"
    ]
    assert "hunter2" not in str(caught.value)


def test_a_password_query_parameter_is_refused_too(tmp_path: Path) -> None:
    path = _config(tmp_path, 'state = "postgresql:///icsbridge?host=/run/pg&password=hunter2"')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "state_password" in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_state_password_beside_a_sqlite_state_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path, 'state = "state.sqlite"\nstate_password = "env:X"')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.problems == [
        f'{path}: daemon: field "state": state_password is for a "postgresql://..." state; '
        "a SQLite state has none"
    ]


def test_an_unreadable_state_password_is_named_by_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ICSBRIDGE_DB_PASSWORD", raising=False)
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "t")
    path = _config(
        tmp_path,
        'state = "postgresql:///icsbridge"\nstate_password = "env:ICSBRIDGE_DB_PASSWORD"',
    )
    problems = resolve_secrets(load_settings(path))
    assert problems == [
        f'{path}: [daemon]: field "state_password": '
        "environment variable ICSBRIDGE_DB_PASSWORD is not set"
    ]
