"""Webex and APIO key events by name, unique within a schedule: the plan checks the
schedule as it will be after the whole push, and orders the calls so none finds its name
taken (issue 14: a holiday calendar repeating "Christmas Day" every year planned cleanly,
then the real push stopped at a 409 with 2 of 111 events left in the schedule)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from icalendar import Event
from support.push_world import (
    PushWorld,
    by_summary,
    events_of,
    fixture_events,
    renamed,
    summary_of,
    with_events,
)

from icsbridge.daemon.push.plan import PushRefused
from icsbridge.daemon.sources.http import SourceError
from icsbridge.daemon.sources.writes import EventWriter, PlannedWrite

pytestmark = pytest.mark.anyio

HOLIDAYS = "push_holidays_names_repeat_each_year.ics"  # Google's export, names every year


@pytest.fixture(params=["webex", "apio"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _with_year(event: Event) -> Event:
    return renamed(event, f"{summary_of(event)} {event.decoded('DTSTART').year}")


async def test_a_holiday_calendar_repeating_names_each_year_is_refused_whole(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        upload = with_events(feed, [*events_of(feed).values(), *fixture_events(HOLIDAYS)])
        dry = None
        for dry_run in (True, False):
            with pytest.raises(PushRefused) as info:
                await w.push(w.calendar, upload, dry_run=dry_run)
            assert info.value.status == 422
            assert "nothing was applied" in info.value.message
            assert '"Christmas Day" (UIDs 20261225_n5g4n1cvbc0tue8frl3ek7mefk@google.com, ' in (
                info.value.message
            )
            assert "keys events by name, unique within a schedule" in info.value.message
            assert "\n" not in info.value.message
            dry = dry or info.value.message
            assert info.value.message == dry  # the dry run says what the push says
        assert w.writes_sent() == []
        lines = info.value.lines
        assert (
            '20271225_0gq5e2ci1d6v7mmh2fce4n4tac@google.com: SUMMARY "Christmas Day" is also '
            "that of 20261225_n5g4n1cvbc0tue8frl3ek7mefk@google.com, "
            "20281225_5rd0pe6l2nqsbfg6lrcm8i5kq4@google.com" in lines
        )
        assert sum('"Bastille Day"' in line for line in lines) == 2


async def test_the_holiday_calendar_with_one_name_per_event_applies_whole(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        holidays = [_with_year(ev) for ev in fixture_events(HOLIDAYS)]
        upload = with_events(feed, [*events_of(feed).values(), *holidays])
        out = await w.push(w.calendar, upload)
        assert len(out.plan) == len(holidays)
        after = by_summary(await w.feed())
        for ev in holidays:
            assert after[summary_of(ev)] == str(ev["UID"])
        assert len(after) == len(events_of(feed)) + len(holidays)


async def test_a_new_event_taking_the_name_of_one_kept_is_refused_before_sending(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        kept = sorted(events_of(feed).values(), key=summary_of)[0]
        copy = renamed(fixture_events(HOLIDAYS)[0], summary_of(kept))
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [*events_of(feed).values(), copy]))
        assert info.value.status == 422
        assert f'"{summary_of(kept)}" (UIDs ' in info.value.message
        assert str(kept["UID"]) in info.value.message
        assert w.writes_sent() == []


async def test_a_name_freed_by_a_rename_is_taken_after_it(tmp_path: Path, kind: str) -> None:
    """A -> B while a new event takes A: the rename goes first, then the create."""
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, *rest = sorted(events_of(feed).values(), key=summary_of)
        new = renamed(fixture_events(HOLIDAYS)[0], summary_of(a))
        out = await w.push(w.calendar, with_events(feed, [renamed(a, "Moved away"), *rest, new]))
        assert [line.split(" ", 1)[0] for line in out.plan] == ["PUT", "POST"]
        after = by_summary(await w.feed())
        assert after["Moved away"] == str(a["UID"])
        assert after[summary_of(a)] == str(new["UID"])


async def test_a_cycle_of_three_renames_goes_through_one_temporary_name(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, b, c, *rest = sorted(events_of(feed).values(), key=summary_of)
        cycled = [renamed(a, summary_of(b)), renamed(b, summary_of(c)), renamed(c, summary_of(a))]
        dry = await w.push(w.calendar, with_events(feed, [*cycled, *rest]), dry_run=True)
        assert len(dry.plan) == 4
        assert sum("icsbridge swap 1" in line for line in dry.plan) == 2
        out = await w.push(w.calendar, with_events(feed, [*cycled, *rest]))
        assert len(out.plan) == 4
        after = by_summary(await w.feed())
        assert [after[summary_of(x)] for x in (b, c, a)] == [str(x["UID"]) for x in (a, b, c)]
        assert not any(name.startswith("icsbridge swap") for name in after)
        assert w.state.journal_pending(w.name) == []


async def test_a_summary_longer_than_the_api_holds_is_refused_before_sending(
    tmp_path: Path, kind: str
) -> None:
    limit = {"webex": 80, "apio": 40}[kind]
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, *rest = sorted(events_of(feed).values(), key=summary_of)
        long = renamed(a, "x" * (limit + 1))
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [long, *rest]))
        assert info.value.status == 422
        assert f"SUMMARY of {limit + 1} characters" in info.value.lines[0]
        assert f"holds at most {limit}; shorten it" in info.value.lines[0]
        assert w.writes_sent() == []
        out = await w.push(w.calendar, with_events(feed, [renamed(a, "x" * limit), *rest]))
        assert len(out.plan) == 1


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even ``except Exception``)."""


def _die_at(w: PushWorld, call: int, *, after_sending: bool) -> None:
    send = w.source.send_write  # type: ignore[attr-defined]
    calls = {"n": 0}

    async def dying(ref: Mapping[str, str], write: PlannedWrite) -> str | None:
        number = calls["n"]
        calls["n"] += 1
        if number == call and not after_sending:
            raise Killed
        key: str | None = await send(ref, write)
        if number == call:
            raise Killed
        return key

    w.source.send_write = dying  # type: ignore[attr-defined]


@pytest.mark.parametrize(("call", "after_sending"), [(0, True), (1, False), (2, False), (2, True)])
async def test_a_swap_killed_part_way_is_finished_by_the_next_sync(
    tmp_path: Path, kind: str, call: int, after_sending: bool
) -> None:
    """The swap is three journalled calls (A aside, B -> A, A -> B): a kill at any of
    them leaves the journal to settle, and the next sync finishes the swap."""
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, b, *rest = sorted(events_of(feed).values(), key=summary_of)
        swapped = [renamed(a, summary_of(b)), renamed(b, summary_of(a)), *rest]
        _die_at(w, call, after_sending=after_sending)
        with pytest.raises(Killed):
            await w.push(w.calendar, with_events(feed, swapped))

        w.restart()
        after = by_summary(await w.feed())
        assert w.state.journal_pending(w.name) == []
        assert after[summary_of(a)] == str(b["UID"])
        assert after[summary_of(b)] == str(a["UID"])
        assert not any(name.startswith("icsbridge swap") for name in after)
        assert len(after) == len(events_of(feed))
        out = await w.push(w.calendar, with_events(feed, swapped))
        assert out.plan == []


@pytest.mark.parametrize(
    ("name", "status"),
    [("taken", 409), ("x" * 81, 400), ("two\nlines", 400)],
)
async def test_the_simulators_refuse_what_the_plan_refuses(
    tmp_path: Path, kind: str, name: str, status: int
) -> None:
    """The simulators play the API's rules (a name taken, too long, not one line), so a
    clean real push through them means the plan knew the rules."""
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, b, *_ = sorted(events_of(feed).values(), key=summary_of)
        ref = await w.ref(w.calendar)
        writer = w.source
        assert isinstance(writer, EventWriter)
        payload = writer.payload_for(ref, a)
        target = summary_of(b) if name == "taken" else name[: 41 if kind == "apio" else 81]
        create = writer.plan_write(
            ref,
            "create",
            "new@x",
            native_key=None,
            payload=writer.with_name(payload, target),
            base=None,
        )
        with pytest.raises(SourceError) as info:
            await writer.send_write(ref, create)
        assert info.value.status == status
        key = w.state.item_by_uid(str(a["UID"])).native_key  # type: ignore[union-attr]
        rename = writer.plan_write(
            ref,
            "update",
            str(a["UID"]),
            native_key=key,
            payload=writer.with_name(payload, target),
            base=payload,
        )
        with pytest.raises(SourceError) as info:
            await writer.send_write(ref, rename)
        assert info.value.status == status
        assert by_summary(await w.feed()) == by_summary(feed)


def test_a_journal_entry_written_before_temporary_names_is_still_read() -> None:
    """Entries journalled by an older version have no ``follows``: recovery reads them."""
    old = {
        "action": "delete",
        "uid": "u@x",
        "native_key": "k",
        "payload": None,
        "base": {"name": "n"},
        "method": "DELETE",
        "path": "/p",
    }
    write = PlannedWrite.from_json(old)
    assert (write.native_key, write.follows) == ("k", False)
    assert PlannedWrite.from_json(write.to_json()) == write
