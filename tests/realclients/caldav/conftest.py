"""One Radicale (PyPI, filesystem storage) per test module, on loopback: the reference
CalDAV server the client harnesses of ``support.davclients`` are proven against, before
the same tests are pointed at icsbridge's own CalDAV endpoint."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from support.caldav_world import World, running_world
from support.davclients.radicale import Radicale

USER = "reception"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    with Radicale(tmp_path_factory.mktemp("radicale"), {USER: PASSWORD}) as server:
        yield server


def vevent(uid: str, summary: str, *, start: str = "20261210T100000Z") -> str:
    """One VEVENT, as EDS's create takes it."""
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:{start}\r\n"
        f"DURATION:PT1H\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )


def vcalendar(uid: str, summary: str, *, start: str = "20261210T100000Z") -> str:
    """One event as a whole .ics object, as a vdir file or a PUT holds it (``summary``
    as TEXT: no unescaped comma, which Radicale's vobject reads as a list)."""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//icsbridge tests//EN\r\n"
        f"{vevent(uid, summary, start=start)}END:VCALENDAR\r\n"
    )


BAD_START = "20261310T100000Z"
"""Month 13: both clients pass it on, and Radicale refuses the object (400)."""


@pytest.fixture(scope="module")
def icsbridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """``icsbridge run`` on loopback with the Webex and Wordbee simulators behind it (the
    world of tests/daemon/caldav); stopping it checks its log (no traceback, no password)."""
    with running_world(tmp_path_factory.mktemp("icsbridge")) as world:
        yield world


FRENCH = "French Holidays (Paris HQ)"


def webex_event_names(world: World) -> Counter[str]:
    """How many schedules of the simulated Webex org hold an event of each name."""

    def count() -> Counter[str]:
        owners = [*world.sim.people.values(), *world.sim.locations.values()]
        return Counter(n for o in owners for sched in o.schedules for n in sched.events)

    result: Counter[str] = world.webex.call(count)
    return result
