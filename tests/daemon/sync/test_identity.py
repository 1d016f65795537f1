from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from icalendar import Event

from icsbridge.converters.ical.assembly import content_hash
from icsbridge.converters.ical.model import ConvertedEvent
from icsbridge.daemon.store.state import ItemRow
from icsbridge.daemon.sync.identity import Reconciled, derived_uid, reconcile

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def _event(key: str, name: str, day: int = 1) -> ConvertedEvent:
    ev = Event()
    ev.add("summary", name)
    ev.add("dtstart", date(2026, 1, day))
    hint = hashlib.sha256(f"day={day}".encode()).hexdigest()
    return ConvertedEvent(native_key=key, component=ev, rename_hint=hint)


def _rec(
    source: str,
    calendar: str,
    pulled: list[ConvertedEvent],
    rows: list[ItemRow],
    *,
    now: datetime,
    uid_taken: Callable[[str], bool],
) -> Reconciled:
    hashes = [content_hash(ev.component) for ev in pulled]
    return reconcile(source, calendar, pulled, hashes, rows, now=now, uid_taken=uid_taken)


def _first_run(events: list[ConvertedEvent]) -> list[ItemRow]:
    rec = _rec("hq", "hq/c", events, [], now=T0, uid_taken=lambda _u: False)
    return [m.row for m in rec.matched]


def test_new_items_get_uids_derived_from_their_key() -> None:
    rows = _first_run([_event("k1", "A"), _event("k2", "B", 2)])
    assert rows[0].uid == derived_uid("hq", "hq/c", "k1")
    assert rows[1].uid == derived_uid("hq", "hq/c", "k2")
    assert rows[0].uid != rows[1].uid
    assert rows[0].uid.endswith("@icsbridge")
    assert all(r.modified == T0 and r.sequence == 0 for r in rows)


def test_unchanged_items_keep_uid_and_stamps() -> None:
    rows = _first_run([_event("k1", "A")])
    rec = _rec("hq", "hq/c", [_event("k1", "A")], rows, now=T1, uid_taken=lambda _u: True)
    (m,) = rec.matched
    assert (m.stamp.uid, m.stamp.modified, m.stamp.sequence) == (rows[0].uid, T0, 0)
    assert rec.vanished == []


def test_changed_content_bumps_sequence_and_modified() -> None:
    rows = _first_run([_event("k1", "A")])
    changed = _event("k1", "A", day=3)
    rec = _rec("hq", "hq/c", [changed], rows, now=T1, uid_taken=lambda _u: True)
    (m,) = rec.matched
    assert m.stamp.uid == rows[0].uid
    assert (m.stamp.modified, m.stamp.sequence) == (T1, 1)


def test_rename_outside_icsbridge_keeps_the_uid() -> None:
    """A Webex rename changes the event id; the UID must not change."""
    rows = _first_run([_event("id-of-Lunch", "Lunch"), _event("id-of-Tea", "Tea", 2)])
    renamed = _event("id-of-Brunch", "Brunch")  # same times as Lunch
    rec = _rec(
        "hq",
        "hq/c",
        [renamed, _event("id-of-Tea", "Tea", 2)],
        rows,
        now=T1,
        uid_taken=lambda _u: True,
    )
    by_key = {m.row.native_key: m for m in rec.matched}
    assert by_key["id-of-Brunch"].stamp.uid == rows[0].uid
    assert by_key["id-of-Brunch"].stamp.sequence == 1  # the summary changed
    assert rec.vanished == []


def test_ambiguous_rename_gives_new_uids_rather_than_a_guess() -> None:
    rows = _first_run([_event("a", "A"), _event("b", "B")])  # same hint (day 1)
    rec = _rec(
        "hq",
        "hq/c",
        [_event("c", "C")],
        rows,
        now=T1,
        uid_taken=lambda u: u in {r.uid for r in rows},
    )
    (m,) = rec.matched
    assert m.stamp.uid not in {r.uid for r in rows}
    assert {r.native_key for r in rec.vanished} == {"a", "b"}


def test_new_item_taking_a_renamed_items_old_name_gets_a_fresh_uid() -> None:
    run1 = _first_run([_event("k-A", "A")])
    rec2 = _rec("hq", "hq/c", [_event("k-B", "B")], run1, now=T1, uid_taken=lambda _u: True)
    run2 = [m.row for m in rec2.matched]
    assert run2[0].uid == derived_uid("hq", "hq/c", "k-A")  # renamed, uid kept
    # A new event named A again: its key derives the uid the renamed event holds.
    rec3 = _rec(
        "hq",
        "hq/c",
        [_event("k-B", "B"), _event("k-A", "A", 5)],
        run2,
        now=T1,
        uid_taken=lambda u: u in {r.uid for r in run2},
    )
    by_key = {m.row.native_key: m.stamp.uid for m in rec3.matched}
    assert by_key["k-B"] == derived_uid("hq", "hq/c", "k-A")
    assert by_key["k-A"] == derived_uid("hq", "hq/c", "k-A", attempt=1)
