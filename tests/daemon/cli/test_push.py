"""`icsbridge push`: plan lines on stdout, refusals on stderr, documented exit statuses."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from icalendar import vText
from support.push_world import events_of, with_events
from support.webex_org import NOW, write_config

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.loader import load_settings
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.cli.export import run_export
from icsbridge.daemon.cli.main import main
from icsbridge.daemon.cli.push import cmd_push
from icsbridge.daemon.feeds.files import calendar_path
from icsbridge.daemon.simulators.webex.app import WebexSimState

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
CALENDAR = "hq/locations/Paris HQ/holidays/French Holidays"


def _synced(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports, extra: str = ""
) -> Settings:
    path = write_config(tmp_path, sim)
    path.write_text(path.read_text() + extra)
    settings = load_settings(path)
    assert asyncio.run(run_export(settings, now=NOW, transport_for=transport_for)).failures == []
    return settings


def _edited(
    settings: Settings, tmp_path: Path, rrule: dict[str, str] | None = None
) -> tuple[Path, str]:
    feed = calendar_path(settings.daemon.output_dir, CALENDAR).read_bytes()
    events = events_of(feed)
    uid = sorted(events)[0]
    event = events[uid]
    event["SUMMARY"] = vText(str(event["SUMMARY"]) + " (edited)")
    if rrule is not None:
        event.pop("RRULE", None)
        event.add("RRULE", rrule)
    path = tmp_path / "edited.ics"
    path.write_bytes(with_events(feed, list(events.values())))
    return path, uid


def _push(settings: Settings, upload: Path, transport_for: Transports, *, dry_run: bool) -> int:
    return cmd_push(
        settings,
        CALENDAR,
        str(upload),
        dry_run=dry_run,
        only_listed=False,
        delete=None,
        transport_for=transport_for,
    )


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")


def test_dry_run_prints_the_plan_and_sends_nothing(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _synced(tmp_path, sim, transport_for)
    upload, uid = _edited(settings, tmp_path)
    writes = len(sim.writes())
    code = _push(settings, upload, transport_for, dry_run=True)
    out, err = capsys.readouterr()
    assert code == 0
    [line] = out.splitlines()
    assert line.startswith("PUT /telephony/config/locations/") and f"(UID {uid})" in line
    assert "would send 1 API call(s)" in err
    assert len(sim.writes()) == writes


def test_push_applies_and_rewrites_the_calendar_file(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _synced(tmp_path, sim, transport_for)
    upload, uid = _edited(settings, tmp_path)
    code = _push(settings, upload, transport_for, dry_run=False)
    assert code == 0
    assert "sent 1 API call(s)" in capsys.readouterr().err
    published = events_of(calendar_path(settings.daemon.output_dir, CALENDAR).read_bytes())
    assert str(published[uid]["SUMMARY"]).endswith(" (edited)")


def test_unsupported_rule_exits_3_naming_the_uid(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _synced(tmp_path, sim, transport_for)
    upload, uid = _edited(settings, tmp_path, rrule={"FREQ": "HOURLY"})
    writes = len(sim.writes())
    code = _push(settings, upload, transport_for, dry_run=False)
    err = capsys.readouterr().err
    assert code == 3
    assert "cannot be written to the webex API; nothing was applied" in err
    assert f"  {uid}: Webex location schedule cannot hold: " in err
    assert len(sim.writes()) == writes


def test_read_only_source_exits_5(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _synced(tmp_path, sim, transport_for, "read_only = true\n")
    upload, _uid = _edited(settings, tmp_path)
    code = _push(settings, upload, transport_for, dry_run=False)
    assert code == 5
    err = capsys.readouterr().err
    assert 'source "hq" is read-only (it is configured with read_only = true)' in err


def test_unknown_source_in_calendar_is_one_line(
    tmp_path: Path, sim: WebexSimState, transport_for: Transports
) -> None:
    settings = _synced(tmp_path, sim, transport_for)
    with pytest.raises(IcsbridgeError, match='--calendar "nope/x": expected SOURCE/CALENDAR'):
        cmd_push(
            settings,
            "nope/x",
            str(tmp_path / "x.ics"),
            dry_run=True,
            only_listed=False,
            delete=None,
            transport_for=transport_for,
        )


def test_main_reports_an_unreadable_file_in_one_line(
    tmp_path: Path, sim: WebexSimState, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, sim)
    code = main(["push", "--config", str(config), "--calendar", CALENDAR, str(tmp_path / "no.ics")])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"icsbridge: {tmp_path / 'no.ics'}: cannot read it (No such file or directory)"]


def test_feeds_prints_a_write_url_only_where_writes_are_on(
    tmp_path: Path,
    sim: WebexSimState,
    transport_for: Transports,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = _synced(tmp_path, sim, transport_for, "feed_writes = true\n")
    capsys.readouterr()
    assert main(["feeds", "--config", str(settings.path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(CALENDAR)
    read_url, write_line = lines[at + 1].strip(), lines[at + 3].strip()
    assert write_line.startswith("write (PUT/DELETE): http://")
    write_url = write_line.split(": ", 1)[1]
    read_token, write_token = read_url.split("/")[4], write_url.split("/")[4]
    assert read_token != write_token and len(write_token) >= 24
    assert read_url.replace(read_token, write_token) == write_url
    # Rotating the write URL leaves the read URL alone.
    assert main(["feeds", "--config", str(settings.path), "--rotate", f"write:{CALENDAR}"]) == 0
    again = capsys.readouterr().out.splitlines()
    assert again[at + 1].strip() == read_url
    assert again[at + 3].strip() != write_line
