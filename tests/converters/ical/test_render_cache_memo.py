"""LeanMemo hands back the same lean objects while an answer repeats, converts only the
events that changed when it does not, and forgets schedules a pull did not read;
RenderCache.recall reuses a result only for the very same events and equal inputs."""

from __future__ import annotations

from collections.abc import Callable, Container

from icalendar import Event

from icsbridge.converters.ical.assembly import prepare
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.converters.ical.render_cache import EventThunk, LeanMemo, RenderCache


def _answer(
    summaries: list[str], calls: list[str]
) -> Callable[[Container[bytes]], tuple[str, list[EventThunk]]]:
    """A schedule answer: one event per summary; ``calls`` logs each full conversion."""

    def convert(known: Container[bytes]) -> tuple[str, list[EventThunk]]:
        def one(summary: str) -> ConvertedEvent:
            calls.append(summary)
            return ConvertedEvent(summary, Event({"SUMMARY": summary}), f"hint {summary}")

        return "the schedule", [
            (summary.encode(), lambda s=summary: one(s))  # type: ignore[misc]
            for summary in summaries
        ]

    return convert


def test_an_unchanged_answer_gives_the_same_lean_objects() -> None:
    memo, calls = LeanMemo(), []
    memo.begin()
    name, first = memo.events("s", b"v1", _answer(["a", "b"], calls))
    assert name == "the schedule"
    assert [ev.component for ev in first] == [None, None]  # lean: no component kept
    assert [ev.prepared for ev in first] == [prepare(Event({"SUMMARY": s})) for s in "ab"]
    memo.begin()
    _, again = memo.events("s", b"v1", _answer(["a", "b"], calls))
    assert all(x is y for x, y in zip(first, again, strict=True))
    assert calls == ["a", "b"]  # nothing converted the second time


def test_a_changed_answer_converts_only_its_changed_events() -> None:
    memo, calls = LeanMemo(), []
    memo.begin()
    _, first = memo.events("s", b"v1", _answer(["a", "b", "c"], calls))
    memo.begin()
    _, second = memo.events("s", b"v2", _answer(["a", "B", "c"], calls))
    assert calls == ["a", "b", "c", "B"]
    assert second[0] is first[0] and second[2] is first[2]
    assert second[1].native_key == "B"
    assert (memo.hits, memo.misses) == (2, 4)


def test_a_schedule_not_read_by_a_pull_is_forgotten() -> None:
    memo, calls = LeanMemo(), []
    memo.begin()
    memo.events("s", b"v1", _answer(["a"], calls))
    memo.events("t", b"v1", _answer(["b"], calls))
    memo.end()
    memo.begin()
    memo.events("t", b"v1", _answer(["b"], calls))
    memo.end()
    assert len(memo) == 1
    memo.begin()
    memo.events("s", b"v1", _answer(["a"], calls))
    assert calls == ["a", "b", "a"]  # "s" was converted again


def test_recall_needs_the_same_objects_and_equal_inputs() -> None:
    cache = RenderCache()
    events = [object(), object()]
    cache.remember("c", events, ("meta", b"rows"), "result")
    assert cache.recall("c", list(events), ("meta", b"rows")) == "result"
    assert cache.recall("c", events, ("meta", b"other")) is None  # a state row changed
    assert cache.recall("c", [events[0], object()], ("meta", b"rows")) is None  # a new event
    assert cache.recall("c", events[:1], ("meta", b"rows")) is None
    cache.retain([])
    assert cache.recall("c", events, ("meta", b"rows")) is None


def test_known_answers_only_an_unchanged_answer_and_keeps_its_schedule() -> None:
    """The sync asks ``known`` on the event loop before it hands a conversion to a
    thread: it must give the very objects ``events`` would, and a schedule it answered
    counts as read (``end`` keeps it)."""
    memo, calls = LeanMemo(), []
    memo.begin()
    assert memo.known("s", b"v1") is None  # never converted
    _, first = memo.events("s", b"v1", _answer(["a"], calls))
    memo.end()
    memo.begin()
    assert memo.known("s", b"v2") is None  # the answer changed: convert it
    kept = memo.known("s", b"v1")
    assert kept is not None
    name, again = kept
    assert name == "the schedule" and again[0] is first[0]
    memo.end()
    assert len(memo) == 1 and calls == ["a"]
