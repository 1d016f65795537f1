"""State of the Webex simulator: directory data plus auth, clock, faults and a request log.

Tests build a :class:`WebexSimState`, change it "as an admin in Control Hub" between
syncs, inject faults, and read ``requests`` to assert what the client sent. Nothing here
sleeps or reads the wall clock except through the injected ``now``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from icsbridge.daemon.simulators.common import WRITE_METHODS, SimRequest, SimState
from icsbridge.daemon.simulators.webex.store import WebexDirectory

DEMO_ACCESS_TOKEN = "demo-token"
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
DEMO_REFRESH_TOKEN = "demo-refresh-token"


@dataclass
class RefreshGrant:
    client_id: str
    expires_at: datetime | None


@dataclass
class TokenCounter:
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


@dataclass
class AuthState:
    """Access tokens, OAuth clients and refresh tokens the simulated server accepts."""

    access_tokens: dict[str, datetime | None] = field(default_factory=dict)
    clients: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    rotate_refresh_tokens: bool = False
    access_token_lifetime: timedelta = timedelta(days=14)
    refresh_token_lifetime: timedelta = timedelta(days=90)
    issued: TokenCounter = field(default_factory=TokenCounter)


class WebexSimState(WebexDirectory, SimState[bytes]):
    """Everything the simulated Webex org holds, plus test controls.

    ``now`` is the clock used for token expiry; pass a controllable one in tests. An
    injected fault without a ``body`` answers with the Webex error body.
    """

    def __init__(
        self,
        *,
        org_id: str | None = None,
        org_name: str = "Simulated Org",
        now: Callable[[], datetime] | None = None,
    ) -> None:
        WebexDirectory.__init__(self, org_id, org_name)
        SimState.__init__(self, now)
        self.auth = AuthState()

    def add_demo_credentials(self) -> None:
        self.add_access_token(DEMO_ACCESS_TOKEN)
        self.add_oauth_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        self.add_refresh_token(DEMO_REFRESH_TOKEN, DEMO_CLIENT_ID)

    # ---- auth ----------------------------------------------------------------------
    def add_access_token(self, token: str, expires_at: datetime | None = None) -> None:
        """Accept ``token`` as a bearer token until ``expires_at`` (None: forever)."""
        self.auth.access_tokens[token] = expires_at

    def revoke_access_token(self, token: str) -> None:
        self.auth.access_tokens.pop(token, None)

    def add_oauth_client(self, client_id: str, client_secret: str) -> None:
        self.auth.clients[client_id] = client_secret

    def add_refresh_token(
        self, token: str, client_id: str, expires_at: datetime | None = None
    ) -> None:
        self.auth.refresh_tokens[token] = RefreshGrant(client_id, expires_at)

    def token_problem(self, token: str | None) -> str | None:
        """Why a bearer token is refused, or None when it is valid now."""
        if not token or token not in self.auth.access_tokens:
            return "The request requires a valid access token set in the Authorization header."
        expires_at = self.auth.access_tokens[token]
        if expires_at is not None and self.now() >= expires_at:
            return "The access token has expired; refresh it."
        return None

    def refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer a POST /v1/access_token form: (status, JSON body)."""
        if form.get("grant_type") != "refresh_token":
            return 400, _oauth_error("unsupported_grant_type", "grant_type must be refresh_token")
        client_id = form.get("client_id", "")
        if client_id not in self.auth.clients or self.auth.clients[client_id] != form.get(
            "client_secret"
        ):
            return 401, _oauth_error("invalid_client", "unknown client_id or wrong client_secret")
        old = form.get("refresh_token", "")
        grant = self.auth.refresh_tokens.get(old)
        now = self.now()
        if grant is None or grant.client_id != client_id:
            return 400, _oauth_error("invalid_grant", "the refresh token is invalid or revoked")
        if grant.expires_at is not None and now >= grant.expires_at:
            return 400, _oauth_error("invalid_grant", "the refresh token has expired")
        serial = self.auth.issued.next()
        access = f"sim-access-{serial}"
        self.add_access_token(access, now + self.auth.access_token_lifetime)
        refresh_token = old
        if self.auth.rotate_refresh_tokens:
            del self.auth.refresh_tokens[old]
            refresh_token = f"sim-refresh-{serial}"
            grant = RefreshGrant(client_id, now + self.auth.refresh_token_lifetime)
            self.auth.refresh_tokens[refresh_token] = grant
        refresh_left = (
            grant.expires_at - now
            if grant.expires_at is not None
            else self.auth.refresh_token_lifetime
        )
        return 200, {
            "access_token": access,
            "expires_in": int(self.auth.access_token_lifetime.total_seconds()),
            "refresh_token": refresh_token,
            "refresh_token_expires_in": int(refresh_left.total_seconds()),
            "token_type": "Bearer",
        }

    # ---- request log ---------------------------------------------------------------
    def writes(self) -> list[SimRequest]:
        """Logged requests that change data (POST/PUT/DELETE), token refreshes excluded."""
        return self.logged(methods=WRITE_METHODS, path_lacks="/access_token")


def _oauth_error(code: str, description: str) -> dict[str, Any]:
    return {"error": code, "error_description": description}
