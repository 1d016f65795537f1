"""Random interleavings of API-side edits, calendar-side edits, pushes and syncs (a
hypothesis state machine, as vdirsyncer tests its sync), on B2CORE with
conflict = "reject".

After every push: either it applied, and after a sync the feed (UID -> SUMMARY, start)
is what was pushed merged with what changed only in the API; or it was refused with 409
naming exactly the events changed on both sides, and the API did not change. Never a
pushed change missing from the API without a refusal.
"""

from __future__ import annotations

import asyncio
import copy
import shutil
import tempfile
from collections import Counter
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from icalendar import Event, vDDDTypes, vText
from support.push_world import PushWorld, events_of, with_events

from icsbridge.daemon.push.plan import PushRefused

T = TypeVar("T")
Value = tuple[str, datetime]  # SUMMARY, start (UTC)
NAMES = st.sampled_from(["Alpha", "Beta", "Gamma"])  # few: both sides often agree
INDEX = st.integers(min_value=0, max_value=1000)
EDITABLE = ("caption", "description", "startDate", "endDate", "notifications", "recipients")


def _value(event: Event) -> Value:
    return str(event["SUMMARY"]), event["DTSTART"].dt.astimezone(UTC)


def _api_value(stored: dict[str, Any]) -> Value:
    return str(stored["caption"]), datetime.fromisoformat(stored["startDate"]).astimezone(UTC)


class PushMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="push-machine-"))
        self.loop = asyncio.new_event_loop()
        self.w = PushWorld(self.folder, "b2core")
        self.created = 0
        self.refusals = 0
        self._sync()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    def _sync(self) -> None:
        """Fetch the feed: it becomes the calendar side's copy and the base of the model."""
        self.feed = self._run(self.w.feed())
        self.base = {uid: _value(ev) for uid, ev in events_of(self.feed).items()}
        self.upload = dict(events_of(self.feed))
        self.ids = {
            row.uid: row.native_key for row in self.w.state.items(self.w.name, self.w.calendar)
        }
        self.api_at_sync = self._api()

    def _api(self) -> dict[str, dict[str, Any]]:
        return {
            str(k): {f: copy.deepcopy(v[f]) for f in EDITABLE} for k, v in self.w.sim.events.items()
        }

    def _published_id(self, index: int) -> str | None:
        live = sorted(i for i in self.ids.values() if i in self._api())
        return live[index % len(live)] if live else None

    def _local_uid(self, index: int) -> str | None:
        uids = sorted(self.upload)
        return uids[index % len(uids)] if uids else None

    def teardown(self) -> None:
        self._run(self.w.close())
        self.loop.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the API side ---------------------------------------------------------------------

    @rule(index=INDEX, name=NAMES)
    def api_renames(self, index: int, name: str) -> None:
        event_id = self._published_id(index)
        if event_id is not None:
            self.w.sim.update_event(event_id, {"caption": name}, replace=False)

    @rule(index=INDEX)
    def api_deletes(self, index: int) -> None:
        event_id = self._published_id(index)
        if event_id is not None:
            self.w.sim.delete_event(event_id)

    @rule(index=INDEX, name=NAMES)
    def api_creates(self, index: int, name: str) -> None:
        event_id = self._published_id(index)
        if event_id is None:
            return
        self.created += 1
        body = dict(self._api()[event_id], caption=name)
        for field in ("startDate", "endDate"):  # a time no other event has
            moved = datetime.fromisoformat(body[field]) + timedelta(minutes=7 * self.created)
            body[field] = moved.isoformat()
        self.w.sim.add_event(body)

    # -- the calendar side ----------------------------------------------------------------

    @rule(index=INDEX, name=NAMES)
    def calendar_renames(self, index: int, name: str) -> None:
        uid = self._local_uid(index)
        if uid is not None:
            event = Event.from_ical(self.upload[uid].to_ical())
            event["SUMMARY"] = vText(name)
            self.upload[uid] = event

    @rule(index=INDEX)
    def calendar_moves(self, index: int) -> None:
        uid = self._local_uid(index)
        if uid is not None:
            event = Event.from_ical(self.upload[uid].to_ical())
            for prop in ("DTSTART", "DTEND"):
                if prop in event:
                    event[prop] = vDDDTypes(event[prop].dt + timedelta(hours=1))
            self.upload[uid] = event

    @rule(index=INDEX)
    def calendar_deletes(self, index: int) -> None:
        uid = self._local_uid(index)
        if uid is not None:
            del self.upload[uid]

    @rule(index=INDEX, name=NAMES)
    def calendar_creates(self, index: int, name: str) -> None:
        uid = self._local_uid(index)
        if uid is not None:
            self.created += 1
            event = Event.from_ical(self.upload[uid].to_ical())
            new_uid = f"made-here-{self.created}@example.org"
            event["UID"] = vText(new_uid)
            event["SUMMARY"] = vText(name)
            for prop in ("DTSTART", "DTEND"):
                if prop in event:
                    event[prop] = vDDDTypes(event[prop].dt - timedelta(minutes=11 * self.created))
            self.upload[new_uid] = event

    @precondition(lambda self: not self._edits_waiting())
    @rule()
    def sync(self) -> None:
        """A sync between pushes (the calendar side has no edit waiting)."""
        self._sync()

    def _edits_waiting(self) -> bool:
        feed = events_of(self.feed)
        return self.upload.keys() != feed.keys() or any(
            ev.to_ical() != feed[uid].to_ical() for uid, ev in self.upload.items()
        )

    # -- the push and what must hold after it ------------------------------------------------

    @rule()
    def push(self) -> None:
        local = {uid: _value(ev) for uid, ev in self.upload.items()}
        api_before = self._api()
        remote_changed = {
            uid for uid, key in self.ids.items() if api_before.get(key) != self.api_at_sync.get(key)
        }
        local_changed = {uid for uid in self.base if local.get(uid) != self.base[uid]}
        conflicts = set()
        for uid in local_changed & remote_changed:
            now = api_before.get(self.ids[uid])
            if uid not in local and now is None:
                continue  # deleted on both sides
            if uid in local and now is not None and local[uid] == _api_value(now):
                continue  # both sides made the same change
            conflicts.add(uid)
        upload = with_events(self.feed, list(self.upload.values()))
        try:
            self._run(self.w.push(self.w.calendar, upload))
        except PushRefused as exc:
            assert exc.status == 409, (exc.status, exc.message, exc.lines)
            assert {line.split(": ", 1)[0] for line in exc.lines} == conflicts
            assert self._api() == api_before  # nothing applied
            self.refusals += 1
            self._sync()
            return
        assert not conflicts, f"applied although both sides changed {sorted(conflicts)}"

        expected: dict[str, Value] = {}
        for uid, value in self.base.items():
            if uid in local_changed:
                if uid in local:
                    expected[uid] = local[uid]
            elif uid in remote_changed:
                now = api_before.get(self.ids[uid])
                if now is not None:
                    expected[uid] = _api_value(now)
            else:
                expected[uid] = value
        expected.update({uid: v for uid, v in local.items() if uid not in self.base})
        remote_new = Counter(
            _api_value(v) for k, v in api_before.items() if k not in self.api_at_sync
        )
        self._sync()
        after = self.base
        known = {uid: v for uid, v in after.items() if uid in expected or uid in local}
        assert known == expected, "a pushed or an API-side change is missing from the feed"
        assert Counter(v for uid, v in after.items() if uid not in known) == remote_new

    @invariant()
    def nothing_is_left_pending(self) -> None:
        assert self.w.state.journal_pending(self.w.name) == []


PushMachine.TestCase.settings = settings(
    max_examples=50, stateful_step_count=10, deadline=None, database=None
)
TestPushMachine = PushMachine.TestCase
