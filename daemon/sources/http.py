"""HTTP plumbing shared by every source: retries, 429, paging, tracking ids, error lines.

An :class:`ApiClient` wraps an injected ``httpx.AsyncClient`` for one source. It

- sends ``TrackingID: ICSBRIDGE_<uuid4>`` (one per logical call, kept across its retries,
  so support can follow a call through its retries) and the bearer token from ``auth``;
- keeps at most ``concurrency`` requests in flight (:class:`Throttle`, shared by every
  request of the client), so a source's reads may run concurrently without overrunning
  the API;
- on 429 sleeps ``Retry-After`` (capped; missing or garbage -> backoff) and holds every
  other request of the same client while it does (a 429 slows the whole source down,
  never just one request; so does a 503 or 423 with Retry-After); on 5xx/423,
  timeouts and dropped connections sleeps a full-jitter exponential backoff, at most
  ``max_tries`` tries in all; other 4xx fail at once; a 401 calls ``on_unauthorized``
  once (a token refresh) and retries if it says so;
- never retries a POST that may have reached the server (a timeout after connecting, a
  dropped connection, a 5xx): a retried create could be applied twice. A POST is retried
  only on 429, on 503 with ``Retry-After``, or when the connection was never made;
- follows ``Link: <url>; rel="next"`` pages (same origin only, so a token never leaves
  for another host) and stops on an empty page or a link back to a page already read;
- turns every failure into a :class:`SourceError` of one line, with the API's message and
  the tracking id, and scrubs every known secret from messages and logs.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import httpx

from icsbridge.daemon.sources.rules import (
    RetryPolicy,
    SourceError,
    call_url,
    json_or_none,
    new_tracking_id,
    origin,
    parsed_urls,
    reason_phrase,
    retry_after_seconds,
    scrub,
)
from icsbridge.daemon.sources.throttle import Throttle, gather_in_order

__all__ = ["ApiClient", "RetryPolicy", "SourceError", "Throttle", "gather_in_order"]

log = logging.getLogger("icsbridge.http")

Params = Mapping[str, str | int]

_HINTS = {
    401: "check the token or OAuth credentials",
    403: "check the admin scopes / orgId",
    404: "check the id in the config",
}
# Failures after which a request was surely not processed, so even a POST may be retried.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Transport failures that a retry cannot fix (a bad URL scheme, a request we built wrong).
_HOPELESS = (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.ProxyError)
_MAX_PAGES = 10_000


class ApiClient:
    """One source's view of an HTTP API rooted at ``base_url`` (see the module docstring).

    ``auth`` returns the bearer token to send (None: send no Authorization header);
    ``headers`` go with every call (the tracking id and the token win over them).
    ``secrets`` returns every secret string the source knows; they are replaced by
    ``***`` in every message and log line, whatever the API echoes back. ``hints`` adds
    or replaces the what-to-do phrase given for a status (401, 403, 404 have defaults).
    ``concurrency`` bounds the requests in flight (the source's ``concurrency``); pass
    ``throttle`` instead to share one limit and one back-off between several clients.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        source: str,
        base_url: str,
        policy: RetryPolicy | None = None,
        auth: Callable[[], Awaitable[str]] | None = None,
        on_unauthorized: Callable[[], Awaitable[bool]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        default_params: Params | None = None,
        secrets: Callable[[], Iterable[str]] | None = None,
        hints: Mapping[int, str] | None = None,
        headers: Mapping[str, str] | None = None,
        concurrency: int = 8,
        throttle: Throttle | None = None,
    ) -> None:
        self._client = client
        self.throttle = throttle or Throttle(concurrency, sleep)
        self.source = source
        self.base_url = base_url.rstrip("/")
        self._base = httpx.URL(self.base_url)
        self.policy = policy or RetryPolicy()
        self._auth = auth
        self._on_unauthorized = on_unauthorized
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._default_params = dict(default_params or {})
        self._secrets = secrets
        self._sent_tokens: set[str] = set()
        self._hints = {**_HINTS, **(hints or {})}
        self._headers = dict(headers or {})
        self._urls = parsed_urls(client)

    def __repr__(self) -> str:
        return f"ApiClient(source={self.source!r}, base_url={self.base_url!r})"

    # -- single calls ---------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        params: Params | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one call, retrying as the policy allows; return a 2xx answer or raise."""
        if self.throttle.proven:  # the usual case: no probe to wait for, nothing to record
            return await self._request(method, path, params=params, json=json, form=form)
        async with self.throttle.first_call():
            try:
                return await self._request(method, path, params=params, json=json, form=form)
            except SourceError as exc:
                if exc.status is None or exc.status in (401, 403, 429) or exc.status >= 500:
                    self.throttle.probe_failed(exc)
                raise

    async def _request(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        params: Params | None,
        json: Any,
        form: Mapping[str, str] | None,
    ) -> httpx.Response:
        method = method.upper()
        url = self._url(path, params)

        def shown() -> str:  # for messages only: a success never needs it
            return f"{method} {self._shown(url)}"

        tracking_id = new_tracking_id()
        tries = 0
        refreshed = False
        while True:
            tries += 1
            headers = {**self._headers, "TrackingID": tracking_id}

            async def attempt(headers: dict[str, str] = headers) -> httpx.Response:
                # The token is taken inside the throttle: the first request fetches it
                # alone (see Throttle.send), the others then reuse it.
                if self._auth is not None:
                    token = await self._auth()
                    self._sent_tokens.add(token)
                    headers["Authorization"] = f"Bearer {token}"
                return await self._client.request(
                    method, url, json=json, data=form, headers=headers
                )

            try:
                resp = await self.throttle.send(attempt)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                failed = f"{shown()}: no answer ({what}) (trackingId {tracking_id})"
                if isinstance(exc, _HOPELESS):
                    raise self._error(f"{failed}; check base_url") from None
                if method == "POST" and not isinstance(exc, _NOT_SENT):
                    # A create that may have been applied is not repeated blindly.
                    raise self._error(
                        f"{failed}; not retried because it may have been applied"
                    ) from None
                if tries >= self.policy.max_tries:
                    raise self._error(
                        f"{shown()}: no answer after {tries} tries ({what}) "
                        f"(trackingId {tracking_id}); check the network or base_url"
                    ) from None
                delay = self._backoff(tries)
                self._warn(
                    f"{shown()}: {what}; retry in {delay:.1f} s "
                    f"(try {tries + 1} of {self.policy.max_tries})"
                )
                await self._sleep(delay)
                continue

            status = resp.status_code
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s -> %s (try %d)", shown(), status, tries)
            if resp.is_success:
                return resp
            if status == 401 and self._on_unauthorized is not None and not refreshed:
                refreshed = True
                if await self._on_unauthorized():
                    tries -= 1  # a refreshed token is a new start, not a failed try
                    continue
            if not self._retryable(method, resp):
                raise self._http_error(shown(), resp, tracking_id, gave_up_after=None)
            if tries >= self.policy.max_tries:
                raise self._http_error(shown(), resp, tracking_id, gave_up_after=tries)
            delay = self._delay(resp, tries)
            self._warn(
                f"{shown()}: {status} {reason_phrase(resp)}; retry in {delay:.1f} s "
                f"(try {tries + 1} of {self.policy.max_tries})"
            )
            if self._told_to_wait(resp):
                await self.throttle.pause(delay)  # the whole source waits it out
            else:
                await self._sleep(delay)

    async def call_json(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> Any:
        """Like :meth:`request`, returning the decoded JSON body (None for 204)."""
        resp = await self.request(method, path, params=params, json=json, form=form)
        if resp.status_code == 204:
            return None
        return self._decode(method.upper(), resp)

    async def get_json(self, path: str, params: Params | None = None) -> Any:
        return await self.call_json("GET", path, params=params)

    async def get_answer(self, path: str, params: Params | None = None) -> httpx.Response:
        """A GET's 2xx answer, undecoded: a caller keying a memo on its bytes decodes it
        (:meth:`json_of`) only when the bytes are new."""
        return await self.request("GET", path, params=params)

    def json_of(self, resp: httpx.Response) -> Any:
        """The JSON body of an answer of :meth:`get_answer` (a one-line error if not JSON)."""
        return self._decode(resp.request.method, resp)

    # -- paging -------------------------------------------------------------------------

    async def paginate(
        self, path: str, params: Params | None, items_key: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield every item of a paged list, following ``Link: rel="next"``."""
        url = self._url(path, params)
        seen: set[httpx.URL] = set()
        for _ in range(_MAX_PAGES):
            seen.add(url)
            resp = await self.request("GET", url)
            body = self._decode("GET", resp)
            items = body.get(items_key) if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise self._error(
                    f"GET {self._shown(url)}: the answer has no list {items_key!r}; "
                    "check base_url points at the API"
                )
            if not items:
                return
            for item in items:
                if not isinstance(item, dict):
                    raise self._error(
                        f"GET {self._shown(url)}: an entry of {items_key!r} is not an object"
                    )
                yield item
            next_url = self._next_url(resp)
            if next_url is None:
                return
            if next_url in seen:
                self._warn(f"GET {self._shown(url)}: the next-page link loops back; stopping")
                return
            url = next_url
        raise self._error(f"GET {self._shown(path)}: more than {_MAX_PAGES} pages; stopping")

    # -- helpers ------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        known = self._secrets() if self._secrets is not None else ()
        return scrub(text, [*self._sent_tokens, *known])

    def _error(self, text: str, **kwargs: Any) -> SourceError:
        one_line = " ".join(self.scrub(text).split())
        return SourceError(f'source "{self.source}": {one_line}', **kwargs)

    def _warn(self, text: str) -> None:
        log.warning('source "%s": %s', self.source, self.scrub(text))

    def _url(self, path: str | httpx.URL, params: Params | None) -> httpx.URL:
        """The full URL of a call, parsed once: httpx takes the object as it is (a string
        would be parsed again for the request, and URL parsing is most of what a
        request costs us). A URL object (a next-page link) is already complete."""
        if isinstance(path, httpx.URL):
            return path
        merged = {**self._default_params, **(params or {})}
        return call_url(self._urls, self.base_url, path, merged)

    def _shown(self, url: str | httpx.URL) -> str:
        """The path below base_url, without query: short, and free of anything secret."""
        if isinstance(url, str):
            url = httpx.URL(url)
        path = url.raw_path.split(b"?", 1)[0].decode("ascii")
        base_path = self._base.raw_path.decode("ascii").rstrip("/")
        return path[len(base_path) :] if path.startswith(base_path + "/") else path

    def _next_url(self, resp: httpx.Response) -> httpx.URL | None:
        if "link" not in resp.headers:  # the usual last page: nothing to parse
            return None
        link = resp.links.get("next", {}).get("url")
        if not link:
            return None
        nxt = resp.url.join(link)
        if origin(nxt) != origin(self._base):
            # Following it would hand our bearer token to another host.
            raise self._error(
                f"GET {self._shown(resp.url)}: the next-page link leaves {self._base.host}"
            )
        return self._url(str(nxt), None)

    def _backoff(self, tries: int) -> float:
        ceiling = min(self.policy.max_delay, self.policy.base_delay * 2 ** (tries - 1))
        return self._rng.uniform(0, ceiling)

    def _retryable(self, method: str, resp: httpx.Response) -> bool:
        status = resp.status_code
        if method == "POST":
            # Only answers that say the request was not processed.
            return status == 429 or (status == 503 and retry_after_seconds(resp) is not None)
        return status in (423, 429) or status >= 500

    def _told_to_wait(self, resp: httpx.Response) -> bool:
        """A 429, or a 423/503 with Retry-After: the API asks the client to slow down."""
        if resp.status_code == 429:
            return True
        return resp.status_code in (423, 503) and retry_after_seconds(resp) is not None

    def _delay(self, resp: httpx.Response, tries: int) -> float:
        """Seconds to wait before the next try: Retry-After (capped) or the backoff."""
        wait = retry_after_seconds(resp)
        if wait is not None and resp.status_code in (423, 429, 503):
            return min(wait, self.policy.retry_after_cap)
        return self._backoff(tries)

    def _http_error(
        self, shown: str, resp: httpx.Response, tracking_id: str, *, gave_up_after: int | None
    ) -> SourceError:
        body = json_or_none(resp)
        message, codes = self._api_message(body, resp)
        tid = self._tracking_id(body, resp, tracking_id)
        text = f"{shown}: {resp.status_code} {reason_phrase(resp)}"
        if message:
            text += f": {message}"
        if tid is not None:
            text += f" (trackingId {tid})"
        hint = self._hints.get(resp.status_code)
        if gave_up_after is not None:
            hint = f"gave up after {gave_up_after} tries; try again later"
        if hint:
            text += f"; {hint}"
        return self._error(text, status=resp.status_code, error_codes=codes, tracking_id=tid)

    def _api_message(self, body: Any, resp: httpx.Response) -> tuple[str, tuple[int, ...]]:
        """The API's words about a failure (Webex or OAuth error body) and its codes; a hook."""
        if not isinstance(body, dict):
            return " ".join(resp.text[:200].split()), ()
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        codes = tuple(e["errorCode"] for e in errors if isinstance(e.get("errorCode"), int))
        words = [body.get(k) for k in ("message", "error_description", "error")]
        words += [e.get("description") for e in errors]
        message = next((w for w in words if isinstance(w, str) and w), "")
        if codes:
            message += f" [errorCode {', '.join(str(c) for c in codes)}]"
        return " ".join(message.split()), codes

    def _tracking_id(self, body: Any, resp: httpx.Response, sent: str) -> str | None:
        """The id to quote to support: the API's own, else the one sent (None: no id)."""
        own = body.get("trackingId") if isinstance(body, dict) else None
        return resp.headers.get("trackingid") or (own if isinstance(own, str) else "") or sent

    def _decode(self, method: str, resp: httpx.Response) -> Any:
        try:
            return jsonlib.loads(resp.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            reason = str(exc).split(":")[0] if str(exc) else type(exc).__name__
            raise self._error(
                f"{method} {self._shown(resp.url)}: the answer is not JSON ({reason})"
            ) from None
