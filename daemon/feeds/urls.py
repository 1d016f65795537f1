"""Which feeds exist and the URLs to subscribe to them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from icsbridge.config.settings import Settings
from icsbridge.daemon.feeds.tokens import FeedTokens, feed_url_path, write_name
from icsbridge.daemon.store.state import StateStore


@dataclass(frozen=True)
class FeedUrl:
    feed: str
    http: str  # what the server speaks (http or https, from public_url)
    webcal: str  # the same as webcal://, which calendar apps open as a subscription
    write: str | None = None  # PUT/DELETE edits here (sources with feed_writes = true)


def writable_feeds(settings: Settings, names: Iterable[str]) -> list[str]:
    """The feeds among ``names`` that take edits: calendars of sources with feed_writes."""

    def takes_writes(name: str) -> bool:
        source = settings.source_of_calendar(name)
        return source is not None and source.feed_writes

    return sorted(filter(takes_writes, names))


def token_names(settings: Settings, names: Iterable[str]) -> list[str]:
    """Every name a token is kept for: the feeds, and the write names of writable ones."""
    feeds = sorted(set(names))
    return [*feeds, *(write_name(n) for n in writable_feeds(settings, feeds))]


def known_feeds(settings: Settings, state: StateStore) -> list[str]:
    """Declared [[feeds]] and every calendar published by the daemon or by export."""
    names = {f.name for f in settings.feeds}
    names.update(state.feed_records())
    for source in settings.sources:
        names.update(state.calendars(source.name))
    return sorted(names)


def feed_urls(settings: Settings, state: StateStore, tokens: FeedTokens) -> list[FeedUrl]:
    out = []
    base = settings.daemon.public_url.rstrip("/")
    _scheme, _, rest = base.partition("://")
    known = known_feeds(settings, state)
    writable = set(writable_feeds(settings, known))
    for feed in known:
        path = tokens.url_path(feed)
        write = None
        if feed in writable:
            write = base + feed_url_path(tokens.token(write_name(feed)), feed)
        out.append(FeedUrl(feed, f"{base}{path}", f"webcal://{rest}{path}", write))
    return out
