"""APIO simulator: a Starlette app serving the group schedule API of seed 001 / apio.md.

Mounts (one app serves both deployments):

- gateway ``/api/v1/...``: ``POST /api/v1/login/`` sets the ``sessionid`` cookie that every
  other call needs;
- APIO Core ``/api/v01/<proxy>/...`` (proxies in ``state.proxies``), with
  ``POST /api/v01/auth/login`` and ``GET /api/v01/auth/access_token`` (no trailing slash,
  as documented); calls need ``Authorization: Bearer <access or machine token>``.

Below either prefix: ``/tenants/{t}/groups/{g}/<family>/[<schedule>/[<period>/]]`` and the
tenant-level ``/tenants/{t}/<family>/...``, family one of ``time_schedules``,
``calendar_schedules``, ``advanced_time_schedules``, ``advanced_calendar_schedules``.

Quirks kept: every API URL must end with ``/`` (else 404); names are the keys, percent-
encoded in the path (routing reads the raw path, so ``%2F`` stays inside a name);
``full_list`` and ``allLevels`` are read from the query string or a JSON body on GET; a
schedule PUT takes ``periods`` entries with ``newName`` or ``delete: true`` (or new ones)
and answers 207 when some apply and some fail (assumed body: the schedule as GET
``full_list`` shows it plus ``errors: [{name, message}]``); reading an advanced-only
schedule through its simple family answers 400 with sub-code 62; error bodies come in the
four shapes of :func:`~icsbridge.daemon.simulators.apio.store.error_body`; 401 on a missing or
expired session or token. Creations answer 201 (unverified).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icsbridge.daemon.simulators.apio.seed import demo_secret_files, demo_source
from icsbridge.daemon.simulators.apio.state import ApioSimState
from icsbridge.daemon.simulators.apio.store import (
    STORES,
    ApiError,
    SimSchedule,
    SimScope,
    apply_period_change,
    check_period,
    error_body,
)
from icsbridge.daemon.simulators.common import (
    bearer_token,
    json_body,
    json_response,
    log_request,
    request_target,
    retry_after_headers,
)

__all__ = ["ApioSimState", "create_app", "demo_secret_files", "demo_source"]

SESSION_COOKIE = "sessionid"
_CREDENTIAL_PATHS = ("/api/v1/login/", "/api/v01/auth/login")


@dataclass
class Call:
    """What a handler needs: where (scope, store, names), flags and the JSON body."""

    state: ApioSimState
    scope: SimScope
    tenant_scope: SimScope | None  # the tenant's own schedules, when the scope is a group
    store: str
    names: list[str]  # [] | [schedule] | [schedule, period]
    flags: dict[str, bool]
    body: Any


def create_app(state: ApioSimState) -> Starlette:
    """The ASGI app over ``state`` (shared, not copied: tests change it between calls)."""

    async def serve(request: Request) -> Response:
        raw = await request.body()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        path = raw_path.decode("ascii", "replace").split("?", 1)[0]
        target = request_target(request, path)
        entry = log_request(
            state,
            request,
            raw,
            target,
            secret_headers=("authorization", "cookie"),
            hide_body=path.startswith(_CREDENTIAL_PATHS),
        )
        response = _answer(state, request, path, target, raw)
        entry.status = response.status_code
        return response

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/{rest:path}", serve, methods=methods)])


def _answer(state: ApioSimState, request: Request, path: str, target: str, raw: bytes) -> Response:
    fault = state.take_fault(request.method, target, transform=False)
    # state.inject gives every fault a body: the APIO error body of the chosen shape
    if fault is not None and fault.body is not None:
        return json_response(fault.status, fault.body, retry_after_headers(fault))
    try:
        status, payload, headers = _route(state, request, path, raw)
    except ApiError as err:
        return _json(
            err.status, error_body(err.shape, err.message, code=err.code, summary=err.summary)
        )
    payload = state.rewritten(request.method, target, status, payload)
    return _json(status, payload, headers)


def _route(
    state: ApioSimState, request: Request, path: str, raw: bytes
) -> tuple[int, Any, dict[str, str]]:
    method = request.method
    if path == "/api/v01/auth/login" and method == "POST":
        return 200, state.core_login(_body(raw)), {}
    if path == "/api/v01/auth/access_token" and method == "GET":
        return 200, state.core_refresh(bearer_token(request)), {}
    if path == "/api/v1/login/" and method == "POST":
        session = state.gateway_login(_body(raw))
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"
        return 200, {}, {"Set-Cookie": cookie}
    if not path.endswith("/"):
        raise ApiError(404, f"{path} not found (APIO URLs end with /)", shape="error")
    parts = [unquote(p) for p in path.strip("/").split("/")]
    if parts[:2] == ["api", "v1"]:
        problem = state.session_problem(request.cookies.get(SESSION_COOKIE))
        rest = parts[2:]
    elif parts[:2] == ["api", "v01"] and len(parts) > 2 and parts[2] in state.proxies:
        problem = state.bearer_problem(bearer_token(request))
        rest = parts[3:]
    else:
        raise ApiError(404, f"{path} not found", shape="error")
    if problem is not None:
        raise ApiError(401, problem, shape="error")
    call = _call(state, rest, request, raw)
    return _dispatch(method, call)


def _call(state: ApioSimState, rest: list[str], request: Request, raw: bytes) -> Call:
    if len(rest) < 3 or rest[0] != "tenants":
        raise ApiError(404, "/".join(rest) + " not found", shape="error")
    tenant = rest[1]
    if rest[2] == "groups" and len(rest) >= 5:
        scope, tenant_scope = state.scope(tenant, rest[3]), state.scope(tenant, None)
        store, names = rest[4], rest[5:]
    else:
        scope, tenant_scope = state.scope(tenant, None), None
        store, names = rest[2], rest[3:]
    if store not in STORES or len(names) > 2:
        raise ApiError(404, "/".join(rest) + " not found", shape="error")
    body = _body(raw)
    flags = {}
    for flag in ("full_list", "allLevels"):
        in_query = request.query_params.get(flag, "").lower() == "true"
        flags[flag] = in_query or (isinstance(body, dict) and body.get(flag) is True)
    return Call(state, scope, tenant_scope, store, names, flags, body)


def _dispatch(method: str, call: Call) -> tuple[int, Any, dict[str, str]]:
    handlers = {
        (0, "GET"): list_schedules,
        (0, "POST"): create_schedule,
        (0, "DELETE"): delete_schedules,
        (1, "GET"): get_schedule,
        (1, "PUT"): put_schedule,
        (1, "DELETE"): delete_schedule,
        (1, "POST"): add_period,
        (2, "GET"): get_period,
        (2, "PUT"): put_period,
        (2, "DELETE"): delete_period,
    }
    handler = handlers.get((len(call.names), method))
    if handler is None:
        raise ApiError(405, f"method {method} not allowed here", shape="message")
    status, payload = handler(call)
    return status, payload, {}


# ---- handlers ----------------------------------------------------------------------------


def _full(schedule: SimSchedule) -> dict[str, Any]:
    return {"name": schedule.name, "periods": [dict(p) for p in schedule.periods.values()]}


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object", shape="message")
    return body


def list_schedules(call: Call) -> tuple[int, Any]:
    rows: list[dict[str, Any]] = [{"name": n} for n in call.scope.names(call.store)]
    if call.flags["allLevels"] and call.tenant_scope is not None:
        rows = [{**row, "level": "Group"} for row in rows]
        rows += [{"name": n, "level": "Enterprise"} for n in call.tenant_scope.names(call.store)]
    return 200, {"schedules": rows}


def create_schedule(call: Call) -> tuple[int, Any]:
    body = _object(call.body)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "name is required", shape="message")
    if call.scope.taken(call.store, name):
        raise ApiError(409, f"schedule {name!r} already exists", shape="message")
    schedule = SimSchedule(name)
    for period in body.get("periods") or []:
        checked = check_period(call.store, period)
        if checked["name"] in schedule.periods:
            raise ApiError(409, f"period {checked['name']!r} is given twice", shape="message")
        schedule.periods[checked["name"]] = dict(checked)
    call.scope.stores[call.store][name] = schedule
    return 201, _full(schedule)


def delete_schedules(call: Call) -> tuple[int, Any]:
    names = _object(call.body).get("schedules")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(400, "schedules must be a list of names", shape="message")
    for name in names:
        call.scope.lookup(call.store, name)
    for name in names:
        del call.scope.stores[call.store][name]
    return 200, {}


def get_schedule(call: Call) -> tuple[int, Any]:
    schedule = call.scope.lookup(call.store, call.names[0])
    if call.flags["full_list"]:
        return 200, _full(schedule)
    return 200, {"name": schedule.name, "periods": [{"name": n} for n in schedule.periods]}


def put_schedule(call: Call) -> tuple[int, Any]:
    body = _object(call.body)
    schedule = call.scope.lookup(call.store, call.names[0])
    new_name = body.get("newName") or body.get("name") or schedule.name
    if new_name != schedule.name:
        if call.scope.taken(call.store, new_name):
            raise ApiError(409, f"schedule {new_name!r} already exists", shape="message")
        del call.scope.stores[call.store][schedule.name]
        schedule.name = new_name
        call.scope.stores[call.store][new_name] = schedule
    changes = body.get("periods") or []
    if not isinstance(changes, list):
        raise ApiError(400, "periods must be a list", shape="message")
    errors = []
    for change in changes:
        failure = apply_period_change(call.store, schedule, change, call.state.failing_periods)
        if failure is not None:
            name = change.get("name") if isinstance(change, dict) else None
            errors.append({"name": name, "message": failure})
    if not errors:
        return 200, _full(schedule)
    if len(errors) == len(changes) and new_name == call.names[0]:
        # A name taken is a conflict, as on the per-period endpoints.
        taken = all("already exists" in str(e["message"]) for e in errors)
        raise ApiError(
            409 if taken else 400,
            "no change applied",
            shape="details",
            summary=errors[0]["message"],
        )
    return 207, {**_full(schedule), "errors": errors}


def delete_schedule(call: Call) -> tuple[int, Any]:
    schedule = call.scope.lookup(call.store, call.names[0])
    del call.scope.stores[call.store][schedule.name]
    return 200, {}


def add_period(call: Call) -> tuple[int, Any]:
    schedule = call.scope.lookup(call.store, call.names[0])
    period = check_period(call.store, _object(call.body))
    if period["name"] in schedule.periods:
        raise ApiError(409, f"period {period['name']!r} already exists", shape="message")
    schedule.periods[period["name"]] = dict(period)
    return 201, _full(schedule)


def _period(call: Call) -> tuple[SimSchedule, dict[str, Any]]:
    schedule = call.scope.lookup(call.store, call.names[0])
    period = schedule.periods.get(call.names[1])
    if period is None:
        raise ApiError(404, f"period {call.names[1]!r} not found", shape="errors")
    return schedule, period


def get_period(call: Call) -> tuple[int, Any]:
    return 200, dict(_period(call)[1])


def put_period(call: Call) -> tuple[int, Any]:
    schedule, _ = _period(call)
    body = _object(call.body)
    current = call.names[1]
    target = body.get("newName") or body.get("name") or current
    change = {**{k: v for k, v in body.items() if k != "newName"}, "name": current}
    if target != current:
        change["newName"] = target
    failure = apply_period_change(call.store, schedule, change, call.state.failing_periods)
    if failure is not None:
        status = 409 if "already exists" in failure else 400
        raise ApiError(status, "the period was not changed", shape="details", summary=failure)
    return 200, dict(schedule.periods[target])


def delete_period(call: Call) -> tuple[int, Any]:
    schedule, _ = _period(call)
    del schedule.periods[call.names[1]]
    return 200, {}


# ---- plumbing ----------------------------------------------------------------------------


def _body(raw: bytes) -> Any:
    return json_body(raw, ApiError(400, "the request body is not valid JSON", shape="message"))


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, json.dumps(payload).encode(), headers)
