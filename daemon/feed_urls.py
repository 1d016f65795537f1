"""Which feeds exist and the URLs to subscribe to them."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings

from .state import StateStore
from .tokens import FeedTokens


@dataclass(frozen=True)
class FeedUrl:
    feed: str
    http: str  # what the server speaks (http or https, from public_url)
    webcal: str  # the same as webcal://, which calendar apps open as a subscription


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
    for feed in known_feeds(settings, state):
        path = tokens.url_path(feed)
        out.append(FeedUrl(feed, f"{base}{path}", f"webcal://{rest}{path}"))
    return out
