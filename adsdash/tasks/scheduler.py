"""The scheduler: a thread in each worker that queues the schedules' due runs.

A scheduler of our own rather than Huey's periodic tasks: those are cron in UTC per
consumer, so they cannot read a schedule in each client's own zone, and every consumer
would run them, while here any number of workers tick and the ledger in the job store
(schedule_ledger.py) lets exactly one queue each (schedule, client, due instant).

It ticks as the worker starts and at every minute boundary. A tick, for each schedule and each of its
clients, finds the due instants since the newest one the ledger has for that client (a
client without any: since the schedule was last checked), looking back at most
LOOKBACK: older runs could not be caught up anyway, and a week bounds the work after a
long outage. The newest due run is queued if it is within the catch-up window
(`schedule_catch_up_hours`); every other one is recorded as missed, so runs missed while
no worker was up never pile up. Runs are queued as a sweep of key presses is, with the same
checks and each client's turn: `Engine.submit_many(..., origin="schedule NAME", once=True)`.
`tick(now)` is what tests call.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from adsdash import schedules
from adsdash.catalogue import RequestError
from adsdash.engine import AlreadyQueued, Engine
from adsdash.sanitize import one_line
from adsdash.schedule_ledger import ALREADY, MISSED, PAUSED, QUEUED, REFUSED, SKIPPED, Ledger, Run
from adsdash.store import Job, StoreError, iso
from adsdash.tasks.helper_thread import HelperThread

log = logging.getLogger(__name__)
LOOKBACK = timedelta(days=7)
MAX_DUES = 200  # due instants looked at per client and tick: an every-minute cron after a week's outage
NEW_SCHEDULE_LOOKBACK = timedelta(minutes=1)  # a schedule added just before its time still runs
KEEP = timedelta(days=35)  # ledger rows kept (a client's newest row of a schedule is always kept)
PRUNE_EVERY_SECONDS = 3600.0
STUCK_AFTER = timedelta(minutes=2)  # a live worker's claim not settled by then is taken over
STORE_FAULTS = (sqlite3.Error, OSError, StoreError)


class Scheduler:
    def __init__(self, engine: Engine, *, worker_id: str, book: schedules.ScheduleBook | None = None):
        settings = engine.settings
        self.engine = engine
        self.worker_id = worker_id
        self.book = book or schedules.ScheduleBook(settings.config_file, settings.schedules,
                                                   settings.schedule_refusals)
        self.ledger = Ledger(engine.store)
        self.catch_up = timedelta(hours=settings.schedule_catch_up_hours)
        self._thread = HelperThread("adsdash-scheduler", self._loop)
        self._stop = self._thread.stopping
        self._said: tuple[str, ...] = ()  # refusals last logged: said again only when they change
        self._pruned_at = float("-inf")

    # -- the thread ----------------------------------------------------------

    def start(self) -> None:
        """The first tick, here (when the worker has started, a run missed meanwhile is queued),
        then one a minute in a thread."""
        self._tick_safely()
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def _loop(self) -> None:
        while not self._stop.wait(60.0 - time.time() % 60.0 + 0.05):  # just past the next minute boundary
            self._tick_safely()

    def _tick_safely(self) -> None:
        try:
            self.tick()
        except Exception:  # a store fault, a file gone odd: said, and tried again next minute
            log.exception("scheduler: tick failed")

    # -- a tick --------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> list[Run]:
        """Queue or record every run due by `now` (default: the engine's clock); returns the rows
        this tick wrote or tried to (one another worker wrote first is left as it is)."""
        now = now or self.engine.clock()
        found, refusals = self.book.current()
        clients: list = []
        if found:
            if problem := self.engine.workspace.clients_folder_problem():
                self._say((*refusals, f"schedules: {problem}"))
                return []
            clients = self.engine.workspace.clients()
        problems = list(refusals)
        decisions: list[Run] = self._unstick(found, now)
        states = self.ledger.enrol([s.name for s in found], now - NEW_SCHEDULE_LOOKBACK) if found else {}
        for schedule in found:
            targets, refused = schedules.targets(schedule, clients)
            problems += refused
            state = states[schedule.name]
            decisions += self._run(schedule, targets, state.paused, state.checked_through or iso(now), now)
            self.ledger.checked(schedule.name, now)
        self._say(tuple(problems))
        self._prune(now)
        return decisions

    def _run(self, schedule: schedules.Schedule, targets, paused: bool, checked: str,
             now: datetime) -> list[Run]:
        newest = self.ledger.newest_dues(schedule.name)
        floor = now - LOOKBACK
        recorded: list[Run] = []
        to_queue: list[tuple[str, str]] = []
        found: dict[tuple[str, datetime], list[datetime]] = {}  # clients of one zone mostly share a `since`
        for client, zone in targets:
            since = max(datetime.fromisoformat(newest.get(client.slug) or checked), floor)
            if (due_runs := found.get((zone.key, since))) is None:
                due_runs = found[zone.key, since] = schedules.dues(schedule, zone, since, now, limit=MAX_DUES)
            for index, due in enumerate(due_runs):
                if paused:
                    outcome, why = PAUSED, "the schedule is paused"
                elif index > 0:
                    outcome, why = MISSED, (f"not queued at its time (no worker up, or none ticked); only the"
                                            f" newest run ({iso(due_runs[0])}) is caught up")
                elif now - due > self.catch_up:
                    outcome, why = MISSED, ("not queued at its time (no worker up, or none ticked) nor within the"
                                            " catch-up window"
                                            f" ({self.engine.settings.schedule_catch_up_hours:g} h)")
                elif skip := schedule.clients.skip_reason(client):
                    outcome, why = SKIPPED, skip
                else:
                    to_queue.append((client.slug, iso(due)))
                    continue
                recorded.append(Run(schedule.name, client.slug, iso(due), outcome, reason=why))
        self.ledger.record(recorded, worker=self.worker_id, now=now)
        claimed = self.ledger.claim(schedule.name, to_queue, worker=self.worker_id, now=now)
        return recorded + (self._queue(schedule, claimed) if claimed else [])

    def _queue(self, schedule: schedules.Schedule, claimed: list[tuple[str, str]]) -> list[Run]:
        """Queue the claimed runs as a sweep of key presses would (each client validated, no
        second job while one is queued or running), and settle their rows."""
        slugs = [slug for slug, _due in claimed]
        results: list[Job | RequestError]
        try:
            if schedule.append_first:  # each report after its client's append (a job of its own each)
                results = [self._append_then(schedule, slug) for slug in slugs]
            else:
                results = list(self.engine.submit_many(schedule.command, slugs, origin=f"schedule {schedule.name}",
                                                       once=True, scope=schedule.scope))
        except RequestError as exc:  # wrong for every client alike: the clients folder, the CLI
            results = [exc] * len(slugs)
        except STORE_FAULTS as exc:
            results = [RequestError(f"job store: {exc}")] * len(slugs)
        settled = [_settled(schedule.name, slug, due, result)
                   for (slug, due), result in zip(claimed, results, strict=True)]
        for run in settled:
            log.info("schedule %s: %s %s (due %s): %s", run.schedule, run.slug, run.outcome, run.due,
                     f"job {run.job_id}" if run.outcome == QUEUED else run.reason)
        try:
            self.ledger.settle(settled, worker=self.worker_id, now=self.engine.clock())
        except STORE_FAULTS as exc:  # the runs stay claimed ("queuing"): never queued twice
            log.error("schedule %s: cannot record the outcome of %d run(s): %s", schedule.name, len(settled), exc)
        return settled

    def _append_then(self, schedule: schedules.Schedule, slug: str) -> Job | RequestError:
        try:
            return self.engine.append_then(schedule.command, slug, origin=f"schedule {schedule.name}",
                                           scope=schedule.scope)[1]
        except RequestError as exc:
            return exc

    def _unstick(self, found: Sequence[schedules.Schedule], now: datetime) -> list[Run]:
        """Runs claimed but never settled: a worker killed between its claim and its queue, or a
        store that refused the settle. The job, if it was stored, settles the run; if none was,
        it is queued now (or missed, past the catch-up window): never lost, never queued twice."""
        live = [worker.id for worker in self.engine.store.live_workers()]
        by_name = {schedule.name: schedule for schedule in found}
        settled: list[Run] = []
        stuck = self.ledger.stuck(older_than=now - STUCK_AFTER, live=live)
        paused = self.ledger.paused() if stuck else set()
        for run in stuck:
            if not self.ledger.take_over(run, run.worker, worker=self.worker_id, now=now):
                continue  # another worker took it
            schedule, job_id = by_name.get(run.schedule), self.ledger.job_of(run)
            if job_id is not None:
                done = Run(run.schedule, run.slug, run.due, QUEUED, job_id)
            elif run.schedule in paused:
                done = Run(run.schedule, run.slug, run.due, PAUSED, reason="the schedule is paused")
            elif now - datetime.fromisoformat(run.due) > self.catch_up:
                done = Run(run.schedule, run.slug, run.due, MISSED, reason="its worker stopped before queuing it,"
                           " and it is past the catch-up window")
            elif schedule is None:
                done = Run(run.schedule, run.slug, run.due, REFUSED, reason="the schedule is no longer in the file")
            else:
                settled += self._queue(schedule, [(run.slug, run.due)])
                continue
            self.ledger.settle([done], worker=self.worker_id, now=now)
            settled.append(done)
        return settled

    def _say(self, problems: tuple[str, ...]) -> None:
        if problems != self._said:
            for line in problems:
                log.warning("%s", line)
            self._said = problems

    def _prune(self, now: datetime) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        try:
            self.ledger.prune(now - KEEP)
        except STORE_FAULTS as exc:
            log.error("scheduler: cannot prune the ledger: %s", exc)


def _settled(schedule: str, slug: str, due: str, result: Job | RequestError) -> Run:
    if isinstance(result, AlreadyQueued):
        return Run(schedule, slug, due, ALREADY, result.job.id, one_line(str(result)))
    if isinstance(result, RequestError):
        return Run(schedule, slug, due, REFUSED, None, one_line(str(result)))
    return Run(schedule, slug, due, QUEUED, result.id)
