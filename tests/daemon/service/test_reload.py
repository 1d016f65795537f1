"""SIGHUP is all or nothing (issue 19, item 5): a config `check` accepted once killed the
daemon on reload (APScheduler's OverflowError after the settings were swapped in), and any
error after the swap did the same. Whatever fails, the old config, jobs and feeds stay,
one line says why, and health and systemd's STATUS say the reload was refused."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.webex_org import NOW, FakeSleep

from icsbridge.config import secrets
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.service.scheduler import SourceScheduler
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.store.state import StateStore

pytestmark = pytest.mark.anyio

Transports = Callable[[SourceSettings], httpx.AsyncBaseTransport]
MERGED = '\n[[feeds]]\nname = "everything"\ncalendars = ["hq/*"]\n'
PARIS = '\n[[feeds]]\nname = "paris"\ncalendars = ["hq/locations/Paris HQ/*"]\n'
LATER = datetime.now(UTC) + timedelta(days=1)  # no job comes due while a test runs


class Status(Notifier):
    """Keeps the STATUS of each READY instead of sending it."""

    def __init__(self) -> None:
        super().__init__({})
        self.ready_with: list[str | None] = []

    def ready(self, status: str | None = None) -> None:
        self.ready_with.append(status)


@asynccontextmanager
async def running(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep
) -> AsyncIterator[Daemon]:
    """A daemon on ``settings`` with its scheduler started and one sync of "hq" done."""
    settings.path.write_text(settings.path.read_text() + MERGED)
    d = Daemon(
        settings.path,
        clock=lambda: NOW,
        transport_for=transport_for,
        sleep=fake_sleep,
        notifier=Status(),
    )
    with StateStore(d.settings.daemon.state) as state:
        d.open(state)
        d.scheduler = SourceScheduler(d._sync_job, d._job_problem, clock=lambda: LATER)
        d.scheduler.start(d.settings.sources)
        try:
            await d._sync_job("hq")
            yield d
        finally:
            d.scheduler.shutdown()
            await d.clients.aclose()


def _edit(d: Daemon, old: str, new: str) -> None:
    text = d.config_path.read_text()
    assert old in text
    d.config_path.write_text(text.replace(old, new))


def _served(d: Daemon) -> dict[str, Any]:
    return {name: d.feeds.get(name) for name in d.feeds.names()}


async def _get(d: Daemon, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=d.app), base_url="http://icsbridge.test"
    ) as client:
        return await client.get(path)


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def _refused_and_serving(
    d: Daemon, before: tuple[Settings, Any, dict[str, Any]], refusal: str
) -> None:
    """The old settings, jobs and feeds are in force, said once, and still served."""
    settings, jobs, served = before
    assert d.settings is settings
    assert d.scheduler.jobs() == jobs
    assert _served(d) == served
    status, body = d.health()
    assert status == 200
    assert body["reload"] == {"ok": False, "at": NOW.isoformat(), "refused": [refusal]}
    assert isinstance(d.notifier, Status)
    assert d.notifier.ready_with[-1] == f"reload refused, the old config stays: {refusal}"
    assert (await _get(d, d.tokens.url_path("everything"))).status_code == 200
    await d._sync_job("hq")
    assert d.health()[0] == 200


def _state(d: Daemon) -> tuple[Settings, Any, dict[str, Any]]:
    return d.settings, d.scheduler.jobs(), _served(d)


async def test_a_reload_whose_scheduler_rebuild_fails_keeps_the_old_settings_and_jobs(
    settings: Settings,
    transport_for: Transports,
    fake_sleep: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running(settings, transport_for, fake_sleep) as d:
        before = _state(d)
        _edit(d, 'interval = "15m"', 'interval = "30m"')
        d.config_path.write_text(d.config_path.read_text() + PARIS)
        aps = d.scheduler._scheduler
        add_job = aps.add_job

        def failing(func: Any, trigger: Any, **kwargs: Any) -> Any:
            if trigger.interval == timedelta(minutes=30):  # the new job only
                raise RuntimeError("injected")
            return add_job(func, trigger, **kwargs)

        aps.add_job = failing  # type: ignore[method-assign]
        await d.reload()
        refusal = "internal error RuntimeError: injected; please report it"
        assert _errors(caplog) == [f"reload refused, the old config stays: {refusal}"]
        await _refused_and_serving(d, before, refusal)
        assert "paris" not in d.feeds.names()

        aps.add_job = add_job  # type: ignore[method-assign]
        await d.reload()  # the same file, nothing failing now: it takes effect
        assert d.settings.sources[0].interval_seconds == 1800
        assert "paris" in d.feeds.names()
        assert d.health()[1]["reload"] == {"ok": True, "at": NOW.isoformat(), "refused": []}
        assert d.notifier.ready_with[-1] == "reloaded: 1 sources"  # type: ignore[attr-defined]


async def test_a_reload_failing_after_the_swap_puts_the_old_config_and_jobs_back(
    settings: Settings,
    transport_for: Transports,
    fake_sleep: FakeSleep,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with running(settings, transport_for, fake_sleep) as d:
        before = _state(d)
        _edit(d, 'interval = "15m"', 'interval = "1h"')
        d.config_path.write_text(d.config_path.read_text() + PARIS)
        reconfigure = d.feeds.reconfigure

        def failing(fresh: Settings, **kwargs: Any) -> list[str]:
            if fresh is not before[0]:
                raise OSError(28, "No space left on device")
            return reconfigure(fresh, **kwargs)

        monkeypatch.setattr(d.feeds, "reconfigure", failing)
        await d.reload()
        await _refused_and_serving(
            d,
            before,
            "internal error OSError: [Errno 28] No space left on device; please report it",
        )
        assert d.scheduler.jobs()["hq"][0] == 900


async def test_a_reload_with_a_huge_interval_is_refused_and_the_daemon_keeps_serving(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep
) -> None:
    async with running(settings, transport_for, fake_sleep) as d:
        before = _state(d)
        _edit(d, 'interval = "15m"', 'interval = "3000000d"')
        await d.reload()
        await _refused_and_serving(
            d,
            before,
            f'{d.config_path}: source "hq": field "interval": "3000000d" is longer than the '
            'maximum "30d" (an interval is from "1m" to "30d")',
        )


async def test_a_reload_to_a_state_path_the_next_start_would_refuse_is_refused(
    settings: Settings, transport_for: Transports, fake_sleep: FakeSleep
) -> None:
    async with running(settings, transport_for, fake_sleep) as d:
        before = _state(d)
        (d.config_path.parent / "var").mkdir()
        _edit(d, 'state = "state.sqlite"', 'state = "var"')
        await d.reload()
        var = d.config_path.parent / "var"
        await _refused_and_serving(
            d,
            before,
            f"state file {var}: is a folder; give a file path in [daemon].state "
            f'(e.g. "{var}/state.sqlite")',
        )


async def test_a_schedule_past_year_9999_fails_in_the_plan_and_changes_no_job() -> None:
    async def sync(name: str) -> None:
        raise AssertionError("no job runs in this test")

    class Src:
        def __init__(self, name: str, seconds: int) -> None:
            self.name, self.interval_seconds = name, seconds

    scheduler = SourceScheduler(sync, lambda _n, _m: None, clock=lambda: LATER)
    scheduler.start([Src("hq", 900)])  # type: ignore[list-item]
    try:
        jobs = scheduler.jobs()
        with pytest.raises(OverflowError):
            scheduler.plan([Src("hq", 3_000_000 * 86400), Src("new", 900)])  # type: ignore[list-item]
        assert scheduler.jobs() == jobs
        assert scheduler.sources == ["hq"]
    finally:
        scheduler.shutdown()


async def test_a_reload_reads_its_secrets_off_the_loop_so_feeds_are_served_meanwhile(
    settings: Settings,
    transport_for: Transports,
    fake_sleep: FakeSleep,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The reload read every secret on the event loop: a slow secret file (a network file
    # system) stalled every feed and /healthz for as long as the read took.
    async with running(settings, transport_for, fake_sleep) as d:
        secret = d.config_path.parent / "webex.token"
        secret.write_text("demo-token\n")
        _edit(d, 'token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"', f'token = "file:{secret}"')
        reading, served = threading.Event(), threading.Event()
        real = secrets.read_regular_file

        def slow_read(path: Path, limit: int) -> bytes:
            if path == secret:
                reading.set()
                # Until the feed below was served: on the loop, it never would be.
                served.wait(secrets.READ_TIMEOUT * 2)
            return real(path, limit)

        monkeypatch.setattr(secrets, "read_regular_file", slow_read)
        reload = asyncio.create_task(d.reload())
        assert await asyncio.to_thread(reading.wait, 10.0)
        answer = await _get(d, d.tokens.url_path("everything"))
        served.set()
        await reload
        assert answer.status_code == 200
        assert d.health()[1]["reload"] == {"ok": True, "at": NOW.isoformat(), "refused": []}
