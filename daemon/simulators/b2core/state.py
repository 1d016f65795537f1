"""State of the B2CORE simulator: events, users, sign-in and tokens, faults, request log.

Tests build a :class:`B2coreSimState`, change it "as a back-office admin" between syncs,
inject faults, move the clock (``now``) to expire tokens, switch the list answer's shape
(``list_shape``) and read ``requests`` to assert what the client sent. Nothing here sleeps
or reads the wall clock except through ``now``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from icsbridge.daemon.simulators.b2core.events import ApiError, check_event, select
from icsbridge.daemon.simulators.common import WRITE_METHODS, SimRequest, SimState

ListShape = Literal["bare", "data", "items"]

DEMO_TOKEN = "demo-b2core-token"
DEMO_EMAIL = "calendar-sync@broker.example"
DEMO_PASSWORD = "demo-password"


@dataclass
class AuthState:
    """Who may sign in and which tokens the simulated back office accepts."""

    accounts: dict[str, str] = field(default_factory=dict)  # email -> password
    two_factor: set[str] = field(default_factory=set)  # emails whose sign-in asks for 2FA
    static_tokens: set[str] = field(default_factory=set)  # never expire
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # -> expiry
    refresh_tokens: dict[str, datetime] = field(default_factory=dict)  # -> expiry
    access_lifetime: timedelta = timedelta(hours=1)
    refresh_lifetime: timedelta = timedelta(days=30)
    refresh_enabled: bool = True  # False: POST /api/v2/refresh answers 404
    signins: int = 0
    refreshes: int = 0
    serial: int = 0


class B2coreSimState(SimState[bytes]):
    """Everything the simulated back office holds, plus test controls.

    An injected fault without a ``body`` answers ``{"message": "simulated HTTP <status>"}``;
    faults match the decoded path+query.

    ``list_shape``: ``"bare"`` answers lists as a JSON array; ``"data"``/``"items"`` as
    ``{"<key>": [...], "total": n}``, and with ``"data"`` single objects come as
    ``{"data": {...}}`` too.
    """

    def __init__(
        self, *, now: Callable[[], datetime] | None = None, list_shape: ListShape = "bare"
    ) -> None:
        super().__init__(now)
        self.list_shape: ListShape = list_shape
        self.events: dict[int, dict[str, Any]] = {}
        self.users: dict[str, str] = {}  # casefolded email -> display name
        self.auth = AuthState()
        self.default_limit = 10
        self.max_limit = 1000
        self._next_id = 1

    # ---- users and auth --------------------------------------------------------------
    def add_user(self, email: str, name: str = "") -> None:
        """A back-office user: a valid recipient."""
        self.users[email.casefold()] = name or email

    def add_account(self, email: str, password: str, *, two_factor: bool = False) -> None:
        """A back-office user who may sign in (also a valid recipient)."""
        self.add_user(email)
        self.auth.accounts[email] = password
        if two_factor:
            self.auth.two_factor.add(email)

    def add_static_token(self, token: str) -> None:
        self.auth.static_tokens.add(token)

    def revoke_tokens(self) -> None:
        """Forget every session (access and refresh) token, as after a password change."""
        self.auth.access_tokens.clear()
        self.auth.refresh_tokens.clear()

    def token_problem(self, token: str | None) -> str | None:
        """Why a bearer token is refused, or None when it is valid now."""
        if token and token in self.auth.static_tokens:
            return None
        expires = self.auth.access_tokens.get(token or "")
        if expires is None:
            return "Unauthenticated."
        if self.now() >= expires:
            return "Token has expired."
        return None

    def signin(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Answer POST /api/v2/signin."""
        if not isinstance(body, dict) or not body.get("email") or not body.get("password"):
            errors = {k: [f"The {k} field is required."] for k in ("email", "password")}
            return 422, {"message": "The given data was invalid.", "errors": errors}
        email = str(body["email"])
        if self.auth.accounts.get(email) != body["password"]:
            return 401, {"message": "Invalid credentials."}
        self.auth.signins += 1
        if email in self.auth.two_factor:
            return 200, {"2faRequired": True}
        return 200, self._new_pair()

    def refresh(self, body: Any) -> tuple[int, dict[str, Any]]:
        """Answer POST /api/v2/refresh: a new pair; the old refresh token stops working."""
        if not self.auth.refresh_enabled:
            return 404, {"message": "Not Found."}
        token = body.get("refreshToken") if isinstance(body, dict) else None
        expires = self.auth.refresh_tokens.pop(token, None) if isinstance(token, str) else None
        if expires is None or self.now() >= expires:
            return 401, {"message": "The refresh token is invalid or has expired."}
        self.auth.refreshes += 1
        return 200, self._new_pair()

    def _new_pair(self) -> dict[str, Any]:
        self.auth.serial += 1
        now = self.now()
        access, refresh = f"sim-access-{self.auth.serial}", f"sim-refresh-{self.auth.serial}"
        access_expires = now + self.auth.access_lifetime
        refresh_expires = now + self.auth.refresh_lifetime
        self.auth.access_tokens[access] = access_expires
        self.auth.refresh_tokens[refresh] = refresh_expires
        created = now.isoformat(timespec="seconds")
        return {
            "2faRequired": False,
            "accessToken": {
                "token": access,
                "createdAt": created,
                "expiresAt": access_expires.isoformat(timespec="seconds"),
            },
            "refreshToken": {
                "token": refresh,
                "createdAt": created,
                "expiresAt": refresh_expires.isoformat(timespec="seconds"),
            },
        }

    # ---- events ----------------------------------------------------------------------
    def add_event(self, body: dict[str, Any]) -> int:
        """Store a new event (checked like a POST); returns its id."""
        event = check_event(body, current=None, known_users=set(self.users))
        stamp = self.now().isoformat(timespec="seconds")
        event_id = self._next_id
        self._next_id += 1
        self.events[event_id] = {"id": event_id, **event, "createdAt": stamp, "updatedAt": stamp}
        return event_id

    def event(self, event_id: str) -> dict[str, Any]:
        found = self.events.get(int(event_id)) if event_id.isdigit() else None
        if found is None:
            raise ApiError(404, "Calendar event not found.")
        return found

    def update_event(self, event_id: str, body: Any, *, replace: bool) -> dict[str, Any]:
        """PUT (``replace``: every field from ``body``) or PATCH (only ``body``'s fields)."""
        current = self.event(event_id)
        event = check_event(body, current=None if replace else current, known_users=set(self.users))
        current.update(event, updatedAt=self.now().isoformat(timespec="seconds"))
        return current

    def delete_event(self, event_id: str) -> None:
        del self.events[self.event(event_id)["id"]]

    def list_events(self, query: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
        """One page of the matching events and the number of all matching ones."""
        limit = _int_query(query, "limit", self.default_limit, 1, self.max_limit)
        offset = _int_query(query, "offset", 0, 0, None)
        chosen = select(list(self.events.values()), query)
        return chosen[offset : offset + limit], len(chosen)

    # ---- request log ---------------------------------------------------------------
    def writes(self) -> list[SimRequest]:
        """Logged requests that change events (POST/PUT/PATCH/DELETE on /calendars/)."""
        return self.logged(methods=WRITE_METHODS | {"PATCH"}, path_has="/calendars/")

    def lists(self) -> list[SimRequest]:
        """Logged GETs of the event list."""
        return [
            r
            for r in self.requests
            if r.method == "GET" and urlsplit(r.path).path == "/api/v2/calendars/events"
        ]


def _int_query(
    query: dict[str, str], name: str, default: int, minimum: int, maximum: int | None
) -> int:
    value = query.get(name)
    if value is None:
        return default
    top = "" if maximum is None else f" and at most {maximum}"
    number = int(value) if value.isdigit() else -1
    if number < minimum or (maximum is not None and number > maximum):
        raise ApiError(
            422,
            "The given data was invalid.",
            {name: [f"The {name} must be an integer of at least {minimum}{top}."]},
        )
    return number
