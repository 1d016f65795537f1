"""Logging in to CalDAV: HTTP Basic, failures rate-limited per client address (this
module has a daemon of its own: after it, 127.0.0.1 is locked out for a minute)."""

from __future__ import annotations

from support.caldav_world import PASSWORD, World
from support.dav_requests import dav

RECEPTION = ("reception", PASSWORD)


def test_logins_fail_with_401_then_429_and_the_password_is_never_logged(world: World) -> None:
    assert dav("PROPFIND", world.dav, None, Depth="0").status_code == 401
    for _ in range(5):
        assert dav("PROPFIND", world.dav, ("reception", "guess"), Depth="0").status_code == 401
    limited = dav("PROPFIND", world.dav, RECEPTION, Depth="0")
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    # the fixture's stop checks that the log holds neither password
