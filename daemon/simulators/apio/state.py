"""State of the APIO simulator: directory data, both kinds of auth, faults, request log.

Auth, as apio.md describes the two deployments:

- gateway (``/api/v1``): ``POST /api/v1/login/ {username, password}`` sets a
  ``sessionid`` cookie; API calls need it. Sessions expire after ``session_lifetime``.
- APIO Core (``/api/v01/<proxy>``): ``POST /api/v01/auth/login`` answers
  ``{access_token, refresh_token}`` (JWT-shaped); ``GET /api/v01/auth/access_token``
  with ``Authorization: Bearer <refresh_token>`` answers a new ``access_token``. API calls
  need ``Authorization: Bearer`` with an access token or a machine token.

An expired or unknown credential gets 401. Nothing here sleeps or reads the wall clock
except through the injected ``now``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from icsbridge.daemon.simulators.apio.store import (
    STORES,
    ApiError,
    SimSchedule,
    SimScope,
    SimTenant,
    check_period,
    error_body,
)
from icsbridge.daemon.simulators.common import WRITE_METHODS, Fault, SimRequest, SimState

DEMO_USERNAME = "demo-admin"
DEMO_PASSWORD = "demo-password"
DEMO_MACHINE_TOKEN = "demo-machine-token"
DEMO_PROXY = "demo"


@dataclass
class AuthState:
    users: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, datetime] = field(default_factory=dict)
    access_tokens: dict[str, datetime] = field(default_factory=dict)
    refresh_tokens: dict[str, datetime] = field(default_factory=dict)
    machine_tokens: set[str] = field(default_factory=set)
    session_lifetime: timedelta = timedelta(hours=1)
    access_lifetime: timedelta = timedelta(minutes=15)
    refresh_lifetime: timedelta = timedelta(days=1)
    issued: int = 0


class ApioSimState(SimState[bytes]):
    """Everything the simulated APIO holds, plus test controls (see the module doc).

    Faults match the raw (still percent-encoded) path+query.
    """

    def __init__(
        self, *, proxies: tuple[str, ...] = (DEMO_PROXY,), now: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(now)
        self.proxies = set(proxies)
        self.tenants: dict[str, SimTenant] = {}
        self.auth = AuthState()
        self.failing_periods: set[str] = set()

    def add_demo_credentials(self) -> None:
        self.add_user(DEMO_USERNAME, DEMO_PASSWORD)
        self.add_machine_token(DEMO_MACHINE_TOKEN)

    # ---- directory (what an admin does in BroadWorks) --------------------------------
    def add_group(self, tenant: str, group: str) -> None:
        self.tenants.setdefault(tenant, SimTenant(tenant)).groups.setdefault(group, SimScope())

    def scope(self, tenant: str, group: str | None) -> SimScope:
        """A group's schedules (or the tenant's own with ``group=None``); 404 if unknown."""
        found = self.tenants.get(tenant)
        if found is None:
            raise ApiError(404, f"tenant {tenant!r} not found", shape="errors")
        if group is None:
            return found.own
        scope = found.groups.get(group)
        if scope is None:
            raise ApiError(404, f"group {group!r} not found in tenant {tenant!r}", shape="errors")
        return scope

    def add_schedule(
        self,
        tenant: str,
        group: str | None,
        store: str,
        name: str,
        periods: list[dict[str, Any]] | None = None,
    ) -> SimSchedule:
        """Store a schedule (periods checked as the API would); replaces one of that name."""
        if store not in STORES:
            raise ValueError(f"unknown store {store!r}")
        if group is not None:
            self.add_group(tenant, group)
        else:
            self.tenants.setdefault(tenant, SimTenant(tenant))
        schedule = SimSchedule(name)
        for period in periods or []:
            schedule.periods[period["name"]] = check_period(store, dict(period))
        self.scope(tenant, group).stores[store][name] = schedule
        return schedule

    def schedule(self, tenant: str, group: str | None, store: str, name: str) -> SimSchedule:
        return self.scope(tenant, group).stores[store][name]

    # ---- auth ----------------------------------------------------------------------
    def add_user(self, username: str, password: str) -> None:
        self.auth.users[username] = password

    def add_machine_token(self, token: str) -> None:
        self.auth.machine_tokens.add(token)

    def _check_login(self, body: Any) -> None:
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be {username, password}", shape="message")
        user, password = body.get("username"), body.get("password")
        if not isinstance(user, str) or self.auth.users.get(user) != password:
            raise ApiError(401, "Invalid username or password", shape="error")

    def gateway_login(self, body: Any) -> str:
        """A new session id for valid credentials, else ApiError 401."""
        self._check_login(body)
        self.auth.issued += 1
        session = f"sim-session-{self.auth.issued:04d}"
        self.auth.sessions[session] = self.now() + self.auth.session_lifetime
        return session

    def core_login(self, body: Any) -> dict[str, str]:
        self._check_login(body)
        return {
            "access_token": self._jwt("access", self.auth.access_tokens, self.auth.access_lifetime),
            "refresh_token": self._jwt(
                "refresh", self.auth.refresh_tokens, self.auth.refresh_lifetime
            ),
        }

    def core_refresh(self, refresh_token: str | None) -> dict[str, str]:
        if not self._valid(self.auth.refresh_tokens, refresh_token):
            raise ApiError(401, "Refresh token invalid or expired", shape="error")
        access = self._jwt("access", self.auth.access_tokens, self.auth.access_lifetime)
        return {"access_token": access}

    def _jwt(self, kind: str, into: dict[str, datetime], lifetime: timedelta) -> str:
        self.auth.issued += 1
        expires = self.now() + lifetime
        header = _b64({"alg": "HS256", "typ": "JWT"})
        payload = _b64({"typ": kind, "exp": int(expires.timestamp()), "jti": self.auth.issued})
        token = f"{header}.{payload}.sim{self.auth.issued:04d}"
        into[token] = expires
        return token

    def _valid(self, table: dict[str, datetime], key: str | None) -> bool:
        return key is not None and key in table and self.now() < table[key]

    def session_problem(self, session: str | None) -> str | None:
        if self._valid(self.auth.sessions, session):
            return None
        return "Authentication credentials were not provided or the session expired."

    def bearer_problem(self, token: str | None) -> str | None:
        if token in self.auth.machine_tokens or self._valid(self.auth.access_tokens, token):
            return None
        return "Invalid or expired token"

    def expire_credentials(self) -> None:
        """Every session and access token expires now (refresh tokens stay valid)."""
        moment = self.now()
        for table in (self.auth.sessions, self.auth.access_tokens):
            for key in table:
                table[key] = moment

    # ---- faults --------------------------------------------------------------------
    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path_contains: str | None = None,
        method: str | None = None,
        body: bytes | None = None,
        shape: str = "errors",
    ) -> Fault[bytes]:
        """Answer the next ``times`` matching requests with ``status`` and an error body of
        ``shape`` (details | errors | message | error), or ``body`` verbatim."""
        if body is None:
            body = json.dumps(error_body(shape, f"simulated HTTP {status}")).encode()
        return super().inject(
            status,
            times=times,
            retry_after=retry_after,
            path_contains=path_contains,
            method=method,
            body=body,
        )

    def fail_period(self, name: str) -> None:
        """Changes to period ``name`` inside a schedule PUT fail (the PUT answers 207)."""
        self.failing_periods.add(name)

    # ---- request log ---------------------------------------------------------------
    def writes(self) -> list[SimRequest]:
        """Logged POST/PUT/DELETE requests, logins excluded."""
        return self.logged(methods=WRITE_METHODS, path_lacks="/login")


def _b64(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
