"""`icsbridge run`: the long-running service.

One asyncio process:
- uvicorn serves the feed server on ``[daemon].listen`` (the socket is bound here,
  so a taken port is one clear line, not a traceback);
- a :class:`~daemon.service.scheduler.SourceScheduler` syncs each source at its interval, the
  first time right after start;
- each sync: pull -> identity -> render (icsbridge.daemon.sync.pull), then the feed store publishes
  whatever changed, tokens are ensured for new feeds, health and metrics are updated.

Signals (handled on the loop, installed only by :meth:`Daemon.run`):
SIGHUP re-reads the config (added, removed and changed sources and feeds take effect;
served feeds stay up). A reload is all or nothing: the new schedule, tokens and feeds are
built before anything is swapped, and a config with problems, or any error on the way,
leaves the old one in force, said in the log, systemd's STATUS and ``/healthz``;
SIGUSR1 syncs every source now (even one another daemon sharing the state synced just
now); SIGTERM/SIGINT stop: no new syncs, an in-flight sync gets ``STOP_GRACE`` seconds to
finish and is then cancelled (its state transaction is all-or-nothing), exit status 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from icsbridge.config.errors import IcsbridgeError
from icsbridge.config.settings import Settings, SourceSettings
from icsbridge.daemon.caldav.mount import caldav_mount
from icsbridge.daemon.feeds.store import FeedStore
from icsbridge.daemon.feeds.tokens import FeedTokens
from icsbridge.daemon.feeds.urls import token_names
from icsbridge.daemon.push.journal import recover_pending
from icsbridge.daemon.push.service import PushService
from icsbridge.daemon.push.vdir import vdir_edits, write_vdirs
from icsbridge.daemon.service import preflight
from icsbridge.daemon.service.heap import HeapPolicy
from icsbridge.daemon.service.reload import (
    ReloadStatus,
    apply_to_server,
    read_reload,
    refused,
)
from icsbridge.daemon.service.scheduler import Jobs, SourceScheduler, finish_in_flight
from icsbridge.daemon.service.shared import following
from icsbridge.daemon.service.systemd import Notifier
from icsbridge.daemon.sources.pool import Sleep, SourceClients, TransportFactory
from icsbridge.daemon.store.opening import daemon_lock
from icsbridge.daemon.store.state import StateStore
from icsbridge.daemon.sync.pull import pull_source, source_error_line
from icsbridge.daemon.sync.turn import sync_turn
from icsbridge.daemon.web.app import create_app
from icsbridge.daemon.web.binding import bind, feed_server, wait_started
from icsbridge.daemon.web.health import (
    SourceHealth,
    StateWatch,
    daemons_by_source,
    follow_sources,
    health_report,
    restore_health,
)
from icsbridge.daemon.web.metrics import Metrics

log = logging.getLogger("icsbridge.daemon")

STOP_GRACE = 10.0


class Daemon:
    """The service. ``run()`` returns the process exit status."""

    def __init__(
        self,
        config_path: Path,
        *,
        accept_empty: bool = False,
        notifier: Notifier | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport_for: TransportFactory | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        self.config_path = config_path
        self.accept_empty = accept_empty
        self.notifier = notifier or Notifier()
        self.clock = clock
        self.transport_for = transport_for
        self.sleep = sleep
        self.settings = preflight.read_config(config_path)
        self.last_reload: ReloadStatus | None = None
        self.health_by_source: dict[str, SourceHealth] = {}
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._attempted: set[str] = set()
        self._asked: dict[str, bool] = {}  # SIGUSR1: run, whoever synced it last
        self.first_round_done = asyncio.Event()  # every source tried once (the demo waits)
        self.bound_port: int | None = None
        self.heap = HeapPolicy()  # long-lived objects frozen out of GC scans after syncs

    # -- the main loop ----------------------------------------------------------------

    def open(self, state: StateStore) -> None:
        """Build the feed store, tokens, metrics and the ASGI app on ``state`` (no I/O
        beyond the state and the published files). ``run()`` calls it; tests may too."""
        settings = self.settings
        error = preflight.token_error(settings)  # a configured [[feeds]] token unfit for a URL
        if error is not None:
            raise error
        self.state = state
        self.feeds = FeedStore(settings, state, accept_empty=self.accept_empty)
        self.feeds.load_published()
        self.tokens = FeedTokens(state, clock=self.clock)
        self._ensure_tokens()
        self.clients = SourceClients(self.transport_for)  # one pooled client per source
        self.metrics = Metrics()
        self.metrics.follow_feeds(self.feeds)
        follow_sources(self.health_by_source, (s.name for s in settings.sources))
        restore_health(self.health_by_source, state)
        self.state_watch = StateWatch(state)
        self.metrics.follow_daemons(lambda: daemons_by_source(state, self.health_by_source, None))
        self.pusher = PushService(
            settings=lambda: self.settings,
            state=state,
            feeds=self.feeds,
            clients=self.clients,
            clock=self.clock,
            sleep=self.sleep,
            published=lambda _source, _rendered, _now: self._after_publish(),
        )
        self.app = create_app(
            feeds=self.feeds,
            tokens=self.tokens,
            health=self.health,
            metrics=self.metrics,
            writer=self.pusher,
            caldav=caldav_mount(lambda: self.settings, self.feeds, state, self.pusher),
        )

    async def run(self) -> int:
        with daemon_lock(self.settings.daemon.state):  # first: a second daemon is told so
            return await self._serve()

    async def _serve(self) -> int:
        settings = self.settings
        sock = bind(settings.daemon.host, settings.daemon.port)
        self.bound_port = int(sock.getsockname()[1])
        with sock, StateStore(settings.daemon.state) as state:
            self.open(state)
            self.server = server = feed_server(self.app, tls=settings.daemon.tls)
            server_task = asyncio.create_task(server.serve(sockets=[sock]))
            loop = asyncio.get_running_loop()
            self._install_signals(loop)
            try:
                await wait_started(server, server_task)
                self.scheduler = SourceScheduler(self._sync_job, self._job_problem, loop=loop)
                self.scheduler.start(settings.sources)
                self.notifier.ready(
                    f"serving {len(self.feeds.names())} feeds on {settings.daemon.listen}"
                )
                listen, count = settings.daemon.listen, len(settings.sources)
                log.info("listening on %s; %d sources scheduled", listen, count)
                watchdog = asyncio.create_task(self._watchdog())
                await following(self, self._main_loop())  # other daemons' feeds, tokens
                watchdog.cancel()
            finally:
                self._remove_signals(loop)
                self.notifier.stopping()
                if hasattr(self, "scheduler"):
                    self.scheduler.shutdown()
                # The server goes first: uvicorn lets requests in flight finish, and a
                # push among them must still have its API client and the state.
                server.should_exit = True
                with contextlib.suppress(asyncio.CancelledError):
                    await server_task
                await finish_in_flight(self._in_flight, STOP_GRACE, log)
                await self.clients.aclose()
        log.info("stopped")
        return 0

    async def _main_loop(self) -> None:
        while not self._stop.is_set():
            reload = asyncio.create_task(self._reload.wait())
            stop = asyncio.create_task(self._stop.wait())
            await asyncio.wait({reload, stop}, return_when=asyncio.FIRST_COMPLETED)
            reload.cancel()
            stop.cancel()
            if self._reload.is_set() and not self._stop.is_set():
                self._reload.clear()
                await self.reload()

    # -- signals ----------------------------------------------------------------------

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        loop.add_signal_handler(signal.SIGUSR1, self.sync_all_now)

    def _remove_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
            loop.remove_signal_handler(sig)

    def request_stop(self) -> None:
        log.info("stopping")
        self._stop.set()

    def sync_all_now(self) -> None:
        if hasattr(self, "scheduler"):
            log.info("syncing every source now (SIGUSR1)")
            self._asked = dict.fromkeys(self.scheduler.sources, True)  # even synced elsewhere
            self.scheduler.run_now()

    async def reload(self) -> None:
        """Re-read the config and apply it whole, or keep the old one (module doc)."""
        self.notifier.reloading()
        previous = self.settings
        try:  # files, secrets and names are read in a worker: a hung read stalls no feed
            fresh = await asyncio.to_thread(read_reload, self.config_path, previous)
            plan = self.scheduler.plan(fresh.sources)  # the new jobs, built but not scheduled
            jobs = self.scheduler.jobs()
        except Exception as exc:
            self._refuse(exc)
            return
        try:
            self._ensure_tokens(fresh)  # one transaction: the new feeds' tokens, or none
            rescheduled = self.scheduler.commit(plan)  # puts the old jobs back on error
            self.settings = fresh
            changed = self.feeds.reconfigure(fresh)
        except Exception as exc:
            self._roll_back(previous, jobs)
            self._refuse(exc)
            return
        apply_to_server(fresh, previous, getattr(self, "server", None))
        follow_sources(self.health_by_source, (s.name for s in fresh.sources))
        self.clients.retain(s.name for s in fresh.sources)  # removed sources' connections
        log.warning(
            "config reloaded: %d sources (%s rescheduled), %d feeds changed",
            len(fresh.sources),
            ", ".join(rescheduled) or "none",
            len(changed),
        )
        self.last_reload = ReloadStatus(self.clock())
        self.notifier.ready(self.last_reload.status_line(len(fresh.sources)))

    def _refuse(self, exc: Exception) -> None:
        self.last_reload = refused(exc, self.clock())
        self.notifier.ready(self.last_reload.status_line(len(self.settings.sources)))

    def _roll_back(self, previous: Settings, jobs: Jobs) -> None:
        """Back to ``previous`` after a swap failed part way (each step is idempotent)."""
        self.settings = previous
        for step in (
            lambda: self.scheduler.restore(jobs),
            lambda: self.feeds.reconfigure(previous),
            lambda: self._ensure_tokens(previous),
        ):
            try:
                step()
            except Exception as exc:  # the first error is the one reported
                log.error("while putting the old config back: %s: %s", type(exc).__name__, exc)

    # -- syncing ----------------------------------------------------------------------

    async def _sync_job(self, name: str) -> None:
        """One sync of one source (an APScheduler job), never during a push to it, nor
        while another daemon sharing the state syncs it (``sync.turn``)."""
        async with self.pusher.lock(name):
            src = self._source_settings(name)
            if src is None:
                return
            asked, now = self._asked.pop(name, False), self.clock()
            async with sync_turn(self.state, src, now, sleep=self.sleep, asked=asked) as skipped:
                if skipped is None:
                    await self._sync_once(name)
                else:
                    log.info("%s", skipped)

    async def _sync_once(self, name: str) -> None:
        """Expected failures are recorded here; anything else propagates to the
        scheduler's listener."""
        src = self._source_settings(name)
        if src is None or self._stop.is_set():
            return
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        started = time.monotonic()
        now = self.clock()
        health = self.health_by_source.setdefault(name, SourceHealth())
        output_dir = self.settings.daemon.output_dir
        self.state_watch()  # logs it if the state file went (health says it too)
        try:
            held = await vdir_edits(
                src,
                self.state,
                output_dir,
                client=self.clients.client(src),
                now=now,
                sleep=self.sleep,
            )
            rendered = await pull_source(
                src,
                self.state,
                now=now,
                settle=recover_pending,
                sleep=self.sleep,
                clients=self.clients,
            )
            # Publishing saves too: a state that cannot save fails the sync in one line.
            changed = self.feeds.update_source(name, rendered, now=now)
            self._after_publish()
        except IcsbridgeError as exc:
            line = source_error_line(name, str(exc))
            health.last_error = line
            health.last_duration = time.monotonic() - started
            self.state.record_attempt(name, now, line)
            self.metrics.sync_finished(name, health.last_duration, False)
            log.warning("%s", line)
            self.notifier.status(f"sync {name} failed: {line}")
            self._attempt_done(name)
            return
        finally:
            if task is not None:
                self._in_flight.discard(task)
        if src.vdir:
            try:
                kept = held | self.feeds.held_calendars(name)
                write_vdirs(output_dir, name, rendered, self.state, held=kept)
            except IcsbridgeError as exc:
                log.warning("%s", source_error_line(name, str(exc)))
        health.last_success, health.last_error, health.problem = now, None, None
        health.last_duration = time.monotonic() - started
        self.state.record_attempt(name, now, None)
        self.metrics.sync_finished(name, health.last_duration, True)
        events = sum(len(c.events) for c in rendered)
        log.info(
            "source %s: synced %d calendars, %d feeds changed", name, len(rendered), len(changed)
        )
        self.notifier.status(
            f"sync {name} ok: {len(rendered)} calendars, {events} events, "
            f"{len(changed)} feeds changed"
        )
        self._attempt_done(name)

    def _attempt_done(self, name: str) -> None:
        self._attempted.add(name)
        if {s.name for s in self.settings.sources} <= self._attempted:
            self.first_round_done.set()

    def _job_problem(self, name: str, message: str) -> None:
        health = self.health_by_source.setdefault(name, SourceHealth())
        health.problem = message
        if message.startswith("internal error"):
            line = f'source "{name}": {message}'
            health.last_error = line
            self.state.record_attempt(name, self.clock(), line)
            self.metrics.sync_finished(name, 0.0, False)
            self.notifier.status(f"sync {name} failed: {line}")
            self._attempt_done(name)

    def _source_settings(self, name: str) -> SourceSettings | None:
        return next((s for s in self.settings.sources if s.name == name), None)

    # -- tokens, health, metrics ------------------------------------------------------

    def _ensure_tokens(self, settings: Settings | None = None) -> None:
        settings = settings or self.settings
        names = [*self.feeds.names(), *(f.name for f in settings.feeds)]
        self.tokens.ensure(token_names(settings, names), preflight.configured_tokens(settings))

    def _after_publish(self) -> None:
        """New feeds get tokens (read, and write if enabled); metrics follow; survivors freeze."""
        self._ensure_tokens()
        self.metrics.follow_feeds(self.feeds)
        self.heap.settle()

    def health(self) -> tuple[int, dict[str, Any]]:
        """200 when every source's last sync succeeded and the state is still the one open,
        else 503; warnings (and a refused reload: the old config serves on) never fail it."""
        problem = self.state_watch()
        status, body = health_report(
            self.health_by_source, self.feeds, now=self.clock(), state_problem=problem
        )
        body["reload"] = None if self.last_reload is None else self.last_reload.report()
        for name, (synced, held) in daemons_by_source(self.state, body["sources"], problem).items():
            body["sources"][name].update(synced_by=synced, held_by=held)
        return status, body

    async def _watchdog(self) -> None:
        interval = self.notifier.watchdog_interval()
        while interval is not None:
            self.notifier.watchdog()
            await asyncio.sleep(interval)
