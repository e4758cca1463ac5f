"""The ledger under stress, one command: `python bench/stress.py [--jobs N] [--seconds-between-kills S]`.

Two standalone workers, the app (a real process on a pseudo-terminal) with its background
worker, four loops submitting N jobs each across 30 clients, a loop of `adsdash health`,
and one standalone worker SIGKILLed and restarted every few seconds. Then it waits for the
queue to drain and prints: jobs submitted, ended exactly once, lost, run twice, lines lost,
and SQLite's integrity_check. Target: 0 lost, 0 run twice, 0 lines lost, ok.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

from benchlib import drain

HERE = Path(__file__).parent
LINES_PER_JOB = 20
SUBMITTER = textwrap.dedent("""
    import sys, time
    from adsdash.config import load_settings
    from adsdash.engine import Engine
    engine = Engine(load_settings({}))
    slugs, n, offset, pace = sorted(engine.workspace.slugs()), int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    for i in range(n):
        print(engine.submit("validate", slugs[(i + offset) % len(slugs)]).id, flush=True)
        time.sleep(pace)
""")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300, help="jobs per submitting loop (4 loops)")
    parser.add_argument("--seconds-between-kills", type=float, default=3.0)
    parser.add_argument("--pace", type=float, default=0.1, help="seconds between two submissions of a loop")
    args = parser.parse_args()
    from adsdash.sandbox.generate import create_workspace

    with tempfile.TemporaryDirectory(prefix="adsdash-stress-") as tmp:
        root = Path(tmp)
        create_workspace(root / "ads", clients=30)
        starts = root / "starts"
        env = dict(os.environ, ADS_SYNC_PROJECT_PATH=str(root / "ads"), ADSDASH_HOME=str(root / "home"),
                   ADS_SYNC_CLI_COMMAND=f"sh {shlex.quote(str(HERE / 'bin' / 'stress_cli.sh'))}",
                   ADSDASH_CONFIG=str(root / "absent.toml"), STRESS_STARTS=str(starts), TERM="xterm-256color")
        return run(root, env, starts, args)


def spawn_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "adsdash", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def run(root: Path, env: dict[str, str], starts: Path, args) -> int:
    store_path = root / "home" / "jobs.db"
    workers = [spawn_worker(env), spawn_worker(env)]
    app_pid, master = pty.fork()
    if app_pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "adsdash"], env)
    threading.Thread(target=drain, args=(master,), daemon=True).start()
    done = threading.Event()
    kills = 0

    def killer() -> None:
        nonlocal kills
        while not done.wait(args.seconds_between_kills):
            victim = workers[kills % 2]
            victim.kill()
            victim.wait()
            workers[kills % 2] = spawn_worker(env)
            kills += 1

    health_runs = Counter()

    def health_loop() -> None:
        while not done.is_set():
            code = subprocess.call([sys.executable, "-m", "adsdash", "health", "--json"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            health_runs[code] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=killer), threading.Thread(target=health_loop)]
    for t in threads:
        t.start()
    submitters = [subprocess.Popen([sys.executable, "-c", SUBMITTER, str(args.jobs), str(i * 7), str(args.pace)],
                                   env=env, stdout=subprocess.PIPE, text=True) for i in range(4)]
    submitted = [int(line) for proc in submitters for line in proc.communicate()[0].split()]
    submit_seconds = time.monotonic() - started
    done.set()
    for t in threads:
        t.join()
    drained = _wait_drained(store_path, timeout=180)
    os.kill(app_pid, signal.SIGKILL)
    os.waitpid(app_pid, 0)
    _stop_all(store_path, workers)
    report(store_path, starts, submitted, kills, health_runs, submit_seconds, time.monotonic() - started, drained)
    return 0


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("pragma busy_timeout = 30000")
    return conn


def _wait_drained(store_path: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    conn = _connect(store_path)
    try:
        while time.monotonic() < deadline:
            busy = conn.execute("select count(*) from jobs where status in ('queued', 'started')").fetchone()[0]
            if busy == 0:
                return True
            time.sleep(0.5)
        return False
    finally:
        conn.close()


def _stop_all(store_path: Path, workers: list[subprocess.Popen]) -> None:
    for w in workers:
        w.terminate()
    conn = _connect(store_path)
    pids = [r[0] for r in conn.execute("select pid from workers where kind = 'background' and stopped_at is null")]
    conn.close()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(pid, signal.SIGTERM)
    for w in workers:
        w.wait(timeout=30)
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def report(store_path: Path, starts: Path, submitted: list[int], kills: int, health_runs: Counter,
           submit_seconds: float, total_seconds: float, drained: bool) -> None:
    conn = _connect(store_path)
    rows = {r[0]: r[1:] for r in conn.execute("select id, status, error, line_count from jobs")}
    runs = Counter(int(line.split()[0]) for line in starts.read_text().splitlines() if line.split())
    lines_lost = 0
    for job_id, (status, _error, count) in rows.items():
        if status == "finished":
            seqs = [seq for first, last in conn.execute(
                "select first_seq, last_seq from chunks where job_id = ? order by first_seq", (job_id,))
                for seq in range(first, last + 1)]
            whole = seqs == list(range(1, LINES_PER_JOB + 1)) and count == LINES_PER_JOB
            lines_lost += 0 if whole else LINES_PER_JOB - len(set(seqs) & set(range(1, LINES_PER_JOB + 1)))
    ended = [j for j in submitted if j in rows and rows[j][0] in ("finished", "failed", "cancelled")]
    statuses = Counter(rows[j][0] for j in submitted if j in rows)
    worker_lost = sum(1 for j in submitted if j in rows and (rows[j][1] or "").startswith("worker lost"))
    twice = [j for j, n in runs.items() if n > 1]
    integrity = conn.execute("pragma integrity_check").fetchone()[0]
    ids_unique = len(set(submitted)) == len(submitted)
    conn.close()
    print(f"stress: 2 standalone workers (one SIGKILLed and restarted {kills} times), the app and its background "
          f"worker, 4 submitting loops, `adsdash health` x{sum(health_runs.values())}")
    print(f"  submitted in {submit_seconds:.1f} s, all done in {total_seconds:.1f} s"
          f"{'' if drained else ' (NOT drained: jobs still queued or running)'}")
    rows_out = [
        ("jobs submitted", len(submitted), ""),
        ("job ids unique", "yes" if ids_unique else "NO", "target yes"),
        ("ended exactly once", len([j for j in ended if runs.get(j, 0) <= 1]), f"of {len(submitted)}"),
        ("  finished / failed / cancelled", " / ".join(str(statuses[s]) for s in ("finished", "failed", "cancelled")),
         f"(failed as 'worker lost' when their worker was killed: {worker_lost})"),
        ("lost (never ended, or missing)", len(submitted) - len(ended), "target 0"),
        ("run twice", len(twice), "target 0"),
        ("lines lost (finished jobs)", lines_lost, "target 0"),
        ("integrity_check", integrity, "target ok"),
    ]
    for name, value, note in rows_out:
        print(f"  {name:<34} {value!s:<12} {note}")


if __name__ == "__main__":
    sys.exit(main())
