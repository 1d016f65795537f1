"""Demo data for the Wordbee simulator: wordbee/demo.json, moved to a chosen month.

The file describes July 2017 (the seed's example: its appointments 88 and 89, its
projects, jobs and orders) plus recurring appointments, an appointment across a month
boundary, vacation, exceptionally worked weekend days and a second person in another
zone. :func:`load_demo` shifts every date by whole weeks (so weekdays stay) to bring
the anchor month onto the requested one; weekly series of 30 weeks then cross a DST
change whatever the month. An appointment marked ``month_end`` goes to the last evening
of the requested month instead, so one always spans a month boundary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from icsbridge.daemon.simulators.wordbee.calendar import SimAppointment, SimPerson
from icsbridge.daemon.simulators.wordbee.state import WordbeeSimState

_WORK_ITEM_TIMES = ("dtstart", "dtend", "dline", "deadline", "rdate", "dtcassign", "dtpassign")


def read_demo() -> dict[str, Any]:
    text = resources.files("icsbridge.daemon.simulators.wordbee").joinpath("demo.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def demo_shift(anchor: date, target: date) -> timedelta:
    """Whole weeks from the data's anchor month to ``target``'s month."""
    first = target.replace(day=1)
    return timedelta(weeks=round((first - anchor).days / 7))


def load_demo(state: WordbeeSimState, target: date, data: dict[str, Any] | None = None) -> None:
    """Fill ``state`` with the demo data moved onto ``target``'s month."""
    data = data or read_demo()
    shift = demo_shift(date.fromisoformat(data["anchor"]), target)
    account = data["account"]
    state.auth.accounts[account["id"]] = account["key"]
    company = data["company"]
    state.cid, state.company = company["cid"], company["name"]
    state.holidays = {
        date.fromisoformat(day) + shift: kind for day, kind in company["holidays"].items()
    }
    for entry in data["persons"]:
        items = entry.get("work_items")
        state.add_person(
            SimPerson(
                uid=entry["uid"],
                name=entry["name"],
                windows_zone=entry["timezone"],
                days={date.fromisoformat(d) + shift: dict(v) for d, v in entry["days"].items()},
                projects=_moved_items(items, "projects", shift),
                jobs=_moved_items(items, "jobs", shift),
                orders=_moved_items(items, "orders", shift),
                send_workp=entry.get("send_workp", True),
            )
        )
    for entry in data["appointments"]:
        zone = ZoneInfo(entry["zone"])
        start = datetime.fromisoformat(entry["start"]) + shift
        end = datetime.fromisoformat(entry["end"]) + shift
        if entry.get("month_end"):
            # Kept on the last evening of the month, so it always spans the boundary.
            last = _last_day(target)
            move = datetime.combine(last, start.time()) - start
            start, end = start + move, end + move
        state.add_appointment(
            SimAppointment(
                appid=entry["appid"],
                start=start.replace(tzinfo=zone),
                end=end.replace(tzinfo=zone),
                subject=entry["subject"],
                desc=entry.get("desc", ""),
                cid=entry.get("cid"),
                uid=entry.get("uid"),
                unm=entry.get("unm", " "),
                attendees=[dict(a) for a in entry.get("attendees", [])],
                reminder=entry.get("reminder"),
                rule=entry.get("rule"),
                rcule=entry.get("rcule"),
            )
        )


def _last_day(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _moved_items(
    items: dict[str, Any] | None, kind: str, shift: timedelta
) -> list[dict[str, Any]] | None:
    if items is None or items.get(kind) is None:
        return None
    moved = []
    for item in items[kind]:
        copy = dict(item)
        for key in _WORK_ITEM_TIMES:
            if isinstance(copy.get(key), str):
                moment = datetime.fromisoformat(copy[key]).replace(tzinfo=UTC) + shift
                copy[key] = moment.strftime("%Y-%m-%dT%H:%M:%S")
        moved.append(copy)
    return moved


def demo_state(
    now: Callable[[], datetime] | None = None, *, anchor: date | None = None
) -> WordbeeSimState:
    """The demo company of wordbee/demo.json, built around the seed's example.

    The data describes July 2017; it is moved by whole weeks (weekdays kept) so that
    month lands on ``anchor``'s month (default: the month of ``now()``).
    """
    state = WordbeeSimState(now=now)
    load_demo(state, anchor or state.now().date())
    return state
