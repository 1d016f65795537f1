"""B2CORE back-office simulator: a Starlette app serving calendar events under ``/api/v2``.

Follows shared/apis/b2core.md and the B2CORE reference (seed 003), choosing where they are
silent (each choice is marked "sim:" below or in events.py / state.py):

- ``POST /api/v2/signin {email, password}`` -> ``{2faRequired, accessToken: {token,
  createdAt, expiresAt}, refreshToken: {...}}``; 401 on bad credentials, 422 on missing.
- ``POST /api/v2/refresh {refreshToken}`` -> a new pair (sim: the path is a guess, the
  old refresh token stops working; ``auth.refresh_enabled = False`` answers 404).
- Every other call needs ``Authorization: Bearer <token>``: a static token, or an access
  token not yet expired by the state's clock; else 401 ``{"message": "Unauthenticated."}``.
- ``GET /api/v2/calendars/events``: ``limit`` (sim: default 10, 1..1000) and ``offset``,
  ``filter[...]``, ``sort_by``, ``sort_order``; a bare array or a wrapped one with
  ``total`` (``state.list_shape``).
- ``GET|PUT|PATCH|DELETE /api/v2/calendars/events/{id}``, ``POST /api/v2/calendars/events``
  (201); PUT replaces every field (missing optional ones are cleared), PATCH changes the
  given ones; DELETE answers 204 without a body; an unknown id is 404.
- Errors carry ``{"message": str}`` and, for 422, ``"errors": {field: [text]}``.
- ``Content-Language`` echoes the first tag of ``Accept-Language`` (default ``en``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.simulators.b2core.events import ApiError
from icsbridge.daemon.simulators.b2core.seed import demo_secret_files, demo_source
from icsbridge.daemon.simulators.b2core.state import B2coreSimState
from icsbridge.daemon.simulators.common import (
    bearer_token,
    json_body,
    json_response,
    log_request,
    request_target,
    retry_after_headers,
)

__all__ = ["B2coreSimState", "create_app", "demo_secret_files", "demo_source"]

EVENTS = "/api/v2/calendars/events"
_AUTH_PATHS = ("/api/v2/signin", "/api/v2/refresh")

Reply = tuple[int, Any]
Handler = Callable[[B2coreSimState, Request, Any], Reply]


def create_app(state: B2coreSimState) -> Starlette:
    """The ASGI app over ``state`` (shared, not copied: tests change it between calls)."""

    def route(path: str, handler: Handler, methods: list[str], *, auth: bool = True) -> Route:
        return Route(path, _endpoint(state, handler, auth=auth), methods=methods)

    one = EVENTS + "/{event_id}"
    routes = [
        route("/api/v2/signin", signin, ["POST"], auth=False),
        route("/api/v2/refresh", refresh, ["POST"], auth=False),
        route(EVENTS, list_events, ["GET"]),
        route(EVENTS, create_event, ["POST"]),
        route(one, get_event, ["GET"]),
        route(one, put_event, ["PUT"]),
        route(one, patch_event, ["PATCH"]),
        route(one, delete_event, ["DELETE"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        text = "Method Not Allowed." if status == 405 else "Not Found."

        def refuse(_state: B2coreSimState, _request: Request, _body: Any) -> Reply:
            raise ApiError(status, text)

        return await _endpoint(state, refuse, auth=True)(request)

    return Starlette(routes=routes, exception_handlers={404: http_error, 405: http_error})


# ---- request pipeline ------------------------------------------------------------------
def _endpoint(
    state: B2coreSimState, handler: Handler, *, auth: bool
) -> Callable[[Request], Awaitable[Response]]:
    async def serve(request: Request) -> Response:
        raw = await request.body()
        hide_body = request.url.path in _AUTH_PATHS
        entry = log_request(state, request, raw, request_target(request), hide_body=hide_body)
        response = _answer(state, request, handler, auth, raw)
        language = request.headers.get("accept-language", "en").split(",")[0].split(";")[0]
        response.headers["Content-Language"] = language.strip() or "en"
        entry.status = response.status_code
        return response

    return serve


def _answer(
    state: B2coreSimState, request: Request, handler: Handler, auth: bool, raw: bytes
) -> Response:
    shown = unquote(request.url.path + "?" + request.url.query)
    fault = state.take_fault(request.method, shown, transform=False)
    if fault is not None:
        body = fault.body
        if body is None:
            body = json.dumps({"message": f"simulated HTTP {fault.status}"}).encode()
        return json_response(fault.status, body, retry_after_headers(fault))
    try:
        if auth:
            problem = state.token_problem(bearer_token(request))
            if problem is not None:
                raise ApiError(401, problem)
        body = None
        if request.method in ("POST", "PUT", "PATCH"):
            body = json_body(raw, ApiError(400, "The request body is not valid JSON."))
        status, payload = handler(state, request, body)
    except ApiError as err:
        return json_response(err.status, json.dumps(err.body()).encode())
    if status == 204:
        return Response(status_code=204)
    payload = state.rewritten(request.method, shown, status, payload)
    return json_response(status, json.dumps(payload).encode())


def _object(state: B2coreSimState, event: dict[str, Any]) -> Any:
    payload = dict(event)
    return {"data": payload} if state.list_shape == "data" else payload


# ---- handlers --------------------------------------------------------------------------
def signin(state: B2coreSimState, _request: Request, body: Any) -> Reply:
    return state.signin(body)


def refresh(state: B2coreSimState, _request: Request, body: Any) -> Reply:
    return state.refresh(body)


def list_events(state: B2coreSimState, request: Request, _body: Any) -> Reply:
    page, total = state.list_events(dict(request.query_params))
    items = [dict(event) for event in page]
    if state.list_shape == "bare":
        return 200, items
    return 200, {state.list_shape: items, "total": total}


def create_event(state: B2coreSimState, _request: Request, body: Any) -> Reply:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    event_id = state.add_event(body)
    return 201, _object(state, state.events[event_id])


def get_event(state: B2coreSimState, request: Request, _body: Any) -> Reply:
    return 200, _object(state, state.event(request.path_params["event_id"]))


def put_event(state: B2coreSimState, request: Request, body: Any) -> Reply:
    event = state.update_event(request.path_params["event_id"], body, replace=True)
    return 200, _object(state, event)


def patch_event(state: B2coreSimState, request: Request, body: Any) -> Reply:
    event = state.update_event(request.path_params["event_id"], body, replace=False)
    return 200, _object(state, event)


def delete_event(state: B2coreSimState, request: Request, _body: Any) -> Reply:
    state.delete_event(request.path_params["event_id"])
    return 204, None
