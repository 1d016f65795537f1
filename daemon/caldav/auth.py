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
MAX_CLIENTS = 4096
"""Addresses with failures remembered before quiet ones are forgotten."""
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
        self._passwords: dict[str, bytes] = {}
        self._read_for: CaldavSettings | None = None  # a reload reads them again

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
        if len(self._failures) >= MAX_CLIENTS:
            self._forget_quiet_clients(now)
        self._failures.setdefault(client, deque()).append(now)
        log.warning("caldav: failed login from %s", client)
        return Verdict()

    def _forget_quiet_clients(self, now: float) -> None:
        """Bound the memory a scan from many addresses takes: drop those whose failures
        all left the window."""
        for address in [a for a, f in self._failures.items() if not f or f[-1] <= now - WINDOW]:
            del self._failures[address]

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
        caldav = self._caldav()
        if caldav is not self._read_for:
            self._passwords, self._read_for = {}, caldav
        user = next((u for u in caldav.users if u.name.encode() == name), None)
        expected = self._password(user) if user is not None else None
        matched = hmac.compare_digest(password, expected if expected is not None else _DUMMY)
        return user if matched and expected is not None else None

    def _password(self, user: CaldavUser) -> bytes | None:
        """The user's password, read once per config (a reload reads it again)."""
        if user.name not in self._passwords:
            try:
                self._passwords[user.name] = user.password.resolve().encode()
            except ConfigError as exc:  # names the setting, never the value
                log.warning("caldav: %s", exc.problems[0])
                return None
        return self._passwords[user.name]
