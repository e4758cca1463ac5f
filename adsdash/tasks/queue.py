"""The Huey instance on SQLite, with a wake-up so an idle worker starts a job at once.

Huey's consumer polls a non-blocking storage with a back-off of up to 10 s. Redis and
Postgres storages block in dequeue() instead; this storage does the same by waiting on a
wake-up: every live worker process keeps a named pipe (FIFO) in `wake_dir`, and enqueue
writes a byte to each. The task table stays the source of truth; the wait has a bound,
so a lost wake-up costs at most `wait_seconds`.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from huey import Huey
from huey.storage import SqliteStorage

from adsdash.datadir import DataDirError, open_fifo_for_writing, prepare_file, prepare_folder
from adsdash.store import StoreError

log = logging.getLogger(__name__)
TASK_NAME = "adsdash.run_job"


class WakeListener:
    """A FIFO that other processes write to; wakes this process's waiting dequeues."""

    def __init__(self, wake_dir: Path):
        prepare_folder(wake_dir)
        name = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Made under a name wake_all ignores, opened, then renamed: a FIFO with no reader yet
        # would look abandoned to another process's wake_all, which removes those.
        making = wake_dir / f"{name}.new"
        os.mkfifo(making, 0o600)
        self._read_fd = os.open(making, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        # Holding a write end ourselves keeps the FIFO from reporting EOF forever.
        self._keep_fd = os.open(making, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        self.path = wake_dir / f"{name}.fifo"
        os.rename(making, self.path)
        self._cond = threading.Condition()
        self._generation = 0
        self._closed = False
        self._thread = threading.Thread(target=self._listen, name="adsdash-wake", daemon=True)
        self._thread.start()

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, since: int, timeout: float) -> bool:
        """Wait until a wake-up newer than `since`, or the timeout. True if woken."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != since or self._closed, timeout)

    def _listen(self) -> None:
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        while not self._closed:
            if not poller.poll(500):
                continue
            try:
                while os.read(self._read_fd, 4096):
                    pass
            except BlockingIOError:
                pass
            except OSError as exc:
                if not self._closed:  # else close() shut the pipe under us: the normal end
                    log.error("wake-up pipe failed: %s", exc)
                return
            self.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=2)
        for fd in (self._read_fd, self._keep_fd):
            os.close(fd)
        self.path.unlink(missing_ok=True)


def wake_all(wake_dir: Path) -> int:
    """Write a byte to every live listener's FIFO; remove the ones nobody reads."""
    woken = 0
    try:
        names = os.listdir(wake_dir)
    except FileNotFoundError:
        return 0
    for name in names:
        if not name.endswith(".fifo"):
            continue
        path = wake_dir / name
        try:
            fd = open_fifo_for_writing(path)
        except OSError as exc:
            log.warning("cannot wake %s: %s", path, exc)
            continue
        if fd is None:  # no reader: its process is gone
            path.unlink(missing_ok=True)
            continue
        try:
            os.write(fd, b".")
            woken += 1
        except BlockingIOError:
            woken += 1  # the pipe is full of wake-ups already
        except OSError as exc:  # its reader went between open and write (EPIPE): the task is queued anyway
            log.info("cannot wake %s: %s", path, exc)
        finally:
            os.close(fd)
    return woken


class WakingSqliteStorage(SqliteStorage):
    blocking = True  # the consumer then never sleeps between polls

    def __init__(self, name: str = "huey", *, wake_dir: str, wait_seconds: float = 1.0, **kwargs):
        self.wake_dir = Path(wake_dir)
        self.wait_seconds = wait_seconds
        self.listener: WakeListener | None = None
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
        if self.listener is not None:
            self.listener.notify()
        wake_all(self.wake_dir)

    def dequeue(self):
        listener = self.listener
        if listener is None:
            return super().dequeue()
        since = listener.generation
        data = super().dequeue()
        if data is None and listener.wait(since, self.wait_seconds):
            data = super().dequeue()
        return data


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
