"""Wake-ups: a named pipe (FIFO) per live worker process in the data folder's `wake` folder.

Whoever stores a job writes a byte to each (wake_all); a worker's listener thread turns the
byte into a notify for its consumer threads waiting in dequeue (queue.py). No Huey here: the
command line and the app store jobs and wake the workers without importing it.
"""

from __future__ import annotations

import os
import select
import threading
from pathlib import Path

from adsdash.datadir import open_fifo_for_writing, prepare_folder
from adsdash.lazy_log import get_logger

log = get_logger(__name__)


class WakeListener:
    """A FIFO that other processes write to; wakes this process's waiting dequeues."""

    def __init__(self, wake_dir: Path):
        prepare_folder(wake_dir)
        import uuid  # here: a process that only wakes the workers never needs it

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
        self._waiting = 0  # threads in wait() now
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

    @property
    def waiting(self) -> int:
        """How many threads are waiting for a wake-up now."""
        with self._cond:
            return self._waiting

    def wait(self, since: int, timeout: float) -> bool:
        """Wait until a wake-up newer than `since`, or the timeout. True if woken."""
        with self._cond:
            self._waiting += 1
            try:
                return self._cond.wait_for(lambda: self._generation != since or self._closed, timeout)
            finally:
                self._waiting -= 1

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
