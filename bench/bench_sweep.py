"""Sweep figures at 1,000 clients: `adsdash --json run append --all`, and the clients screen's refresh.

    python bench/bench_sweep.py            # 5 sweeps, 40 refreshes
    python bench/bench_sweep.py --quick    # 3 and 20

The workspace is made by `adsdash sandbox init DIR --clients 1000`; no worker runs, so a sweep's
time is its own (read the clients, validate, store 1,000 jobs, hand them over). Each sweep is a
fresh process, as cron runs it, with its bytecode cached; between sweeps the jobs are cancelled
(outside the timing), so each one queues 1,000 again. The first sweep in a new data folder also
parses every client's files (no parse cache yet): shown, without a target.

The refresh is what `ClientsScreen.reload` does when the folder or the jobs changed (timed once
the app's first count of the gap days, every master CSV read once in the background, is done;
its time is shown): the read
(`changes` and `read_clients`, off the UI thread) and the apply (`_apply`, on it), timed in
this process on the app running headless, after each of: one client's state file written and
one job queued, as while jobs run. The app's own timed refresh is set to an hour
(ADSDASH_REFRESH) so that it does not run the same refresh in a second thread at the same time:
in the app one refresh runs at a time (its reads are one exclusive worker group); the clock's
tick, redrawing the ages each second, runs as usual.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import adsdash_argv, pct, row, sandbox_workspace, verdict

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from adsdash.app import AdsdashApp  # noqa: E402 - after the path is set
from adsdash.config import load_settings  # noqa: E402
from adsdash.engine import Engine  # noqa: E402
from adsdash.screens.clients import ClientsScreen  # noqa: E402
from adsdash.screens.clients_read import changes, read_clients  # noqa: E402
from adsdash.sweeps import choose, sweep  # noqa: E402

CLIENTS = 1000
SWEEP_TARGET = 1.0  # seconds
REFRESH_TARGET = 20.0  # milliseconds, p95


def timed_sweep(env: dict[str, str]) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    done = subprocess.run([*adsdash_argv(), "--json", "run", "append", "--all"], env=env, capture_output=True,
                          text=True, check=True)
    return time.perf_counter() - start, json.loads(done.stdout)


def cancel_all(engine: Engine) -> None:
    for job in engine.store.jobs(status="queued", limit=None):
        engine.cancel(job.id)


async def refreshes(settings, rounds: int) -> tuple[list[float], list[float], float]:
    """Milliseconds of each refresh's read and apply, and the seconds the first count of the gap
    days took (every master CSV read once, in the background; the refreshes are timed after it)."""
    app = AdsdashApp(Engine(settings))
    reads, applies = [], []
    async with app.run_test(size=(160, 45)):
        while not (isinstance(app.screen, ClientsScreen) and app.screen.loaded):
            await asyncio.sleep(0.05)
        screen = app.screen
        started = time.perf_counter()
        while app.engine.coverage.generation < 1 or screen._counting:
            await asyncio.sleep(0.05)
        counted = time.perf_counter() - started
        slugs = [client.slug for client in app.engine.workspace.clients()]
        state_dir = Path(settings.ads_sync_path) / "state"
        for i in range(rounds):
            slug = slugs[(i * 37) % len(slugs)]
            if (state := state_dir / f"{slug}.json").exists():
                state.write_text(state.read_text())  # written again, as an append does
            app.engine.submit("validate", slug)
            start = time.perf_counter()
            changed = changes(app, screen.data)
            assert changed is not None, "a refresh after a change reads again"
            data = read_clients(app, fingerprint=changed[0], live=changed[1], memo=screen.data.memo)
            read = time.perf_counter()
            screen._apply(data)
            reads.append((read - start) * 1000)
            applies.append((time.perf_counter() - read) * 1000)
            await asyncio.sleep(0.02)  # let the app draw
    return reads, applies, counted


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    sweeps_n, refresh_n = (3, 20) if args.quick else (5, 40)
    root = Path(tempfile.mkdtemp(prefix="adsdash-bench-sweep-"))
    missed = 0
    try:
        env = sandbox_workspace(root, CLIENTS)
        settings = load_settings(config_file=root / "absent.toml", environ=env)
        engine = Engine(settings)
        print(f"# bench_sweep: {CLIENTS} sandbox clients in {root}, python {sys.version.split()[0]},"
              f" {os.cpu_count()} cores", flush=True)

        first, listed = timed_sweep(env)
        if len(listed) != CLIENTS or {r["status"] for r in listed} != {"queued"}:
            raise SystemExit(f"the sweep queued {sum(r['status'] == 'queued' for r in listed)} of {CLIENTS}")
        print(row("run append --all, new data folder (no parse cache yet)", f"{first:.2f} s", "", None))
        again, listed = timed_sweep(env)
        if {r["status"] for r in listed} != {"already queued"}:
            raise SystemExit("a repeated sweep queued again")
        print(row("run append --all again (every one already queued)", f"{again:.2f} s", "", None), flush=True)
        walls = []
        for _ in range(sweeps_n):
            cancel_all(engine)
            wall, listed = timed_sweep(env)
            if sum(r["status"] == "queued" for r in listed) != CLIENTS:
                raise SystemExit("a sweep did not queue every client")
            walls.append(wall)
        ok = max(walls) <= SWEEP_TARGET
        missed += not ok
        print(row(f"run append --all: 1,000 queued (n={sweeps_n})",
                  f"p50 {statistics.median(walls):.2f} s, max {max(walls):.2f} s", f"<= {SWEEP_TARGET:.0f} s", ok))
        cores = []
        slugs = choose(engine.workspace.clients())
        for _ in range(sweeps_n):
            cancel_all(engine)
            start = time.perf_counter()
            sweep(engine, "append", slugs, origin="shell")
            cores.append(time.perf_counter() - start)
        print(row(f"  of which the sweep itself (in process, n={sweeps_n})",
                  f"p50 {statistics.median(cores) * 1000:.0f} ms", "", None), flush=True)
        cancel_all(engine)

        timed = load_settings(config_file=root / "absent.toml", environ={**env, "ADSDASH_REFRESH": "3600"})
        reads, applies, counted = asyncio.run(refreshes(timed, refresh_n))
        print(row("first count of the gap days (1,000 CSVs, in the background)", f"{counted:.1f} s", "", None))
        totals = [r + a for r, a in zip(reads, applies, strict=True)]
        ok = pct(totals, 0.95) <= REFRESH_TARGET
        missed += not ok
        print(row(f"clients screen refresh, read + apply (n={refresh_n})",
                  f"p50 {statistics.median(totals):.1f}, p95 {pct(totals, 0.95):.1f} ms",
                  f"p95 <= {REFRESH_TARGET:.0f} ms", ok))
        print(row("  read (a thread)", f"p50 {statistics.median(reads):.1f}, p95 {pct(reads, 0.95):.1f} ms",
                  "", None))
        print(row("  apply (the UI thread)", f"p50 {statistics.median(applies):.1f}, p95 {pct(applies, 0.95):.1f} ms",
                  "", None), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return verdict(missed)


if __name__ == "__main__":
    raise SystemExit(main())
