from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support import paths

from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import load_settings, resolve_secrets
from icsbridge.config.secrets import SecretRef
from icsbridge.config.settings import WebexSourceSettings

FIXTURES = paths.FIXTURES / "config"
KNOWN_SOURCE_FIELDS = (
    "base_url, client_id, client_secret, concurrency, conflict, feed_attendees, "
    "feed_details, feed_writes, interval, kind, "
    "locations, max_creates, max_deletes, name, org_id, page_size, people, read_only, "
    "refresh_token, timezone, token, vdir, write_wait"
)
LITERAL = "secrets are written as env:NAME, file:PATH or credential:NAME, not a literal value"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def test_good_config() -> None:
    settings = load_settings(FIXTURES / "good.toml")

    assert settings.path == FIXTURES / "good.toml"
    assert settings.daemon.state == FIXTURES / "var" / "state.sqlite"
    assert settings.daemon.output_dir == FIXTURES / "feeds"
    assert (settings.daemon.listen, settings.daemon.host, settings.daemon.port) == (
        "0.0.0.0:8443",
        "0.0.0.0",
        8443,
    )
    assert settings.daemon.public_url == "https://ics.example.com/calendars"

    hq, branch = settings.sources
    assert isinstance(hq, WebexSourceSettings)
    assert (hq.name, hq.kind, hq.org_id, hq.page_size) == ("hq", "webex", "ORG-1", 50)
    assert hq.base_url == "https://webexapis.example.net/v1"
    assert hq.interval == timedelta(hours=1, minutes=30)
    assert hq.interval_seconds == 5400
    assert hq.timezone == ZoneInfo("Europe/Paris")
    assert hq.token == SecretRef("env", "WEBEX_TOKEN")
    assert hq.token.where == 'source "hq": field "token"'
    assert (hq.people, hq.locations) == (["person-1", "person-2"], ["location-1"])
    assert not hq.uses_oauth

    assert branch.base_url == "https://webexapis.com/v1"
    assert branch.interval_seconds == 600
    assert branch.timezone is None
    assert branch.token == SecretRef("file", str(FIXTURES / "secrets" / "webex-token"))
    assert (branch.people, branch.locations, branch.page_size) == ([], "all", 100)


def test_relative_config_path_gives_absolute_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES.parent)
    settings = load_settings(Path("config") / "good.toml")
    assert settings.path == FIXTURES / "good.toml"
    assert settings.daemon.state == FIXTURES / "var" / "state.sqlite"
    assert settings.daemon.state.is_absolute()


def test_oauth_config_without_daemon_table_takes_the_defaults() -> None:
    settings = load_settings(FIXTURES / "oauth.toml")

    assert settings.daemon.state == FIXTURES / "state.sqlite"
    assert settings.daemon.output_dir == FIXTURES / "feeds"
    assert settings.daemon.listen == "127.0.0.1:8080"
    assert settings.daemon.public_url == "http://127.0.0.1:8080"
    (hq,) = settings.sources
    assert hq.uses_oauth
    assert hq.token is None
    assert hq.client_id == SecretRef("env", "WEBEX_CLIENT_ID")
    assert hq.client_secret == SecretRef("credential", "webex-client-secret")
    assert hq.refresh_token == SecretRef("file", "/etc/icsbridge/webex-refresh-token")
    assert hq.client_secret.where == 'source "hq": field "client_secret"'


def test_every_problem_is_reported_in_one_run() -> None:
    file = FIXTURES / "many_problems.toml"
    assert problems_of(file) == [
        f'{file}: daemon: field "listen": "localhost" is not host:port (e.g. "127.0.0.1:8080")',
        f'{file}: daemon: unknown field "output_dirr" (known: listen, output_dir, public_url, '
        'state, state_password, tls_certificate, tls_key); did you mean "output_dir"?',
        f'{file}: source "hq": field "interval": "5x" is not a duration (e.g. "15m", "1h30m")',
        f'{file}: source "hq": field "timezone": "Europe/Pariss" is not an IANA time zone '
        '(e.g. "Europe/Paris")',
        f'{file}: source "hq": field "people": item 2 is empty; give an id or remove it',
        f'{file}: source "hq": unknown field "tokne" (known: {KNOWN_SOURCE_FIELDS}); '
        'did you mean "token"?',
        f'{file}: source "hq": no credentials: give token = "env:NAME" '
        "(or file:PATH, credential:NAME), or client_id, client_secret and refresh_token",
        f'{file}: source #2: field "name": "Branch 2" is not a valid name '
        '(use lowercase letters, digits and "-", e.g. "hq")',
        f'{file}: source #2: nothing to publish: give people = ["<personId>", ...] '
        'and/or locations (ids or "all")',
        f'{file}: source "lab": field "interval" is missing (e.g. interval = "15m")',
        f'{file}: source "lab": field "base_url" is missing',
        f'{file}: source "lab": field "tenant" is missing',
        f'{file}: source "lab": field "groups" is missing',
        f'{file}: source "lab": no credentials: give token = "env:NAME" (an APIO Core '
        "machine token; or file:PATH, credential:NAME), or username and password",
        f'{file}: source "lab": field "timezone" is missing: APIO schedules carry no '
        'time zone; give the groups\' zone (e.g. timezone = "Europe/Brussels")',
    ]


def test_source_kinds() -> None:
    """Each kind is validated by its own model; unknown and missing kinds are one line."""
    file = FIXTURES / "kinds.toml"
    interval = 'field "interval" is missing (e.g. interval = "15m")'
    assert problems_of(file) == [
        f'{file}: source "broadworks": {interval}',
        f'{file}: source "broadworks": field "base_url" is missing',
        f'{file}: source "broadworks": field "tenant" is missing',
        f'{file}: source "broadworks": field "groups" is missing',
        f'{file}: source "broadworks": no credentials: give token = "env:NAME" (an APIO Core '
        "machine token; or file:PATH, credential:NAME), or username and password",
        f'{file}: source "broadworks": field "timezone" is missing: APIO schedules carry no '
        'time zone; give the groups\' zone (e.g. timezone = "Europe/Brussels")',
        f'{file}: source "translations": {interval}',
        f'{file}: source "translations": field "base_url" is missing',
        f'{file}: source "translations": field "account_id" is missing',
        f'{file}: source "translations": field "key" is missing',
        f'{file}: source "translations": field "persons" is missing',
        f'{file}: source "backoffice": {interval}',
        f'{file}: source "backoffice": field "base_url" is missing',
        f'{file}: source "backoffice": no credentials: give token = "env:NAME" (or file:PATH, '
        "credential:NAME), or email and password of a back-office user",
        f'{file}: source "mail": field "kind": "exchange" is not a source kind '
        "(one of: webex, apio, wordbee, b2core)",
        f'{file}: source "what": field "kind" is missing (one of: webex, apio, wordbee, b2core)',
    ]


def test_credentials_and_something_to_publish() -> None:
    file = FIXTURES / "credentials.toml"
    assert problems_of(file) == [
        f'{file}: source "none": no credentials: give token = "env:NAME" '
        "(or file:PATH, credential:NAME), or client_id, client_secret and refresh_token",
        f'{file}: source "both": give either token or client_id, client_secret and '
        "refresh_token, not both (remove token or client_id)",
        f'{file}: source "partial": OAuth needs client_id, client_secret and refresh_token; '
        "add client_secret",
        f'{file}: source "empty": nothing to publish: give people = ["<personId>", ...] '
        'and/or locations (ids or "all")',
    ]


def test_literal_secrets_are_refused_and_never_echoed() -> None:
    file = FIXTURES / "literal_secret.toml"
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert caught.value.problems == [
        f'{file}: source "hq": field "token": {LITERAL}',
        f'{file}: source "hq": field "client_secret": {LITERAL}',
        f'{file}: source "hq": give either token or client_id, client_secret and '
        "refresh_token, not both (remove token or client_secret)",
    ]
    # Nothing a traceback or log could show carries the value.
    shown = f"{caught.value} {caught.value!r} {caught.value.args}"
    assert "SUPERSECRET" not in shown
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_duplicate_names_are_reported_by_number() -> None:
    file = FIXTURES / "duplicates.toml"
    assert problems_of(file) == [
        f'{file}: source #2: field "page_size": 5000 is out of range (1-1000)',
        f'{file}: source #2: field "name": "hq" is already the name of source #1 '
        "(names must be unique)",
    ]


def test_no_sources() -> None:
    file = FIXTURES / "no_sources.toml"
    assert problems_of(file) == [f"{file}: sources: none given; add at least one [[sources]] table"]


def test_sources_written_as_a_table_and_a_path_key() -> None:
    file = FIXTURES / "sources_as_table.toml"
    assert problems_of(file) == [
        f"{file}: sources: expected an array of tables ([[sources]]), got a table",
        f'{file}: unknown top-level key "path" (known: caldav, daemon, feeds, sources)',
    ]


def test_toml_syntax_error_names_the_line() -> None:
    file = FIXTURES / "syntax_error.toml"
    assert problems_of(file) == [
        f"{file}: line 7: Expected '=' after a key in a key/value pair (column 10)"
    ]


def test_toml_error_at_the_end_of_the_file(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_text('[daemon]\nlisten = "127.0.0.1:8080')
    assert problems_of(file) == [f"{file}: line 2: Unterminated string (at the end of the file)"]


def test_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "nowhere.toml"
    assert problems_of(file) == [f"{file}: cannot read the config file: No such file or directory"]


def test_file_that_is_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "config.toml"
    file.write_bytes(b'[daemon]\nlisten = "\xff"\n')
    assert problems_of(file) == [
        f"{file}: not UTF-8 text (bad byte at offset 19); save it as UTF-8"
    ]


def test_resolve_secrets_when_all_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "refresh").write_text("refresh-value\n")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "webex-client-secret").write_text("secret-value")
    monkeypatch.setenv("WEBEX_CLIENT_ID", "id-value")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    file = tmp_path / "config.toml"
    file.write_text(
        (FIXTURES / "oauth.toml")
        .read_text()
        .replace("/etc/icsbridge/webex-refresh-token", "refresh")
    )
    settings = load_settings(file)
    assert resolve_secrets(settings) == []
    assert "secret-value" not in repr(settings) + str(settings.model_dump(mode="json"))


def test_resolve_secrets_lists_every_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEBEX_TOKEN", raising=False)
    monkeypatch.delenv("WEBEX_CLIENT_ID", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    good, oauth = FIXTURES / "good.toml", FIXTURES / "oauth.toml"
    assert resolve_secrets(load_settings(good)) == [
        f'{good}: source "hq": field "token": environment variable WEBEX_TOKEN is not set',
        f'{good}: source "branch-2": field "token": file {FIXTURES / "secrets" / "webex-token"} '
        "is not readable: No such file or directory",
    ]
    assert resolve_secrets(load_settings(oauth)) == [
        f'{oauth}: source "hq": field "client_id": environment variable WEBEX_CLIENT_ID is not set',
        f'{oauth}: source "hq": field "client_secret": credential "webex-client-secret": '
        "$CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=, "
        "or use env:/file:)",
        f'{oauth}: source "hq": field "refresh_token": file /etc/icsbridge/webex-refresh-token '
        "is not readable: No such file or directory",
    ]


def test_resolved_values_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBEX_TOKEN", "SUPERSECRET")
    settings = load_settings(FIXTURES / "good.toml")
    resolve_secrets(settings)
    dumped = f"{settings!r} {settings.model_dump()} {settings.model_dump_json()}"
    assert "SUPERSECRET" not in dumped
    assert "env:WEBEX_TOKEN" in dumped
