"""What the daemon keeps per source between syncs: one pooled HTTP client and one
render cache.

- :class:`SourceClients` holds one ``httpx.AsyncClient`` per source for the daemon's
  life, so connections are kept alive from one sync to the next (and HTTP/2 is used
  where the server offers it over TLS). Its pool holds at most ``concurrency``
  connections, the same limit :class:`daemon.sources.http.ApiClient` puts on requests in flight.
  A source whose ``concurrency`` changed (a reload) gets a new client.
- It also holds the source's :class:`~icsbridge.converters.ical.render_cache.RenderCache`, so a sync
  renders only the events that changed since the previous one, and its
  :class:`~icsbridge.converters.ical.render_cache.LeanMemo`, so a source converts only the API
  answers (and events) whose bytes changed, and keeps them as bytes, not objects. A
  source finds the memo from its client (:func:`lean_memo`): sources are built anew for
  each sync, the client is not.

The daemon closes it when it stops (:meth:`SourceClients.aclose`); ``icsbridge export``
runs once and uses a client of its own per source instead.
"""

from __future__ import annotations

import asyncio
import importlib.util
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpx

from icsbridge.config.settings import SourceSettings
from icsbridge.converters.ical.render_cache import LeanMemo, RenderCache

CLIENT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# h2 is a dependency (httpx[http2]); the guard keeps a stripped install working on 1.1.
HTTP2 = importlib.util.find_spec("h2") is not None

TransportFor = Callable[[SourceSettings], httpx.AsyncBaseTransport | None]

# A daemon client -> its source's memo; weak, so a closed and dropped client takes it along.
_MEMOS: weakref.WeakKeyDictionary[httpx.AsyncClient, LeanMemo] = weakref.WeakKeyDictionary()


# What a caller may swap for tests or the demo: the transport of a source's client (None:
# the network), and how to wait.
TransportFactory = Callable[[SourceSettings], httpx.AsyncBaseTransport | None]
Sleep = Callable[[float], Awaitable[None]]


def lean_memo(client: httpx.AsyncClient) -> LeanMemo:
    """The memo of the source whose pooled client is ``client`` (see the module doc); a
    client of its own (``icsbridge export``) gets a fresh memo that lives one pull."""
    memo = _MEMOS.get(client)
    return LeanMemo() if memo is None else memo


def new_client(
    settings: SourceSettings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The HTTP client of one source: a pool of ``concurrency`` kept-alive connections."""
    limits = httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.concurrency,
        keepalive_expiry=60.0,
    )
    return httpx.AsyncClient(
        transport=transport, timeout=CLIENT_TIMEOUT, limits=limits, http2=HTTP2
    )


@dataclass
class _Held:
    concurrency: int
    client: httpx.AsyncClient
    cache: RenderCache = field(default_factory=RenderCache)
    memo: LeanMemo = field(default_factory=LeanMemo)


class SourceClients:
    """One pooled client and one render cache per source name (see the module doc).

    ``transport_for`` (tests, the demo, the benchmarks) gives the transport of a source's
    client; None: httpx's own (real network).
    """

    def __init__(self, transport_for: TransportFor | None = None) -> None:
        self._transport_for = transport_for
        self._held: dict[str, _Held] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def client(self, settings: SourceSettings) -> httpx.AsyncClient:
        held = self._held.get(settings.name)
        if held is not None and held.concurrency != settings.concurrency:
            self._close_later(held.client)
            held = None
        if held is None:
            transport = self._transport_for(settings) if self._transport_for else None
            held = _Held(settings.concurrency, new_client(settings, transport))
            self._held[settings.name] = held
            _MEMOS[held.client] = held.memo
        return held.client

    def cache(self, name: str) -> RenderCache:
        """The source's render cache (created with its client)."""
        return self._get(name).cache

    def memo(self, name: str) -> LeanMemo:
        """The source's lean memo (created with its client)."""
        return self._get(name).memo

    def _get(self, name: str) -> _Held:
        held = self._held.get(name)
        if held is None:
            raise KeyError(f"no client for source {name!r} yet")
        return held

    def retain(self, names: Iterable[str]) -> None:
        """Close the clients (and drop the caches) of sources not in ``names``."""
        keep = set(names)
        for name in [n for n in self._held if n not in keep]:
            self._close_later(self._held.pop(name).client)

    async def aclose(self) -> None:
        held, self._held = list(self._held.values()), {}
        for item in held:
            await item.client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing)

    def _close_later(self, client: httpx.AsyncClient) -> None:
        task = asyncio.get_running_loop().create_task(client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
