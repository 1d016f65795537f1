"""The push engine through the simulators, for every writable kind: create, update,
delete, an upload that changes nothing, dry runs, overrides, the deletion cap and the
read-only refusal (conflicts: test_push_conflicts; crashes: test_push_recovery)."""

from __future__ import annotations

from pathlib import Path

import pytest
from icalendar import Calendar, Event, vDatetime, vText
from support.push_world import (
    NOW,
    WRITABLE_KINDS,
    PushWorld,
    by_summary,
    events_of,
    renamed,
    summary_of,
    with_events,
    with_uid,
)

from icsbridge.daemon.push.plan import PushRefused

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("push_state")]

NEW_UID = "made-in-a-calendar-app-1@example.org"


@pytest.fixture(params=WRITABLE_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _journal_size(w: PushWorld) -> int:
    return int(w.state._db.execute("SELECT count(*) FROM journal").fetchone()[0])


def _sorted_events(data: bytes) -> list[Event]:
    return [events_of(data)[uid] for uid in sorted(events_of(data))]


# -- nothing to do --------------------------------------------------------------------------


async def test_the_feeds_own_bytes_send_nothing(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        out = await w.push(w.calendar, feed)
        assert (out.plan, out.notes, out.unchanged) == ([], [], len(events_of(feed)))
        assert out.summary() == f"sent 0 API call(s); {len(events_of(feed))} event(s) unchanged"
        assert w.writes_sent() == []


def _as_a_client_saves_it(data: bytes) -> bytes:
    """The feed as a calendar app writes it back: another PRODID, DTSTAMP, LAST-MODIFIED
    and SEQUENCE, the app's own properties, events and their properties in reverse
    order, other line folding."""
    cal = Calendar.from_ical(data)
    cal["PRODID"] = vText("-//Example Corp.//Some Calendar App 9.1//EN")
    for ev in cal.walk("VEVENT"):
        ev["DTSTAMP"] = vDatetime(NOW.replace(hour=11))
        ev["LAST-MODIFIED"] = vDatetime(NOW.replace(hour=10))
        ev["SEQUENCE"] = 7
        ev.add("CREATED", NOW)
        ev.add("X-APPLE-TRAVEL-ADVISORY-BEHAVIOR", "AUTOMATIC")
        ev.add("X-MOZ-GENERATION", "3")
    # icalendar writes properties in a canonical order: reverse them in the text.
    text = bytes(cal.to_ical()).decode().replace("\r\n ", "")
    head, _, tail = text.partition("BEGIN:VEVENT\r\n")
    body, _, end = ("BEGIN:VEVENT\r\n" + tail).rpartition("END:VEVENT\r\n")
    blocks = [b for b in (body + "END:VEVENT\r\n").split("BEGIN:VEVENT\r\n") if b]
    events = ["BEGIN:VEVENT\r\n" + _reversed_properties(b) for b in reversed(blocks)]
    return _refold((head + "".join(events) + end).encode(), width=40)


def _reversed_properties(block: str) -> str:
    """A VEVENT's text (after BEGIN) with its own properties in reverse order."""
    lines = block.split("\r\n")
    own, subs, depth = [], [], 0
    for line in lines[:-2]:  # "END:VEVENT", ""
        if line.startswith("BEGIN:"):
            depth += 1
        (subs if depth else own).append(line)
        if line.startswith("END:"):
            depth -= 1
    return "\r\n".join([*subs, *reversed(own), "END:VEVENT", ""])


def _refold(data: bytes, *, width: int) -> bytes:
    """Unfold every line, then fold at ``width`` characters (RFC 5545 3.1)."""
    text = data.decode().replace("\r\n ", "").replace("\r\n\t", "")
    lines = []
    for line in text.split("\r\n"):
        parts = [line[i : i + width] for i in range(0, len(line), width)] or [""]
        lines.append("\r\n ".join(parts))
    return "\r\n".join(lines).encode()


async def test_a_client_rewrite_of_the_feed_sends_nothing(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        rewritten = _as_a_client_saves_it(feed)
        assert b"Some Calendar" in rewritten and b"X-MOZ-GENERATION:3" in rewritten
        assert events_of(rewritten).keys() == events_of(feed).keys()
        out = await w.push(w.calendar, rewritten)
        assert (out.plan, out.unchanged) == ([], len(events_of(feed)))
        assert w.writes_sent() == []


# -- update, create, delete -------------------------------------------------------------------


async def test_an_edited_summary_is_written_and_keeps_its_uid(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        uid, event = sorted(events_of(feed).items())[0]
        old = summary_of(event)
        others = [ev for u, ev in events_of(feed).items() if u != uid]
        out = await w.push(w.calendar, with_events(feed, [*others, renamed(event, "Renamed here")]))

        assert len(out.plan) == 1 and len(w.writes_sent()) == 1
        assert f'update "{old}" (UID {uid}): ' in out.plan[0]
        assert "-> Renamed here" in out.plan[0]
        names = w.api_events(await w.ref(w.calendar))
        assert "Renamed here" in names and old not in names
        # What the push answered, and the next sync, publish the edit under the same UID.
        pushed = next(c for c in out.rendered if c.meta.key == w.calendar)
        assert summary_of(events_of(pushed.data)[uid]) == "Renamed here"
        again = await w.feed()
        assert summary_of(events_of(again)[uid]) == "Renamed here"
        assert set(events_of(again)) == set(events_of(feed))
        # The new feed, uploaded as is, is no edit.
        assert (await w.push(w.calendar, again)).plan == []
        assert len(w.writes_sent()) == 1


async def test_a_new_uid_is_created_and_published_under_that_uid(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        template = _sorted_events(feed)[0]
        new = with_uid(template, NEW_UID, "Made in a calendar app")
        out = await w.push(w.calendar, with_events(feed, [*_sorted_events(feed), new]))

        assert len(out.plan) == 1
        assert out.plan[0].startswith("POST ")
        assert out.plan[0].endswith(f': create "Made in a calendar app" (UID {NEW_UID})')
        assert [s.split(" ", 1)[0] for s in w.writes_sent()] == ["POST"]
        assert "Made in a calendar app" in w.api_events(await w.ref(w.calendar))
        again = await w.feed()
        assert by_summary(again)["Made in a calendar app"] == NEW_UID
        assert len(events_of(again)) == len(events_of(feed)) + 1
        # Pushing the same upload again creates nothing more.
        assert (
            await w.push(w.calendar, with_events(feed, [*_sorted_events(feed), new]))
        ).plan == []
        assert len(w.writes_sent()) == 1


async def test_an_event_missing_from_a_whole_calendar_upload_is_deleted(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        gone, *kept = _sorted_events(feed)
        out = await w.push(w.calendar, with_events(feed, kept))

        assert len(out.plan) == 1
        assert out.plan[0].startswith("DELETE ")
        assert out.plan[0].endswith(f': delete "{summary_of(gone)}" (UID {gone["UID"]})')
        assert summary_of(gone) not in w.api_events(await w.ref(w.calendar))
        assert set(events_of(await w.feed())) == {str(ev["UID"]) for ev in kept}


async def test_a_one_event_delete_removes_only_that_event(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        uid = sorted(events_of(feed))[1]
        out = await w.push(w.calendar, b"", scope="delete", uid=uid)

        assert len(out.plan) == 1 and out.plan[0].startswith("DELETE ")
        assert set(events_of(await w.feed())) == set(events_of(feed)) - {uid}
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, b"", scope="delete", uid=uid)
        assert info.value.status == 404
        assert info.value.message == f'calendar "{w.calendar}" has no event "{uid}"'


async def test_a_one_event_upload_deletes_nothing(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        first = _sorted_events(feed)[0]
        out = await w.push(
            w.calendar, with_events(feed, [renamed(first, "Only me")]), scope="event"
        )
        assert len(out.plan) == 1 and "Only me" in out.plan[0]
        assert len(events_of(await w.feed())) == len(events_of(feed))


# -- dry run ------------------------------------------------------------------------------------


async def test_a_dry_run_lists_each_call_and_changes_nothing(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        first, gone, *rest = _sorted_events(feed)
        upload = with_events(
            feed,
            [renamed(first, "Dry renamed"), *rest, with_uid(first, NEW_UID, "Dry created")],
        )
        items_before = w.state.items(w.name, w.calendar)
        api_before = w.api_events(await w.ref(w.calendar))

        out = await w.push(w.calendar, upload, dry_run=True)

        assert out.dry_run and out.rendered == []
        assert out.summary() == f"would send 3 API call(s); {len(rest)} event(s) unchanged"
        verbs = sorted(line.split(": ", 1)[1].split(" ", 1)[0] for line in out.plan)
        assert verbs == ["create", "delete", "update"]
        update = next(line for line in out.plan if ": update " in line)
        assert f'update "{summary_of(first)}" (UID {first["UID"]}): ' in update
        assert f"{summary_of(first)} -> Dry renamed" in update
        assert any(line.startswith("POST ") and "Dry created" in line for line in out.plan)
        assert any(
            line.startswith("DELETE ") and f'delete "{summary_of(gone)}"' in line
            for line in out.plan
        )
        assert w.writes_sent() == []
        assert w.state.items(w.name, w.calendar) == items_before
        assert w.api_events(await w.ref(w.calendar)) == api_before
        assert _journal_size(w) == 0
        # Applied for real, the plan is the same.
        assert (await w.push(w.calendar, upload)).plan == out.plan
        assert len(w.writes_sent()) == 3


# -- refusals -----------------------------------------------------------------------------------


async def test_a_changed_occurrence_is_refused_and_nothing_applied(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        first, second, *rest = _sorted_events(feed)
        override = Event.from_ical(first.to_ical())
        override["RECURRENCE-ID"] = first["DTSTART"]
        override["SUMMARY"] = vText("Just this once")
        upload = with_events(feed, [first, override, renamed(second, "Valid edit"), *rest])

        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, upload)

        assert info.value.status == 422
        target = f"the {kind} API"
        assert info.value.message == (
            f"1 event(s) cannot be written to {target}; nothing was applied"
        )
        assert info.value.lines == [
            f"{first['UID']}: {target} cannot hold a changed single occurrence "
            "(RECURRENCE-ID); change the whole series instead"
        ]
        assert w.writes_sent() == []
        assert "Valid edit" not in w.api_events(await w.ref(w.calendar))


async def test_over_the_configured_deletion_cap_nothing_is_applied(
    tmp_path: Path, kind: str
) -> None:
    async with PushWorld(tmp_path, kind, extra="max_deletes = 1\n") as w:
        feed = await w.feed()
        a, b, c, *rest = _sorted_events(feed)
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, [renamed(c, "Valid edit"), *rest]))

        assert info.value.status == 422
        assert info.value.message == (
            "the upload would delete 2 events, more than max_deletes = 1; nothing was "
            "applied (raise max_deletes on the source if meant)"
        )
        assert sorted(info.value.lines) == sorted(f"{ev['UID']}: would be deleted" for ev in (a, b))
        assert w.writes_sent() == []
        # Within the cap it applies.
        out = await w.push(w.calendar, with_events(feed, [b, renamed(c, "Valid edit"), *rest]))
        assert len(out.plan) == 2
        assert set(events_of(await w.feed())) == set(events_of(feed)) - {str(a["UID"])}


@pytest.mark.parametrize("kind", ["apio", "b2core"])  # the calendars with over 10 events
async def test_the_default_deletion_cap_is_ten(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        events = _sorted_events(feed)
        assert len(events) >= 12
        with pytest.raises(PushRefused) as info:
            await w.push(w.calendar, with_events(feed, events[11:]))
        assert info.value.status == 422
        assert "would delete 11 events, more than max_deletes = 10" in info.value.message
        assert len(info.value.lines) == 11
        assert w.writes_sent() == []
        out = await w.push(w.calendar, with_events(feed, events[10:]))
        assert len(out.plan) == 10
        assert len(events_of(await w.feed())) == len(events) - 10


async def test_read_only_true_refuses_every_push(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind, extra="read_only = true\n") as w:
        feed = await w.feed()
        first, *rest = _sorted_events(feed)
        for dry_run in (True, False):
            with pytest.raises(PushRefused) as info:
                await w.push(w.calendar, with_events(feed, rest), dry_run=dry_run)
            assert info.value.status == 403
            assert info.value.message == (
                f'source "{w.name}" is read-only (it is configured with read_only = true); '
                "the edit was not applied"
            )
        assert w.writes_sent() == []
        assert summary_of(first) in w.api_events(await w.ref(w.calendar))


async def test_wordbee_is_read_only(tmp_path: Path) -> None:
    async with PushWorld(tmp_path, "wordbee") as w:
        rendered = await w.sync()
        key, cal = next((k, c) for k, c in sorted(rendered.items()) if c.events)
        with pytest.raises(PushRefused) as info:
            await w.push(key, cal.data)
        assert info.value.status == 403
        assert info.value.message == (
            'source "wordbee-demo" is read-only (the wordbee API is read here, never '
            "written); the edit was not applied"
        )
        assert w.writes_sent() == []


@pytest.mark.parametrize("kind", ["webex", "apio"])
async def test_two_events_can_swap_names_in_one_upload(tmp_path: Path, kind: str) -> None:
    async with PushWorld(tmp_path, kind) as w:
        feed = await w.feed()
        a, b, *rest = _sorted_events(feed)
        swapped = [renamed(a, summary_of(b)), renamed(b, summary_of(a)), *rest]
        await w.push(w.calendar, with_events(feed, swapped))
        after = events_of(await w.feed())
        assert summary_of(after[str(a["UID"])]) == summary_of(b)
        assert summary_of(after[str(b["UID"])]) == summary_of(a)
