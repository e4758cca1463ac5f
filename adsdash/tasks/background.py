"""The background worker: one per data folder, detached from any terminal, so that jobs
outlive the app that asked for them (a closed laptop lid, a dropped SSH connection).

The app starts one when it finds no live worker: `adsdash worker --background`, in a
session of its own (no controlling terminal, so no SIGHUP when the terminal goes), with
no standard streams, logging to a rotating file in the log folder (`Settings.log_dir`). A
lock file in the data folder (flock, held for the worker's life) keeps it to one per folder
when two apps start at once.
No Textual here.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

from adsdash.config import Settings
from adsdash.datadir import DataDirError, prepare_folder
from adsdash.logfiles import log_handler
from adsdash.processes import same_process

log = logging.getLogger(__name__)
LOCK_NAME = "background-worker.lock"
LOG_NAME = "worker.log"


def spawn(settings: Settings, config_file: Path | None = None) -> subprocess.Popen:
    """Start `adsdash worker --background` with these settings, detached; returns at once.
    (If another one holds the folder's lock, the new one exits quietly.)"""
    # Absolute paths: the worker runs in the data folder, where a relative one means another place.
    argv = [sys.executable, "-m", "adsdash", "worker", "--background",
            "--home", str(settings.home.absolute()), "--ads-sync-path", str(settings.ads_sync_path.absolute()),
            "--cli-command", settings.cli_command, "--workers", str(settings.workers)]
    if config_file is not None:
        argv += ["--config", str(config_file.absolute())]
    prepare_folder(settings.home)
    return subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True, cwd=str(settings.home),
    )


def hold_lock(home: Path) -> int | None:
    """Take the folder's background-worker lock for this process's life; None if another
    process holds it. The lock file is not a database: opening it here is safe."""
    prepare_folder(home)
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def stop(settings: Settings, timeout: float = 30.0) -> int | None:
    """Ask this folder's background worker to stop (SIGTERM: it ends its jobs as cancelled) and
    wait; returns its pid, or None if none runs. Only a pid the store knows as this folder's
    live background worker is signalled: the lock file's content alone is not trusted."""
    import time

    from adsdash.store import Store

    live = [w for w in Store(settings.store_path).live_workers() if w.kind == "background" and w.here]
    if not live:
        return None
    for w in live:
        os.kill(w.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(same_process(w.pid, w.proc_start) for w in live):
        if time.monotonic() > deadline:
            raise TimeoutError(f"background worker pid {live[0].pid} did not stop within {timeout:.0f} s")
        time.sleep(0.1)
    return live[0].pid


def detach_logging(log_dir: Path) -> None:
    """Log to a private, rotating file in the log folder: there is no terminal to write to.
    If that folder cannot be used, run without a log: jobs matter more (the app, which logs
    to the same folder, says what is wrong with it)."""
    root = logging.getLogger()
    try:
        root.handlers[:] = [log_handler(log_dir, LOG_NAME)]
    except (DataDirError, OSError):
        root.handlers[:] = [logging.NullHandler()]
    root.setLevel(logging.INFO)


def run_background(settings: Settings) -> int:
    """The body of `adsdash worker --background`."""
    from adsdash.tasks.worker import Worker

    lock = hold_lock(settings.home)
    if lock is None:
        return 0  # another background worker serves this folder
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # belt and braces: we have no terminal anyway
    detach_logging(settings.log_dir)
    try:
        Worker(settings, kind="background").run_forever()
    except Exception:
        log.exception("background worker failed")
        return 1
    finally:
        os.close(lock)
    return 0
