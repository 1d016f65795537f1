"""State of the Wordbee simulator: directory data plus tokens, quota, faults and a log.

Tests build a :class:`WordbeeSimState`, change it between syncs, inject faults and read
``requests``. Time comes only from the injected ``now`` (token idle expiry, the hourly
quota, the view's ``offset``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from icsbridge.daemon.simulators.common import Fault, SimRequest, SimState, Transform
from icsbridge.daemon.simulators.wordbee.calendar import WordbeeDirectory

DEMO_ACCOUNT = "demo"
DEMO_KEY = "demo-key"
TOKEN_IDLE = timedelta(minutes=30)
QUOTA_WINDOW = timedelta(hours=1)


@dataclass
class AuthState:
    """Accounts and the tokens the simulated platform accepts (last use per token)."""

    accounts: dict[str, str] = field(default_factory=dict)  # account id -> key
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    idle_lifetime: timedelta = TOKEN_IDLE
    expired_status: int = 401
    """401, or 400 as some Wordbee versions answer (the title says why)."""
    issued: int = 0


class WordbeeSimState(WordbeeDirectory, SimState[Any]):
    """Everything the simulated platform holds, plus test controls.

    ``calls_per_hour`` is the quota per account (sliding hour; a 429 carries no
    Retry-After). Calls answered 429 do not count. An injected fault's ``body`` is JSON
    to send (None: a Wordbee error body); mangles rewrite GET answers unless told otherwise.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        calls_per_hour: int = 1000,
        company: str = "Simulated Translations",
    ) -> None:
        WordbeeDirectory.__init__(self, company=company)
        SimState.__init__(self, now)
        self.auth = AuthState()
        self.calls_per_hour = calls_per_hour
        self.calls: dict[str, deque[datetime]] = {}

    # ---- test controls ---------------------------------------------------------------
    def mangle(
        self,
        transform: Transform,
        *,
        times: int = 1,
        path_contains: str | None = None,
        method: str | None = "GET",
    ) -> Fault[Any]:
        """Rewrite the next ``times`` matching JSON answers (of GETs) with ``transform``."""
        return super().mangle(transform, times=times, path_contains=path_contains, method=method)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after 30 idle minutes)."""
        self.auth.tokens.clear()

    def view_requests(self) -> list[SimRequest]:
        return self.logged(path_has="/calendar/view")

    # ---- auth and quota --------------------------------------------------------------
    def login(self, account: object, key: object) -> str | None:
        if not isinstance(account, str) or self.auth.accounts.get(account) != key:
            return None
        self.auth.issued += 1
        token = f"wb-token-{self.auth.issued}"
        self.auth.tokens[token] = (account, self.now())
        return token

    def check_token(self, token: str | None, account: str | None) -> str | None:
        """None when the token is good (and is touched); else the error title."""
        held = self.auth.tokens.get(token or "")
        if held is None:
            return "The token is invalid or has expired"
        owner, last_used = held
        if self.now() - last_used > self.auth.idle_lifetime:
            del self.auth.tokens[token or ""]
            return "The token is invalid or has expired"
        if account != owner:
            return "X-Auth-AccountId does not match the token"
        self.auth.tokens[token or ""] = (owner, self.now())
        return None

    def logout(self, token: str | None) -> bool:
        return self.auth.tokens.pop(token or "", None) is not None

    def over_quota(self, account: str) -> bool:
        """Count one call of ``account``; True (and not counted) when over the quota."""
        now = self.now()
        calls = self.calls.setdefault(account, deque())
        while calls and calls[0] <= now - QUOTA_WINDOW:
            calls.popleft()
        if len(calls) >= self.calls_per_hour:
            return True
        calls.append(now)
        return False
