"""State of the Wordbee simulator: directory data plus tokens, quota, faults and a log.

Tests build a :class:`WordbeeSimState`, change it between syncs, inject faults and read
``requests``. Time comes only from the injected ``now`` (token idle expiry, the hourly
quota, the view's ``offset``).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from daemon.simulators.wordbee_calendar import WordbeeDirectory

Transform = Callable[[Any], Any]

DEMO_ACCOUNT = "demo"
DEMO_KEY = "demo-key"
TOKEN_IDLE = timedelta(minutes=30)
QUOTA_WINDOW = timedelta(hours=1)


@dataclass
class SimRequest:
    """One request as the simulator saw it; the token and the login body are not kept."""

    method: str
    path: str  # path + "?" + query string when there is one
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """An injected answer (or a rewrite of the real one) for the next matching requests."""

    status: int
    remaining: int
    path_contains: str | None = None
    method: str | None = None
    body: Any = None  # JSON to send; None: a Wordbee error body
    retry_after: int | None = None
    transform: Transform | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path


@dataclass
class AuthState:
    """Accounts and the tokens the simulated platform accepts (last use per token)."""

    accounts: dict[str, str] = field(default_factory=dict)  # account id -> key
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    idle_lifetime: timedelta = TOKEN_IDLE
    expired_status: int = 401
    """401, or 400 as some Wordbee versions answer (the title says why)."""
    issued: int = 0


class WordbeeSimState(WordbeeDirectory):
    """Everything the simulated platform holds, plus test controls.

    ``calls_per_hour`` is the quota per account (sliding hour; a 429 carries no
    Retry-After). Calls answered 429 do not count.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        calls_per_hour: int = 1000,
        company: str = "Simulated Translations",
    ) -> None:
        super().__init__(company=company)
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.auth = AuthState()
        self.calls_per_hour = calls_per_hour
        self.calls: dict[str, deque[datetime]] = {}
        self.faults: list[Fault] = []
        self.requests: list[SimRequest] = []

    # ---- builders ------------------------------------------------------------------
    @classmethod
    def demo(
        cls, now: Callable[[], datetime] | None = None, *, anchor: date | None = None
    ) -> WordbeeSimState:
        """The demo company of data/wordbee_demo.json, built around the seed's example.

        The data describes July 2017; it is moved by whole weeks (weekdays kept) so that
        month lands on ``anchor``'s month (default: the month of ``now()``).
        """
        from daemon.simulators.wordbee_seed import load_demo

        state = cls(now=now)
        load_demo(state, anchor or state.now().date())
        return state

    # ---- test controls ---------------------------------------------------------------
    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
        body: Any = None,
        retry_after: int | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (and ``body``)."""
        fault = Fault(status, times, path_contains, method, body, retry_after)
        self.faults.append(fault)
        return fault

    def mangle(
        self, transform: Transform, *, times: int = 1, path_contains: str | None = None
    ) -> Fault:
        """Rewrite the next ``times`` matching JSON answers with ``transform``."""
        fault = Fault(200, times, path_contains, "GET", transform=transform)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str, *, transform: bool) -> Fault | None:
        for fault in self.faults:
            if (fault.transform is not None) == transform and fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after 30 idle minutes)."""
        self.auth.tokens.clear()

    def view_requests(self) -> list[SimRequest]:
        return [r for r in self.requests if "/calendar/view" in r.path]

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
