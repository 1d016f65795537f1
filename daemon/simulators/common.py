"""What every API simulator shares: the request log, fault injection, the clock, plumbing.

Each simulator's state class derives from :class:`SimState` and keeps its API's quirks
(auth, paging, error bodies) to itself. Tests use the same controls everywhere:

- ``state.requests``: every request as the simulator saw it (:class:`SimRequest`), secrets
  withheld, with the status it got;
- ``state.inject(status, ...)``: answer the next matching requests with ``status`` instead
  of running the handler (the body is the API's error body unless ``body`` overrides it);
- ``state.mangle(transform, ...)``: rewrite the next matching successful JSON answers;
- ``state.now``: the only clock the simulator reads (token expiry, quotas, stamps);
- ``simulators.faults.RandomFaults`` around any simulator's app: faults drawn at random
  from a seeded generator (5xx, 429, slow, malformed and lost answers), for soak tests.

The Starlette helpers at the end are the request plumbing the apps have in common.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Transform = Callable[[Any], Any]
Clock = Callable[[], datetime]
BodyT = TypeVar("BodyT")

REDACTED = "<redacted>"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})


def utc_now() -> datetime:
    """The wall clock, for simulators run without an injected one (the demo)."""
    return datetime.now(UTC)


@dataclass
class SimRequest:
    """One request as the simulator saw it. Credentials are never kept."""

    method: str
    path: str  # path + "?" + query string when there is one
    headers: dict[str, str]
    body: bytes = b""
    status: int = 0  # filled in when the response is built

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.path).query))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault(Generic[BodyT]):
    """An injected answer (or a rewrite of the real one) for the next ``remaining``
    matching requests. ``body`` is what the simulator sends instead of its error body:
    raw bytes for most APIs, JSON for Wordbee."""

    status: int
    remaining: int
    retry_after: int | None = None
    path_contains: str | None = None
    method: str | None = None
    body: BodyT | None = None
    transform: Transform | None = None  # rewrites the real JSON answer instead

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path


class SimState(Generic[BodyT]):
    """The test controls of a simulator: clock, faults and request log (see the module doc).

    ``BodyT`` is the type of an injected fault's ``body``.
    """

    def __init__(self, now: Clock | None = None) -> None:
        self.now: Clock = now or utc_now
        self.faults: list[Fault[BodyT]] = []
        self.requests: list[SimRequest] = []

    # ---- faults --------------------------------------------------------------------
    def inject(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        path_contains: str | None = None,
        method: str | None = None,
        body: BodyT | None = None,
    ) -> Fault[BodyT]:
        """Answer the next ``times`` matching requests with ``status``.

        The body is the API's error body unless ``body`` overrides it (e.g. broken JSON
        with a 200). ``Retry-After`` is sent when ``retry_after`` is given. Matching is a
        substring of path+query (as each simulator spells it) and, optionally, the method.
        """
        fault = Fault(status, times, retry_after, path_contains, method, body)
        self.faults.append(fault)
        return fault

    def mangle(
        self,
        transform: Transform,
        *,
        times: int = 1,
        path_contains: str | None = None,
        method: str | None = None,
    ) -> Fault[BodyT]:
        """Rewrite the real JSON answer of the next ``times`` matching successful requests.

        Example (a Webex schedule GET missing ``events``):
        ``state.mangle(lambda body: {k: v for k, v in body.items() if k != "events"},
        path_contains="/businessHours/")``.
        """
        fault: Fault[BodyT] = Fault(200, times, None, path_contains, method, transform=transform)
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str, path: str, *, transform: bool) -> Fault[BodyT] | None:
        """Consume the first matching fault of the given kind (transform or status)."""
        for fault in self.faults:
            if (fault.transform is not None) == transform and fault.matches(method, path):
                fault.remaining -= 1
                return fault
        return None

    def rewritten(self, method: str, path: str, status: int, payload: Any) -> Any:
        """``payload`` after the first matching mangle. The mangle is used up even when
        ``status`` is not a success, which is then answered unchanged."""
        mangle = self.take_fault(method, path, transform=True)
        if mangle is not None and mangle.transform is not None and status < 300:
            return mangle.transform(payload)
        return payload

    # ---- request log ---------------------------------------------------------------
    def logged(
        self,
        *,
        methods: Collection[str] | None = None,
        path_has: str | None = None,
        path_lacks: str | None = None,
    ) -> list[SimRequest]:
        """Logged requests with one of ``methods`` (None: any) whose path+query contains
        ``path_has`` and does not contain ``path_lacks`` (each when given)."""
        return [
            r
            for r in self.requests
            if (methods is None or r.method in methods)
            and (path_has is None or path_has in r.path)
            and (path_lacks is None or path_lacks not in r.path)
        ]


# ---- Starlette plumbing -----------------------------------------------------------------
def request_target(request: Request, path: str | None = None) -> str:
    """``path`` (default: the decoded URL path) + "?" + the query string when there is one."""
    query = request.url.query
    return (request.url.path if path is None else path) + (f"?{query}" if query else "")


def log_request(
    state: SimState[Any],
    request: Request,
    raw: bytes,
    target: str,
    *,
    secret_headers: Collection[str] = ("authorization",),
    hide_body: bool = False,
) -> SimRequest:
    """Append ``request`` to ``state.requests`` with its secrets withheld; the caller sets
    ``status`` on the returned entry once the response is built."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        # lowercased so that no spelling of a secret header escapes redaction
        headers.setdefault(name.lower(), value)
    for name in secret_headers:
        if name in headers:
            headers[name] = REDACTED
    entry = SimRequest(request.method, target, headers, REDACTED.encode() if hide_body else raw)
    state.requests.append(entry)
    return entry


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, None when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def json_body(raw: bytes, invalid: Exception) -> Any:
    """The request body as JSON (None when blank); raises ``invalid`` when it is not JSON."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise invalid from None


def retry_after_headers(fault: Fault[Any]) -> dict[str, str]:
    return {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}


def json_response(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response:
    """An answer whose body is already JSON bytes (or, from a fault, whatever it says)."""
    return Response(body, status_code=status, headers=headers, media_type="application/json")


class Latency:
    """ASGI middleware: every HTTP request waits ``seconds`` before it is handled, like an
    API across a network (the benchmarks serve a simulator on loopback with 20 ms).

    The wait is asynchronous, so requests in flight overlap as they would against a real
    server. ``sleep`` is injectable so tests never sleep.
    """

    def __init__(
        self,
        app: ASGIApp,
        seconds: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if seconds < 0:
            raise ValueError(f"latency must not be negative, not {seconds}")
        self.app = app
        self.seconds = seconds
        self._sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.seconds > 0:
            await self._sleep(self.seconds)
        await self.app(scope, receive, send)
