"""The registry of source kinds: config ``kind = "..."`` -> the class that reads that API."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.sources.apio.source import ApioSource
from icsbridge.daemon.sources.b2core.source import B2coreSource
from icsbridge.daemon.sources.base import Source, TokenStore, utc_now
from icsbridge.daemon.sources.webex.source import WebexSource
from icsbridge.daemon.sources.wordbee.source import WordbeeSource

SOURCE_KINDS: dict[str, type[Source]] = {
    cls.kind: cls for cls in (ApioSource, B2coreSource, WebexSource, WordbeeSource)
}


def source_for(
    settings: Any,
    client: httpx.AsyncClient,
    *,
    tokens: TokenStore,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Source:
    """Build the source that ``settings.kind`` names."""
    try:
        cls = SOURCE_KINDS[settings.kind]
    except KeyError:
        known = ", ".join(sorted(SOURCE_KINDS)) or "none"
        raise IcsbridgeError(
            f'source "{settings.name}": kind "{settings.kind}" is not supported yet '
            f"(supported: {known})"
        ) from None
    return cls(settings, client, tokens=tokens, sleep=sleep, rng=rng, clock=clock)
