"""Notification figures: a failed job's end to its message arriving at a local webhook.

    python bench/bench_notify.py            # 30 failed jobs
    python bench/bench_notify.py --quick    # 10

A sandbox workspace of 30 clients (`adsdash sandbox init`, instant jobs), a real worker
(`adsdash worker`, a fresh process, as systemd runs it) with `ADSDASH_NOTIFY_URLS` pointing at a
webhook in this process (http.server on 127.0.0.1, Apprise's json:// scheme), no digest window
and no escalation (every failure is a message). Jobs of the failing client are queued one after
another; each one's latency is from its `finished_at` in the store (written as the worker records
its end) to the moment its POST arrived here. The worker's first message also loads Apprise's
plugins (~1 s): it is loaded as the notifier starts, before the first job, and not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import adsdash_argv, pct, row, verdict

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

from adsdash.config import load_settings  # noqa: E402 - after the path is set
from adsdash.engine import Engine  # noqa: E402
from adsdash.sandbox.generate import plan  # noqa: E402

LATENCY_TARGET = 1.0  # seconds, p95 (issue 10)
FAILING = next(p.slug for p in plan(30) if p.kind == "failing")


class Webhook:
    """Each POST's arrival time, by the job id its message names (`adsdash logs ID`)."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.ready = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.end_headers()
                for word in body.get("message", "").split("adsdash logs ")[1:]:
                    hook.arrived[int(word.split()[0])] = at
                hook.ready.set()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.005)
    raise SystemExit(f"timed out waiting for {what}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    runs = 10 if args.quick else 30
    root = Path(tempfile.mkdtemp(prefix="adsdash-bench-notify-"))
    hook = Webhook()
    worker = None
    missed = 0
    try:
        ads = root / "ads"
        env = {**os.environ, "ADS_SYNC_PROJECT_PATH": str(ads), "ADSDASH_HOME": str(root / "home"),
               "ADS_SYNC_CLI_COMMAND": f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
               "ADSDASH_CONFIG": str(root / "absent.toml"), "ADS_SYNC_SANDBOX_SPEED": "0",
               "ADSDASH_NOTIFY_URLS": hook.url, "ADSDASH_NOTIFY_EVENTS": "failed,escalated",
               "ADSDASH_NOTIFY_ESCALATE_AFTER": "0", "ADSDASH_NOTIFY_DIGEST_SECONDS": "0"}
        subprocess.run([*adsdash_argv(), "sandbox", "init", str(ads), "--clients", "30"], env=env,
                       capture_output=True, check=True)
        worker = subprocess.Popen([*adsdash_argv(), "worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        engine = Engine(load_settings(config_file=root / "absent.toml", environ=env))
        print(f"# bench_notify: {runs} failed jobs, a worker process, a webhook on 127.0.0.1,"
              f" python {sys.version.split()[0]}, {os.cpu_count()} cores", flush=True)
        wait(engine.store.live_workers, 30, "the worker")
        time.sleep(3)  # its notifier has loaded Apprise and taken its first look
        latencies = []
        for _ in range(runs):
            job_id = engine.submit("append", FAILING).id
            job = wait(lambda job_id=job_id: (j := engine.store.job(job_id)) and j.ended and j, 60, "the job")
            arrived = wait(lambda job_id=job_id: hook.arrived.get(job_id), 30, "the message")
            latencies.append(arrived - datetime.fromisoformat(job.finished_at).timestamp())
        ok = pct(latencies, 0.95) <= LATENCY_TARGET
        missed += not ok
        print(row(f"job end -> its message at the webhook (n={runs})",
                  f"p50 {statistics.median(latencies) * 1000:.0f}, p95 {pct(latencies, 0.95) * 1000:.0f} ms",
                  f"p95 <= {LATENCY_TARGET * 1000:.0f} ms", ok))
        print(row("  slowest", f"{max(latencies) * 1000:.0f} ms", "", None), flush=True)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        hook.server.shutdown()
        shutil.rmtree(root, ignore_errors=True)
    return verdict(missed)


if __name__ == "__main__":
    raise SystemExit(main())
