"""vdirsyncer's caldav storage <-> a filesystem folder, against ``icsbridge run`` (the
Webex and Wordbee simulators behind it): the calendars the feeds hold reach the folder,
and an event made, edited and deleted in the folder reaches Webex exactly once (checked
in the simulator's state); a file the API cannot hold stays in the folder and is
reported at each sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.caldav_world import PASSWORD, World
from support.dav_requests import calendar_named, client, holiday
from support.davclients.vdirsyncer import Vdirsyncer

from .conftest import FRENCH, webex_event_names

pytestmark = pytest.mark.realclients


def _syncer(world: World, folder: Path) -> Vdirsyncer:
    return Vdirsyncer(folder, f"{world.dav}reception/", "reception", PASSWORD)


def _french(world: World) -> str:
    """The folder vdirsyncer gives the French holidays: the collection's name."""
    url = str(calendar_named(client(world.dav, "reception", PASSWORD).principal(), FRENCH).url)
    return url.rstrip("/").rsplit("/", 1)[1]


def test_vdirsyncer_brings_each_icsbridge_calendar_into_the_folder(
    icsbridge: World, tmp_path: Path
) -> None:
    syncer = _syncer(icsbridge, tmp_path)
    french = _french(icsbridge)
    found = syncer.discover()
    assert french in found and any("wordbee-demo" in name for name in found)
    assert syncer.sync().ok
    files = syncer.events(french)
    assert files and all("BEGIN:VEVENT" in text for text in files.values())
    assert syncer.sync().ok  # nothing changed: nothing written either way
    assert syncer.events(french) == files


def test_an_event_made_edited_and_deleted_in_the_folder_reaches_webex_exactly_once(
    icsbridge: World, tmp_path: Path
) -> None:
    syncer = _syncer(icsbridge, tmp_path)
    french = _french(icsbridge)
    syncer.discover()
    assert syncer.sync().ok
    syncer.write(french, "party.ics", holiday("Folder party", "20261218", uid="FOLDER-PARTY"))
    assert syncer.sync().ok
    assert webex_event_names(icsbridge)["Folder party"] == 1
    assert syncer.sync().ok  # icsbridge's re-rendered event comes back; no second create
    assert webex_event_names(icsbridge)["Folder party"] == 1
    [(name, text)] = [(n, t) for n, t in syncer.events(french).items() if "FOLDER-PARTY" in t]

    syncer.write(french, name, text.replace("SUMMARY:Folder party", "SUMMARY:Folder party moved"))
    run = syncer.sync()
    assert run.ok, run.output
    names = webex_event_names(icsbridge)
    assert (names["Folder party"], names["Folder party moved"]) == (0, 1)
    # icsbridge stores the edit with SEQUENCE bumped, so it answers without an ETag and
    # vdirsyncer downloads the stored form at the next sync (a delete before that sync
    # would meet a "changed on the server" item, which vdirsyncer restores).
    assert syncer.sync().ok
    assert "SUMMARY:Folder party moved" in syncer.events(french)[name]
    assert webex_event_names(icsbridge)["Folder party moved"] == 1

    syncer.delete(french, name)
    run = syncer.sync()
    assert run.ok, run.output
    names = webex_event_names(icsbridge)
    assert (names["Folder party"], names["Folder party moved"]) == (0, 0), run.output
    assert syncer.sync().ok
    assert not [t for t in syncer.events(french).values() if "FOLDER-PARTY" in t]


def test_a_monthly_rule_webex_cannot_hold_stays_in_the_folder_and_is_reported(
    icsbridge: World, tmp_path: Path
) -> None:
    syncer = _syncer(icsbridge, tmp_path)
    french = _french(icsbridge)
    syncer.discover()
    assert syncer.sync().ok
    rule = "RRULE:FREQ=MONTHLY;BYMONTHDAY=30\r\n"
    monthly = holiday("Month end", "20261230", uid="MONTH-END", extra=rule)
    syncer.write(french, "monthly.ics", monthly)
    for _ in range(2):  # refused, then retried and refused again: never dropped
        run = syncer.sync()
        assert run.code == 1, run.output
        # vdirsyncer names the status and the URL (not the body, where our reason is)
        assert "403, message='Forbidden'" in run.output and f"/{french}/MONTH-END.ics" in run.output
        assert syncer.events(french)["monthly.ics"] == monthly.replace("\r\n", "\n")
        assert webex_event_names(icsbridge)["Month end"] == 0
