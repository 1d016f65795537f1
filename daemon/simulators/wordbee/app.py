"""Wordbee Translator API 2 simulator: token login and the person calendar view, under /api.

Follows shared/apis/wordbee.md and the seed's example:

- ``POST /api/auth/token`` ``{"accountid", "key"}`` -> the token as a bare JSON string
  (wrong credentials: 401 with a Wordbee error body). ``DELETE /api/auth/token`` ends it.
- Every other call needs ``X-Auth-Token`` and ``X-Auth-AccountId``; a token idle for
  30 minutes (``state.auth.idle_lifetime``, on the injected clock) or unknown gets
  ``state.auth.expired_status`` (401, or 400) with the title "The token is invalid or
  has expired".
- ``GET /api/persons/{uid}/calendar/view?range=m&year=&month=`` (or ``range=d&...&day=``;
  year and month default to today's) -> see :mod:`.calendar`.
- More than ``state.calls_per_hour`` calls of an account in a sliding hour -> 429
  ``{"error": {"type": "Throttling error", "message": "... 1000 per 01:00:00"}}`` without
  Retry-After.
- Errors: ``{"error": {"operation", "date", "title", "details", "messages"}, "reason"}``.

Faults (``state.inject``/``state.mangle``) and a request log (``state.requests``, token
and login body withheld) serve the tests; :func:`demo_source` and
:func:`demo_secret_files` serve ``icsbridge demo``.
"""

from __future__ import annotations

import calendar as calendar_module
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.simulators.common import (
    json_response,
    log_request,
    request_target,
    retry_after_headers,
)
from icsbridge.daemon.simulators.wordbee.state import DEMO_ACCOUNT, DEMO_KEY, WordbeeSimState

__all__ = [
    "DEMO_KEY_FILE",
    "WordbeeSimState",
    "create_app",
    "demo_secret_files",
    "demo_source",
]

DEMO_SOURCE_NAME = "wordbee-demo"
DEMO_KEY_FILE = "wordbee-demo-key"
DEMO_PERSONS = (143, 3)


class ApiError(Exception):
    def __init__(self, status: int, title: str, details: str = "") -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.details = details


Handler = Callable[[WordbeeSimState, Request, bytes], Any]


def create_app(state: WordbeeSimState) -> Starlette:
    """The ASGI app over ``state`` (shared, not copied: tests change it between calls)."""

    def route(path: str, handler: Handler, method: str, *, auth: bool = True) -> Route:
        return Route(path, _endpoint(state, handler, auth=auth), methods=[method])

    async def not_found(request: Request, _exc: Exception) -> Response:
        return _error(state, request, ApiError(404, "Not found", f"{request.url.path} is no API"))

    return Starlette(
        routes=[
            route("/api/auth/token", _login, "POST", auth=False),
            route("/api/auth/token", _logout, "DELETE"),
            route("/api/persons/{uid}/calendar/view", _calendar_view, "GET"),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )


def _endpoint(
    state: WordbeeSimState, handler: Handler, *, auth: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        raw = await request.body()
        target = request_target(request)
        hide_body = request.url.path.endswith("/auth/token")
        entry = log_request(
            state, request, raw, target, secret_headers=("x-auth-token",), hide_body=hide_body
        )
        response = _answer(state, request, handler, raw, target, auth=auth)
        entry.status = response.status_code
        return response

    return serve


def _answer(
    state: WordbeeSimState,
    request: Request,
    handler: Handler,
    raw: bytes,
    target: str,
    *,
    auth: bool,
) -> Response:
    fault = state.take_fault(request.method, target, transform=False)
    if fault is not None:
        headers = retry_after_headers(fault)
        if fault.body is not None:
            return _json(fault.body, fault.status, headers)
        simulated = ApiError(fault.status, f"Simulated HTTP {fault.status}")
        return _error(state, request, simulated, headers)
    account = request.headers.get("x-auth-accountid") if auth else _login_account(raw)
    if account and state.over_quota(account):
        limit = state.calls_per_hour
        message = f"Too many requests. The limit is {limit} per 01:00:00"
        return _json({"error": {"type": "Throttling error", "message": message}}, 429)
    try:
        if auth:
            title = state.check_token(request.headers.get("x-auth-token"), account)
            if title is not None:
                raise ApiError(state.auth.expired_status, title, "Log in again")
        payload = handler(state, request, raw)
    except ApiError as err:
        return _error(state, request, err)
    return _json(state.rewritten(request.method, target, 200, payload), 200)


def _login_account(raw: bytes) -> str | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    account = body.get("accountid") if isinstance(body, dict) else None
    return account if isinstance(account, str) else None


# ---- handlers --------------------------------------------------------------------------


def _login(state: WordbeeSimState, _request: Request, raw: bytes) -> Any:
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "Invalid request", "The body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request", "Expected accountid and key")
    token = state.login(body.get("accountid"), body.get("key"))
    if token is None:
        raise ApiError(401, "Authentication failed", "The account id or the key is wrong")
    return token


def _logout(state: WordbeeSimState, request: Request, _raw: bytes) -> Any:
    return state.logout(request.headers.get("x-auth-token"))


def _calendar_view(state: WordbeeSimState, request: Request, _raw: bytes) -> Any:
    try:
        uid = int(request.path_params["uid"])
    except ValueError:
        raise ApiError(400, "Invalid parameter", "uid must be a number") from None
    person = state.persons.get(uid)
    if person is None:
        raise ApiError(404, "Not found", f"Person {uid} does not exist")
    query = request.query_params
    today = state.now().astimezone(person.zone).date()
    try:
        year = int(query.get("year", today.year))
        month = int(query.get("month", today.month))
        mode = query.get("range")
        if mode == "m":
            days = state.month_days(year, month)
        elif mode == "d":
            day = int(query["day"])
            days = [date(year, month, day)]
        else:
            raise ApiError(400, "Invalid parameter", 'range must be "m" or "d"')
    except (ValueError, KeyError):
        raise ApiError(400, "Invalid parameter", "year, month or day is wrong") from None
    if not 1 <= month <= 12 or days[-1].day > calendar_module.monthrange(year, month)[1]:
        raise ApiError(400, "Invalid parameter", "no such month")
    return state.view(person, days, state.now())


# ---- responses -------------------------------------------------------------------------


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return json_response(status, body, headers)


def _error(
    state: WordbeeSimState,
    request: Request,
    err: ApiError,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "error": {
            "operation": f"{request.method} {request.url.path}",
            "date": state.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "title": err.title,
            "details": err.details,
            "messages": [],
        },
        "reason": err.title,
    }
    return _json(body, err.status, headers)


# ---- demo hooks ------------------------------------------------------------------------


def demo_source(base_url: str) -> str:
    """The ``[[sources]]`` TOML block of the demo, reading the simulator at ``base_url``
    (e.g. ``http://127.0.0.1:8123/api``); its key lives in :data:`DEMO_KEY_FILE`."""
    persons = ", ".join(str(uid) for uid in DEMO_PERSONS)
    return (
        "[[sources]]\n"
        f'name = "{DEMO_SOURCE_NAME}"\n'
        'kind = "wordbee"\n'
        f'base_url = "{base_url}"\n'
        'interval = "15m"\n'
        f'account_id = "{DEMO_ACCOUNT}"\n'
        f'key = "file:{DEMO_KEY_FILE}"\n'
        f"persons = [{persons}]\n"
        'timezone = "Europe/Paris"\n'
    )


def demo_secret_files() -> dict[str, str]:
    """File name (next to the demo config) -> content, for the demo's secrets."""
    return {DEMO_KEY_FILE: f"{DEMO_KEY}\n"}
