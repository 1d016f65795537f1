"""Access tokens as the sources keep them: a static one from the config, or one renewed
shortly before it expires.

:class:`StaticToken` resolves its config secret once, on first use; a 401 cannot be fixed
by retrying. :class:`RenewingToken` keeps the access token in memory with the time it is
to be renewed (:func:`renew_time`: 300 s before it expires, or half its lifetime when
that is shorter); each API's subclass says how it renews (:meth:`RenewingToken._renew`)
and what it does on a 401. Every secret seen is remembered so that the API client can
scrub it from messages; none appears in a repr.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, Protocol

from icsbridge.daemon.sources.base import TokenStore

REFRESH_MARGIN = timedelta(seconds=300)


class SecretLike(Protocol):
    """What ``icsbridge.config.secrets.SecretRef`` offers: the secret, read when needed."""

    def resolve(self) -> str: ...


def renew_time(now: datetime, lifetime: timedelta) -> datetime:
    """When to renew a token that is valid for ``lifetime`` from ``now``."""
    return now + lifetime - min(REFRESH_MARGIN, lifetime / 2)


class StaticToken:
    """A bearer token from the config; a 401 cannot be fixed by retrying."""

    def __init__(self, ref: SecretLike) -> None:
        self._ref = ref
        self._value: str | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"

    async def token(self) -> str:
        if self._value is None:
            self._value = self._ref.resolve()
        return self._value

    async def on_unauthorized(self) -> bool:
        return False

    def secrets(self) -> list[str]:
        return [self._value] if self._value else []


class RenewingToken(ABC):
    """An access token renewed ahead of its expiry (see the module docstring).

    ``_renew_at`` None means: renew only when the API refuses the token. A refresh token
    the API hands out is kept in the :class:`TokenStore` under :attr:`store_key`
    (``<store_prefix>:<source>:refresh_token``) so that a restart does not lose it.
    """

    store_prefix: ClassVar[str]

    def __init__(self, *, source: str, tokens: TokenStore, clock: Callable[[], datetime]) -> None:
        self.source = source
        self._tokens = tokens
        self._clock = clock
        self._access: str | None = None
        self._renew_at: datetime | None = None
        self._known: set[str] = set()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(source={self.source!r}, access_token=***)"

    @property
    def store_key(self) -> str:
        return f"{self.store_prefix}:{self.source}:refresh_token"

    def secrets(self) -> list[str]:
        return [s for s in self._known if s]

    async def token(self) -> str:
        """The access token, renewed first when there is none yet or it is due."""
        async with self._lock:
            if self._access is None or (
                self._renew_at is not None and self._clock() >= self._renew_at
            ):
                await self._renew()
            assert self._access is not None
            return self._access

    @abstractmethod
    async def _renew(self) -> None:
        """Get a new access token and :meth:`_keep` it (called under the lock)."""

    def _keep(self, access: str, renew_at: datetime | None) -> None:
        self._known.add(access)
        self._access = access
        self._renew_at = renew_at
