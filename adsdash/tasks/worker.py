"""The worker: a Huey consumer of thread workers, heartbeats, and recovery of lost jobs.

It runs in its own process: in the foreground (`adsdash worker`, for systemd), or in
the background, detached from any terminal (started by the app, see background.py);
tests also run one inside their own process, where it never touches signal handlers.

Exactly once: a delivery runs the CLI only if its claim on the job row says CLAIMED, so
a duplicate message, a re-send by recovery or a retried Huey task starts nothing.
A job row is data, not instructions: the worker rebuilds the argv from the job's
command, slug and arguments with its own settings and the catalogue's checks.

Each worker also runs the schedules' scheduler (scheduler.py), a thread of its own, and with
notify_urls set the notifier (notifier.py), another, poked as each job ends.

Huey forgets a task whose consumer was SIGKILLed mid-run; the store does not: any worker
that starts, and every live worker now and then, fails the jobs of dead workers and
kills their CLI's process group, if it is still the process the job started.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from huey.consumer import Consumer

from adsdash import watermarks
from adsdash.catalogue import RequestError
from adsdash.config import Settings
from adsdash.engine import Engine
from adsdash.processes import same_process, signal_group, start_ticks
from adsdash.sanitize import one_line
from adsdash.store import CANCELLED, FAILED, HEARTBEAT_SECONDS, Claim, Clock, Job, iso, system_clock, this_host
from adsdash.tasks.notifier import Notifier
from adsdash.tasks.pruner import DailyPrune, audit_unlock
from adsdash.tasks.queue import make_huey
from adsdash.tasks.runner import STORE_FAULTS, JobRun, Outcome
from adsdash.tasks.scheduler import Scheduler

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

log = logging.getLogger(__name__)
RECOVER_SECONDS = 10.0
ORPHAN_AFTER_SECONDS = 30.0  # a queued job neither parked nor in Huey's queue this long is re-sent


class _QuietConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        """Signals belong to whoever owns the process (see Worker.run_forever)."""


class Worker:
    def __init__(self, settings: Settings, *, kind: str = "standalone", concurrency: int | None = None,
                 clock: Clock = system_clock):
        self.settings = settings
        self.kind = kind
        self.concurrency = concurrency or settings.workers
        self.id = f"{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.engine = Engine(settings, clock=clock)  # the same checks as at submit, with our settings
        self.store = self.engine.store
        self.huey, self.task = make_huey(settings.queue_path, settings.wake_dir, self._run_job)
        self.huey.storage.adopt = self.adopt
        self._runs: dict[int, JobRun] = {}
        self._runs_lock = threading.Lock()
        self._stopping = threading.Event()
        self._consumer: _QuietConsumer | None = None
        self._beat: threading.Thread | None = None
        self.scheduler = Scheduler(self.engine, worker_id=self.id)  # queues the schedules' due runs
        self.pruner = DailyPrune(self.engine)  # retention, once a day, in a thread of its own
        self.notifier = Notifier(self.engine, worker_id=self.id)  # alerts, in a thread of its own (with notify_urls)
        self._metrics_server: WSGIServer | None = None  # see serve_metrics

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        self.store.register_worker(self.id, kind=self.kind, concurrency=self.concurrency)
        self.huey.storage.listen()
        self.recover()
        self._consumer = _QuietConsumer(
            self.huey, workers=self.concurrency, worker_type="thread", periodic=False,
            check_worker_health=False, shutdown_timeout=self.settings.cancel_grace_seconds * 2 + 10,
        )
        self._consumer.start()
        self._beat = threading.Thread(target=self._heartbeat_loop, name="adsdash-heartbeat", daemon=True)
        self._beat.start()
        self.scheduler.start()
        self.pruner.start()
        self.notifier.start()
        log.info("worker %s started (%s, %d at once)", self.id, self.kind, self.concurrency)

    def serve_metrics(self, address: str, port: int) -> None:
        """Serve Prometheus metrics on address:port (a daemon thread of its own, off the jobs'
        path) until the worker stops. OSError when it cannot listen there."""
        from adsdash.metrics import serve  # here: only a worker asked to serve loads prometheus_client

        self._metrics_server = serve(self.engine, address, port)
        # The OS tells which client files changed (folder_watch): a scrape of 1,000 clients then
        # states none of their files (~10 ms a scrape). At most a second late: nothing to a scrape.
        self.engine.workspace.watch()

    def stop(self, reason: str = "worker stopped") -> None:
        """Cancel what runs here, let the threads finish, and say we are gone."""
        with self._runs_lock:  # a run registered after this sees the flag (see _run_job)
            if self._stopping.is_set():
                return
            self._stopping.set()
            runs = list(self._runs.values())
        self.scheduler.stop()  # first: nothing is queued by a worker on its way out
        self.pruner.stop()  # a prune under way ends at its current batch
        self.notifier.stop()  # a send under way is left to its timeout
        for run in runs:
            run.cancel(reason)
        if self._consumer is not None:
            self._consumer.stop_flag.set()
        self.huey.storage.stop_listening()  # wakes the threads waiting in dequeue
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        if self._beat is not None:
            self._beat.join(timeout=HEARTBEAT_SECONDS + 1)
        self.huey.storage.close()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
            self.engine.workspace.stop_watching()
        self.store.stop_worker(self.id)
        log.info("worker %s stopped", self.id)

    def run_forever(self) -> None:
        """Foreground: SIGINT or SIGTERM stop the worker cleanly."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            while not stop.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def running(self) -> list[JobRun]:
        with self._runs_lock:
            return list(self._runs.values())

    # -- the task ----------------------------------------------------------

    def _run_job(self, job_id: int) -> None:
        if self._stopping.is_set():
            self.task(job_id)  # hand it back for the next worker
            return
        claim = self.store.claim(job_id, self.id)
        if claim is not Claim.CLAIMED:
            if claim is not Claim.PARKED:
                log.info("job %s: %s; not run again", job_id, claim.value)
            return
        run: JobRun | None = None
        try:
            job = self.engine.job_or_error(job_id)
            try:
                argv, cwd = self.command_for(job)
            except RequestError as exc:
                outcome = Outcome(FAILED, None, one_line(f"refused by the worker: {exc}"), None)
            else:
                self.store.set_command(job_id, argv, cwd)
                run = JobRun(self.store, job_id, argv, cwd, grace_seconds=self.settings.cancel_grace_seconds)
                with self._runs_lock:
                    stopping = self._stopping.is_set()
                    if not stopping:
                        self._runs[job_id] = run
                if stopping:  # claimed as the worker stopped: not started, so nothing outlives it
                    run, outcome = None, Outcome(CANCELLED, None, "worker stopped before the job started", None)
                else:
                    if job.command == "force-unlock":
                        audit_unlock(self.engine, job)  # the lock as it is now, before the CLI removes it
                    self._note_watermarks(job)  # as they are before it runs: a change after it is its own
                    outcome = run.run()
        except Exception as exc:
            log.exception("job %s: internal error", job_id)
            outcome = Outcome(FAILED, None, one_line(f"adsdash internal error: {exc!r}"), None)
        finally:
            with self._runs_lock:
                self._runs.pop(job_id, None)
        if self._record_end(job_id, outcome, run):  # the client's next job was unparked
            self._adopt_soon()
        self.notifier.poke()  # look now (sets an Event: it cannot fail, and sends nothing here)
        if run is not None:
            self._note_watermarks(job, moved_by=job_id)

    def _note_watermarks(self, job: Job, *, moved_by: int | None = None) -> None:
        """Record a sync job's client's watermarks (watermarks.py): before the run (any change
        since the last look moved outside adsdash, or by an earlier job), and after (moved by it).
        Bookkeeping: a failure is logged, the job goes on."""
        if job.command not in watermarks.MOVERS:
            return
        try:
            client = self.engine.workspace.client(job.slug)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            log.error("job %s: cannot read %s's watermarks: %s", job.id, job.slug, exc)
            return
        if client is not None:
            watermarks.observe(self.store, [client], self.engine.clock(), job_id=moved_by)

    def command_for(self, job: Job) -> tuple[list[str], str]:
        """The argv and folder this worker runs for `job`, from its own settings; RequestError
        if the row does not validate (unknown command or client, bad arguments)."""
        _request, argv = self.engine.rebuild(job)
        return argv, str(self.settings.ads_sync_path.resolve())

    def _record_end(self, job_id: int, outcome: Outcome, run: JobRun | None) -> list[int]:
        """Write the held output and the outcome, retrying while the store refuses (disk full):
        the CLI has ended, nothing waits on us but the record. A worker that stops meanwhile
        leaves the job to recovery."""
        delay = 0.5
        while True:
            try:
                if run is not None:
                    run.flush_all()
                return self.store.finish(job_id, outcome.status, worker=self.id, exit_code=outcome.exit_code,
                                         error=outcome.error, result=outcome.result,
                                         output_note=run.output_note() if run else None)
            except STORE_FAULTS as exc:
                log.error("job %s: cannot record its end yet (%s); retrying in %.1fs", job_id, exc, delay)
            if self._stopping.wait(delay):
                return []
            delay = min(delay * 2, 30.0)

    def adopt(self) -> None:
        """Put the stored jobs no worker has handed over yet into Huey's queue (see tasks/queue.py),
        waking the consumers once for all of them (a sweep stores a thousand at once)."""
        if adopted := self.store.adopt():
            with self.huey.storage.one_wake_up():
                self.enqueue(adopted)

    def enqueue(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            try:
                self.task(job_id)
            except STORE_FAULTS as exc:  # recovery sends it again once the queue takes writes
                log.error("job %s: cannot enqueue (%s); recovery will send it again", job_id, exc)

    # -- health ------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        next_recover = time.monotonic() + RECOVER_SECONDS
        while not self._stopping.wait(HEARTBEAT_SECONDS):
            try:
                self.store.heartbeat(self.id)
                if time.monotonic() >= next_recover:
                    next_recover = time.monotonic() + RECOVER_SECONDS
                    self.recover()
            except Exception:
                log.exception("worker %s: heartbeat or recovery failed", self.id)

    def recover(self) -> list[int]:
        """Fail the jobs of dead workers (killing their process groups); re-send lost queued jobs."""
        failed = []
        for lost in self.store.lost_jobs():
            job, pgid = lost.job, lost.pgid
            host = (job.worker or "").rsplit(":", 2)[0]
            if pgid and host == this_host():
                if start_ticks(pgid) is not None and not same_process(pgid, lost.proc_start):
                    log.warning("job %s: pid %s is another process now; not killed", job.id, pgid)
                elif signal_group(pgid, signal.SIGKILL):
                    log.warning("job %s: killed process group %s of a lost worker", job.id, pgid)
            self.store.finish(job.id, FAILED, worker=job.worker, error=f"worker lost ({job.worker})")
            failed.append(job.id)
        cutoff = iso(self.store.clock() - timedelta(seconds=ORPHAN_AFTER_SECONDS))
        orphans = self.store.queued_unparked(cutoff)
        if orphans:
            in_queue = {t.args[0] for t in self.huey.pending() if t.args}
            unqueued = [j for j in orphans if j not in in_queue]
            for job_id in unqueued:
                log.warning("job %s: queued but not in the queue; sending it again", job_id)
            self.enqueue(unqueued)
        self._adopt_soon()  # the clients' next jobs, unparked by the ends above
        self.store.prune_workers()
        return failed

    def _adopt_soon(self) -> None:
        try:
            self.adopt()
        except STORE_FAULTS as exc:  # the consumer's next poll adopts them
            log.error("cannot take the stored jobs into the queue yet: %s", exc)

