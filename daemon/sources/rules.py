"""The rules of :mod:`icsbridge.daemon.sources.http` that need no client: the error type, the retry
policy, Retry-After, reason phrases, and scrubbing secrets from text."""

from __future__ import annotations

import json as jsonlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx

from icsbridge.config.errors import IcsbridgeError


class SourceError(IcsbridgeError):
    """A source's API refused or failed a call. ``str(self)`` is one actionable line.

    ``status`` is the HTTP status (None when no answer came), ``error_codes`` the API's
    own codes from the error body (e.g. Webex 25030), ``tracking_id`` the id to quote
    to the API's support.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_codes: tuple[int, ...] = (),
        tracking_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_codes = error_codes
        self.tracking_id = tracking_id


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Delays are in seconds."""

    max_tries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    retry_after_cap: float = 120.0


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***`` (longest first)."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def reason_phrase(resp: httpx.Response) -> str:
    if resp.reason_phrase:
        return resp.reason_phrase
    try:
        return HTTPStatus(resp.status_code).phrase
    except ValueError:
        return "error"


def retry_after_seconds(resp: httpx.Response) -> float | None:
    """``Retry-After`` in seconds; None when absent or not a non-negative number.

    The HTTP-date form is not honoured (the APIs we speak send seconds); it falls back
    to the backoff like any other value we cannot read.
    """
    try:
        value = float(resp.headers.get("retry-after", "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def json_or_none(resp: httpx.Response) -> Any:
    try:
        return jsonlib.loads(resp.content)
    except ValueError:
        return None
