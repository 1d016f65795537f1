"""HTTP Basic for CalDAV: passwords compared in constant time, failures counted per client
address, and nothing of a password ever logged or echoed.

A client address that failed :data:`MAX_FAILURES` times within :data:`WINDOW` seconds is
answered 429 (with Retry-After) until the oldest of those failures leaves the window,
whatever it sends: guessing a password costs a window per few tries.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from icsbridge.config.caldav import CaldavSettings, CaldavUser
from icsbridge.config.errors import ConfigError

log = logging.getLogger("icsbridge.caldav")

MAX_FAILURES = 5
WINDOW = 60.0
_DUMMY = b"\x00" * 32  # compared against when the user is unknown: the same work either way


@dataclass(frozen=True)
class Verdict:
    """``user`` when the credentials hold; else ``retry_after`` seconds when the client
    is rate-limited (429), or neither (401)."""

    user: CaldavUser | None = None
    retry_after: int | None = None


class BasicAuth:
    """Checks ``Authorization: Basic`` against ``[[caldav.users]]``."""

    def __init__(
        self,
        caldav: Callable[[], CaldavSettings],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._caldav = caldav
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._passwords: dict[tuple[str, str], bytes] = {}

    def check(self, authorization: str | None, client: str) -> Verdict:
        now = self._clock()
        failures = self._failures.get(client)
        if failures is not None:
            while failures and failures[0] <= now - WINDOW:
                failures.popleft()
            if len(failures) >= MAX_FAILURES:
                return Verdict(retry_after=max(1, math.ceil(failures[0] + WINDOW - now)))
            if not failures:
                del self._failures[client]
        if authorization is None:
            return Verdict()  # the client's first try, without credentials: no failure
        user = self._verify(authorization)
        if user is not None:
            return Verdict(user)
        self._failures.setdefault(client, deque()).append(now)
        log.warning("caldav: failed login from %s", client)
        return Verdict()

    def _verify(self, authorization: str) -> CaldavUser | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            name, colon, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return None
        if not colon:
            return None
        user = next((u for u in self._caldav().users if u.name.encode() == name), None)
        expected = self._password(user) if user is not None else None
        matched = hmac.compare_digest(password, expected if expected is not None else _DUMMY)
        return user if matched and expected is not None else None

    def _password(self, user: CaldavUser) -> bytes | None:
        key = (user.name, user.password.reference)
        if key not in self._passwords:
            try:
                self._passwords[key] = user.password.resolve().encode()
            except ConfigError as exc:  # names the setting, never the value
                log.warning("caldav: %s", exc.problems[0])
                return None
        return self._passwords[key]
