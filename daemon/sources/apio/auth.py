"""APIO HTTP plumbing: its error bodies as one line, and its three ways to authenticate.

Errors: APIO answers failures in several body shapes; the message shown is the first of
``errors[0].details.errors[0].summary`` (BroadWorks' own words), ``errors[0].message``,
``message``, ``error`` (apio.md). Sub-codes (``errors[*].code``, e.g. 62) become
``SourceError.error_codes``. :class:`ApioApiClient` is daemon.sources.http's client with that
reading of error bodies.

Credentials (see config/sources/apio.py):

- :class:`MachineToken`: an APIO Core machine token, sent as a bearer token; a 401 cannot
  be fixed by retrying.
- :class:`CoreJwt`: ``POST <root>/api/v01/auth/login {username, password}`` ->
  ``{access_token, refresh_token}``. On a 401 the access token is refreshed with
  ``GET <root>/api/v01/auth/access_token`` and ``Authorization: Bearer <refresh_token>``;
  when that is refused too, it logs in again. Then the call is retried once.
- :class:`GatewaySession`: ``POST <root>/api/v1/login/ {username, password}`` sets a
  ``sessionid`` cookie, kept in the httpx client's cookie jar and sent with every call; on
  a 401 it logs in again, once per call.

Secrets (password, tokens, session id) never appear in a repr, a log line or a message.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import httpx

from icsbridge.daemon.sources.http import ApiClient, SourceError
from icsbridge.daemon.sources.token_cache import SecretLike, StaticToken

log = logging.getLogger("icsbridge.apio")

SESSION_COOKIE = "sessionid"
_LOGIN_REFUSED = "check username and password"
_LOGIN_HINTS = {400: _LOGIN_REFUSED, 401: _LOGIN_REFUSED, 403: _LOGIN_REFUSED}


def apio_error(body: Any, text: str) -> tuple[str, tuple[int, ...]]:
    """The API's words about a failure (see the module docstring) and its sub-codes."""
    if not isinstance(body, dict):
        return " ".join(text[:200].split()), ()
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    codes = tuple(
        e["code"]
        for e in errors
        if isinstance(e.get("code"), int) and not isinstance(e["code"], bool)
    )
    words: list[Any] = []
    if errors:
        details = errors[0].get("details")
        inner = details.get("errors") if isinstance(details, dict) else None
        if isinstance(inner, list) and inner and isinstance(inner[0], dict):
            words.append(inner[0].get("summary"))
        words.append(errors[0].get("message"))
    words += [body.get("message"), body.get("error")]
    message = next((w for w in words if isinstance(w, str) and w.strip()), "")
    if codes:
        message += f" [sub-code {', '.join(str(c) for c in codes)}]"
    return " ".join(message.split()), codes


class ApioApiClient(ApiClient):
    """:class:`daemon.sources.http.ApiClient` reading APIO's error bodies (no tracking ids: APIO
    has none to quote)."""

    def _api_message(self, body: Any, resp: httpx.Response) -> tuple[str, tuple[int, ...]]:
        return apio_error(body, resp.text)

    def _tracking_id(self, body: Any, resp: httpx.Response, sent: str) -> str | None:
        return None


class Credentials(Protocol):
    """What the source needs from a way of authenticating."""

    bearer: Callable[[], Awaitable[str]] | None
    """The bearer token to send, or None (the session cookie does the job)."""

    async def prepare(self) -> None:
        """Log in if that has not happened yet (before the first call)."""

    async def on_unauthorized(self) -> bool:
        """A call got 401: renew the credentials; True when the call should be retried."""

    def secrets(self) -> list[str]: ...


class MachineToken(StaticToken):
    """A long-lived APIO Core machine token from the config."""

    def __init__(self, ref: SecretLike) -> None:
        super().__init__(ref)
        self.bearer: Callable[[], Awaitable[str]] | None = self.token

    async def prepare(self) -> None:
        return None


class _Login:
    """Username and password, and a plain client for the login calls."""

    def __init__(
        self,
        *,
        source: str,
        client: httpx.AsyncClient,
        root: str,
        username: SecretLike,
        password: SecretLike,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self.source = source
        self._client = client
        self._root = root
        self._username = username
        self._password = password
        self._sleep = sleep
        self._rng = rng
        self._known: set[str] = set()
        self._lock = asyncio.Lock()
        self._api = self._plain_client(None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, password=***)"

    def _plain_client(self, auth: Callable[[], Awaitable[str]] | None) -> ApiClient:
        return ApioApiClient(
            self._client,
            source=self.source,
            base_url=self._root,
            auth=auth,
            sleep=self._sleep,
            rng=self._rng,
            secrets=self.secrets,
            hints=_LOGIN_HINTS,
        )

    def secrets(self) -> list[str]:
        return [s for s in self._known if s]

    def _remember(self, values: Iterable[str]) -> None:
        self._known.update(v for v in values if v)

    def _body(self) -> dict[str, str]:
        password = self._password.resolve()
        self._remember([password])
        return {"username": self._username.resolve(), "password": password}


class CoreJwt(_Login):
    """APIO Core JWT login and refresh (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._access: str | None = None
        self._refresh: str | None = None
        self.bearer: Callable[[], Awaitable[str]] | None = self.token

    async def prepare(self) -> None:
        await self.token()

    async def token(self) -> str:
        async with self._lock:
            if self._access is None:
                await self._login()
            assert self._access is not None
            return self._access

    async def on_unauthorized(self) -> bool:
        async with self._lock:
            if self._refresh is not None and await self._renew():
                return True
            await self._login()
        return True

    async def _login(self) -> None:
        body = await self._api.call_json("POST", "/auth/login", json=self._body())
        access = body.get("access_token") if isinstance(body, dict) else None
        refresh = body.get("refresh_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise SourceError(
                f'source "{self.source}": POST /auth/login: the answer has no access_token; '
                'check base_url points at APIO Core (or set login = "gateway-session")'
            )
        self._remember([access, refresh if isinstance(refresh, str) else ""])
        self._access = access
        self._refresh = refresh if isinstance(refresh, str) and refresh else None
        log.debug('source "%s": logged in to APIO Core', self.source)

    async def _renew(self) -> bool:
        """A new access token from the refresh token; False when that is refused."""
        refresh = self._refresh
        assert refresh is not None

        async def bearer() -> str:
            return refresh

        try:
            body = await self._plain_client(bearer).get_json("/auth/access_token")
        except SourceError as exc:
            if exc.status not in (400, 401, 403):
                raise
            log.info('source "%s": the refresh token was refused; logging in again', self.source)
            self._refresh = None
            return False
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            return False
        self._remember([access])
        self._access = access
        return True


class GatewaySession(_Login):
    """Gateway session login; the ``sessionid`` cookie rides in the client's jar."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._logged_in = False
        self.bearer: Callable[[], Awaitable[str]] | None = None

    async def prepare(self) -> None:
        async with self._lock:
            if not self._logged_in:
                await self._login()

    async def on_unauthorized(self) -> bool:
        async with self._lock:
            await self._login()
        return True

    async def _login(self) -> None:
        resp = await self._api.request("POST", "/login/", json=self._body())
        session = resp.cookies.get(SESSION_COOKIE)
        if not session:
            raise SourceError(
                f'source "{self.source}": POST /login/: the answer set no {SESSION_COOKIE} '
                'cookie; check base_url points at an APIO gateway (or set login = "core-jwt")'
            )
        self._remember([session])
        self._logged_in = True
        log.debug('source "%s": logged in to the APIO gateway', self.source)
