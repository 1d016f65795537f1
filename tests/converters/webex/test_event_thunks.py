"""The Webex converter's per-event memo keys (event_thunks): a changed event is
validated and converted again, an unchanged one is neither, a converter version bump
changes every key, and a bad answer fails as parse_schedule words it."""

from __future__ import annotations

import copy
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from support import paths

from icsbridge.converters.errors import PayloadError
from icsbridge.converters.ical.assembly import prepare
from icsbridge.converters.webex import convert
from icsbridge.converters.webex.convert import event_thunks, parse_schedule, to_vevents

PARIS = ZoneInfo("Europe/Paris")
WHERE = 'schedule "Shifts" (businessHours)'


def _answer() -> dict[str, Any]:
    path = paths.FIXTURES / "webex" / "location_yearly_holidays.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert len(data["events"]) >= 3
    return data


def _thunks(data: object, known: frozenset[bytes] = frozenset()) -> list[tuple[bytes, Any]]:
    _, thunks = event_thunks(
        data, where=WHERE, tz=PARIS, level="PEOPLE", owner_name="Alice", known=known
    )
    return thunks


def test_the_events_convert_as_to_vevents_does() -> None:
    data = _answer()
    schedule = parse_schedule(data, where=WHERE)
    full = to_vevents(schedule, tz=PARIS, level="PEOPLE", owner_name="Alice")
    name, thunks = event_thunks(data, where=WHERE, tz=PARIS, level="PEOPLE", owner_name="Alice")
    assert name == schedule.name
    got = [thunk() for _, thunk in thunks]
    assert [ev.native_key for ev in got] == [ev.native_key for ev in full]
    assert [prepare(ev.vevent()) for ev in got] == [prepare(ev.vevent()) for ev in full]


def test_only_a_changed_event_gets_a_new_key_and_known_ones_are_not_converted() -> None:
    data = _answer()
    first = _thunks(data)
    changed = copy.deepcopy(data)
    changed["events"][1]["name"] = changed["events"][1]["name"] + " (moved)"
    again = _thunks(changed, known=frozenset(digest for digest, _ in first))
    new = [digest for digest, _ in again if digest not in {d for d, _ in first}]
    assert len(new) == 1
    for digest, thunk in again:
        if digest in new:
            assert "(moved)" in str(thunk().vevent()["SUMMARY"])
        else:  # known: the memo reuses it, and it was not even validated
            with pytest.raises(AssertionError):
                thunk()


def test_what_the_conversion_reads_is_in_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _answer()
    keys = {digest for digest, _ in _thunks(data)}
    renamed = {**data, "name": "Other shifts"}  # in every event's CATEGORIES
    assert keys.isdisjoint(digest for digest, _ in _thunks(renamed))
    _, at_ny = event_thunks(
        data, where=WHERE, tz=ZoneInfo("America/New_York"), level="PEOPLE", owner_name="Alice"
    )
    assert keys.isdisjoint(digest for digest, _ in at_ny)
    monkeypatch.setattr(convert, "CONVERTER_VERSION", "webex-test-bump")
    assert keys.isdisjoint(digest for digest, _ in _thunks(data))  # a new converter


def test_a_bad_event_fails_as_a_full_validation_words_it() -> None:
    data = _answer()
    known = frozenset(digest for digest, _ in _thunks(data))
    broken = copy.deepcopy(data)
    broken["events"][2]["startDate"] = "tomorrow"
    with pytest.raises(PayloadError) as full:
        parse_schedule(broken, where=WHERE)
    with pytest.raises(PayloadError) as memo:
        _thunks(broken, known=known)  # events 0 and 1 known: only event 2 is validated
    assert str(memo.value) == str(full.value)
    twice = copy.deepcopy(data)
    twice["events"][2]["name"] = data["events"][0]["name"]  # clashes with a known event
    with pytest.raises(PayloadError) as full:
        parse_schedule(twice, where=WHERE)
    with pytest.raises(PayloadError) as memo:
        _thunks(twice, known=known)
    assert str(memo.value) == str(full.value)
