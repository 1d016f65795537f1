"""vdir = true: one file per event, and edits made there pushed at the next sync (export)."""

from __future__ import annotations

import errno
import logging
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar, vText
from support import paths
from support.webex_org import NOW, write_config

import icsbridge.daemon.push.vdir
from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.feeds.atomic import write_atomic
from icsbridge.daemon.push.vdir import VDIR_FOLDER, file_name
from icsbridge.daemon.simulators.webex.app import WebexSimState

pytestmark = pytest.mark.anyio
Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
FIXTURES = paths.FIXTURES / "ics"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")


def _settings(tmp_path: Path, sim: WebexSimState, extra: str = "vdir = true\n") -> Settings:
    path = write_config(tmp_path, sim)
    path.write_text(path.read_text() + extra)
    return load_settings(path)


def _names(sim: WebexSimState) -> Counter[str]:
    owners = [*sim.people.values(), *sim.locations.values()]
    return Counter(name for o in owners for sched in o.schedules for name in sched.events)


def _holidays_dir(settings: Settings) -> Path:
    root = settings.daemon.output_dir / VDIR_FOLDER / "hq" / "locations"
    return next(d for d in sorted(root.glob("*/holidays/*")) if len(list(d.glob("*.ics"))) >= 3)


async def _export(settings: Settings, transport_for: Transports) -> None:
    report = await run_export(settings, now=NOW, transport_for=transport_for)
    assert report.failures == []


def _only_event(path: Path) -> Calendar:
    cal = Calendar.from_ical(path.read_bytes())
    assert len(cal.walk("VEVENT")) == 1
    return cal


async def test_one_file_per_event_with_its_zone(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports
) -> None:
    settings = _settings(tmp_path, sim)
    await _export(settings, transport_for)
    folder = _holidays_dir(settings)
    files = sorted(folder.glob("*.ics"))
    for file in files:
        event = _only_event(file).walk("VEVENT")[0]
        assert file.name == file_name(str(event["UID"]))
    assert (folder / "displayname").read_text().endswith(")")
    # The feed and the vdir hold the same events.
    feed = settings.daemon.output_dir.joinpath(
        *folder.relative_to(settings.daemon.output_dir / VDIR_FOLDER).parts[:-1],
        folder.name + ".ics",
    )
    uids = {str(e["UID"]) for e in Calendar.from_ical(feed.read_bytes()).walk("VEVENT")}
    assert {file_name(u) for u in uids} == {f.name for f in files}


async def test_edit_add_and_remove_in_the_vdir_reach_webex(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports
) -> None:
    settings = _settings(tmp_path, sim)
    await _export(settings, transport_for)
    folder = _holidays_dir(settings)
    files = sorted(folder.glob("*.ics"))
    held = _names(sim)

    edited = _only_event(files[0])
    event = edited.walk("VEVENT")[0]
    old_name = str(event["SUMMARY"])
    event["SUMMARY"] = vText(old_name + " (edited)")
    files[0].write_bytes(edited.to_ical())

    removed = _only_event(files[1]).walk("VEVENT")[0]
    files[1].unlink()

    added = _only_event(files[2])
    new = added.walk("VEVENT")[0]
    new["UID"] = vText("new-event@example.com")
    new["SUMMARY"] = vText("Company retreat")
    (folder / "retreat.ics").write_bytes(added.to_ical())

    await _export(settings, transport_for)
    names = _names(sim)
    assert names[old_name + " (edited)"] == held[old_name + " (edited)"] + 1
    assert names[old_name] == held[old_name] - 1
    assert names[str(removed["SUMMARY"])] == held[str(removed["SUMMARY"])] - 1
    assert names["Company retreat"] == 1
    # The vdir now mirrors the API again: the new event under its own UID's file name.
    assert not (folder / "retreat.ics").exists()
    assert (folder / file_name("new-event@example.com")).exists()
    summary = _only_event(files[0]).walk("VEVENT")[0]["SUMMARY"]
    assert str(summary) == old_name + " (edited)"
    # A third run sends nothing more.
    before = len(sim.writes())
    await _export(settings, transport_for)
    assert len(sim.writes()) == before


async def test_a_refused_edit_leaves_the_vdir_as_the_user_left_it(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path, sim)
    await _export(settings, transport_for)
    folder = _holidays_dir(settings)
    file = sorted(folder.glob("*.ics"))[0]
    cal = _only_event(file)
    event = cal.walk("VEVENT")[0]
    event.pop("RRULE", None)
    event.add("RRULE", {"FREQ": "MINUTELY"})  # Webex has no minutely recurrence
    edited = cal.to_ical()
    file.write_bytes(edited)
    writes = len(sim.writes())
    with caplog.at_level(logging.WARNING, logger="icsbridge.vdir"):
        await _export(settings, transport_for)
        await _export(settings, transport_for)
    assert len(sim.writes()) == writes
    assert file.read_bytes() == edited
    refusals = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(refusals) == 2
    assert "FREQ=MINUTELY" in refusals[0] or "MINUTELY" in refusals[0].upper()
    assert "is left as it is" in refusals[0]


async def test_emptying_a_vdir_is_held_by_max_deletes(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports
) -> None:
    settings = _settings(tmp_path, sim, "vdir = true\nmax_deletes = 1\n")
    await _export(settings, transport_for)
    folder = _holidays_dir(settings)
    for file in folder.glob("*.ics"):
        file.unlink()
    writes = len(sim.writes())
    await _export(settings, transport_for)
    assert len(sim.writes()) == writes
    assert list(folder.glob("*.ics")) == []  # left as the user left it


async def test_a_read_only_source_keeps_its_vdir_edits_and_says_so(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(tmp_path, sim, "vdir = true\nread_only = true\n")
    await _export(settings, transport_for)
    folder = _holidays_dir(settings)
    file = sorted(folder.glob("*.ics"))[0]
    file.unlink()
    writes = len(sim.writes())
    with caplog.at_level(logging.WARNING, logger="icsbridge.vdir"):
        await _export(settings, transport_for)
    assert len(sim.writes()) == writes
    assert not file.exists()
    assert any("is read-only" in r.getMessage() for r in caplog.records)


def _paris(sim: WebexSimState) -> str:
    return next(loc.id for loc in sim.locations.values() if loc.name == "Paris HQ")


def _paris_names(sim: WebexSimState) -> set[str]:
    return set(sim.schedule_by_name(_paris(sim), "holidays", "French Holidays").events)


def _paris_dir(settings: Settings) -> Path:
    return settings.daemon.output_dir.joinpath(
        VDIR_FOLDER, "hq", "locations", "Paris HQ", "holidays", "French Holidays"
    )


def _by_summary(folder: Path) -> dict[str, Path]:
    return {
        str(_only_event(f).walk("VEVENT")[0]["SUMMARY"]): f for f in sorted(folder.glob("*.ics"))
    }


def _rename_in_file(file: Path, summary: str) -> None:
    cal = _only_event(file)
    cal.walk("VEVENT")[0]["SUMMARY"] = vText(summary)
    file.write_bytes(cal.to_ical())


@pytest.mark.parametrize("then", ["nothing", "an edit elsewhere in the calendar"])
async def test_a_vdir_write_failing_half_way_is_never_pushed_as_an_edit(
    then: str,
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings(tmp_path, sim)
    await _export(settings, transport_for)
    folder = _paris_dir(settings)
    # The API changes three events of one calendar: two renames and a new one, so the next
    # write has three files to write; the disk fills up at the second.
    paris = _paris(sim)
    sim.rename_event(paris, "holidays", "French Holidays", "Christmas", "Noel")
    sim.rename_event(paris, "holidays", "French Holidays", "New Year", "Nouvel An")
    sim.set_event(
        paris,
        "holidays",
        "French Holidays",
        {"name": "Fete des Voisins", "startDate": "2025-05-30", "endDate": "2025-05-30"}
        | {"allDayEnabled": True},
    )
    api = _paris_names(sim)
    calls: list[Path] = []

    def disk_full(path: Path, data: bytes, mode: int = 0o644, *, sync_dir: bool = True) -> None:
        if path.suffix == ".ics":
            calls.append(path)
            if len(calls) == 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        write_atomic(path, data, mode, sync_dir=sync_dir)

    monkeypatch.setattr(icsbridge.daemon.push.vdir, "write_atomic", disk_full)
    report = await run_export(settings, now=NOW, transport_for=transport_for)
    monkeypatch.undo()
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    assert len(calls) == 2
    assert report.failures == [
        f'source "hq": vdir {calls[1]}: No space left on device; check [daemon].output_dir '
        "and free space or permissions (the next sync writes it again)"
    ]
    feed = settings.daemon.output_dir / "hq/locations/Paris HQ/holidays/French Holidays.ics"
    assert b"SUMMARY:Noel" in feed.read_bytes()  # the feed files were still written

    writes = len(sim.writes())
    if then != "nothing":
        _rename_in_file(_by_summary(folder)["Ascension 2025"], "Ascension Thursday")
        api = api - {"Ascension 2025"} | {"Ascension Thursday"}
    await _export(settings, transport_for)
    # Nothing icsbridge failed to write was read as an edit: the renames were not undone,
    # the new event was not deleted, and only the user's own edit was sent.
    assert _paris_names(sim) == api
    assert len(sim.writes()) == writes + (0 if then == "nothing" else 1)
    assert set(_by_summary(folder)) == api  # the next sync wrote what had failed


async def test_a_300_character_uid_round_trips_through_the_vdir_and_stays_in_the_api(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports
) -> None:
    settings = _settings(tmp_path, sim)
    await _export(settings, transport_for)
    folder = _paris_dir(settings)
    uid = ("retreat-" + "0123456789" * 30)[:288] + "@example.com"
    assert len(uid) == 300
    added = _only_event(_by_summary(folder)["Ascension 2025"])
    event = added.walk("VEVENT")[0]
    event["UID"] = vText(uid)
    event["SUMMARY"] = vText("Company retreat")
    (folder / "retreat.ics").write_bytes(added.to_ical())

    await _export(settings, transport_for)
    assert "Company retreat" in _paris_names(sim)
    file = _by_summary(folder)["Company retreat"]
    assert file.name == file_name(uid) and len(file.name.encode()) <= 255
    assert str(_only_event(file).walk("VEVENT")[0]["UID"]) == uid
    assert not (folder / "retreat.ics").exists()
    writes = len(sim.writes())
    await _export(settings, transport_for)
    assert len(sim.writes()) == writes

    # An edit of that file reaches the API through the UID it holds, not its name.
    _rename_in_file(file, "Company retreat (two days)")
    await _export(settings, transport_for)
    assert "Company retreat (two days)" in _paris_names(sim)
    assert "Company retreat" not in _paris_names(sim)
    assert file.exists() and "Company retreat (two days)" in _by_summary(folder)
    assert [w for w in sim.writes() if w.method == "DELETE"] == []


@pytest.mark.parametrize(
    "uid",
    ["x" * 300, "é" * 120 + "@example.com", 'a/b\\c:d*e?f"g<h>i|j\x00k' * 20, ".hidden"],
)
def test_a_uid_that_cannot_be_a_file_name_gets_one_that_can(uid: str) -> None:
    name = file_name(uid)
    assert name.endswith(".ics") and not name.startswith(".")
    # Room for the temporary file write_atomic makes beside it (".<name>.XXXXXXXX.tmp").
    assert len(name.encode()) + 14 <= 255
    assert re.fullmatch(r"[A-Za-z0-9@._+=%~-]+", name)
    assert file_name(uid) == name  # stable across runs
    assert file_name(uid + "y") != name
