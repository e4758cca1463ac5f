"""Asking after and signalling processes by id: shared by the store, workspace and workers."""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


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
