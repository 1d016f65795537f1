"""Concurrency within one source: a bound on requests in flight and one shared back-off.

:class:`icsbridge.daemon.sources.http.ApiClient` sends every request through a :class:`Throttle`; a
source's pull fans its reads out with :func:`gather_in_order`, and the throttle keeps
them within the source's ``concurrency``.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TypeVar

import httpx


class Throttle:
    """At most ``limit`` requests in flight, one shared back-off, and a probe first.

    :meth:`pause` closes a gate for the others while one request waits out a
    ``Retry-After``; a request starts only through an open gate. A second request told
    to back off while the gate is closed waits for that same gate instead of stacking a
    second wait on top (the server's delay is already being waited out).
    """

    def __init__(self, limit: int, sleep: Callable[[float], Awaitable[None]]) -> None:
        if limit < 1:
            raise ValueError(f"concurrency must be at least 1, not {limit}")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._open = asyncio.Event()
        self._open.set()
        self._sleep = sleep
        self._probe = asyncio.Lock()
        self._proven = False
        self._failed: Exception | None = None
        self.in_flight = 0
        self.max_in_flight = 0  # for tests and the benchmarks

    @asynccontextmanager
    async def first_call(self) -> AsyncIterator[None]:
        """Around one logical call (its retries included).

        Until one request of the client has succeeded, calls go one at a time (a probe):
        a refused token or a server that is down fails the first call alone, once,
        instead of every call in flight (and a token is fetched once, not by each). If
        the probe fails for good (:meth:`probe_failed`), the calls that queued behind it
        fail with the same error without sending anything.
        """
        if not self._proven:
            await self._probe.acquire()
            if not self._proven:  # this call is the probe
                try:
                    if self._failed is not None:
                        raise copy.copy(self._failed)
                    yield
                finally:
                    self._probe.release()
                return
            self._probe.release()  # proven while it queued: go on with the others
        yield

    @property
    def proven(self) -> bool:
        """A request of the client has succeeded: calls no longer wait for a probe."""
        return self._proven

    def probe_failed(self, error: Exception) -> None:
        """The probe's call failed in a way every other call would too (the API is
        unreachable, down, or refuses the credentials): the queued calls fail alike."""
        if not self._proven:
            self._failed = error

    async def send(self, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        """Run ``request`` when the gate is open and a slot is free."""
        response = await self._send(request)
        if response.is_success:
            self._proven = True
        return response

    async def _send(self, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        while True:
            if not self._open.is_set():  # a coroutine per request only while paused
                await self._open.wait()
            async with self._slots:
                if not self._open.is_set():  # closed while this one queued for a slot
                    continue
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    return await request()
                finally:
                    self.in_flight -= 1

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds`` with the gate closed (or join a wait already going on)."""
        if not self._open.is_set():
            await self._open.wait()
            return
        self._open.clear()
        try:
            await self._sleep(seconds)
        finally:
            self._open.set()


T = TypeVar("T")


async def gather_in_order(jobs: Iterable[Awaitable[T]]) -> list[T]:
    """Run ``jobs`` concurrently (their requests bounded by the client's
    :class:`Throttle`) and return their results in the order given.

    On the first failure the others are cancelled and that failure is raised as it is,
    so a source's error stays one line (no ExceptionGroup).
    """
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
