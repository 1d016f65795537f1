"""Webex access tokens: a static bearer token (:class:`~..token_cache.StaticToken`), or
OAuth refresh with rotation kept.

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

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from icsbridge.daemon.sources.base import TokenStore
from icsbridge.daemon.sources.http import ApiClient, SourceError
from icsbridge.daemon.sources.token_cache import RenewingToken, SecretLike, renew_time

log = logging.getLogger("icsbridge.webex")

_REFUSED = (
    "the refresh token or the client id/secret was refused: check client_id and "
    "client_secret, or get a new refresh token and set refresh_token in the config"
)


class TokenProvider(Protocol):
    async def token(self) -> str: ...

    async def on_unauthorized(self) -> bool: ...

    def secrets(self) -> list[str]: ...


class OAuthRefresher(RenewingToken):
    """Access tokens from an OAuth refresh token (see the module docstring)."""

    store_prefix = "webex"

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
        super().__init__(source=source, tokens=tokens, clock=clock)
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

    async def on_unauthorized(self) -> bool:
        """The API refused the access token: get a new one now (the caller retries once)."""
        async with self._lock:
            await self._renew()
        return True

    def _resolve(self, ref: SecretLike) -> str:
        value = ref.resolve()
        self._known.add(value)
        return value

    async def _renew(self) -> None:
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
        lifetime = timedelta(seconds=max(0.0, float(expires_in)))
        self._keep(access, renew_time(self._clock(), lifetime))
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
