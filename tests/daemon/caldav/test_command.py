"""`icsbridge caldav` and `icsbridge check` with ``[caldav]``: what a person types into a
calendar app, and one line when the CalDAV extra is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from icsbridge.daemon.caldav import library
from icsbridge.daemon.cli.main import main

CONFIG = """
[daemon]
listen = "127.0.0.1:8099"
public_url = "https://ics.example.com"

[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:WEBEX_TOKEN"
locations = "all"

[caldav]
path = "/dav/"

[[caldav.users]]
name = "reception"
password = "env:RECEPTION_DAV_PASSWORD"
calendars = ["hq/*"]
write = false
"""


def test_icsbridge_caldav_prints_the_url_per_app_and_the_users_without_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECEPTION_DAV_PASSWORD", "s3cret-value")
    (tmp_path / "c.toml").write_text(CONFIG)
    assert main(["caldav", "--config", str(tmp_path / "c.toml")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "CalDAV: https://ics.example.com/dav/"
    assert "Apple Calendar (macOS, iOS): account type CalDAV, manual, server " in out
    assert "user reception (read-only; password: env:RECEPTION_DAV_PASSWORD)" in out
    assert "principal https://ics.example.com/dav/reception/" in out
    assert "s3cret-value" not in out


def test_caldav_without_its_extra_installed_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from icsbridge.config.loader import load_settings

    (tmp_path / "c.toml").write_text(CONFIG)
    settings = load_settings(tmp_path / "c.toml")
    assert library.caldav_problem(settings) is None
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: None)
    problem = library.caldav_problem(settings)
    assert problem is not None
    assert str(problem) == (
        f"{tmp_path / 'c.toml'}: [caldav] is set, but the CalDAV extra is not installed; run "
        "`pip install 'icsbridge[caldav]'` (scripts/setup.sh does) or remove [caldav]"
    )
