"""Command-line figures: start-up of `adsdash --version` and of a submit, and reading back a
million-line job (wall time and peak memory).

    python bench/bench_cli.py            # 20 start-up runs of each command, 3 read-backs of each
    python bench/bench_cli.py --quick    # 10 and 1

Each figure is a fresh process, as a person or a script runs it: the `adsdash` script next to
this Python (else `python -m adsdash`), on a sandbox workspace made by `adsdash sandbox init`
in a temporary folder. No worker runs: a submit's time is its own (validate, store, enqueue).
The million-line job is written straight into the job store with the Store API (no CLI run,
which would take a minute), as 80-byte lines of ASCII.

Start-up is measured as an installed package runs: with its bytecode cached (in a temporary
PYTHONPYCACHEPREFIX, so the source tree gets none). Where PYTHONDONTWRITEBYTECODE is set, as
in some development shells, an editable install has no bytecode and compiles every module at
every start; those figures follow, for information.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import adsdash_argv, pct, verdict
from benchlib import row as benchlib_row

LINES = 1_000_000
LINE_BYTES = 80  # without its newline
# Runs one command in a fresh process and reports its wall time and its peak RSS: the
# process is this helper's only child, so RUSAGE_CHILDREN is that command's alone.
MEASURE = """
import json, resource, subprocess, sys, time
argv, out = json.loads(sys.argv[1]), sys.argv[2]
with open(out, "wb") as fh:
    t = time.perf_counter()
    code = subprocess.call(argv, stdout=fh)
    wall = time.perf_counter() - t
print(json.dumps({"code": code, "wall": wall, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run (the CPU time tells a busy machine from a slow command)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(argv)} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def start_up(env: dict[str, str], slug: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) times, the commands taking turns so that a busy moment costs each alike."""
    commands = {"python -c 'import sqlite3'": [sys.executable, "-c", "import sqlite3"],
                "adsdash --version": [*adsdash_argv(), "--version"],
                f"adsdash --json run validate {slug}": [*adsdash_argv(), "--json", "run", "validate", slug]}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(2):  # warm the disk cache, the bytecode cache and the store
        for argv in commands.values():
            wall(argv, env)
    for _ in range(rounds):
        for name, argv in commands.items():
            times[name].append(wall(argv, env))
    return times


def start_up_rows(times: dict[str, list[tuple[float, float]]], *, targets: bool) -> tuple[list[str], int]:
    rows, missed = [], 0
    base = statistics.median(w for w, _ in times["python -c 'import sqlite3'"])
    for name, values in times.items():
        walls = [w for w, _ in values]
        p50, p95, cpu = statistics.median(walls), pct(walls, 0.95), statistics.median(c for _, c in values)
        value = f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms (cpu {cpu * 1000:.0f})"
        if name.startswith("python"):
            rows.append(row(f"{name} (the baseline, n={len(values)})", value, "", None))
            continue
        ratio = p50 / base
        if name == "adsdash --version":
            ok = ratio <= 1.3
            target = "p50 <= 1.3x baseline"
        else:
            ok = p50 <= 0.150 and ratio <= 2.0
            target = "p50 <= 150 ms, <= 2x"
        missed += targets and not ok
        rows.append(row(f"{name} (n={len(values)})", f"{value} = {ratio:.2f}x", target if targets else "",
                        ok if targets else None))
    return rows, missed


def make_big_job(env: dict[str, str]) -> tuple[int, float]:
    """A finished job of LINES stdout lines in the bench's store; returns its id and the seconds it took."""
    from adsdash.config import load_settings
    from adsdash.store import FINISHED, Store

    t = time.perf_counter()
    settings = load_settings(environ=env, config_file=Path(env["ADSDASH_CONFIG"]))
    store = Store(settings.store_path)
    job = store.create_job(slug="bench", command="validate", args={}, argv=["bench"], cwd="/")
    pad = "x" * LINE_BYTES
    text = [f"2025-01-01 00:00:00,000 - INFO - ads_sync - line {seq:>9} {pad}"[:LINE_BYTES]
            for seq in range(1, LINES + 1)]
    now = time.time()
    if hasattr(store, "append_chunks"):  # output kept in chunks of lines
        from adsdash import chunks

        per_chunk = max(1, chunks.CHUNK_BYTES // (LINE_BYTES + 1))
        batch = []
        for first in range(0, LINES, per_chunk):
            part = text[first:first + per_chunk]
            batch.append(chunks.make_chunk(first + 1, len(part), now, "stdout", "\n".join(part).encode()))
            if len(batch) == 32:
                store.append_chunks(job.id, batch)
                batch = []
        store.append_chunks(job.id, batch)
    else:  # a row a line
        for first in range(0, LINES, 50_000):
            store.append_lines(job.id, [(seq, now, "stdout", text[seq - 1])  # type: ignore[attr-defined]
                                        for seq in range(first + 1, min(first + 50_000, LINES) + 1)])
    store.finish(job.id, FINISHED, exit_code=0)
    done = store.job(job.id)
    assert done is not None and done.line_count == LINES and done.status == FINISHED, done
    return job.id, time.perf_counter() - t


def read_back(argv: list[str], env: dict[str, str], out: Path, runs: int) -> tuple[list[float], float]:
    """Wall times and the largest peak RSS (MB) of `runs` fresh runs writing to `out`."""
    walls, rss = [], 0.0
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(argv), str(out)], env=env,
                              capture_output=True, text=True, check=True)
        found = json.loads(proc.stdout)
        if found["code"] != 0:
            raise SystemExit(f"{shlex.join(argv)} exited {found['code']}: {proc.stderr[-500:]}")
        walls.append(found["wall"])
        rss = max(rss, found["rss_kb"] / 1024)
    return walls, rss


def row(name: str, value: str, target: str, ok: bool | None) -> str:
    return benchlib_row(name, value, target, ok, (52, 34, 22))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    rounds, runs = (10, 1) if args.quick else (20, 3)
    root = Path(tempfile.mkdtemp(prefix="adsdash-bench-cli-"))
    try:
        ads = root / "ads"
        env = {**os.environ, "ADS_SYNC_PROJECT_PATH": str(ads), "ADSDASH_HOME": str(root / "home"),
               "ADS_SYNC_CLI_COMMAND": f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
               "ADSDASH_CONFIG": str(root / "absent.toml")}
        made = subprocess.run([*adsdash_argv(), "--json", "sandbox", "init", str(ads)], env=env,
                              capture_output=True, text=True, check=True)
        slug = json.loads(made.stdout)["clients"][0]
        print(f"# bench_cli: {shlex.join(adsdash_argv())}, python {sys.version.split()[0]},"
              f" {os.cpu_count()} cores; sandbox workspace in {root}", flush=True)

        as_is = dict(env)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        print("# start-up, bytecode cached", flush=True)
        results, missed = start_up_rows(start_up(env, slug, rounds), targets=True)
        print("\n".join(results), flush=True)
        if as_is.get("PYTHONDONTWRITEBYTECODE") and not as_is.get("PYTHONPYCACHEPREFIX"):
            print("# start-up as this shell runs it: PYTHONDONTWRITEBYTECODE is set, so no bytecode for an"
                  " editable install", flush=True)
            print("\n".join(start_up_rows(start_up(as_is, slug, rounds), targets=False)[0]), flush=True)

        job_id, made_in = make_big_job(env)
        print(f"# job {job_id}: {LINES:,} lines of {LINE_BYTES} bytes, written straight into the store with"
              f" the Store API (not by a CLI run) in {made_in:.1f} s", flush=True)
        out = root / "out"
        size = LINES * (LINE_BYTES + 1)
        for name, argv, wall_target in (
                (f"adsdash logs {job_id} > file", [*adsdash_argv(), "logs", str(job_id)], 1.5),
                (f"adsdash logs {job_id} --raw > file", [*adsdash_argv(), "logs", str(job_id), "--raw"], None),
                (f"adsdash --json result {job_id} > file", [*adsdash_argv(), "--json", "result", str(job_id)], None)):
            walls, rss = read_back(argv, env, out, runs)
            written = out.stat().st_size
            if written < size:
                raise SystemExit(f"{name} wrote {written:,} bytes, expected at least {size:,}")
            p50 = statistics.median(walls)
            ok_wall = None if wall_target is None else p50 <= wall_target
            print(row(f"{name}: wall (n={runs})", f"p50 {p50:.2f} s, {size / p50 / 1e6:.0f} MB/s",
                      "" if wall_target is None else f"<= {wall_target} s", ok_wall))
            print(row(f"{name}: peak RSS", f"{rss:.0f} MB", "<= 60 MB", rss <= 60), flush=True)
            missed += (ok_wall is False) + (rss > 60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return verdict(missed)


if __name__ == "__main__":
    raise SystemExit(main())
