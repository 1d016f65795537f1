"""HTTP Basic for CalDAV: who gets in, and how failed logins are rate-limited per address."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from icsbridge.config.caldav import CaldavSettings
from icsbridge.daemon.caldav.auth import MAX_FAILURES, WINDOW, BasicAuth


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def caldav(tmp_path: Path) -> CaldavSettings:
    (tmp_path / "pw").write_text("right-password\n")
    return CaldavSettings.model_validate(
        {"users": [{"name": "desk", "password": f"file:{tmp_path / 'pw'}", "calendars": ["hq/*"]}]}
    )


def test_the_right_password_logs_in_and_nothing_else_does(caldav: CaldavSettings) -> None:
    auth = BasicAuth(lambda: caldav, clock=lambda: 0.0)
    verdict = auth.check(_basic("desk", "right-password"), "10.0.0.1")
    assert verdict.user is not None and verdict.user.name == "desk"
    for header in [
        _basic("desk", "wrong"),
        _basic("nobody", "right-password"),
        "Basic !!!",
        "Bearer right-password",
        None,
    ]:
        assert auth.check(header, "10.0.0.2").user is None


def test_failed_logins_lock_out_that_address_for_the_window_only(
    caldav: CaldavSettings, caplog: pytest.LogCaptureFixture
) -> None:
    now = [100.0]
    auth = BasicAuth(lambda: caldav, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        for _ in range(MAX_FAILURES):
            assert auth.check(_basic("desk", "guess-1"), "10.0.0.9").retry_after is None
    locked = auth.check(_basic("desk", "right-password"), "10.0.0.9")
    assert (locked.user, locked.retry_after) == (None, int(WINDOW))
    assert auth.check(_basic("desk", "right-password"), "10.0.0.10").user is not None
    now[0] += WINDOW
    assert auth.check(_basic("desk", "right-password"), "10.0.0.9").user is not None
    assert "guess-1" not in caplog.text and "right-password" not in caplog.text
    assert "failed login from 10.0.0.9" in caplog.text


def test_a_reload_reads_the_passwords_again(caldav: CaldavSettings, tmp_path: Path) -> None:
    current = [caldav]
    auth = BasicAuth(lambda: current[0], clock=lambda: 0.0)
    assert auth.check(_basic("desk", "right-password"), "a").user is not None
    (tmp_path / "pw").write_text("rotated\n")
    current[0] = caldav.model_copy()  # what a reload gives: new settings
    assert auth.check(_basic("desk", "rotated"), "a").user is not None
