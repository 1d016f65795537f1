"""The rules of :mod:`icsbridge.daemon.sources.http` that need no client: the error type, the retry
policy, Retry-After, reason phrases, and scrubbing secrets from text."""

from __future__ import annotations

import base64
import functools
import json as jsonlib
import math
import os
import random
import re
import uuid
import weakref
from collections.abc import Iterable, Mapping
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
    """``text`` with every form of each of ``secrets`` replaced by ``***`` (longest first).

    The one scrubber of every message that leaves a source: an error line, a log line.
    A message quotes a secret in whatever form it met it, so each is looked for:

    - as it is;
    - escaped the way ``repr()`` (of a str or of bytes, as httpx quotes an illegal header
      value) and JSON write it, also escaped again (``\\\\n``);
    - percent-encoded, in any mix with plain characters, either hex case, ``+`` for a
      space, encoded twice (``%2541``);
    - in base64, standard or URL-safe, also inside a longer value such as a Basic
      ``Authorization`` header (``base64("id:secret")``): only the characters that
      carry the secret's bits alone are replaced;
    - with its whitespace collapsed (error lines are made one line), and each piece
      between control characters on its own (a header value broken at a newline is
      quoted in pieces).
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = _secret_pattern(secret).sub("***", text)
    return text


_MIN_PIECE = 4
"""Pieces of a secret and base64 runs shorter than this are not looked for on their own:
they would match ordinary words, and tell next to nothing of the secret."""
_NAMED_ESCAPES = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f", "\v": "v"}
# One backslash, or more where an escaped text was escaped again, also percent-encoded.
# Possessive (no backtracking into it): what follows is a letter or a quote, and a regex
# that may split a run of backslashes many ways takes exponential time.
_BACKSLASHES = r"(?:\\|%(?:25){0,3}5[Cc])++"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# How _spelled cuts a secret: runs of backslashes, runs of blanks, single characters.
_RUNS = re.compile(r"\\+|[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+|.", re.DOTALL)
_URLSAFE = str.maketrans("+/", "-_")


@functools.lru_cache(maxsize=256)
def _secret_pattern(secret: str) -> re.Pattern[str]:
    """One regex for every form of ``secret`` (see :func:`scrub`), most of it first."""
    pieces = [p for p in _CONTROL.split(secret) if len(p) >= _MIN_PIECE and p != secret]
    forms = [_spelled(secret)]
    forms += [re.escape(run) for run in _base64_runs(secret)]
    forms += [_spelled(piece) for piece in sorted(set(pieces), key=len, reverse=True)]
    return re.compile("|".join(forms))


def _spelled(secret: str) -> str:
    """A regex for ``secret`` with each character in any of its escaped forms.

    A run of backslashes matches any run of backslashes (each escaping doubles them);
    a run of blanks and control characters matches any run of whitespace (a message
    made one line collapses it) or the characters escaped one by one.
    """
    parts: list[str] = []
    for run in _RUNS.findall(secret):
        if run[0] == "\\":
            parts.append(_BACKSLASHES)
        elif run.isspace() or _CONTROL.fullmatch(run):
            spelled = "".join(_char_forms(char) for char in run)
            parts.append(f"(?:\\s++|{spelled})")
        else:
            parts.append(_char_forms(run))
    return "".join(parts)


def _char_forms(char: str) -> str:
    code = ord(char)
    data = char.encode("utf-8", "surrogatepass")
    percent = "".join(f"%(?:25){{0,3}}{_hex(byte, 2)}" for byte in data)
    forms = [percent]
    if char == " ":
        forms.append(r"\+")
    if char in _NAMED_ESCAPES:
        forms.append(_BACKSLASHES + _NAMED_ESCAPES[char])
    if char in "'\"/":  # the quote itself may be percent-encoded after its backslash
        forms.append(f"{_BACKSLASHES}(?:{re.escape(char)}|{percent})")
    if code < 0x100:
        forms.append(f"{_BACKSLASHES}x{_hex(code, 2)}")
    if code < 0x10000:
        forms.append(f"{_BACKSLASHES}u{_hex(code, 4)}")
    else:  # JSON writes it as a UTF-16 surrogate pair
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(f"{_BACKSLASHES}u{_hex(high, 4)}{_BACKSLASHES}u{_hex(low, 4)}")
    forms.append(f"{_BACKSLASHES}U{_hex(code, 8)}")
    if len(data) > 1:  # repr() of bytes: the UTF-8 bytes, one escape each
        forms.append("".join(f"{_BACKSLASHES}x{_hex(byte, 2)}" for byte in data))
    forms.append(re.escape(char))  # last: "%" and "\\" are taken escaped when they can be
    return f"(?:{'|'.join(forms)})"


def _hex(value: int, digits: int) -> str:
    """A regex for ``value`` in hex, either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{digits}x}")


def _base64_runs(secret: str) -> list[str]:
    """The base64 characters that carry ``secret``'s bits alone, at each of the three
    offsets it can start at inside a longer value, standard and URL-safe alphabets."""
    data = secret.encode("utf-8", "surrogatepass")
    runs: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
        # Characters 6 bits each: skip those mixing in the bytes before, and after.
        run = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        if len(run) >= _MIN_PIECE:
            runs += [run, run.translate(_URLSAFE)]
    return sorted(set(runs), key=len, reverse=True)


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


# Parsed URLs by (base_url, path, query) per pooled client: a daemon's client outlives the
# ApiClients built at each sync and asks for the same URLs every time, so the parse
# (most of what a request costs us; httpx takes the object as it is) is done once.
# Bounded: dropped whole when full (a day's new date ranges refill it).
_URLS: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[tuple[object, ...], httpx.URL]] = (
    weakref.WeakKeyDictionary()
)
_URLS_MAX = 20_000


def parsed_urls(client: httpx.AsyncClient) -> dict[tuple[object, ...], httpx.URL]:
    """The URLs parsed so far for calls on ``client`` (see :func:`call_url`)."""
    urls = _URLS.get(client)
    if urls is None:
        urls = _URLS[client] = {}
    return urls


def call_url(
    urls: dict[tuple[object, ...], httpx.URL],
    base_url: str,
    path: str,
    merged: Mapping[str, str | int],
) -> httpx.URL:
    """The full URL of a call to ``path`` (below ``base_url``, or absolute) with the query
    ``merged`` added (a parameter the path already has wins), parsed once per ``urls``."""
    key = (base_url, path, tuple(merged.items()))
    known = urls.get(key)
    if known is not None:
        return known
    if len(urls) >= _URLS_MAX:
        urls.clear()
    text = path if path.startswith(("http://", "https://")) else base_url + path
    if "?" not in text:  # the usual call: the query is ours alone
        url = httpx.URL(text, params={k: str(v) for k, v in merged.items()})
    else:
        url = httpx.URL(text)
        for name, value in merged.items():
            if name not in url.params:
                url = url.copy_add_param(name, str(value))
    urls[key] = url
    return url


# Tracking ids need to be unique, not secret: drawn from one generator seeded by the OS
# (uuid4 asks the OS for 16 bytes per call, a system call per request).
_IDS = random.Random(os.urandom(32))


def new_tracking_id() -> str:
    """``ICSBRIDGE_<uuid4>``: one per logical call (kept across its retries)."""
    return f"ICSBRIDGE_{uuid.UUID(int=_IDS.getrandbits(128), version=4)}"
