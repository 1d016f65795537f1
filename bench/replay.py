"""An API frozen as recorded answers, so a timed sync measures icsbridge, not the simulator.

:class:`Recorder` wraps a transport (the simulator's ``ASGITransport``) and keeps every
GET answer by URL; :meth:`Recorder.snapshot` re-reads every URL seen so far through the
wrapped transport (outside the timed part) and returns a :class:`Replay`: an
``httpx.MockTransport`` that answers each GET with the recorded status, headers and
bytes. The client side (httpx, JSON parsing, validation, conversion, identity, render)
is all icsbridge's and is all timed; the server side costs a dict lookup.
"""

from __future__ import annotations

import httpx


class Replay(httpx.AsyncBaseTransport):
    """Answers GETs from a snapshot; anything else is a bench bug (500)."""

    def __init__(self, answers: dict[str, tuple[int, list[tuple[bytes, bytes]], bytes]]) -> None:
        self.answers = answers
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        found = self.answers.get(str(request.url)) if request.method == "GET" else None
        if found is None:
            return httpx.Response(500, text=f"not recorded: {request.method} {request.url}")
        status, headers, body = found
        return httpx.Response(status, headers=headers, content=body)


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and remembers every GET URL (see the module docstring)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: dict[str, httpx.Request] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.urls[str(request.url)] = request
        return await self.inner.handle_async_request(request)

    async def snapshot(self) -> Replay:
        answers = {}
        for url, request in self.urls.items():
            fresh = httpx.Request("GET", url, headers=request.headers)
            response = await self.inner.handle_async_request(fresh)
            body = await response.aread()
            headers = [
                (k, v)
                for k, v in response.headers.raw
                if k.lower() not in (b"content-length", b"transfer-encoding")
            ]
            answers[url] = (response.status_code, headers, body)
        return Replay(answers)
