"""locks/SLUG.lock: the real tool's PID lock, with its wait-then-check-stale rule."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from adsdash.sandbox import pacing

log = logging.getLogger("ads_sync")

LOCK_TIMEOUT = 300  # seconds, as logged; the actual wait is scaled by the time scale
LOCK_POLL = 2


def lock_path(locks_dir: Path, slug: str) -> Path:
    return locks_dir / f"{slug}.lock"


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def read_lock(path: Path) -> tuple[int, float]:
    """(pid, timestamp) from the two `key: value` lines; raises if malformed."""
    lines = path.read_text().split("\n")
    pid = int(lines[0].split(":")[1].strip())
    stamp = float(lines[1].split(":")[1].strip())
    return pid, stamp


def _remove_if_stale(path: Path, slug: str) -> bool:
    try:
        pid, _ = read_lock(path)
    except FileNotFoundError:
        return True  # released meanwhile: just try again
    except Exception as e:  # noqa: BLE001 - the real tool logs and gives up here
        log.error(f"Error checking stale lock: {e}")
        return False
    if pid_alive(pid):
        return False
    log.warning(f"Removing stale lock for {slug} (dead PID {pid})")
    with suppress(FileNotFoundError):  # someone else removed it first: just as good
        os.remove(path)
    return True


@contextmanager
def client_lock(locks_dir: Path, slug: str, timeout: int = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold locks/SLUG.lock: poll every 2 s up to `timeout`, then take it only if stale."""
    locks_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(locks_dir, slug)
    limit = timeout * pacing.scale()
    started = time.monotonic()
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            waited = time.monotonic() - started
            if waited >= limit:
                if _remove_if_stale(path, slug):
                    continue
                raise TimeoutError(f"Could not acquire lock for '{slug}' after {timeout}s") from None
            # Never sleep past the deadline, so a scaled wait stays accurate.
            time.sleep(min(LOCK_POLL * pacing.scale(), max(limit - waited, 0.0)))
    try:
        os.write(fd, f"pid: {os.getpid()}\ntimestamp: {time.time()}\n".encode())
        os.close(fd)
        log.info(f"Acquired lock for '{slug}'")
        yield
    finally:
        _release(path, slug)


def _release(path: Path, slug: str) -> None:
    # Remove only our own lock: after a force-unlock another process may hold it.
    try:
        if read_lock(path)[0] != os.getpid():
            return
    except Exception:  # noqa: BLE001 - missing or unreadable: nothing of ours to remove
        return
    try:
        os.remove(path)
        log.debug(f"Released lock for '{slug}'")
    except OSError as e:
        log.error(f"Failed to release lock: {e}")


def force_unlock(locks_dir: Path, slug: str) -> bool:
    path = lock_path(locks_dir, slug)
    try:
        os.remove(path)
    except FileNotFoundError:
        log.info(f"No lock file found for '{slug}'")
        return False
    log.warning(f"Forcibly removed lock for '{slug}'")
    return True
