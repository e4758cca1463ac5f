"""An open app that nobody touches: its CPU over a minute, beside a bare Textual app.

    python bench/bench_idle.py            # 60 s each
    python bench/bench_idle.py --quick    # 20 s each

The app runs as a person runs it, on a pseudo-terminal, with 30 sandbox clients, a standalone
worker and a few finished jobs (so the table has ages to show). CPU is read from /proc/PID/stat.
"""

from __future__ import annotations

import argparse
import os
import pty
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchlib import cpu_seconds, drain

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer
class Bare(App):
    def compose(self):
        yield DataTable()
        yield Footer()
    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("client", "slug", "freshness")
        for i in range(30):
            table.add_row(f"client {i}", f"slug-{i}", "fresh")
Bare().run()
"""


def idle_percent(argv: list[str], env: dict[str, str], settle: float, seconds: float) -> float:
    pid, master = pty.fork()
    if pid == 0:
        os.execve(argv[0], argv, env)
    threading.Thread(target=drain, args=(master,), daemon=True).start()
    try:
        time.sleep(settle)
        start, before = time.monotonic(), cpu_seconds(pid)
        time.sleep(seconds)
        return (cpu_seconds(pid) - before) / (time.monotonic() - start) * 100
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(master)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 20.0 if args.quick else 60.0
    with tempfile.TemporaryDirectory(prefix="adsdash-bench-idle-") as tmp:
        root = Path(tmp)
        adsdash = [sys.executable, "-m", "adsdash"]
        subprocess.run([*adsdash, "sandbox", "init", str(root / "ads")], check=True, capture_output=True)
        env = dict(os.environ, ADS_SYNC_PROJECT_PATH=str(root / "ads"), ADSDASH_HOME=str(root / "home"),
                   ADS_SYNC_CLI_COMMAND=f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
                   ADSDASH_CONFIG=str(root / "absent.toml"), ADS_SYNC_SANDBOX_SPEED="0", TERM="xterm-256color")
        worker = subprocess.Popen([*adsdash, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for slug in ("priority-roofing", "rocky-mountain-solar", "empire-tree-service"):
                subprocess.run([*adsdash, "run", "validate", slug, "--follow"], env=env, check=True,
                               capture_output=True, timeout=120)
            ours = idle_percent(adsdash, env, 8.0, seconds)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
        bare = idle_percent([sys.executable, "-c", BARE_APP], env, 3.0, seconds)
    verdict = "ok" if ours <= 0.5 else "MISSED"
    print(f"# bench_idle: {seconds:.0f} s untouched, 30 clients, a standalone worker, 3 finished jobs")
    print(f"{'open app, idle: CPU':<58} {ours:>10.2f} % of a core  {'<= 0.5 %':>10}  {verdict}")
    print(f"{'    a bare Textual DataTable app, the same way':<58} {bare:>10.2f} % of a core")
    return 0 if ours <= 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
