"""A job's exit, named for people: `killed (SIGKILL)`, not `-9`.

The store keeps the exit code as the operating system gave it (a negative code is the
signal that ended the process: data, and the JSON output keeps it). Naming it is
presentation, done here once for the command line and every screen.
"""

from __future__ import annotations

import signal


def signal_name(code: int) -> str | None:
    """`SIGKILL` for -9, `signal 99` for a signal with no name here; None for an exit code (>= 0)."""
    if code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def exit_text(code: int | None, missing: str = "—") -> str:
    """`0`, `1`, `killed (SIGKILL)`; `missing` while the job has not exited."""
    if code is None:
        return missing
    name = signal_name(code)
    return str(code) if name is None else f"killed ({name})"


def exit_phrase(code: int | None) -> str:
    """For a sentence: `exit code 1`, `killed (SIGKILL)`, `no exit code`."""
    if code is None:
        return "no exit code"
    return f"exit code {code}" if code >= 0 else exit_text(code)
