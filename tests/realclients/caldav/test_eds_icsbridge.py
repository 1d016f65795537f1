"""Evolution's data server (ECal.Client, headless) against ``icsbridge run``: list,
create and remove an event of a Webex calendar, each checked in the simulator's state
exactly once, and the text EDS gives (what Evolution and GNOME Calendar show) when the
API cannot hold an event: our one-line reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.caldav_world import PASSWORD, World
from support.dav_requests import calendar_named, client
from support.davclients.eds import EdsError, EdsSession

from .conftest import FRENCH, webex_event_names

pytestmark = pytest.mark.realclients


@pytest.fixture(scope="module")
def eds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdsSession]:
    with EdsSession(tmp_path_factory.mktemp("eds")) as session:
        yield session


def _holiday(uid: str, summary: str, day: str, extra: str = "") -> str:
    """One all-day VEVENT, as EDS's create takes it."""
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261201T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{day}\r\nDTEND;VALUE=DATE:{int(day) + 1}\r\n{extra}"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\n"
    )


def _french_url(world: World) -> str:
    return str(calendar_named(client(world.dav, "reception", PASSWORD).principal(), FRENCH).url)


def test_eds_lists_creates_and_removes_a_webex_event_each_once(
    icsbridge: World, eds: EdsSession
) -> None:
    calendar = eds.open("i-french", _french_url(icsbridge), "reception", PASSWORD)
    assert not calendar.readonly()
    served = client(icsbridge.dav, "reception", PASSWORD)
    known = [
        e.icalendar_component["UID"] for e in calendar_named(served.principal(), FRENCH).events()
    ]
    listed = calendar.events(present=[str(u) for u in known])
    assert len(listed) == len(known) and all("BEGIN:VEVENT" in text for text in listed)

    uid = calendar.create(_holiday("EDS-PARTY", "EDS party", "20261221"))
    assert uid == "EDS-PARTY"
    assert webex_event_names(icsbridge)["EDS party"] == 1
    [made] = [t for t in calendar.events(present=[uid]) if f"UID:{uid}" in t]
    assert "SUMMARY:EDS party" in made

    calendar.remove(uid)
    assert webex_event_names(icsbridge)["EDS party"] == 0
    assert not [t for t in calendar.events(absent=[uid]) if f"UID:{uid}" in t]


def test_eds_shows_the_engines_reason_when_webex_cannot_hold_the_event(
    icsbridge: World, eds: EdsSession
) -> None:
    calendar = eds.open("i-french", _french_url(icsbridge), "reception", PASSWORD)
    monthly = _holiday("EDS-MONTHLY", "EDS month end", "20261230", "RRULE:FREQ=MONTHLY\r\n")
    with pytest.raises(EdsError) as refused:
        calendar.create(monthly)
    # EDS shows the body's text (the engine's one line), then each element's name
    assert refused.value.text == (
        "Cannot create calendar object: Failed to put data: HTTP error code 403 (Forbidden): "
        "1 event(s) cannot be written to the webex API; nothing was applied; EDS-MONTHLY: "
        "Webex location schedule cannot hold: monthly recurrence (RRULE FREQ=MONTHLY)"
        "[valid-calendar-object-resource][responsedescription]"
    )
    assert webex_event_names(icsbridge)["EDS month end"] == 0
