"""One APScheduler 3.x job per source, rebuilt from the config at start and on reload.

Jobs run on the daemon's own asyncio loop (AsyncIOScheduler + its AsyncIOExecutor).
``coalesce=True`` and ``max_instances=1``: a source is never synced twice at once, and
a backlog after a pause (suspend, a long sync) runs once, not once per missed interval.
A job that raises, is missed beyond the grace time or is skipped because the previous
run is still going is reported to ``on_problem`` by a listener, so health shows it:
APScheduler alone would only log it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from icsbridge.config.settings import SourceSettings

log = logging.getLogger("icsbridge.scheduler")

SyncJob = Callable[[str], Awaitable[None]]
ProblemSink = Callable[[str, str], None]

MAX_JITTER_SECONDS = 60


def jitter_for(interval_seconds: int) -> int:
    """Up to 10% of the interval (at most a minute): sources don't all fire at once."""
    return max(1, min(MAX_JITTER_SECONDS, interval_seconds // 10))


def grace_for(interval_seconds: int) -> int:
    """A run late by up to half an interval still runs; later than that, the next one will."""
    return max(30, interval_seconds // 2)


Jobs = dict[str, tuple[int, IntervalTrigger, datetime | None]]
"""Each job's interval in seconds, trigger and next run time, by source name."""


@dataclass(frozen=True)
class SchedulePlan:
    """The jobs a list of sources needs (:meth:`SourceScheduler.plan`)."""

    intervals: dict[str, int]
    """Every source's interval in seconds."""
    triggers: dict[str, IntervalTrigger]
    """The new or changed jobs' triggers, already built."""
    removed: list[str]
    """Sources whose job goes."""


class SourceScheduler:
    """Owns the APScheduler instance; jobs are keyed by source name."""

    def __init__(
        self,
        sync: SyncJob,
        on_problem: ProblemSink,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sync = sync
        self._on_problem = on_problem
        self._clock = clock
        self._intervals: dict[str, int] = {}
        self._scheduler = AsyncIOScheduler(
            event_loop=loop or asyncio.get_running_loop(), timezone=UTC
        )
        self._scheduler.add_listener(
            self._listen, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )

    @property
    def sources(self) -> list[str]:
        return sorted(self._intervals)

    def start(self, sources: Iterable[SourceSettings]) -> None:
        """Schedule every source, each with a first sync right away."""
        self.apply(sources)
        self._scheduler.start()

    def apply(self, sources: Iterable[SourceSettings]) -> list[str]:
        """Make the jobs match ``sources`` (:meth:`plan`, then :meth:`commit`); returns the
        names whose job was (re)created."""
        return self.commit(self.plan(sources))

    def plan(self, sources: Iterable[SourceSettings]) -> SchedulePlan:
        """The jobs ``sources`` need, built but not scheduled: nothing changes yet.

        Raises what APScheduler raises for an interval it cannot hold (OverflowError
        for one that takes a run past year 9999): a reload builds its plan before it
        swaps anything in, so such an error leaves the running jobs as they are.
        """
        wanted = {s.name: s.interval_seconds for s in sources}
        now = self._clock()
        triggers: dict[str, IntervalTrigger] = {}
        for name, seconds in sorted(wanted.items()):
            if self._intervals.get(name) == seconds:
                continue
            trigger = IntervalTrigger(seconds=seconds, jitter=jitter_for(seconds), timezone=UTC)
            # What APScheduler computes after the first run: fail here rather than there.
            trigger.get_next_fire_time(now, now)
            triggers[name] = trigger
        return SchedulePlan(wanted, triggers, sorted(set(self._intervals) - set(wanted)))

    def commit(self, plan: SchedulePlan) -> list[str]:
        """Make the jobs what ``plan`` says; returns the names whose job was (re)created.

        New sources and sources whose interval changed sync right away; removed sources
        lose their job. Other settings of a source are read by the job at each run.
        All or nothing: on any error the jobs are put back as they were, then it is raised.
        """
        before = self.jobs()
        try:
            for name in plan.removed:
                self._scheduler.remove_job(name)
                del self._intervals[name]
                log.info("source %s: removed from the schedule", name)
            for name, trigger in plan.triggers.items():
                self._add(name, trigger, plan.intervals[name], self._clock())
        except BaseException:
            self.restore(before)
            raise
        return list(plan.triggers)

    def _add(self, name: str, trigger: IntervalTrigger, seconds: int, when: datetime) -> None:
        self._scheduler.add_job(
            self._sync,
            trigger,
            args=[name],
            id=name,
            name=f"sync {name}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace_for(seconds),
            next_run_time=when,
        )
        self._intervals[name] = seconds

    def jobs(self) -> Jobs:
        """The jobs as they are now, for :meth:`restore`."""
        jobs = {name: self._scheduler.get_job(name) for name in self._intervals}
        return {
            name: (seconds, job.trigger, job.next_run_time)
            for name, seconds in self._intervals.items()
            if (job := jobs[name]) is not None
        }

    def restore(self, before: Jobs) -> None:
        """The jobs of ``before`` (:meth:`jobs`), each with its trigger and next run time,
        and no other."""
        for job in self._scheduler.get_jobs():
            if job.id not in before:
                job.remove()
        self._intervals = {}
        for name, (seconds, trigger, when) in sorted(before.items()):
            self._add(name, trigger, seconds, when or self._clock())

    def run_now(self, names: Iterable[str] | None = None) -> None:
        """Bring the next run of these sources (all by default) forward to now."""
        for name in names if names is not None else self.sources:
            job = self._scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=self._clock())

    def next_run(self, name: str) -> datetime | None:
        job = self._scheduler.get_job(name)
        return None if job is None else job.next_run_time

    def shutdown(self) -> None:
        """Stop scheduling; a sync already running is the caller's to await or cancel."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def _listen(self, event: JobEvent) -> None:
        name = event.job_id
        if event.code == EVENT_JOB_ERROR and isinstance(event, JobExecutionEvent):
            exc = event.exception
            message = f"internal error {type(exc).__name__}: {exc}; please report it"
            log.error("source %s: %s", name, message, exc_info=exc)
        elif event.code == EVENT_JOB_MISSED:
            message = "a scheduled sync was missed (the daemon was busy or suspended)"
            log.warning("source %s: %s", name, message)
        else:
            message = "a sync was skipped because the previous one is still running"
            log.warning("source %s: %s", name, message)
        self._on_problem(name, message)


def seconds_until(when: datetime | None, now: datetime) -> float | None:
    return None if when is None else max(0.0, (when - now) / timedelta(seconds=1))


async def finish_in_flight(
    tasks: set[asyncio.Task[Any]], grace: float, logger: logging.Logger
) -> None:
    """At a stop: let the syncs in ``tasks`` finish for ``grace`` seconds, then cancel
    the rest (their state transactions roll back)."""
    if not tasks:
        return
    logger.warning("waiting up to %.0f s for %d sync(s) to finish", grace, len(tasks))
    _done, pending = await asyncio.wait(set(tasks), timeout=grace)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
