"""A worker's upkeep beside its jobs: the daily prune, and the audit of a force-unlock.

The prune (adsdash/retention.py) runs in a thread of its own, never in the consumer's nor
the heartbeat's: a long one neither delays a job nor makes the worker look lost. It looks
every CHECK_SECONDS whether a day has passed since the last prune of any worker (the store
remembers, so several workers prune once between them), first FIRST_CHECK_SECONDS after the
worker starts (a worker's start stays quick, and a short-lived worker prunes nothing).

A force-unlock's audit row records the lock as the worker found it just before it starts the
CLI that deletes it: the lock's pid, the host, its age. Neither ever stops a job: a failure
is logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from adsdash import audit, retention
from adsdash.records import Job, this_host
from adsdash.tasks.helper_thread import HelperThread

if TYPE_CHECKING:
    from adsdash.engine import Engine

log = logging.getLogger(__name__)
CHECK_SECONDS = 3600.0
FIRST_CHECK_SECONDS = 300.0


class DailyPrune:
    def __init__(self, engine: Engine, *, check_seconds: float = CHECK_SECONDS,
                 first_check_seconds: float = FIRST_CHECK_SECONDS):
        self.engine = engine
        self.check_seconds = check_seconds
        self.first_check_seconds = first_check_seconds
        self._thread = HelperThread("adsdash-prune", self._loop)
        self._stop = self._thread.stopping

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._thread.stop()

    def _loop(self) -> None:
        wait = self.first_check_seconds
        while not self._stop.wait(wait):
            wait = self.check_seconds
            try:
                self.run_once()
            except Exception:  # a store fault: said, and tried again at the next check
                log.exception("daily prune failed")

    def run_once(self) -> retention.Plan | None:
        """Prune if a day has passed since the last prune (of any worker); what it removed, or None."""
        engine = self.engine
        if not retention.claim_daily(engine.store, engine.clock()):
            return None
        now = engine.clock()
        done = retention.prune(engine.store, retention.rules_of(engine.settings), now, stop=self._stop.is_set)
        counts = done.to_dict()
        log.info("daily prune: %s", ", ".join(f"{key} {value}" for key, value in counts.items()))
        if done.output_jobs or done.deleted_jobs:  # a prune that removed nothing changed nothing
            from adsdash.engine import requester

            user, _address = requester()  # the worker's own act: from no SSH client, whoever started it
            audit.record(engine.store, [audit.entry(audit.PRUNE, "job store", origin="worker", at=now,
                                                    detail=counts, user=user, address=None)])
        return done


def audit_unlock(engine: Engine, job: Job) -> None:
    """Record the force-unlock about to run for `job`'s requester: the client's lock as it is now."""
    try:
        lock = engine.workspace.client(job.slug)
        info = lock.lock if lock is not None else None
        detail = {"lock": "none"} if info is None else {
            "lock": "held" if info.alive else "stale", "pid": info.pid, "host": this_host(),
            "age_seconds": round(info.age_seconds, 1) if info.age_seconds is not None else None,
            "problem": info.problem}
        audit.record(engine.store, [audit.entry(
            audit.FORCE_UNLOCK, f"{job.slug} (job {job.id})", origin=job.origin, at=engine.clock(), slug=job.slug,
            job_id=job.id, detail=detail, user=job.requested_by or "?", address=job.requested_from)])
    except Exception:
        log.exception("job %s: cannot audit the force-unlock", job.id)
