"""Feed URL tokens: the unguessable part of a feed's URL, kept in the state store.

Calendar apps cannot send credentials when they subscribe by URL, so each feed is served
under ``/feeds/<token>/<feed>.ics``. A token is either given in the config (``[[feeds]]
token``) or generated on first sight (``secrets.token_urlsafe(24)``: 192 random bits) and
stored, so URLs survive restarts. Rotating a feed's token revokes the old one at once.

The served tokens live in memory (the feed route checks one per request); ``ensure()``
re-reads the store, so a daemon picks up a rotation made by another process (``icsbridge
feeds --rotate``) on its next sync or reload. On a PostgreSQL state every change of a
token is announced (``daemon.store.postgres.notify``) and each daemon re-reads them at
once (:meth:`FeedTokens.reload`). A configured token is written to the store too:
taking it out of the config keeps the feed at the same URL until it is rotated.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from urllib.parse import quote

from icsbridge.config.errors import IcsbridgeError
from icsbridge.daemon.store.postgres.notify import payload
from icsbridge.daemon.store.state import StateStore

_TOKEN_BYTES = 24
# 22 characters of the URL-safe alphabet carry 128 bits when random.
MIN_CONFIGURED_LENGTH = 22
# RFC 3986 unreserved characters: a token that needs no percent-encoding in a path.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
_EXAMPLE = 'python3 -c "import secrets; print(secrets.token_urlsafe(24))"'


WRITE_PREFIX = "write:"


def write_name(feed: str) -> str:
    """The name a feed's write token is kept under (never a feed name: those have no ':')."""
    return WRITE_PREFIX + feed


class TokenError(IcsbridgeError):
    """A feed token cannot be used or changed as asked. ``str(self)`` is one line."""


def new_token() -> str:
    """A fresh random token (192 bits, URL-safe alphabet)."""
    return secrets.token_urlsafe(_TOKEN_BYTES)


def token_problem(token: str) -> str | None:
    """Why ``token`` is unfit as a configured feed token, or None when it is fine.

    The text never contains the token itself.
    """
    if not _UNRESERVED.fullmatch(token):
        return f"use only the characters A-Z a-z 0-9 - _ . ~ (e.g. the output of: {_EXAMPLE})"
    if len(token) < MIN_CONFIGURED_LENGTH:
        return (
            f"too short ({len(token)} characters); use at least {MIN_CONFIGURED_LENGTH} "
            f"random ones (e.g. the output of: {_EXAMPLE})"
        )
    return None


def configured_problem(configured: Mapping[str, str]) -> str | None:
    """The first problem of the configured tokens (by feed name), or None: one unfit for a
    URL (``token_problem``) or shared by two feeds. ``run``, ``check`` and a reload all
    refuse a config with it; the line never contains a token."""
    owners: dict[str, str] = {}
    for feed, token in sorted(configured.items()):
        problem = token_problem(token)
        if problem is not None:
            return f'feed "{feed}": field "token": {problem}'
    for feed, token in sorted(configured.items()):
        if token in owners:
            return (
                f'feeds "{owners[token]}" and "{feed}": field "token": both use the '
                "same token; give each feed its own"
            )
        owners[token] = feed
    return None


def feed_url_path(token: str, feed: str) -> str:
    """``/feeds/<token>/<feed>.ics`` with each '/'-separated part percent-encoded."""
    encoded = "/".join(quote(part, safe="") for part in feed.split("/"))
    return f"/feeds/{quote(token, safe='')}/{encoded}.ics"


class FeedTokens:
    """Per-feed URL tokens, backed by ``StateStore.feed_tokens`` / ``set_feed_token``."""

    def __init__(self, state: StateStore, *, clock: Callable[[], datetime]) -> None:
        self._state = state
        self._clock = clock
        self._configured: frozenset[str] = frozenset()
        # An unknown feed still costs one comparison, against a token nobody holds.
        self._dummy = new_token().encode()
        self._tokens: dict[str, str] = {}
        self._expected: dict[str, bytes] = {}
        self.reload()

    def reload(self) -> bool:
        """Serve the tokens the store holds now; whether they changed (another process
        changed them)."""
        before, self._tokens = self._tokens, self._state.feed_tokens()
        self._expected = {feed: token.encode() for feed, token in self._tokens.items()}
        return self._tokens != before

    _load = reload

    def ensure(self, feeds: Iterable[str], configured: Mapping[str, str]) -> None:
        """Give every feed a token: the configured one wins, else the stored one, else a new one.

        Raises TokenError for a configured token that is unfit (see ``token_problem``) or
        shared by two feeds; nothing is changed then.
        """
        problem = configured_problem(configured)
        if problem is not None:
            raise TokenError(problem)
        owners = {token: feed for feed, token in configured.items()}
        self._load()
        wanted: dict[str, str] = {}
        for feed in sorted({*feeds, *configured}):
            current = self._tokens.get(feed)
            if feed in configured:
                wanted[feed] = configured[feed]
            elif current is None or (current in owners and owners[current] != feed):
                # New feed, or its stored token is now claimed by another feed's config.
                wanted[feed] = new_token()
        changes = {feed: token for feed, token in wanted.items() if self._tokens.get(feed) != token}
        if changes:
            now = self._clock()
            with self._state.transaction():
                # Tokens are UNIQUE in the store and changes may swap them between feeds:
                # park every changing feed on a throwaway token first.
                for feed in changes:
                    if feed in self._tokens:
                        self._state.set_feed_token(feed, new_token(), now)
                for feed, token in changes.items():
                    if feed in self._tokens or feed in configured:
                        self._state.set_feed_token(feed, token, now)
                    else:  # another daemon may have given it one since _load: that one wins
                        self._state.add_feed_token(feed, token, now)
                self._state.announce(payload(tokens=True))
            self._load()
        self._configured = frozenset(configured)

    def check(self, token: str, feed: str) -> bool:
        """Whether ``token`` opens ``feed``, compared in constant time."""
        expected = self._expected.get(feed)
        if expected is None:
            hmac.compare_digest(token.encode(), self._dummy)
            return False
        return hmac.compare_digest(token.encode(), expected)

    def token(self, feed: str) -> str:
        """The feed's current token (for printing its URL)."""
        self._require(feed)
        return self._tokens[feed]

    def rotate(self, feed: str) -> str:
        """Give ``feed`` a new token and revoke the old one; returns the new token."""
        self._require(feed)
        if feed in self._configured:
            raise TokenError(
                f'feed "{feed}": its token is set in the config ([[feeds]] token); '
                "change it there to revoke the old one"
            )
        token = new_token()
        with self._state.transaction():
            self._state.set_feed_token(feed, token, self._clock())
            self._state.announce(payload(tokens=True))
        self._load()
        return token

    def url_path(self, feed: str) -> str:
        """``/feeds/<token>/<percent-encoded feed>.ics`` (each '/'-separated part encoded)."""
        return feed_url_path(self.token(feed), feed)

    def _require(self, feed: str) -> None:
        if feed not in self._tokens:
            raise TokenError(
                f'no feed named "{feed}"; `icsbridge feeds --config FILE` lists the feeds'
            )
