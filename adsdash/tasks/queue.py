"""The worker's Huey instance on SQLite, with a wake-up so an idle worker starts a job at once.

Jobs reach Huey in the worker only: the command line and the app store a job (marked not yet
handed over) and wake the workers (wake.py), which costs them neither Huey's import nor its
queue's writes. Each dequeue first *adopts* the stored jobs not yet handed over (one
transaction decides which worker hands each one over), then takes a task from Huey's queue.

Huey's consumer polls a non-blocking storage with a back-off of up to 10 s. Redis and
Postgres storages block in dequeue() instead; this storage does the same by waiting on a
wake-up. The job store stays the source of truth; the wait has a bound, so a lost wake-up
costs at most `wait_seconds`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from huey import Huey
from huey.storage import SqliteStorage

from adsdash.datadir import DataDirError, prepare_file
from adsdash.store import StoreError
from adsdash.tasks.wake import WakeListener, wake_all

log = logging.getLogger(__name__)
TASK_NAME = "adsdash.run_job"


class WakingSqliteStorage(SqliteStorage):
    blocking = True  # the consumer then never sleeps between polls

    def __init__(self, name: str = "huey", *, wake_dir: str, wait_seconds: float = 1.0, **kwargs):
        self.wake_dir = Path(wake_dir)
        self.wait_seconds = wait_seconds
        self.listener: WakeListener | None = None
        self.adopt: Callable[[], object] | None = None  # hands stored jobs to this queue (the worker's)
        self._batch = threading.local()  # inside one_wake_up(): enqueue leaves the waking to its end
        super().__init__(name, **kwargs)

    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous = normal")
        return conn

    def listen(self) -> None:
        """Called in the process that consumes: start receiving wake-ups."""
        if self.listener is None:
            self.listener = WakeListener(self.wake_dir)

    def stop_listening(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def enqueue(self, data, priority=None):
        super().enqueue(data, priority)
        if getattr(self._batch, "open", False):
            self._batch.pending = True
        else:
            self._wake()

    @contextmanager
    def one_wake_up(self) -> Iterator[None]:
        """Enqueue many (a sweep's jobs, adopted) and wake the consumers once, at the end."""
        self._batch.open, self._batch.pending = True, False
        try:
            yield
        finally:
            self._batch.open = False
            if self._batch.pending:
                self._wake()

    def _wake(self) -> None:
        if self.listener is not None:
            self.listener.notify()
        try:
            wake_all(self.wake_dir)
        except OSError as exc:  # the task is queued: the consumers find it at their next poll
            log.warning("cannot wake the other workers: %s", exc)

    def dequeue(self):
        listener = self.listener
        if listener is None:
            return super().dequeue()
        since = listener.generation
        self._adopt()
        data = super().dequeue()
        if data is None and listener.wait(since, self.wait_seconds):
            self._adopt()
            data = super().dequeue()
        return data

    def _adopt(self) -> None:
        if self.adopt is not None:
            try:
                self.adopt()
            except Exception as exc:  # noqa: BLE001 - a store fault: the next poll adopts again
                log.error("cannot take the stored jobs into the queue: %s: %s", type(exc).__name__, exc)


def make_huey(queue_path: Path, wake_dir: Path, run_job: Callable[[int], None]) -> tuple[Huey, Callable]:
    """The Huey instance and its one task, `run_job(job_id)`, registered under a fixed name."""
    try:
        prepare_file(queue_path)  # created once, exclusively, before any connection
    except DataDirError as exc:
        raise StoreError(str(exc)) from None
    huey = Huey(
        "adsdash",
        storage_class=WakingSqliteStorage,
        filename=str(queue_path),
        wake_dir=str(wake_dir),
        results=False,
        utc=True,
        timeout=10,
    )

    # Huey names a task after its function's module; one shim here keeps the name the
    # same in every process, whoever supplies the body.
    def run_job_task(job_id: int) -> None:
        run_job(job_id)

    return huey, huey.task(name=TASK_NAME)(run_job_task)
