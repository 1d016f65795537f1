"""Webex access tokens: a static bearer token, or OAuth refresh with rotation kept.

OAuth: ``POST {base_url}/access_token`` (form: grant_type=refresh_token, client_id,
client_secret, refresh_token) answers ``{access_token, expires_in, refresh_token, ...}``.
The access token lives in memory with its expiry and is refreshed when under 300 s are
left (or half its lifetime, if shorter) and once on a 401. Webex may rotate the refresh
token; the new one goes to the :class:`TokenStore` under
``webex:<source>:refresh_token`` and is preferred over the config's on the next start,
so a restart does not lose it. When the stored one is refused, the config's is tried once
(the user may have put a fresh one there).

Secrets never appear in a repr, a log line or an error message (see ``secrets()``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from daemon.http import ApiClient, SourceError

from .base import TokenStore

log = logging.getLogger("icsbridge.webex")

_REFRESH_MARGIN = timedelta(seconds=300)
_REFUSED = (
    "the refresh token or the client id/secret was refused: check client_id and "
    "client_secret, or get a new refresh token and set refresh_token in the config"
)


class SecretLike(Protocol):
    """What ``config.secrets.SecretRef`` offers: the secret, read when needed."""

    def resolve(self) -> str: ...


class TokenProvider(Protocol):
    async def token(self) -> str: ...

    async def on_unauthorized(self) -> bool: ...

    def secrets(self) -> list[str]: ...


class StaticToken:
    """A bearer token from the config; a 401 cannot be fixed by retrying."""

    def __init__(self, ref: SecretLike) -> None:
        self._ref = ref
        self._value: str | None = None

    def __repr__(self) -> str:
        return "StaticToken(***)"

    async def token(self) -> str:
        if self._value is None:
            self._value = self._ref.resolve()
        return self._value

    async def on_unauthorized(self) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [self._value] if self._value else []


class OAuthRefresher:
    """Access tokens from an OAuth refresh token (see the module docstring)."""

    def __init__(
        self,
        *,
        source: str,
        client: httpx.AsyncClient,
        base_url: str,
        client_id: SecretLike,
        client_secret: SecretLike,
        refresh_token: SecretLike,
        tokens: TokenStore,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self.source = source
        # The token endpoint takes no bearer token and no orgId.
        self._api = ApiClient(
            client,
            source=source,
            base_url=base_url,
            sleep=sleep,
            rng=rng,
            secrets=self.secrets,
            hints={400: _REFUSED, 401: _REFUSED},
        )
        self._client_id = client_id
        self._client_secret = client_secret
        self._configured_refresh = refresh_token
        self._tokens = tokens
        self._clock = clock
        self._access: str | None = None
        self._refresh_at: datetime | None = None
        self._known: set[str] = set()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"OAuthRefresher(source={self.source!r}, access_token=***)"

    @property
    def store_key(self) -> str:
        return f"webex:{self.source}:refresh_token"

    def secrets(self) -> list[str]:
        return [s for s in self._known if s]

    async def token(self) -> str:
        async with self._lock:
            if (
                self._access is None
                or self._refresh_at is None
                or self._clock() >= self._refresh_at
            ):
                await self._refresh()
            assert self._access is not None
            return self._access

    async def on_unauthorized(self) -> bool:
        """The API refused the access token: get a new one now (the caller retries once)."""
        async with self._lock:
            await self._refresh()
        return True

    def _resolve(self, ref: SecretLike) -> str:
        value = ref.resolve()
        self._known.add(value)
        return value

    async def _refresh(self) -> None:
        stored = self._tokens.get_secret(self.store_key)
        if stored:
            self._known.add(stored)
        configured = self._resolve(self._configured_refresh)
        candidates = [stored] if stored and stored != configured else []
        candidates.append(configured)
        form = {
            "grant_type": "refresh_token",
            "client_id": self._resolve(self._client_id),
            "client_secret": self._resolve(self._client_secret),
        }
        for n, refresh_token in enumerate(candidates):
            try:
                body = await self._api.call_json(
                    "POST", "/access_token", form={**form, "refresh_token": refresh_token}
                )
            except SourceError as exc:
                if exc.status == 400 and n + 1 < len(candidates):
                    log.warning(
                        'source "%s": the stored refresh token was refused; '
                        "trying the one in the config",
                        self.source,
                    )
                    continue
                raise
            self._accept(body, refresh_token, stored)
            return

    def _accept(self, body: Any, used: str, stored: str | None) -> None:
        access = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            raise SourceError(
                f'source "{self.source}": POST /access_token: the answer has no access_token; '
                "check base_url points at the Webex API"
            )
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            raise SourceError(
                f'source "{self.source}": POST /access_token: the answer has no number '
                '"expires_in"; check base_url points at the Webex API'
            )
        self._known.add(access)
        self._access = access
        lifetime = timedelta(seconds=max(0.0, float(expires_in)))
        self._refresh_at = self._clock() + lifetime - min(_REFRESH_MARGIN, lifetime / 2)
        rotated = body.get("refresh_token")
        keep = rotated if isinstance(rotated, str) and rotated else used
        self._known.add(keep)
        # Stored only once the API rotates it (no needless copy of a config secret), and
        # kept current from then on.
        if keep != used or (stored is not None and keep != stored):
            self._tokens.set_secret(self.store_key, keep)
        log.debug(
            'source "%s": new access token, valid %d s%s',
            self.source,
            int(lifetime.total_seconds()),
            "; refresh token rotated" if keep != used else "",
        )
