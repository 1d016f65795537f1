"""Random API faults around any simulator, from a seeded generator (the soak test).

``RandomFaults(app, FaultRates(error=0.05, ...), random.Random(seed))`` wraps a simulator's
ASGI app: each request may get a 5xx, a 429 with Retry-After, a slow answer, a malformed
answer or none at all (a closed connection), as a flaky API gives them. The injected
faults of ``common.SimState`` (``inject``/``mangle``) say exactly which request fails;
these say only how often, so a long run meets every kind at every step of a sync or push.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FaultKind = Literal["error", "throttle", "slow", "malformed", "lost"]
_KINDS: tuple[FaultKind, ...] = ("error", "throttle", "slow", "malformed", "lost")


@dataclass(frozen=True)
class FaultRates:
    """The chance per request of each :class:`RandomFaults` fault (together at most 1):

    - ``error``: 500, 502, 503 or 504 (a 503 with ``Retry-After: 0`` half the time);
    - ``throttle``: 429 with ``Retry-After`` 0 (or, one time in five, 1);
    - ``slow``: answered after a wait of up to ``max_delay`` seconds;
    - ``malformed``: handled, then a 2xx answer's body cut in half (no longer JSON);
    - ``lost``: handled (a write applies), then the connection closed with no answer.
    """

    error: float = 0.0
    throttle: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    lost: float = 0.0
    max_delay: float = 0.2

    def __post_init__(self) -> None:
        chances = [getattr(self, kind) for kind in _KINDS]
        if any(c < 0 for c in chances) or sum(chances) > 1 or self.max_delay < 0:
            raise ValueError(f"fault rates must be >= 0 and add up to at most 1: {self}")


@dataclass(frozen=True)
class RandomFault:
    """One fault given: to which request, of which kind, and how (status, wait)."""

    method: str
    path: str
    kind: FaultKind
    detail: str


class AnswerLost(Exception):
    """Raised after an answer has started, so that uvicorn closes the connection."""


class _QuietLostAnswers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], AnswerLost))


class RandomFaults:
    """ASGI middleware: each request gets a fault at random, as from a flaky API, drawn
    from ``rng`` (seeded by the caller, so a run can be repeated) with ``rates``.

    ``error`` and ``throttle`` answer before the simulator sees the request: nothing is
    applied and ``state.requests`` does not have it. ``malformed`` and ``lost`` let the
    simulator handle it first (logged with the status it gave) and spoil the answer. A
    lost answer stands for a timeout after the request was sent (the client's read timeout
    is too long for a test, and a closed connection takes the same path through it).
    ``enabled`` turns the faults off and on; ``log`` lists every fault given. ``sleep`` is
    injectable so tests never sleep.
    """

    def __init__(
        self,
        app: ASGIApp,
        rates: FaultRates,
        rng: random.Random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.app = app
        self.rates = rates
        self.rng = rng
        self.enabled = True
        self.log: list[RandomFault] = []
        self._sleep = sleep
        uvicorn_errors = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _QuietLostAnswers) for f in uvicorn_errors.filters):
            uvicorn_errors.addFilter(_QuietLostAnswers())  # a lost answer is meant

    def _draw(self) -> FaultKind | None:
        roll = self.rng.random()
        for kind in _KINDS:
            roll -= getattr(self.rates, kind)
            if roll < 0:
                return kind
        return None

    def _refusal(self, kind: FaultKind) -> tuple[int, list[tuple[bytes, bytes]]]:
        """The status and Retry-After header (if any) of an error or throttle fault."""
        if kind == "throttle":
            return 429, [(b"retry-after", b"1" if self.rng.random() < 0.2 else b"0")]
        status = self.rng.choice([500, 502, 503, 504])
        if status == 503 and self.rng.random() < 0.5:
            return status, [(b"retry-after", b"0")]
        return status, []

    def _note(self, scope: Scope, kind: FaultKind, detail: str) -> None:
        self.log.append(RandomFault(scope["method"], scope["path"], kind, detail))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = self._draw() if scope["type"] == "http" and self.enabled else None
        if kind is None:
            await self.app(scope, receive, send)
        elif kind in ("error", "throttle"):
            status, headers = self._refusal(kind)
            body = json.dumps({"message": f"random fault: HTTP {status}"}).encode()
            self._note(scope, kind, " ".join([str(status), *(v.decode() for _k, v in headers)]))
            await _send_whole(
                send, status, [*headers, (b"content-type", b"application/json")], body
            )
        elif kind == "slow":
            delay = round(self.rng.uniform(0, self.rates.max_delay), 3)
            self._note(scope, kind, f"{delay} s")
            await self._sleep(delay)
            await self.app(scope, receive, send)
        else:
            status, headers, body = await _answer_of(self.app, scope, receive)
            if kind == "lost":
                self._note(scope, kind, f"handled with {status}, answer lost")
                length = b"%d" % max(1, len(body))
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [(b"content-length", length)],
                    }
                )
                raise AnswerLost(f"{scope['method']} {scope['path']}")
            if 200 <= status < 300 and body:
                self._note(scope, kind, f"{status}, {len(body) // 2} of {len(body)} bytes")
                body = body[: len(body) // 2]
            await _send_whole(send, status, headers, body)


async def _answer_of(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    """The status, headers (without Content-Length) and body ``app`` answers with."""
    start: Message = {}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, keep)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return int(start["status"]), headers, b"".join(chunks)


async def _send_whole(send: Send, status: int, headers: list[Any], body: bytes) -> None:
    length = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers + length})
    await send({"type": "http.response.body", "body": body})
