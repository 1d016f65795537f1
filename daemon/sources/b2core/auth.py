"""B2CORE access tokens: a static bearer token, or the back-office sign-in with refresh.

Sign-in (verified on B2COPY, B2Broker's sister product, whose back office shares the
``/api/v2`` API; unverified on B2CORE): ``POST /api/v2/signin {email, password}`` answers
``{"2faRequired": false, "accessToken": {"token", "expiresAt"}, "refreshToken": {"token",
"expiresAt"}}`` (``expiresAt`` ISO 8601 with an offset).

Refresh (ASSUMED: B2CORE's client-facing API pairs ``/api/v2/my/signin`` with
``/api/v2/my/refresh``, so the back office is taken to pair ``/api/v2/signin`` with
``POST /api/v2/refresh {"refreshToken": "<token>"}``, answering the sign-in's shape). When
the refresh is refused (or the endpoint does not exist: 404/405), the source signs in again
with email and password, so a wrong guess costs one sign-in per access-token lifetime.

The access token is renewed ahead of its expiry (300 s before, or half its lifetime when
shorter) and on a 401: first by refresh, and if the API still says 401, by a new sign-in
(:meth:`SessionLogin.relogin`). The refresh token and its expiry are kept in the
:class:`TokenStore` under ``b2core:<source>:refresh_token`` (JSON), so a restart refreshes
instead of signing in (B2CORE locks accounts after too many sign-ins).

Secrets (password, tokens) never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, Protocol

from icsbridge.converters.b2core.models import parse_instant
from icsbridge.daemon.sources.base import TokenStore
from icsbridge.daemon.sources.http import ApiClient, SourceError
from icsbridge.daemon.sources.token_cache import RenewingToken, SecretLike, StaticToken, renew_time

log = logging.getLogger("icsbridge.b2core")

SIGNIN_PATH = "/api/v2/signin"
REFRESH_PATH = "/api/v2/refresh"
SIGNIN_REFUSED = (
    "the back-office sign-in refused the email and password; check them, or give a token instead"
)
# Answers to a refresh after which signing in again may help.
_REFRESH_REFUSED = frozenset({400, 401, 403, 404, 405, 410, 422})


class B2coreAuth(Protocol):
    async def token(self) -> str: ...

    async def on_unauthorized(self) -> bool: ...

    async def relogin(self) -> bool: ...

    def secrets(self) -> list[str]: ...


class StaticBearer(StaticToken):
    """A bearer token from the config; a 401 cannot be fixed by retrying or signing in."""

    async def relogin(self) -> bool:
        return False


class SessionLogin(RenewingToken):
    """Access tokens from the back-office sign-in (see the module docstring).

    ``api`` is an :class:`ApiClient` without ``auth`` (sign-in and refresh carry no
    bearer token), rooted at the B2CORE host.
    """

    store_prefix = "b2core"

    def __init__(
        self,
        *,
        source: str,
        api: ApiClient,
        email: SecretLike,
        password: SecretLike,
        tokens: TokenStore,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(source=source, tokens=tokens, clock=clock)
        self._api = api
        self._email = email
        self._password = password
        self._refresh: str | None = None
        self._refresh_expires: datetime | None = None
        self._loaded = False
        self.renewed_by: Literal["refresh", "signin"] | None = None

    async def on_unauthorized(self) -> bool:
        """The API refused the access token: refresh it (sign in when that fails)."""
        async with self._lock:
            self._access = None
            await self._renew()
        return True

    async def relogin(self) -> bool:
        """A refreshed token was refused too: sign in again. False when the token just
        refused came from a sign-in already (another one would not help)."""
        async with self._lock:
            if self.renewed_by == "signin":
                return False
            self._access = None
            await self._signin()
        return True

    # -- renewing -----------------------------------------------------------------------

    async def _renew(self) -> None:
        self._load_stored()
        now = self._clock()
        if self._refresh and (self._refresh_expires is None or now < self._refresh_expires):
            try:
                body = await self._api.call_json(
                    "POST", REFRESH_PATH, json={"refreshToken": self._refresh}
                )
            except SourceError as exc:
                if exc.status not in _REFRESH_REFUSED:
                    raise
                log.info(
                    'source "%s": the refresh token was refused (HTTP %s); signing in again',
                    self.source,
                    exc.status,
                )
            else:
                self._accept(body, REFRESH_PATH, "refresh")
                return
        await self._signin()

    async def _signin(self) -> None:
        email = self._email.resolve()
        password = self._password.resolve()
        self._known.add(password)
        body = await self._api.call_json(
            "POST", SIGNIN_PATH, json={"email": email, "password": password}
        )
        self._accept(body, SIGNIN_PATH, "signin")

    def _load_stored(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        stored = self._tokens.get_secret(self.store_key)
        if not stored:
            return
        try:
            data = json.loads(stored)
            token, expires = data["token"], data.get("expiresAt")
            self._refresh = token if isinstance(token, str) and token else None
            self._refresh_expires = parse_instant(expires) if expires else None
        except (ValueError, KeyError, TypeError, AttributeError):
            # A damaged entry only costs a sign-in.
            self._refresh, self._refresh_expires = None, None
        if self._refresh:
            self._known.add(self._refresh)

    def _accept(self, body: Any, path: str, how: Literal["refresh", "signin"]) -> None:
        if isinstance(body, dict) and body.get("2faRequired") is True:
            raise SourceError(
                f'source "{self.source}": POST {path}: the back-office user must confirm a '
                "second factor (2FA), which icsbridge cannot do; use an account without 2FA "
                "or give a token instead"
            )
        access, access_expires = _token_pair(body, "accessToken")
        if access is None:
            raise SourceError(
                f'source "{self.source}": POST {path}: the answer has no accessToken; '
                "check base_url points at the B2CORE back office"
            )
        refresh, refresh_expires = _token_pair(body, "refreshToken")
        now = self._clock()
        renew_at: datetime | None = None  # without an expiry: renewed only on a 401
        if access_expires is not None and access_expires > now:
            renew_at = renew_time(now, access_expires - now)
        elif access_expires is not None:
            log.warning(
                'source "%s": the new access token expired already (%s); is the clock '
                "right? Renewing it only when the API refuses it",
                self.source,
                access_expires.isoformat(),
            )
        self._keep(access, renew_at)
        self.renewed_by = how
        if refresh is not None:
            self._known.add(refresh)
            self._refresh, self._refresh_expires = refresh, refresh_expires
            entry: dict[str, str] = {"token": refresh}
            if refresh_expires is not None:
                entry["expiresAt"] = refresh_expires.isoformat()
            self._tokens.set_secret(self.store_key, json.dumps(entry))
        log.debug(
            'source "%s": new access token by %s, valid until %s',
            self.source,
            how,
            access_expires.isoformat() if access_expires else "refused",
        )


def _token_pair(body: Any, key: str) -> tuple[str | None, datetime | None]:
    """``body[key]`` as (token, expiry); the token may also be a bare string."""
    value = body.get(key) if isinstance(body, dict) else None
    if isinstance(value, str) and value:
        return value, None
    if not isinstance(value, dict):
        return None, None
    token = value.get("token")
    if not isinstance(token, str) or not token:
        return None, None
    expires: datetime | None = None
    try:
        expires = parse_instant(value.get("expiresAt"))
    except ValueError:  # PydanticCustomError is a ValueError: no or unreadable expiry
        expires = None
    return token, expires
