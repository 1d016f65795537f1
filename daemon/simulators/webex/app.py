"""Webex Calling simulator: a Starlette app serving the schedule API under ``/v1``.

It follows the icsbridge Webex wire contract (shared/apis/webex.md and the helpers brief):
bearer auth (401), orgId (403), Link-header paging with ``max``/``start``, the Webex error
body, ``trackingid`` echo, OAuth refresh with optional rotation, ids that change on rename,
per-level capability checks and startDate normalisation. All data lives in the
:class:`WebexSimState` given to :func:`create_app`; tests change it between requests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.simulators.common import (
    Latency,
    bearer_token,
    json_body,
    json_response,
    log_request,
    request_target,
    retry_after_headers,
)
from icsbridge.daemon.simulators.webex.events import ApiError, check_schedule_type
from icsbridge.daemon.simulators.webex.state import WebexSimState
from icsbridge.daemon.simulators.webex.store import (
    Owner,
    SimLocation,
    SimPerson,
    SimSchedule,
    event_payload,
    schedule_id_of,
)

__all__ = ["WebexSimState", "create_app"]

DEFAULT_PAGE_SIZE = 100
ERROR_GENERIC = 0


@dataclass
class Call:
    """What a handler needs from a request."""

    params: dict[str, str]
    query: QueryParams
    url: Any  # starlette URL, used to build absolute Link headers
    body: Any = None
    raw: bytes = b""


@dataclass
class Reply:
    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[WebexSimState, Call], Reply]
Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(state: WebexSimState, *, latency: float = 0.0) -> Starlette:
    """The ASGI app over ``state`` (shared, not copied: tests mutate it between calls).

    ``latency`` (seconds) delays every request, as a network would (see :class:`Latency`).
    """
    people = "/v1/people/{person_id}/features/schedules"
    locations = "/v1/telephony/config/locations/{location_id}/schedules"

    def route(path: str, handler: Handler, methods: list[str], *, auth: bool = True) -> Route:
        return Route(path, _endpoint(state, handler, auth=auth), methods=methods)

    routes = [
        route("/v1/access_token", access_token, ["POST"], auth=False),
        route("/v1/people/{person_id}", get_person, ["GET"]),
        route("/v1/telephony/config/people/{person_id}", get_person_calling, ["GET"]),
        route("/v1/locations", list_locations, ["GET"]),
        route("/v1/locations/{location_id}", get_location, ["GET"]),
    ]
    for prefix in (people, locations):
        one = prefix + "/{type}/{schedule_id}"
        routes += [
            route(prefix, list_schedules, ["GET"]),
            route(prefix, create_schedule, ["POST"]),
            route(one, get_schedule, ["GET"]),
            route(one, put_schedule, ["PUT"]),
            route(one, delete_schedule, ["DELETE"]),
            route(one + "/events", create_event, ["POST"]),
            route(one + "/events/{event_id}", get_event, ["GET"]),
            route(one + "/events/{event_id}", put_event, ["PUT"]),
            route(one + "/events/{event_id}", delete_event, ["DELETE"]),
        ]

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        text = "method not allowed" if status == 405 else f"{request.url.path} not found"

        def refuse(_state: WebexSimState, _call: Call) -> Reply:
            raise ApiError(status, text, ERROR_GENERIC)

        return await _endpoint(state, refuse, auth=True)(request)

    middleware = [Middleware(Latency, seconds=latency)] if latency > 0 else []
    return Starlette(
        routes=routes,
        exception_handlers={404: http_error, 405: http_error},
        middleware=middleware,
    )


# ---- request pipeline ------------------------------------------------------------------
def _endpoint(state: WebexSimState, handler: Handler, *, auth: bool) -> Endpoint:
    async def serve(request: Request) -> Response:
        raw = await request.body()
        tracking = request.headers.get("trackingid") or f"SIMULATOR_{uuid.uuid4()}"
        target = request_target(request)
        hide_body = target.startswith("/v1/access_token")
        entry = log_request(state, request, raw, target, hide_body=hide_body)
        response = _answer(state, request, handler, auth, raw, target, tracking)
        response.headers["trackingid"] = tracking
        entry.status = response.status_code
        return response

    return serve


def _answer(
    state: WebexSimState,
    request: Request,
    handler: Handler,
    auth: bool,
    raw: bytes,
    target: str,
    tracking: str,
) -> Response:
    fault = state.take_fault(request.method, target, transform=False)
    if fault is not None:
        headers = retry_after_headers(fault)
        if fault.body is not None:
            return json_response(fault.status, fault.body, headers)
        return _error(
            fault.status, f"simulated HTTP {fault.status}", ERROR_GENERIC, tracking, headers
        )
    try:
        if auth:
            _check_auth(state, request)
        call = Call(dict(request.path_params), request.query_params, request.url, raw=raw)
        if auth and request.method in ("POST", "PUT"):
            call.body = json_body(raw, ApiError(400, "the request body is not valid JSON"))
        reply = handler(state, call)
    except ApiError as err:
        return _error(err.status, err.description, err.error_code, tracking)
    if reply.status == 204:
        return Response(status_code=204, headers=reply.headers)
    payload = state.rewritten(request.method, target, reply.status, reply.payload)
    return json_response(reply.status, json.dumps(payload).encode(), reply.headers)


def _check_auth(state: WebexSimState, request: Request) -> None:
    problem = state.token_problem(bearer_token(request))
    if problem is not None:
        raise ApiError(401, problem, ERROR_GENERIC)
    org_id = request.query_params.get("orgId")
    if org_id is not None and org_id != state.org_id:
        raise ApiError(
            403, f"orgId {org_id} is not an organization this token can access", ERROR_GENERIC
        )


def _error(
    status: int,
    description: str,
    code: int,
    tracking: str,
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "message": description,
        "errors": [{"description": description, "errorCode": code}],
        "trackingId": tracking,
    }
    return json_response(status, json.dumps(body).encode(), headers)


def _page(call: Call, items: list[dict[str, Any]], key: str) -> Reply:
    """One page of ``items`` under ``key``, with a Link to the next page when one exists."""
    size = _int_query(call.query, "max", DEFAULT_PAGE_SIZE, minimum=1)
    start = _int_query(call.query, "start", 0, minimum=0)
    reply = Reply(payload={key: items[start : start + size]})
    if start + size < len(items):
        next_url = call.url.include_query_params(start=start + size, max=size)
        reply.headers["Link"] = f'<{next_url}>; rel="next"'
    return reply


def _int_query(query: QueryParams, name: str, default: int, *, minimum: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    if not value.isdigit() or int(value) < minimum:
        raise ApiError(400, f"query parameter {name} must be a whole number >= {minimum}")
    return int(value)


# ---- handlers: auth and directory ------------------------------------------------------
def access_token(state: WebexSimState, call: Call) -> Reply:
    form = dict(parse_qsl(call.raw.decode("utf-8", "replace")))
    status, body = state.refresh(form)
    return Reply(status, body)


def get_person(state: WebexSimState, call: Call) -> Reply:
    person = state.person(call.params["person_id"])
    payload: dict[str, Any] = {
        "id": person.id,
        "displayName": person.display_name,
        "emails": list(person.emails),
        "orgId": state.org_id,
    }
    if call.query.get("callingData") == "true" and person.location_id:
        payload["locationId"] = person.location_id
    return Reply(payload=payload)


def get_person_calling(state: WebexSimState, call: Call) -> Reply:
    person = state.person(call.params["person_id"])
    return Reply(payload={} if person.time_zone is None else {"timeZone": person.time_zone})


def _location_json(location: SimLocation) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": location.id, "name": location.name}
    if location.time_zone is not None:
        payload["timeZone"] = location.time_zone
    payload["address"] = dict(location.address)
    return payload


def list_locations(state: WebexSimState, call: Call) -> Reply:
    items = [_location_json(location) for location in state.locations.values()]
    return _page(call, items, "items")


def get_location(state: WebexSimState, call: Call) -> Reply:
    return Reply(payload=_location_json(state.location(call.params["location_id"])))


# ---- handlers: schedules and events ----------------------------------------------------
def _owner(state: WebexSimState, call: Call) -> Owner:
    if "person_id" in call.params:
        return state.person(call.params["person_id"])
    return state.location(call.params["location_id"])


def _schedule(state: WebexSimState, call: Call) -> tuple[Owner, SimSchedule]:
    owner = _owner(state, call)
    schedule_type = check_schedule_type(call.params["type"])
    return owner, state.find_schedule(owner, schedule_type, call.params["schedule_id"])


def _object_body(call: Call) -> dict[str, Any]:
    if not isinstance(call.body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return call.body


def list_schedules(state: WebexSimState, call: Call) -> Reply:
    owner = _owner(state, call)
    wanted_type = call.query.get("type")
    if wanted_type is not None:
        check_schedule_type(wanted_type)
    wanted_name = call.query.get("name")
    rows: list[dict[str, Any]] = []
    sources: list[Owner] = [owner]
    if isinstance(owner, SimPerson) and (shared := state.location_of(owner)) is not None:
        sources.append(shared)
    for source in sources:
        for schedule in source.schedules:
            if wanted_type not in (None, schedule.type) or wanted_name not in (None, schedule.name):
                continue
            row = {"id": schedule_id_of(source, schedule), "name": schedule.name}
            row["type"] = schedule.type
            if isinstance(owner, SimPerson):
                row["level"] = source.level
            else:
                row.update(locationName=owner.name, locationId=owner.id)
            rows.append(row)
    return _page(call, rows, "schedules")


def create_schedule(state: WebexSimState, call: Call) -> Reply:
    body = _object_body(call)
    owner = _owner(state, call)
    new_id = state.create_schedule(owner, body.get("type"), body.get("name"), body.get("events"))
    return Reply(payload={"id": new_id})


def get_schedule(state: WebexSimState, call: Call) -> Reply:
    owner, schedule = _schedule(state, call)
    events = [event_payload(owner, event) for event in schedule.events.values()]
    payload = {"id": schedule_id_of(owner, schedule), "name": schedule.name}
    return Reply(payload={**payload, "type": schedule.type, "events": events})


def put_schedule(state: WebexSimState, call: Call) -> Reply:
    body = _object_body(call)
    owner, schedule = _schedule(state, call)
    if body.get("name") != schedule.name:
        raise ApiError(
            400,
            f"name must be the schedule's current name {schedule.name!r}; send newName to rename",
        )
    new_id = state.update_schedule(owner, schedule, body.get("newName"), body.get("events"))
    return Reply(payload={"id": new_id})


def delete_schedule(state: WebexSimState, call: Call) -> Reply:
    owner, schedule = _schedule(state, call)
    state.drop_schedule(owner, schedule)
    return Reply(204)


def create_event(state: WebexSimState, call: Call) -> Reply:
    owner, schedule = _schedule(state, call)
    return Reply(payload={"id": state.create_event(owner, schedule, _object_body(call))})


def get_event(state: WebexSimState, call: Call) -> Reply:
    owner, schedule = _schedule(state, call)
    event = state.find_event(owner, schedule, call.params["event_id"])
    return Reply(payload=event_payload(owner, event))


def put_event(state: WebexSimState, call: Call) -> Reply:
    body = _object_body(call)
    owner, schedule = _schedule(state, call)
    event = state.find_event(owner, schedule, call.params["event_id"])
    return Reply(payload={"id": state.update_event(owner, schedule, event["name"], body)})


def delete_event(state: WebexSimState, call: Call) -> Reply:
    owner, schedule = _schedule(state, call)
    event = state.find_event(owner, schedule, call.params["event_id"])
    state.drop_event(owner, schedule, event["name"])
    return Reply(204)
