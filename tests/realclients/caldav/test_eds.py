"""Evolution's data server (ECal.Client, headless) against Radicale: discovery, list,
create, modify, remove, each seen in the server's storage, and the text EDS gives for a
server's refusal (what Evolution and GNOME Calendar show the user). One EDS session for
the module: it takes a second or two to start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.davclients.eds import EdsError, EdsSession
from support.davclients.radicale import Radicale

from .conftest import BAD_START, PASSWORD, USER, vcalendar, vevent

pytestmark = pytest.mark.realclients


@pytest.fixture(scope="module")
def eds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdsSession]:
    with EdsSession(tmp_path_factory.mktemp("eds")) as session:
        yield session


def test_eds_discovers_the_calendars_of_a_user(radicale: Radicale, eds: EdsSession) -> None:
    work = radicale.make_calendar(USER, "e-work")
    home = radicale.make_calendar(USER, "e-home")
    found = eds.discover(f"{radicale.url}/{USER}/", USER, PASSWORD)
    assert found[work] == "e-work"
    assert found[home] == "e-home"


def test_eds_lists_creates_modifies_and_removes_an_event(
    radicale: Radicale, eds: EdsSession
) -> None:
    url = radicale.make_calendar(USER, "e-edits")
    radicale.put_event(USER, "e-edits", "given.ics", vcalendar("given", "Given"))
    calendar = eds.open("e-edits", url, USER, PASSWORD)
    assert not calendar.readonly()
    [given] = calendar.events(present=["given"])
    assert "UID:given" in given and "SUMMARY:Given" in given

    assert calendar.create(vevent("from-eds", "From EDS")) == "from-eds"
    stored = radicale.event_names(USER, "e-edits")
    assert "SUMMARY:From EDS" in stored["from-eds.ics"]

    calendar.modify(vevent("from-eds", "From EDS, moved", start="20261211T090000Z"))
    stored = radicale.event_names(USER, "e-edits")
    assert "SUMMARY:From EDS\\, moved" in stored["from-eds.ics"]
    assert "DTSTART:20261211T090000Z" in stored["from-eds.ics"]

    calendar.remove("from-eds")
    assert set(radicale.event_names(USER, "e-edits")) == {"given.ics"}
    [still] = calendar.events(absent=["from-eds"])
    assert "UID:given" in still


def test_eds_gives_the_servers_refusal_with_its_text(radicale: Radicale, eds: EdsSession) -> None:
    url = radicale.make_calendar(USER, "e-refused")
    calendar = eds.open("e-refused", url, USER, PASSWORD)
    with pytest.raises(EdsError) as refused:
        calendar.create(vevent("bad", "Bad", start=BAD_START))
    # EDS shows the status and the response body: Radicale's body is "Bad Request"; ours
    # will carry the push engine's one-line reason there.
    assert refused.value.text == (
        "Cannot create calendar object: Failed to put data: HTTP error code 400 "
        "(Bad Request): Bad Request"
    )
    assert radicale.event_names(USER, "e-refused") == {}
