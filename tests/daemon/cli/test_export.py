"""`icsbridge export` end to end: simulator -> real httpx client -> converter -> files."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from support.paths import FIXTURES
from support.webex_org import NOW, FakeSleep, write_config

from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.converters.ical.feedcheck.validate import validate_feed
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.feeds.files import ExportReport
from icsbridge.daemon.simulators.webex.app import WebexSimState
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]

EXPECTED_KEYS = {
    "hq/locations/New York/businessHours/NY Office Hours",
    "hq/locations/New York/holidays/US Holidays",
    "hq/locations/Paris HQ/businessHours/Office Hours",
    "hq/locations/Paris HQ/businessHours/Reception Hours",
    "hq/locations/Paris HQ/holidays/French Holidays",
    "hq/people/Alice Martin/businessHours/Shifts",
    "hq/people/Alice Martin/holidays/Alice Leave",
    "hq/people/Bruno Lefevre/businessHours/Night Shift",
    "hq/people/Bruno Lefevre/businessHours/Reviews",
    "hq/people/Carol Johnson/businessHours/Carol Hours",
    "hq/people/Carol Johnson/holidays/Carol PTO",
}


def _person(sim: WebexSimState, name: str) -> str:
    return next(p.id for p in sim.people.values() if p.display_name == name)


def _files(settings: Settings) -> dict[str, bytes]:
    root = settings.daemon.output_dir
    return {str(p.relative_to(root).with_suffix("")): p.read_bytes() for p in root.rglob("*.ics")}


def _events(data: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(data)
    return {str(ev["SUMMARY"]): ev for ev in cal.walk("VEVENT")}


async def _export(settings: Settings, transports: Transports, **kw: Any) -> ExportReport:
    kw.setdefault("now", NOW)
    return await run_export(settings, transport_for=transports, **kw)


async def test_export_writes_one_valid_feed_per_schedule(
    settings: Settings, transport_for: Transports
) -> None:
    report = await _export(settings, transport_for)
    assert report.failures == []
    assert report.exit_code == 0
    files = _files(settings)
    assert set(files) == EXPECTED_KEYS
    for key, data in files.items():
        assert validate_feed(data) == [], key
    assert report.events == sum(len(_events(d)) for d in files.values())
    # A LOCATION-level schedule listed by two people is published once, at the location.
    assert not any("people/" in k and "Office Hours" in k for k in files)


async def test_same_data_gives_identical_bytes_on_a_later_run(
    settings: Settings, transport_for: Transports
) -> None:
    await _export(settings, transport_for)
    first = _files(settings)
    await _export(settings, transport_for, now=NOW + timedelta(days=3))
    assert _files(settings) == first


async def test_rename_in_webex_keeps_the_uid_and_bumps_sequence(
    settings: Settings, transport_for: Transports, sim: WebexSimState
) -> None:
    key = "hq/people/Alice Martin/businessHours/Shifts"
    await _export(settings, transport_for)
    before = _events(_files(settings)[key])["Day_Shift"]
    sim.rename_event(
        _person(sim, "Alice Martin"), "businessHours", "Shifts", "Day_Shift", "Early_Shift"
    )
    later = NOW + timedelta(hours=1)
    await _export(settings, transport_for, now=later)
    after = _events(_files(settings)[key])
    assert "Day_Shift" not in after
    renamed = after["Early_Shift"]
    assert str(renamed["UID"]) == str(before["UID"])
    assert renamed["SEQUENCE"] == 1
    assert renamed["LAST-MODIFIED"].dt == later
    assert renamed["DTSTAMP"].dt == later


def _drop_start_dates(body: Any) -> Any:
    return {
        **body,
        "events": [{k: v for k, v in e.items() if k != "startDate"} for e in body["events"]],
    }


FAULTS: dict[str, Callable[[WebexSimState], None]] = {
    "server errors": lambda sim: sim.inject(500, times=1000),
    "garbage json": lambda sim: sim.inject(
        200, body=b'{"events": [', path_contains="/holidays/", times=1000
    ),
    "missing field": lambda sim: sim.mangle(
        _drop_start_dates, path_contains="/holidays/", times=1000
    ),
    "unknown recurrence shape": lambda sim: sim.put_raw_event(
        _person(sim, "Alice Martin"),
        "businessHours",
        "Shifts",
        json.loads((FIXTURES / "webex" / "seed_day_shift_event.json").read_text()),
    ),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_failing_source_keeps_its_previous_files(
    fault: str,
    settings: Settings,
    transport_for: Transports,
    sim: WebexSimState,
    fake_sleep: FakeSleep,
) -> None:
    await _export(settings, transport_for)
    before = _files(settings)
    mtimes = {p: p.stat().st_mtime_ns for p in settings.daemon.output_dir.rglob("*.ics")}
    FAULTS[fault](sim)
    report = await _export(settings, transport_for, now=NOW + timedelta(hours=1), sleep=fake_sleep)
    assert report.exit_code == 1
    (line,) = report.failures
    assert line.startswith('source "hq": ')
    assert "\n" not in line
    assert "demo-token" not in line
    assert _files(settings) == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    if fault == "server errors":
        assert line.endswith("(gave up after 5 tries)") or "gave up after" in line
        assert len(fake_sleep.delays) == 4


async def test_one_failing_source_does_not_stop_the_others(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    monkeypatch.setenv("ICSBRIDGE_TEST_BAD_TOKEN", "not-a-valid-token")
    broken = (
        '\n[[sources]]\nname = "broken"\nkind = "webex"\ninterval = "1h"\n'
        'token = "env:ICSBRIDGE_TEST_BAD_TOKEN"\nlocations = "all"\n'
    )
    settings = load_settings(write_config(tmp_path, sim, extra_sources=broken))
    report = await _export(settings, transport_for)
    assert set(_files(settings)) == EXPECTED_KEYS
    (line,) = report.failures
    assert line.startswith('source "broken": ')
    assert "401" in line
    assert "not-a-valid-token" not in line
    assert report.exit_code == 1


async def test_deleted_schedule_loses_its_file(
    settings: Settings, transport_for: Transports, sim: WebexSimState
) -> None:
    await _export(settings, transport_for)
    sim.delete_schedule(_person(sim, "Carol Johnson"), "holidays", "Carol PTO")
    report = await _export(settings, transport_for)
    assert set(_files(settings)) == EXPECTED_KEYS - {"hq/people/Carol Johnson/holidays/Carol PTO"}
    assert [p.name for p in report.removed] == ["Carol PTO.ics"]


async def test_source_suddenly_answering_nothing_keeps_every_file(
    settings: Settings,
    transport_for: Transports,
    sim: WebexSimState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _export(settings, transport_for)
    before = _files(settings)
    sim.mangle(lambda _body: {"schedules": []}, path_contains="schedules?", times=1000)
    report = await _export(settings, transport_for)
    assert report.removed == []
    assert _files(settings) == before
    assert "answered with no calendar where it had 11" in caplog.text


async def test_merged_calendar_goes_to_stdout(
    settings: Settings, transport_for: Transports
) -> None:
    out = io.BytesIO()
    report = await _export(settings, transport_for, stdout=out)
    assert report.exit_code == 0
    data = out.getvalue()
    assert validate_feed(data) == []
    cal = Calendar.from_ical(data)
    assert len(cal.walk("VEVENT")) == report.events > 20
    assert not settings.daemon.output_dir.exists()


async def test_nothing_goes_to_stdout_when_a_source_fails(
    settings: Settings, transport_for: Transports, sim: WebexSimState, fake_sleep: FakeSleep
) -> None:
    sim.inject(503, times=1000)
    out = io.BytesIO()
    report = await _export(settings, transport_for, stdout=out, sleep=fake_sleep)
    assert report.exit_code == 1
    assert out.getvalue() == b""


async def test_rotated_refresh_token_survives_in_the_state_file(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Webex rotates the refresh token; the next run (a restart) must use the new one."""
    sim.auth.rotate_refresh_tokens = True
    for name, value in {
        "WX_CLIENT_ID": "demo-client-id",
        "WX_CLIENT_SECRET": "demo-client-secret",
        "WX_REFRESH": "demo-refresh-token",
    }.items():
        monkeypatch.setenv(name, value)
    config = write_config(tmp_path, sim)
    config.write_text(
        config.read_text().replace(
            'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"',
            'client_id = "env:WX_CLIENT_ID"\nclient_secret = "env:WX_CLIENT_SECRET"\n'
            'refresh_token = "env:WX_REFRESH"',
        )
    )
    settings = load_settings(config)
    first = await _export(settings, transport_for)
    assert first.failures == []
    # The config's refresh token is now spent: a second run works only from the state.
    sim.revoke_access_token(next(t for t in sim.auth.access_tokens if t.startswith("sim-")))
    second = await _export(settings, transport_for, now=NOW + timedelta(days=1))
    assert second.failures == []
    refreshes = [r for r in sim.requests if r.path.startswith("/v1/access_token")]
    assert len(refreshes) == 2
    with StateStore(settings.daemon.state) as state:
        kept = state.get_secret("webex:hq:refresh_token")
    assert kept is not None and kept in sim.auth.refresh_tokens  # the live, rotated one
    assert kept != "demo-refresh-token"


async def test_each_item_remembers_the_hash_of_its_published_lines(
    settings: Settings, transport_for: Transports
) -> None:
    import hashlib

    await _export(settings, transport_for)
    key = "hq/people/Alice Martin/businessHours/Shifts"
    data = _files(settings)[key].decode()
    with StateStore(settings.daemon.state) as state:
        rows = state.items("hq", key)
    assert rows
    for row in rows:
        start = data.index(f"BEGIN:VEVENT\r\nUID:{row.uid}\r\n")
        block = data[start : data.index("END:VEVENT\r\n", start) + len("END:VEVENT")]
        unfolded = block.replace("\r\n ", "")
        assert row.published_hash == hashlib.sha256(unfolded.encode()).hexdigest()


FRENCH = "hq/locations/Paris HQ/holidays/French Holidays"
FRENCH_HELD = (
    f'calendar "{FRENCH}" answered with no events where it had 7; its file keeps its last '
    "good content (export with --accept-empty if it really was emptied)"
)


def _french_holidays(sim: WebexSimState) -> dict[str, Any]:
    paris = next(loc.id for loc in sim.locations.values() if loc.name == "Paris HQ")
    return sim.schedule_by_name(paris, "holidays", "French Holidays").events


async def test_a_calendar_dropping_to_no_events_keeps_its_file_as_the_feeds_do(
    settings: Settings,
    transport_for: Transports,
    sim: WebexSimState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The daemon's feeds held such a calendar back; export wrote it empty.
    await _export(settings, transport_for)
    before = _files(settings)
    events = dict(_french_holidays(sim))
    _french_holidays(sim).clear()
    report = await _export(settings, transport_for, now=NOW + timedelta(hours=1))
    assert report.exit_code == 0 and report.removed == []
    assert _files(settings) == before
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [FRENCH_HELD]

    out = io.BytesIO()  # one merged calendar would lose its events: nothing is written
    report = await _export(settings, transport_for, stdout=out)
    assert report.failures == [FRENCH_HELD] and out.getvalue() == b""

    _french_holidays(sim).update(events)  # back: the same UIDs, so the same bytes
    await _export(settings, transport_for, now=NOW + timedelta(hours=2))
    assert _files(settings) == before


async def test_a_calendar_emptied_on_purpose_is_written_empty_with_accept_empty(
    settings: Settings, transport_for: Transports, sim: WebexSimState
) -> None:
    await _export(settings, transport_for)
    _french_holidays(sim).clear()
    report = await _export(settings, transport_for, accept_empty=True)
    assert report.exit_code == 0
    assert _events(_files(settings)[FRENCH]) == {}
