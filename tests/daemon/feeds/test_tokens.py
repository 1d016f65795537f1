"""Feed URL tokens: generation, persistence, configured tokens, rotation, URL paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from icsbridge.config.daemon.state import StateLocation
from icsbridge.daemon.feeds.tokens import FeedTokens, TokenError, feed_url_path, token_problem
from icsbridge.daemon.store.state import StateStore

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
PARIS = "hq/locations/Paris HQ/holidays/French Holidays"
CONFIGURED = "Cfg-token_0123456789.abcdef~XYZ"


@pytest.fixture
def state(state_at: StateLocation) -> Iterator[StateStore]:
    with StateStore(state_at) as store:
        yield store


def tokens_for(state: StateStore) -> FeedTokens:
    return FeedTokens(state, clock=lambda: NOW)


def test_generated_tokens_carry_at_least_128_random_bits(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["support-hours", PARIS], {})
    made = [tokens.token("support-hours"), tokens.token(PARIS)]
    for token in made:
        # token_urlsafe: 6 bits per character; 22 characters are 132 bits.
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", token), token
        assert len(token) >= 32  # token_urlsafe(24): 192 bits
    assert made[0] != made[1]
    assert tokens.check(made[0], "support-hours")
    assert not tokens.check(made[0], PARIS)


def test_tokens_persist_across_instances_and_reopened_store(tmp_path: Path) -> None:
    with StateStore(tmp_path / "state.db") as store:
        first = tokens_for(store)
        first.ensure(["a", "b"], {})
        before = {"a": first.token("a"), "b": first.token("b")}
        again = tokens_for(store)
        again.ensure(["a", "b", "c"], {})
        assert again.token("a") == before["a"]
        assert again.token("b") == before["b"]
    with StateStore(tmp_path / "state.db") as store:
        reopened = tokens_for(store)
        reopened.ensure(["a"], {})
        assert reopened.token("a") == before["a"]
        assert reopened.check(before["b"], "b")


def test_configured_token_wins_over_stored_one_and_revokes_it(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["support-hours"], {})
    generated = tokens.token("support-hours")
    tokens.ensure(["support-hours"], {"support-hours": CONFIGURED})
    assert tokens.token("support-hours") == CONFIGURED
    assert tokens.check(CONFIGURED, "support-hours")
    assert not tokens.check(generated, "support-hours")
    assert state.feed_tokens()["support-hours"] == CONFIGURED


def test_configured_token_is_kept_after_it_leaves_the_config(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["support-hours"], {"support-hours": CONFIGURED})
    tokens.ensure(["support-hours"], {})
    assert tokens.token("support-hours") == CONFIGURED
    # ... and, no longer configured, it can be rotated away.
    assert tokens.rotate("support-hours") != CONFIGURED
    assert not tokens.check(CONFIGURED, "support-hours")


def test_rotate_revokes_the_old_token_and_persists(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure([PARIS], {})
    old = tokens.token(PARIS)
    new = tokens.rotate(PARIS)
    assert new != old
    assert tokens.check(new, PARIS)
    assert not tokens.check(old, PARIS)
    assert tokens_for(state).token(PARIS) == new


def test_ensure_picks_up_a_rotation_made_by_another_process(state: StateStore) -> None:
    daemon_side = tokens_for(state)
    daemon_side.ensure([PARIS], {})
    old = daemon_side.token(PARIS)
    new = tokens_for(state).rotate(PARIS)  # `icsbridge feeds --rotate` elsewhere
    daemon_side.ensure([PARIS], {})  # the daemon's reload
    assert daemon_side.check(new, PARIS)
    assert not daemon_side.check(old, PARIS)


def test_rotating_a_configured_token_is_refused(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["support-hours"], {"support-hours": CONFIGURED})
    with pytest.raises(TokenError) as caught:
        tokens.rotate("support-hours")
    assert str(caught.value) == (
        'feed "support-hours": its token is set in the config ([[feeds]] token); '
        "change it there to revoke the old one"
    )
    assert tokens.check(CONFIGURED, "support-hours")


def test_unknown_feed_is_a_user_error(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["a"], {})
    message = 'no feed named "nope"; `icsbridge feeds --config FILE` lists the feeds'
    with pytest.raises(TokenError, match=re.escape(message)):
        tokens.rotate("nope")
    with pytest.raises(TokenError, match=re.escape(message)):
        tokens.url_path("nope")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (
            "short-token",
            'feed "support-hours": field "token": too short (11 characters); use at least '
            "22 random ones (e.g. the output of: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(24))")',
        ),
        (
            "has/slash-and-is-long-enough-0123",
            'feed "support-hours": field "token": use only the characters '
            "A-Z a-z 0-9 - _ . ~ (e.g. the output of: "
            'python3 -c "import secrets; print(secrets.token_urlsafe(24))")',
        ),
        ("", None),
    ],
)
def test_unfit_configured_token_is_refused_without_echoing_it(
    state: StateStore, token: str, message: str | None
) -> None:
    tokens = tokens_for(state)
    with pytest.raises(TokenError) as caught:
        tokens.ensure(["support-hours"], {"support-hours": token})
    if message is not None:
        assert str(caught.value) == message
        assert token not in str(caught.value)
    assert state.feed_tokens() == {}


def test_token_problem_accepts_a_generated_token() -> None:
    assert token_problem("0123456789abcdefABCDEF") is None
    assert token_problem("0123456789abcdefABCDE") is not None


def test_same_configured_token_for_two_feeds_is_refused(state: StateStore) -> None:
    tokens = tokens_for(state)
    with pytest.raises(TokenError) as caught:
        tokens.ensure(["a", "b"], {"a": CONFIGURED, "b": CONFIGURED})
    assert str(caught.value) == (
        'feeds "a" and "b": field "token": both use the same token; give each feed its own'
    )


def test_configured_token_may_take_over_a_stored_one(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["a", "b"], {})
    a_token = tokens.token("a")
    # Someone copied feed a's generated token into feed b's config.
    tokens.ensure(["a", "b"], {"b": a_token})
    assert tokens.token("b") == a_token
    assert tokens.token("a") != a_token
    assert not tokens.check(a_token, "a")


def test_configured_tokens_may_swap_between_feeds(state: StateStore) -> None:
    one, two = CONFIGURED, CONFIGURED[::-1]
    tokens = tokens_for(state)
    tokens.ensure(["a", "b"], {"a": one, "b": two})
    tokens.ensure(["a", "b"], {"a": two, "b": one})
    assert (tokens.token("a"), tokens.token("b")) == (two, one)


def test_check_refuses_unknown_feeds_and_wrong_tokens(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure(["a"], {})
    good = tokens.token("a")
    assert tokens.check(good, "a")
    assert not tokens.check(good, "b")
    assert not tokens.check(good[:-1], "a")
    assert not tokens.check(good + "x", "a")
    assert not tokens.check("", "a")
    assert not tokens.check("Zürich", "a")


def test_url_path_encodes_each_segment(state: StateStore) -> None:
    tokens = tokens_for(state)
    tokens.ensure([PARIS, "support-hours"], {"support-hours": CONFIGURED})
    token = tokens.token(PARIS)
    assert tokens.url_path(PARIS) == (
        f"/feeds/{token}/hq/locations/Paris%20HQ/holidays/French%20Holidays.ics"
    )
    assert tokens.url_path("support-hours") == f"/feeds/{CONFIGURED}/support-hours.ics"


def test_feed_url_path_escapes_what_would_break_a_url() -> None:
    assert feed_url_path("t", "a?b#c%d/Zürich/x y+z") == (
        "/feeds/t/a%3Fb%23c%25d/Z%C3%BCrich/x%20y%2Bz.ics"
    )


def test_readme_states_the_bits_a_generated_token_really_has() -> None:
    """The README said 144 bits while the code made 192: the figure is now read off both."""
    from support.paths import REPO

    from icsbridge.daemon.feeds import tokens

    readme = " ".join((REPO / "README.md").read_text().split())
    bits = len(tokens.new_token()) * 6  # URL-safe base64: 6 bits a character, no padding
    assert f"own token of {bits} random bits" in readme


def test_two_daemons_creating_a_new_feed_at_once_end_with_one_token(
    state_at: StateLocation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read the tokens before the other wrote: the second keeps the first's token
    instead of replacing it (which left the first serving a URL that no longer works)."""
    with StateStore(state_at) as one, StateStore(state_at) as two:
        first, second = tokens_for(one), tokens_for(two)
        reads = [{}]  # the second's read, made before the first daemon wrote
        real = two.feed_tokens
        monkeypatch.setattr(two, "feed_tokens", lambda: reads.pop() if reads else real())
        first.ensure(["support-hours"], {})
        second.ensure(["support-hours"], {})
        assert second.token("support-hours") == first.token("support-hours")
        assert (
            one.feed_tokens()
            == two.feed_tokens()
            == {"support-hours": first.token("support-hours")}
        )
