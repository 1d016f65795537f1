"""The one interface every API source implements, and the registry of source kinds."""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

import httpx

from config.errors import IcsbridgeError
from converters.errors import PayloadError
from converters.model import CalendarMeta, ConvertedEvent


@dataclass
class PulledCalendar:
    """One calendar as a source read it.

    ``meta.key`` is ``"<source>/<path>"``, unique within the source. ``ref`` holds what
    the source needs to write back to this calendar later; it is opaque to the sync.
    """

    meta: CalendarMeta
    events: list[ConvertedEvent]
    ref: dict[str, str]


class TokenStore(Protocol):
    """Where a source keeps secrets an API hands back (a rotated OAuth refresh token),
    so that a restart does not lose them. Implemented by ``daemon.state.StateStore``."""

    def get_secret(self, key: str) -> str | None: ...

    def set_secret(self, key: str, value: str) -> None: ...


@contextmanager
def payload_errors_of(source: str) -> Iterator[None]:
    """Prefix a ``PayloadError`` raised inside with ``source "<source>": `` (the one-line
    form the :class:`Source` contract promises)."""
    try:
        yield
    except PayloadError as exc:
        raise PayloadError(f'source "{source}": {exc}') from exc


def utc_now() -> datetime:
    """The default clock of a source: now, aware, in UTC."""
    return datetime.now(UTC)


class Source(ABC):
    """An API that holds schedules, seen as a set of calendars.

    Contract:

    - ``kind`` is the config ``kind`` that selects the class; ``read_only`` says the
      source accepts no writes (writes are refused centrally, never half-done).
    - The constructor does no I/O and resolves no secret: ``describe()`` must work on a
      config whose secrets are not reachable (``icsbridge check``). A kind builds its API
      clients in :meth:`_setup`, which the constructor calls last.
    - ``pull()`` reads everything the settings select and returns one
      :class:`PulledCalendar` per schedule; ``meta.key`` is unique within the source.
      It raises ``daemon.http.SourceError`` when the API fails or refuses, and
      ``converters.errors.PayloadError`` when an answer has the wrong shape; both are one
      line starting with ``source "<name>": ``. It never returns a partial result.
      ``pull(lean=True)`` (the sync) lets a kind hand over lean events (prepared bytes,
      no component; see ``ConvertedEvent``) from what it kept of earlier pulls; every
      other caller needs components and gets them.
    - All I/O goes through the injected ``httpx.AsyncClient``; time through ``clock``
      (aware datetimes), waiting through ``sleep`` and jitter through ``rng``, so tests
      neither touch the network nor sleep.
    """

    kind: ClassVar[str]
    read_only: ClassVar[bool] = False

    def __init__(
        self,
        settings: Any,
        client: httpx.AsyncClient,
        *,
        tokens: TokenStore,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.name: str = settings.name
        self.client = client
        self.tokens = tokens
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.clock = clock
        self._setup()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def _setup(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """What a kind builds from its settings once the common attributes are set (its
        API clients, credentials); no I/O and no secret resolved. Nothing by default."""

    @abstractmethod
    def describe(self) -> list[str]:
        """What ``pull()`` will read, one line each, without I/O (for ``icsbridge check``)."""

    @abstractmethod
    async def pull(self, *, lean: bool = False) -> list[PulledCalendar]:
        """The whole read (see the class docstring)."""


SOURCE_KINDS: dict[str, type[Source]] = {}

S = TypeVar("S", bound=type[Source])


def register_source(cls: S) -> S:
    """Class decorator: make ``cls`` the source for config ``kind = cls.kind``."""
    SOURCE_KINDS[cls.kind] = cls
    return cls


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
    # The concrete modules register themselves when the package is imported; importing
    # it here keeps that true for a caller that imported only this module by path.
    import daemon.sources  # noqa: F401

    try:
        cls = SOURCE_KINDS[settings.kind]
    except KeyError:
        known = ", ".join(sorted(SOURCE_KINDS)) or "none"
        raise IcsbridgeError(
            f'source "{settings.name}": kind "{settings.kind}" is not supported yet '
            f"(supported: {known})"
        ) from None
    return cls(settings, client, tokens=tokens, sleep=sleep, rng=rng, clock=clock)
