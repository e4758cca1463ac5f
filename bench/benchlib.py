"""What several benches share: a process's CPU time, and a reader that keeps a pty's output
flowing (an app on a pseudo-terminal blocks once nobody reads what it draws)."""

from __future__ import annotations

import os
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain(fd: int) -> None:
    """Read `fd` until it closes (run it in a thread)."""
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def row(name: str, value: str, target: str, ok: bool | None, widths: tuple[int, int, int] = (58, 22, 16)) -> str:
    """One figure against its target: `ok`, `MISSED`, or `—` when there is none."""
    verdict = "—" if ok is None else ("ok" if ok else "MISSED")
    return f"{name:<{widths[0]}} {value:>{widths[1]}}  {target:>{widths[2]}}  {verdict}"


def verdict(missed: int) -> int:
    """Print the last line of a bench and return its exit status."""
    print(f"# {missed} target(s) missed" if missed else "# every target met")
    return 1 if missed else 0
