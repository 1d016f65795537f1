"""vdirsyncer's caldav storage <-> a filesystem folder, against Radicale: discovery, both
directions of a sync, create/update/delete from the folder, a refused file kept and
reported, and https verified against a CA file."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.davclients.radicale import Radicale
from support.davclients.vdirsyncer import Vdirsyncer
from support.tls import TestCa

from .conftest import BAD_START, PASSWORD, USER, vcalendar

pytestmark = pytest.mark.realclients


def _syncer(radicale: Radicale, folder: Path) -> Vdirsyncer:
    return Vdirsyncer(folder, f"{radicale.url}/{USER}/", USER, PASSWORD)


def test_vdirsyncer_discovers_each_calendar_and_syncs_server_changes_into_the_folder(
    radicale: Radicale, tmp_path: Path
) -> None:
    radicale.make_calendar(USER, "v-holidays")
    radicale.make_calendar(USER, "v-hours")
    radicale.put_event(USER, "v-holidays", "new-year.ics", vcalendar("new-year", "New Year"))
    syncer = _syncer(radicale, tmp_path)
    assert {"v-holidays", "v-hours"} <= set(syncer.discover())
    assert syncer.sync().ok
    assert "SUMMARY:New Year" in syncer.events("v-holidays")["new-year.ics"]
    assert syncer.events("v-hours") == {}

    radicale.put_event(USER, "v-holidays", "new-year.ics", vcalendar("new-year", "Neujahr"))
    assert syncer.sync().ok
    assert "SUMMARY:Neujahr" in syncer.events("v-holidays")["new-year.ics"]


def test_an_event_made_edited_and_deleted_in_the_folder_reaches_the_server(
    radicale: Radicale, tmp_path: Path
) -> None:
    radicale.make_calendar(USER, "v-edits")
    syncer = _syncer(radicale, tmp_path)
    syncer.discover()
    syncer.write("v-edits", "standup.ics", vcalendar("standup", "Standup"))
    assert syncer.sync().ok
    assert "SUMMARY:Standup" in radicale.event_names(USER, "v-edits")["standup.ics"]

    syncer.write("v-edits", "standup.ics", vcalendar("standup", "Standup at eleven"))
    assert syncer.sync().ok
    assert "SUMMARY:Standup at eleven" in radicale.event_names(USER, "v-edits")["standup.ics"]

    syncer.write("v-edits", "review.ics", vcalendar("review", "Review"))
    syncer.delete("v-edits", "standup.ics")
    assert syncer.sync().ok
    assert set(radicale.event_names(USER, "v-edits")) == {"review.ics"}

    # The last one: vdirsyncer's guard against a wiped folder holds it back unless told.
    syncer.delete("v-edits", "review.ics")
    guarded = syncer.sync()
    assert not guarded.ok and "--force-delete" in guarded.output
    assert syncer.sync(force_delete=True).ok
    assert radicale.event_names(USER, "v-edits") == {}


def test_a_file_the_server_refuses_stays_in_the_folder_and_is_reported_at_each_sync(
    radicale: Radicale, tmp_path: Path
) -> None:
    radicale.make_calendar(USER, "v-refused")
    syncer = _syncer(radicale, tmp_path)
    syncer.discover()
    syncer.write("v-refused", "good.ics", vcalendar("good", "Good"))
    syncer.write("v-refused", "bad.ics", vcalendar("bad", "Bad", start=BAD_START))
    for _ in range(2):  # refused, then retried and refused again: never dropped
        run = syncer.sync()
        assert run.code == 1
        assert "400, message='Bad Request'" in run.output
        assert "/v-refused/bad.ics" in run.output
        assert set(syncer.events("v-refused")) == {"good.ics", "bad.ics"}
        assert [n for n in radicale.event_names(USER, "v-refused")] == ["good.ics"]


def test_vdirsyncer_verifies_an_https_server_against_the_ca_file(tmp_path: Path) -> None:
    ca = TestCa(tmp_path)
    files = ca.issue("radicale")
    users = {USER: PASSWORD}
    with Radicale(tmp_path / "srv", users, tls=(files.certificate, files.key)) as server:
        server.make_calendar(USER, "secure", verify=ca.client_context())
        trusting = Vdirsyncer(
            tmp_path / "trusting", f"{server.url}/{USER}/", USER, PASSWORD, ca_file=ca.ca_file
        )
        assert trusting.discover() == ["secure"]
        doubting = Vdirsyncer(tmp_path / "doubting", f"{server.url}/{USER}/", USER, PASSWORD)
        run = doubting.run("discover")
        assert not run.ok
        assert "CERTIFICATE_VERIFY_FAILED" in run.output
