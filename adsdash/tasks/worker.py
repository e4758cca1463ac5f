"""The worker: a Huey consumer of thread workers, heartbeats, and recovery of lost jobs.

It runs standalone (`adsdash worker`, owning SIGINT/SIGTERM) or embedded in another
process (the app), where it never touches signal handlers. Huey forgets a task whose
consumer was SIGKILLed mid-run; the store does not: any worker that starts, and every
live worker now and then, fails the jobs of dead workers and kills their process groups.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import timedelta

from huey.consumer import Consumer

from adsdash.config import Settings
from adsdash.store import FAILED, HEARTBEAT_SECONDS, STARTED, Clock, Store, iso, system_clock
from adsdash.processes import signal_group
from adsdash.tasks.queue import make_huey
from adsdash.tasks.runner import JobRun

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
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.store = Store(settings.store_path, clock=clock)
        self.huey, self.task = make_huey(settings.queue_path, settings.wake_dir, self._run_job)
        self._runs: dict[int, JobRun] = {}
        self._runs_lock = threading.Lock()
        self._stopping = threading.Event()
        self._consumer: _QuietConsumer | None = None
        self._beat: threading.Thread | None = None

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
        log.info("worker %s started (%s, %d at once)", self.id, self.kind, self.concurrency)

    def stop(self, reason: str = "worker stopped") -> None:
        """Cancel what runs here, let the threads finish, and say we are gone."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for run in self.running():
            run.cancel(reason)
        if self._consumer is not None:
            self._consumer.stop_flag.set()
        self.huey.storage.stop_listening()  # wakes the threads waiting in dequeue
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        if self._beat is not None:
            self._beat.join(timeout=HEARTBEAT_SECONDS + 1)
        self.huey.storage.close()
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

    def busy(self) -> bool:
        return bool(self.running())

    # -- the task ----------------------------------------------------------

    def _run_job(self, job_id: int) -> None:
        if self._stopping.is_set():
            self.task(job_id)  # hand it back for the next worker
            return
        if self.store.try_start(job_id, self.id) != STARTED:
            return
        job = self.store.job(job_id)
        run = JobRun(self.store, job, grace_seconds=self.settings.cancel_grace_seconds)
        with self._runs_lock:
            self._runs[job_id] = run
        try:
            outcome = run.run()
            due = self.store.finish(job_id, outcome.status, exit_code=outcome.exit_code,
                                    error=outcome.error, result=outcome.result)
        except Exception as exc:
            log.exception("job %s: internal error", job_id)
            due = self.store.finish(job_id, FAILED, error=f"adsdash internal error: {exc!r}")
        finally:
            with self._runs_lock:
                self._runs.pop(job_id, None)
        self.enqueue(due)

    def enqueue(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            self.task(job_id)

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
        for job, pgid in self.store.lost_jobs():
            host = (job.worker or "").rsplit(":", 2)[0]
            if pgid and host == socket.gethostname():
                if signal_group(pgid, signal.SIGKILL):
                    log.warning("job %s: killed process group %s of a lost worker", job.id, pgid)
            self.enqueue(self.store.finish(job.id, FAILED, error=f"worker lost ({job.worker})"))
            failed.append(job.id)
        cutoff = iso(self.store.clock() - timedelta(seconds=ORPHAN_AFTER_SECONDS))
        orphans = self.store.queued_unparked(cutoff)
        if orphans:
            in_queue = {t.args[0] for t in self.huey.pending() if t.args}
            lost = [j for j in orphans if j not in in_queue]
            for job_id in lost:
                log.warning("job %s: queued but not in the queue; sending it again", job_id)
            self.enqueue(lost)
        self.store.prune_workers()
        return failed

