"""The soak: `icsbridge run` with all four simulators on loopback, under random API faults
(5xx, 429 with Retry-After, slow, malformed and lost answers), pushes SIGKILLed at random
requests, concurrent whole-calendar PUTs with If-Match (twins from one read, some with an
ETag of an earlier round), single-event PUTs and DELETEs, and a storm of SIGHUPs (config
variants, some refused) with SIGUSR1s among them.

At the end, with the faults off and every source synced since: every feed equals what a
fault-free daemon on a fresh state makes of the APIs as they are (event content, less
stamps, SEQUENCE and UIDs; UIDs compared on their own), every accepted edit is in the API
exactly once and was sent exactly once, an edit not accepted at most once, no answer was
500, and the daemon is healthy and stops cleanly.

Counts bound it, not durations: ``ICSBRIDGE_SOAK_ROUNDS`` rounds (default 4) for each seed
of ``ICSBRIDGE_SOAK_SEEDS`` (default 19), e.g. ``ICSBRIDGE_SOAK_SEEDS=1,2,3
ICSBRIDGE_SOAK_ROUNDS=20`` for a longer run. A failure names its seed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from support.async_daemon import DaemonProcess, Notifications
from support.loopback import WAIT
from support.soak_run import ACCEPTED, Soak
from support.soak_world import SoakApi, Variant, feed_view, serve_apis, write_config

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.feeds.files import is_calendar_key
from icsbridge.daemon.service.daemon import Daemon
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.simulators.faults import FaultRates

SEEDS = [int(s) for s in os.environ.get("ICSBRIDGE_SOAK_SEEDS", "19").split(",") if s.strip()]
ROUNDS = int(os.environ.get("ICSBRIDGE_SOAK_ROUNDS", "4"))
RATES = FaultRates(error=0.04, throttle=0.03, slow=0.05, malformed=0.02, lost=0.02, max_delay=0.1)
FINAL = Variant(description="final")


@pytest.mark.parametrize("seed", SEEDS)
def test_soak(tmp_path: Path, seed: int) -> None:
    print(f"soak seed {seed}, {ROUNDS} rounds")
    try:
        asyncio.run(soak(tmp_path, seed))
    except BaseException as exc:
        exc.add_note(
            f"soak seed {seed}: rerun with "
            f"ICSBRIDGE_SOAK_SEEDS={seed} ICSBRIDGE_SOAK_ROUNDS={ROUNDS}"
        )
        raise


async def soak(folder: Path, seed: int) -> None:
    apis = serve_apis(seed, RATES)
    port = free_port()
    config = write_config(folder, apis, port, Variant())
    notes = Notifications(folder / "notify")
    reader = asyncio.create_task(notes.read())
    daemon = DaemonProcess(config, notes.path, folder / "daemon.log")
    notes.watch(daemon.proc)
    try:
        await notes.wait_for("^READY=1")
        for api in apis:
            await notes.wait_for(f"^STATUS=sync {api.source} ok")
        run = Soak(folder, seed, apis, daemon, port)
        run.read_urls()
        async with httpx.AsyncClient(timeout=WAIT) as http:
            run.http = http
            for api in apis:
                api.faults.enabled = True
            for _ in range(ROUNDS):
                await run.round()
            for api in apis:
                api.faults.enabled = False
            await settle(run, notes)
            await check(run, folder)
        assert daemon.stop() == 0
    except BaseException:
        print(daemon.log_text()[-5000:])
        raise
    finally:
        daemon.close()
        reader.cancel()
        notes.close()
        for api in apis:
            api.stop()
    log = daemon.log_text()
    for bad in ("Traceback", "internal error", "please report"):
        assert bad not in log, log[-3000:]
    assert not [n for n in notes.seen if "internal error" in n]


async def settle(run: Soak, notes: Notifications) -> None:
    """The final config applied, then every source synced since the workload ended."""
    start = len(notes.seen)
    run.end_storm(FINAL)
    while True:  # a reload that began before the last SIGHUP may have read an older file
        start = await notes.wait_for("^READY=1", await notes.wait_for("^RELOADING=1", start))
        merged = await run.send("GET", run.urls["all-holidays"].http, "all-holidays")
        if b"\r\nNAME:final\r\n" in merged.content:
            break
        start += 1
    quiet = datetime.now(UTC)  # nothing writes to an API from here on
    for _ in range(4):
        start = len(notes.seen)
        run.daemon.send(signal.SIGUSR1)
        for api in run.apis:
            await notes.wait_for(f"^STATUS=sync {api.source} ", start)
        sources = (
            await run.send("GET", f"http://127.0.0.1:{run.port}/healthz", "/healthz")
        ).json()["sources"]
        if all(
            s["ok"] and datetime.fromisoformat(s["last_success"]) >= quiet for s in sources.values()
        ):
            return
    raise AssertionError(f"the sources did not all sync after the soak: {sources}")


async def reference(run: Soak, folder: Path) -> dict[str, bytes]:
    """The feeds a fault-free daemon on a fresh state makes of the APIs as they are (one
    in-process run, stopped after its first sync of every source)."""
    ref = folder / "reference"
    ref.mkdir()
    daemon = Daemon(write_config(ref, run.apis, free_port(), FINAL), notifier=Notifier({}))
    task = asyncio.create_task(daemon.run())
    first = asyncio.create_task(daemon.first_round_done.wait())
    await asyncio.wait({task, first}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
    assert first.done(), "the fault-free daemon did not sync every source"
    status, health = daemon.health()
    assert status == 200, health
    feeds = {}
    for name in daemon.feeds.names():
        content = daemon.feeds.get(name)
        assert content is not None
        feeds[name] = content.data
    daemon.request_stop()
    assert await task == 0
    return feeds


def story(run: Soak) -> str:
    """What happened, for a failure: the edits, the writes the simulators applied, the
    faults they gave, and what the pushes said."""
    lines = [f"{e.how} {e.marker} {e.uid} {e.calendar}: {e.outcome}" for e in run.edits]
    for api in run.apis:
        for r in api.requests():
            if r.method != "GET" and "login" not in r.path and "signin" not in r.path:
                lines.append(f"{api.source}: {r.method} {r.path} -> {r.status} {r.body[:120]!r}")
        lines += [f"{api.source}: fault {f}" for f in api.faults.log if f.method != "GET"]
    lines += [f"push {m}: {status}: {err.strip()}" for m, status, err in run.pushes]
    return "\n".join(lines)


def posted(apis: list[SoakApi], marker: str) -> int:
    """How many creates carrying ``marker`` the simulators applied (their own log)."""
    needle = marker.encode()
    return sum(
        1
        for api in apis
        for r in api.requests()
        if r.method == "POST" and r.status < 300 and needle in r.body
    )


async def check(run: Soak, folder: Path) -> None:
    try:
        await check_all(run, folder)
    except AssertionError as exc:
        exc.add_note(story(run))
        raise


async def check_all(run: Soak, folder: Path) -> None:
    health = await run.send("GET", f"http://127.0.0.1:{run.port}/healthz", "/healthz")
    assert health.status_code == 200, health.text
    assert health.json()["reload"]["ok"], health.json()["reload"]
    sent = {e.marker: posted(run.apis, e.marker) for e in run.edits}  # before the export reads

    served = {}
    for name, url in run.read_urls().items():
        answer = await run.send("GET", url.http, name)
        assert answer.status_code == 200, (name, answer.status_code)
        served[name] = answer.content
    expected = await reference(run, folder)
    assert sorted(served) == sorted(expected)
    markers = {e.marker for e in run.edits}
    in_api: Counter[str] = Counter()
    for name in sorted(served):
        mine, theirs = feed_view(served[name]), feed_view(expected[name])
        assert mine == theirs, f"feed {name} differs from a fault-free run's"
        api_events = {s: u for s, u in mine.uids.items() if s not in markers}
        assert api_events == {s: u for s, u in theirs.uids.items() if s not in markers}, name
        if is_calendar_key(name):
            in_api.update({m: n for m, n in theirs.summaries().items() if m in markers})

    for edit in run.edits:
        what = f"{edit.how} {edit.marker} ({edit.outcome}) in {edit.calendar}"
        if edit.accepted:
            assert sent[edit.marker] == 1, f"{what}: created {sent[edit.marker]} times"
        else:
            assert sent[edit.marker] <= 1, f"{what}: created {sent[edit.marker]} times"
        want = {None: 1, True: 0}.get(edit.deleted) if edit.accepted else None
        if want is None:  # not accepted, or a DELETE that failed: at most once
            assert in_api[edit.marker] <= 1, f"{what}: {in_api[edit.marker]} in the API"
        else:
            assert in_api[edit.marker] == want, f"{what}: {in_api[edit.marker]} in the API"
        if want == 1:  # under the UID the client chose
            assert feed_view(served[edit.calendar]).uids.get(edit.marker) == [edit.uid], what
    applied = Counter((cal, etag) for cal, etag, status in run.if_match if status in ACCEPTED)
    assert max(applied.values(), default=0) <= 1, applied  # one ETag, one applied upload

    assert [a for a in run.answers if a[1] == 500] == []
    metrics = await run.send("GET", f"http://127.0.0.1:{run.port}/metrics", "/metrics")
    assert 'status="500"' not in metrics.text
    for marker, status, err in run.pushes:
        assert "Traceback" not in err, (marker, status, err)
    # The soak did what it says (with the default seed and rounds).
    faults = Counter(f.kind for api in run.apis for f in api.faults.log)
    outcomes = Counter(e.outcome for e in run.edits)
    print(f"faults {dict(faults)}; edits {dict(outcomes)}; reloads {len(run.reloads)}")
    assert sum(e.accepted for e in run.edits) > 0 and sum(faults.values()) > 0
