"""The feed server: one ASGI app for feeds (``feeds``), edits (``writes``), ``/healthz``
(``health``), ``/metrics`` (``metrics``) and, with ``[caldav]``, CalDAV (``daemon.caldav``).

The feed URLs take a raw-ASGI fast path (see ``feeds``); everything else (``/healthz``,
``/metrics``, 404s) goes to a small Starlette app.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from icsbridge.daemon.caldav.mount import CaldavMount
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.web.feeds import NOT_FOUND_BODY, FeedLookup, FeedRoute
from icsbridge.daemon.web.health import HealthCheck, health_route
from icsbridge.daemon.web.metrics import Metrics, metrics_route
from icsbridge.daemon.web.validators import FEEDS_PREFIX
from icsbridge.daemon.web.writes import FeedWriter


def _other_routes(*, health: HealthCheck, metrics: Metrics) -> Starlette:
    async def not_found(_request: Request, _exc: Exception) -> Response:
        return Response(NOT_FOUND_BODY, status_code=404, media_type="text/plain")

    return Starlette(
        routes=[health_route(health), metrics_route(metrics)],
        exception_handlers={404: not_found},
    )


def create_app(
    *,
    feeds: FeedLookup,
    tokens: FeedTokens,
    health: HealthCheck,
    metrics: Metrics,
    writer: FeedWriter | None = None,
    caldav: CaldavMount | None = None,
) -> ASGIApp:
    """The daemon's ASGI app. ``health()`` gives (HTTP status, JSON-able mapping);
    ``writer`` answers edits on write URLs (none: every PUT/DELETE is refused);
    ``caldav`` serves ``[caldav].path`` and discovery when given.

    Every HTTP response is counted in ``metrics.http_request``. Lifespan and other scopes
    go to Starlette.
    """
    feed_route = FeedRoute(feeds, tokens, metrics, writer)
    others = _other_routes(health=health, metrics=metrics)
    count = metrics.http_request

    async def counted_by(inner: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                count(message["status"])
            await send(message)

        await inner(scope, receive, send_counted)

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        await counted_by(others, scope, receive, send)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await others(scope, receive, send)
        elif scope["path"].startswith(FEEDS_PREFIX):
            await feed_route(scope, receive, send)
        elif caldav is not None and caldav.handles(scope):
            await counted_by(caldav, scope, receive, send)
        else:
            await counted(scope, receive, send)

    return app
