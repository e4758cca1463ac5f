"""Asking after and signalling processes by id (and start time, so a reused pid is never
mistaken for ours): shared by the store, workspace, runner and workers."""

from __future__ import annotations

import os

from adsdash.lazy_log import get_logger

log = get_logger(__name__)
HAVE_PROC = os.path.isdir("/proc/self")


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id exists. Never 0 or negative: os.kill would address groups."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # exists, owned by someone else
    except (ProcessLookupError, OverflowError, OSError):
        return False
    return True


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to a whole process group; False if the group is gone or may not be signalled."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False
    except PermissionError as exc:
        log.error("cannot signal process group %s: %s", pgid, exc)
        return False


def start_ticks(pid: int | None) -> int | None:
    """When the process started (clock ticks since boot, from /proc); None if it is gone (or a
    zombie) or the system has no /proc. With the pid, it names one process: pids are reused, start times not."""
    if not pid or pid <= 0:
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The name (field 2) may hold spaces and parentheses: fields after the last ")" are plain.
    fields = stat[stat.rfind(b")") + 2:].split()
    if not fields or fields[0] in (b"Z", b"X"):  # exited, not yet reaped: runs nothing any more
        return None
    try:
        return int(fields[19])  # field 22, starttime
    except (IndexError, ValueError):
        return None


def same_process(pid: int | None, ticks: int | None) -> bool:
    """Whether `pid` still is the process that started at `ticks` (just alive, when either is unknown)."""
    if ticks is None or not HAVE_PROC:
        return pid_alive(pid)
    return start_ticks(pid) == ticks


def descendants(pid: int) -> dict[int, int]:
    """Every living descendant of `pid` (pid -> start ticks), found through /proc's parent links.
    A child that moved to a session of its own (setsid) is still found while its parents live."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return {}
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        try:
            child, parent, started = int(name), int(fields[1]), int(fields[19])
        except (IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(child)
        ticks[child] = started
    found: dict[int, int] = {}
    todo = list(children.get(pid, ()))
    while todo:
        child = todo.pop()
        if child not in found:
            found[child] = ticks[child]
            todo.extend(children.get(child, ()))
    return found


def kill_if_same(pid: int, ticks: int, sig: int) -> bool:
    """Signal `pid` only while it is still the process that started at `ticks`."""
    if start_ticks(pid) != ticks:
        return False
    try:
        os.kill(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False
