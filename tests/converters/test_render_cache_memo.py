"""ConvertMemo hands back the same objects while a key repeats, and forgets old pulls;
RenderCache.recall reuses a result only for the very same events and equal inputs."""

from __future__ import annotations

from converters.render_cache import ConvertMemo, RenderCache


def test_a_repeated_key_gives_the_same_object_and_old_keys_go() -> None:
    memo: ConvertMemo[list[int]] = ConvertMemo()
    memo.begin()
    first = memo.get("a", lambda: [1])
    assert memo.get("a", lambda: [2]) is first
    memo.begin()
    assert memo.get("a", lambda: [3]) is first  # used by the previous pull: kept
    memo.get("b", lambda: [4])
    memo.begin()
    memo.begin()  # two pulls without "a" or "b"
    assert memo.get("a", lambda: [5]) == [5]
    assert len(memo) == 1
    assert (memo.hits, memo.misses) == (2, 3)


def test_recall_needs_the_same_objects_and_equal_inputs() -> None:
    cache = RenderCache()
    events = [object(), object()]
    cache.remember("c", events, ("meta", [1]), "result")
    assert cache.recall("c", list(events), ("meta", [1])) == "result"
    assert cache.recall("c", events, ("meta", [2])) is None  # a state row changed
    assert cache.recall("c", [events[0], object()], ("meta", [1])) is None  # a new event
    assert cache.recall("c", events[:1], ("meta", [1])) is None
    cache.retain([])
    assert cache.recall("c", events, ("meta", [1])) is None
