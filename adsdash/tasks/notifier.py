"""The notifier: a thread in each worker that turns what happened into events and sends them.

Never in a job's path: it only reads the store and the folder, in a thread of its own, like the
scheduler's. The worker pokes it when a job ends (setting an Event, which cannot fail or block),
so a failure goes out within a moment; otherwise it looks about every TICK_SECONDS, and a look
where the jobs' fingerprint (`Store.activity`) and the ledger's newest row did not change costs
two small reads. The clients' freshness is looked at every FRESHNESS_SECONDS, and soon after
jobs come or go (their clients' files change). Sends run in threads of their own
(notify_send.Sender), each with its timeout: a URL that hangs delays neither the next look nor
another URL. Any fault is logged and the next tick tries again: a broken notifications table
never reaches the job loop.

Started only with `notify_urls` set: without a URL there is nothing to say, and nothing is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from adsdash import notify_store
from adsdash.notify_events import Observer
from adsdash.notify_send import Sender, warm_up
from adsdash.tasks.helper_thread import HelperThread

if TYPE_CHECKING:
    from adsdash.engine import Engine

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0
FRESHNESS_SECONDS = 30.0
FRESHNESS_AFTER_JOBS_SECONDS = 2.0  # jobs came or went: their clients' files changed (at most this often)
PRUNE_EVERY_SECONDS = 3600.0
KEEP = timedelta(days=90)  # events (and their deliveries) kept this long


class Notifier:
    def __init__(self, engine: Engine, *, worker_id: str, tick_seconds: float = TICK_SECONDS):
        self.engine = engine
        self.tick_seconds = tick_seconds
        self.enabled = bool(engine.settings.notify_urls)
        self.observer = Observer(engine)
        self.sender = Sender(engine, worker=worker_id)
        self._thread = HelperThread("adsdash-notifier", self._loop)
        self._stop = self._thread.stopping
        self._wake = threading.Event()
        self._activity: tuple | None = None
        self._active_ids: frozenset[str] = frozenset()
        self._fresh_at = float("-inf")
        self._jobs_moved = False  # jobs came or went since the last look at the folder
        self._pruned_at = float("-inf")
        self.ticks = 0  # looks taken; tests wait on it

    def start(self) -> None:
        if not self.enabled:
            log.info("notifications off: no notify_urls")
            return
        self._thread.start()

    def poke(self) -> None:
        """Look now (a job ended)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()  # the loop waits on it, not on the stop
        self._thread.stop()
        self.sender.shutdown()

    def _loop(self) -> None:
        self._safely("load Apprise", lambda: warm_up(self.engine.settings.notify_urls))
        self._safely("say a worker is up", self.observer.worker_up)
        while not self._stop.is_set():
            self.tick()
            self._wake.wait(self.tick_seconds)
            self._wake.clear()

    def _safely(self, what: str, step) -> None:
        try:
            step()
        except Exception:  # a store fault, a table gone odd: said, and tried again next tick
            log.exception("notifier: cannot %s", what)

    def tick(self) -> None:
        """One look: new failures, the folder when due, missed runs; then send what is due."""
        self._safely("look at the jobs", self._jobs)
        since = time.monotonic() - self._fresh_at
        if since >= FRESHNESS_SECONDS or (self._jobs_moved and since >= FRESHNESS_AFTER_JOBS_SECONDS):
            self._fresh_at, self._jobs_moved = time.monotonic(), False
            self._safely("look at the clients' freshness", self.observer.freshness)
        self._safely("look at missed scheduled runs", self.observer.missed_runs)
        self._safely("send", self.sender.send_due)
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = time.monotonic()
            self._safely("prune old events", lambda: notify_store.prune(self.engine.store,
                                                                         self.engine.clock() - KEEP))
        self.ticks += 1

    def _jobs(self) -> None:
        activity = self.engine.store.activity()
        if activity == self._activity:
            return
        self.observer.failed_jobs()
        active = frozenset(part.split(":", 1)[0] for part in (activity[1] or "").split(",") if part)
        if active != self._active_ids or activity[0] != (self._activity or (None,))[0]:
            self._jobs_moved = True  # a job came, started or ended (maybe between two looks)
        self._activity, self._active_ids = activity, active
