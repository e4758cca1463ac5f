"""What several benches share: a process's CPU time, and a reader that keeps a pty's output
flowing (an app on a pseudo-terminal blocks once nobody reads what it draws)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path


def adsdash_argv() -> list[str]:
    """How a person runs adsdash: the script next to this Python, else `python -m adsdash`."""
    script = Path(sys.executable).parent / "adsdash"
    return [str(script)] if script.exists() else [sys.executable, "-m", "adsdash"]


def sandbox_workspace(root: Path, clients: int) -> dict[str, str]:
    """`adsdash sandbox init ROOT/ads --clients N`, and the environment that points adsdash at it:
    the sandbox CLI, a data folder and no settings file in ROOT, bytecode cached in ROOT/pycache
    (as an installed package runs)."""
    env = {**os.environ, "ADS_SYNC_PROJECT_PATH": str(root / "ads"), "ADSDASH_HOME": str(root / "home"),
           "ADS_SYNC_CLI_COMMAND": f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
           "ADSDASH_CONFIG": str(root / "absent.toml"), "PYTHONPYCACHEPREFIX": str(root / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([*adsdash_argv(), "sandbox", "init", str(root / "ads"), "--clients", str(clients)], env=env,
                   capture_output=True, check=True)
    return env


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


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
