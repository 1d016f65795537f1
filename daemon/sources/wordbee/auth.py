"""Wordbee API 2 calls: token login, the two auth headers, re-login, 429 and the quota.

- Login: ``POST {base_url}/auth/token`` with ``{"accountid", "key"}`` answers the token
  as a bare JSON string. Every other call sends ``X-Auth-Token`` and
  ``X-Auth-AccountId``.
- A token dies after 30 minutes idle. A 401, or a 400 whose error title/details speak
  of an invalid or expired token, means: log in again, once, silently, and repeat the
  call. A second refusal is an error.
- 429 (Wordbee sends no Retry-After): wait ``throttle_wait`` (at least 10 s), doubling
  up to 10 minutes, at most :data:`MAX_THROTTLED` times (over an hour in all); a
  Retry-After, if one ever comes, is honoured instead when it is longer.
- 5xx, 423 and dropped connections: a few tries with full-jitter backoff.
- Every call, login included, first takes its place in the account's
  :class:`~icsbridge.daemon.sources.wordbee.quota.SlidingWindowLimiter`.

This does not use :class:`daemon.sources.http.ApiClient`: its bearer header, 401-only refresh
and jittered 429 backoff (which may wait under 10 s) are Webex's, not Wordbee's. Errors
are the same :class:`~icsbridge.daemon.sources.http.SourceError` one-liners, scrubbed of the key and
tokens.
"""

from __future__ import annotations

import json as jsonlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from icsbridge.daemon.sources.rules import SourceError, reason_phrase, retry_after_seconds, scrub
from icsbridge.daemon.sources.token_cache import SecretLike
from icsbridge.daemon.sources.wordbee.quota import SlidingWindowLimiter

log = logging.getLogger("icsbridge.wordbee")

MAX_THROTTLED = 11
"""429 answers in a row before a call gives up: with the default 10 s doubling up to 10
minutes that is just over an hour of waiting, by which time a sliding hour's quota has
room again unless someone else keeps using it up."""
MAX_THROTTLE_DELAY = 600.0
MAX_TRIES = 4
"""Tries of a call that fails with 5xx/423 or no answer."""
_BACKOFF_BASE, _BACKOFF_MAX = 1.0, 30.0
_TOKEN_WORDS = ("invalid", "expired", "not valid", "unknown", "missing")
_HINTS = {
    400: "check the request; report it if it persists",
    401: "check account_id and key",
    403: "check that the account may read this person's calendar",
    404: "check the person ids in persons and base_url",
}

Params = Mapping[str, str | int]


class WordbeeSession:
    """One source's authorised access to Wordbee (see the module docstring)."""

    def __init__(
        self,
        *,
        source: str,
        client: httpx.AsyncClient,
        base_url: str,
        account_id: str,
        key: SecretLike,
        limiter: SlidingWindowLimiter,
        throttle_wait: float,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
    ) -> None:
        self.source = source
        self._client = client
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self._key_ref = key
        self._limiter = limiter
        self.throttle_wait = throttle_wait
        self._sleep = sleep
        self._rng = rng
        self._token: str | None = None
        self._secrets: set[str] = set()
        self.logins = 0
        self.throttle_waits: list[float] = []

    def __repr__(self) -> str:
        return f"WordbeeSession(source={self.source!r}, account={self.account_id!r}, token=***)"

    async def get_json(self, path: str, params: Params | None = None) -> Any:
        """GET an authorised path; log in first, and once more when the token is refused."""
        relogged = False
        while True:
            if self._token is None:
                await self._login()
            assert self._token is not None
            headers = {"X-Auth-Token": self._token, "X-Auth-AccountId": self.account_id}
            resp, shown = await self._call("GET", path, params=params, headers=headers)
            if resp.is_success:
                return self._decode(resp, shown)
            if _token_refused(resp) and not relogged:
                relogged = True
                self._token = None
                log.info(
                    'source "%s": the Wordbee token was refused; logging in again', self.source
                )
                continue
            raise self._http_error(shown, resp)

    async def _login(self) -> None:
        key = self._key_ref.resolve()
        self._secrets.add(key)
        body = {"accountid": self.account_id, "key": key}
        resp, shown = await self._call("POST", "/auth/token", json=body)
        if not resp.is_success:
            raise self._http_error(shown, resp, hint="check account_id and key")
        token = self._decode(resp, shown)
        if not isinstance(token, str) or not token.strip():
            raise self._error(
                f"{shown}: the answer is not a token (a JSON string); check base_url ends in /api"
            )
        self._secrets.add(token)
        self._token = token
        self.logins += 1

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[httpx.Response, str]:
        """One logical call: quota, retries on 429/5xx/no answer. Returns the last answer."""
        url = httpx.URL(self.base_url + path, params=dict(params or {}))
        shown = f"{method} {path}" + (f"?{url.query.decode('ascii')}" if params else "")
        throttled = tries = 0
        while True:
            await self._limiter.acquire(self._sleep, what=shown)
            tries += 1
            try:
                resp = await self._client.request(method, url, json=json, headers=headers)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if isinstance(exc, httpx.UnsupportedProtocol) or tries >= MAX_TRIES:
                    raise self._error(
                        f"{shown}: no answer after {tries} tries ({what}); "
                        "check the network and base_url"
                    ) from None
                await self._backoff(shown, what, tries)
                continue
            log.debug("%s -> %s", shown, resp.status_code)
            if resp.status_code == 429:
                throttled += 1
                if throttled > MAX_THROTTLED:
                    return resp, shown
                await self._wait_throttled(shown, resp, throttled)
                continue
            if (resp.status_code >= 500 or resp.status_code == 423) and tries < MAX_TRIES:
                await self._backoff(shown, f"{resp.status_code} {reason_phrase(resp)}", tries)
                continue
            return resp, shown

    async def _wait_throttled(self, shown: str, resp: httpx.Response, throttled: int) -> None:
        delay = min(
            self.throttle_wait * 2 ** (throttled - 1), max(MAX_THROTTLE_DELAY, self.throttle_wait)
        )
        retry_after = retry_after_seconds(resp)
        if retry_after is not None:
            delay = max(delay, min(retry_after, 3600.0))
        self._warn(
            f"{shown}: 429 {_api_message(resp) or 'throttled'}; waiting {delay:.0f} s "
            f"({throttled} of {MAX_THROTTLED})"
        )
        self.throttle_waits.append(delay)
        await self._sleep(delay)

    async def _backoff(self, shown: str, what: str, tries: int) -> None:
        delay = self._rng.uniform(0, min(_BACKOFF_MAX, _BACKOFF_BASE * 2 ** (tries - 1)))
        self._warn(f"{shown}: {what}; retry in {delay:.1f} s (try {tries + 1} of {MAX_TRIES})")
        await self._sleep(delay)

    # -- errors -------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _error(self, text: str, *, status: int | None = None) -> SourceError:
        return SourceError(
            f'source "{self.source}": {" ".join(self.scrub(text).split())}', status=status
        )

    def _warn(self, text: str) -> None:
        log.warning('source "%s": %s', self.source, self.scrub(text))

    def _http_error(
        self, shown: str, resp: httpx.Response, *, hint: str | None = None
    ) -> SourceError:
        status = resp.status_code
        text = f"{shown}: {status} {reason_phrase(resp)}"
        message = _api_message(resp)
        if message:
            text += f": {message}"
        if status == 429:
            hint = (
                f"still throttled after {MAX_THROTTLED} waits; lower hourly_quota, read fewer "
                "persons or months, or raise interval"
            )
        elif status >= 500 or status == 423:
            hint = f"gave up after {MAX_TRIES} tries; try again later"
        hint = hint or _HINTS.get(status)
        if hint:
            text += f"; {hint}"
        return self._error(text, status=status)

    def _decode(self, resp: httpx.Response, shown: str) -> Any:
        try:
            return jsonlib.loads(resp.content)
        except ValueError as exc:
            reason = str(exc).split(":")[0] if str(exc) else type(exc).__name__
            raise self._error(
                f"{shown}: the answer is not JSON ({reason}); check base_url"
            ) from None


def _body(resp: httpx.Response) -> Any:
    try:
        return jsonlib.loads(resp.content)
    except ValueError:
        return None


def _api_message(resp: httpx.Response) -> str:
    """Wordbee's own words: ``{"error": {title|message, details, messages}, "reason"}``."""
    body = _body(resp)
    if not isinstance(body, dict):
        return " ".join(resp.text[:200].split())
    error = body.get("error")
    words: list[str] = []
    if isinstance(error, dict):
        for key in ("type", "title", "message", "details"):
            value = error.get(key)
            if isinstance(value, str) and value.strip() and value.strip() not in words:
                words.append(value.strip())
        messages = error.get("messages")
        if isinstance(messages, list):
            words += [m.strip() for m in messages if isinstance(m, str) and m.strip()][:2]
    elif isinstance(error, str) and error.strip():
        words.append(error.strip())
    reason = body.get("reason")
    if isinstance(reason, str) and reason.strip() and reason.strip() not in words:
        words.append(reason.strip())
    return " ".join(": ".join(words).split())[:300]


def _token_refused(resp: httpx.Response) -> bool:
    if resp.status_code == 401:
        return True
    if resp.status_code != 400:
        return False
    text = _api_message(resp).lower()
    return "token" in text and any(word in text for word in _TOKEN_WORDS)
