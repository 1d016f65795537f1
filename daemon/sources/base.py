"""The one interface every API source implements (the registry of kinds is ``kinds``)."""

from __future__ import annotations

import asyncio
import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

import httpx

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.model import CalendarMeta, ConvertedEvent


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
    so that a restart does not lose them. Implemented by ``daemon.store.state.StateStore``."""

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


T = TypeVar("T")

# One conversion at a time: it is CPU work holding the GIL, so two at once finish no
# sooner and fight the event loop twice as hard; and a kind's memo of what it
# converted (Webex's ``LeanMemo``) is then never used by two threads at once.
_converting = threading.Lock()


async def converted(convert: Callable[[], T]) -> T:
    """What ``convert`` (parsing and converting an API's answer) gives, computed in a
    worker thread, so that a big answer (1,000 events cost Webex ~0.2 s) stalls no feed.

    Every answer goes, whatever its size: the hop costs tens of microseconds, about
    what one event's conversion costs, and the size is not known before parsing for
    every kind (Webex hands over bytes). ``convert`` must not touch the state store
    (its SQLite connection belongs to the loop's thread).
    """

    def run() -> T:
        with _converting:
            return convert()

    return await asyncio.to_thread(run)


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
      It raises ``icsbridge.daemon.sources.http.SourceError`` when the API fails or refuses, and
      ``icsbridge.converters.errors.PayloadError`` when an answer has the wrong shape; both are one
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
