"""`icsbridge feeds`: the URLs to subscribe to (and write to), and rotating a feed's token."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from icsbridge.config.errors import ConfigError
from icsbridge.config.loader import resolve_secrets
from icsbridge.config.settings import Settings
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.feeds.urls import feed_urls, known_feeds, token_names
from icsbridge.daemon.store.state import StateStore


def cmd_feeds(settings: Settings, rotate: str | None) -> int:
    """Print the subscription URLs; with ``rotate``, first give that feed a new token."""
    problems = resolve_secrets(settings)
    if problems:
        raise ConfigError(problems)
    with StateStore(settings.daemon.state) as state:
        tokens = FeedTokens(state, clock=lambda: datetime.now(UTC))
        configured = {f.name: f.token.resolve() for f in settings.feeds if f.token}
        tokens.ensure(token_names(settings, known_feeds(settings, state)), configured)
        if rotate is not None:
            tokens.rotate(rotate)
            applied = (
                "every daemon sharing the state serves it at once"
                if state.dialect == "postgresql"
                else "a running daemon applies it at its next sync, or now with "
                "`systemctl reload icsbridge`"
            )
            print(
                f"feed {rotate}: new token issued, the old URL no longer works ({applied})",
                file=sys.stderr,
            )
        urls = feed_urls(settings, state, tokens)
    if not urls:
        print(
            "no feeds yet: they appear after the first sync (`icsbridge run` or "
            "`icsbridge export`)",
            file=sys.stderr,
        )
    for url in urls:
        print(f"{url.feed}\n  {url.http}\n  {url.webcal}")
        if url.write is not None:
            print(f"  write (PUT/DELETE): {url.write}")
    return 0
