"""Prometheus metrics: `adsdash metrics` (a real process) and a real worker's /metrics over HTTP,
on a sandbox workspace of known watermarks and a job store of known jobs (stored with the Store
API on a clock set by hand), read back with prometheus_client's own parser and, where it is
installed, checked by `promtool check metrics`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from conftest import one_error_line, run_adsdash, wait_for
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adsdash import metrics
from adsdash.chunks import make_chunk
from adsdash.job_tally import JobTally
from adsdash.records import CANCELLED, FAILED, FINISHED, STARTED
from adsdash.sandbox.generate import plan
from adsdash.store import Store

# The sandbox's kinds, as adsdash sees them (see adsdash/sandbox/generate.py).
FRESHNESS_OF_KIND = {"fresh": "fresh", "late": "late", "stale": "stale", "never": "never", "stale_lock": "late",
                     "failing": "stale", "broken_state": "error"}
EXPECTED_FAMILIES = {
    "adsdash_client_watermark_lag_seconds", "adsdash_client_freshness", "adsdash_clients",
    "adsdash_jobs_ended", "adsdash_job_duration_seconds", "adsdash_jobs_queued", "adsdash_jobs_running",
    "adsdash_jobs_oldest_queued_timestamp_seconds", "adsdash_client_last_success_timestamp_seconds",
    "adsdash_workers_live", "adsdash_worker_heartbeat_age_seconds", "adsdash_store_lines",
    "adsdash_store_size_bytes", "adsdash_notifications_sent", "adsdash_notifications_failed",
    "adsdash_metrics_source_up"}
T0 = datetime(2025, 10, 1, 6, 0, tzinfo=UTC)
GHOST = "elsewhere:4242:ghost0"  # a worker that claimed a job and is gone


class HandClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def to(self, now: datetime) -> None:
        self.now = now


def run_job(store: Store, clock: HandClock, slug: str, command: str, status: str, start: datetime,
            seconds: float, *, lines: int = 0) -> int:
    """A job queued and started at `start`, ended `seconds` later, as a worker records one."""
    clock.to(start)
    job = store.create_job(slug=slug, command=command, args={}, argv=["ads_sync", command, slug], cwd="/")
    assert store.claim(job.id, "test:1:worker").value == "claimed"
    if lines:
        store.append_chunks(job.id, [make_chunk(1, lines, 0.0, "stdout", b"\n".join([b"a line"] * lines))])
    clock.to(start + timedelta(seconds=seconds))
    store.finish(job.id, status, worker="test:1:worker", exit_code=0 if status == FINISHED else 1)
    return job.id


class Known(NamedTuple):
    settings: object
    store: Store
    first: str  # a fresh client with two appends and a validate, finished
    second: str  # a fresh client with a failed append, a cancelled and a running validate, a queued report
    late: str  # a late client with a queued append


@pytest.fixture
def known(live_sandbox_settings):
    """The sandbox's 30 clients, and in the store: ended jobs of known times, two queued, one
    running on a worker that is gone, and this process as a live worker."""
    settings = live_sandbox_settings
    clock = HandClock(T0)
    store = Store(settings.store_path, clock=clock)
    first, second = plan(30)[0].slug, plan(30)[2].slug
    late = next(client.slug for client in plan(30) if client.kind == "late")
    run_job(store, clock, first, "append", FINISHED, T0, 30, lines=3)
    run_job(store, clock, first, "append", FINISHED, T0 + timedelta(hours=1), 20)  # the newer success
    run_job(store, clock, first, "validate", FINISHED, T0 + timedelta(hours=2), 5, lines=2)
    run_job(store, clock, second, "append", FAILED, T0 + timedelta(hours=3), 2)
    clock.to(T0 + timedelta(hours=4))
    cancelled = store.create_job(slug=second, command="validate", args={}, argv=["x"], cwd="/")
    store.request_cancel(cancelled.id)  # ended before it started: no duration
    clock.to(T0 + timedelta(hours=5))
    running = store.create_job(slug=second, command="validate", args={}, argv=["x"], cwd="/")
    store.claim(running.id, GHOST)
    clock.to(T0 + timedelta(hours=6))
    store.create_job(slug=late, command="append", args={}, argv=["x"], cwd="/")  # makes it fresh, once run
    clock.to(T0 + timedelta(hours=7))
    store.create_job(slug=second, command="report", args={"scope": "LAST-7-DAYS"}, argv=["x"], cwd="/")
    store.register_worker("test:here:1", kind="embedded", concurrency=1)  # this process: alive
    return Known(settings, store, first, second, late)


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(found: dict, name: str, sample: str | None = None, **labels) -> float:
    matching = [s.value for s in found[name].samples if s.name == (sample or name) and s.labels == labels]
    assert len(matching) == 1, (name, labels, found[name].samples[:5])
    return matching[0]


def promtool_says(text: str) -> str | None:
    """What `promtool check metrics` finds (its problems), or None without promtool."""
    if shutil.which("promtool") is None:
        return None
    proc = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    return (proc.stdout + proc.stderr).decode().strip() if proc.returncode else ""


def test_adsdash_metrics_prints_every_metric_with_its_value(known):
    settings, first = known.settings, known.first
    before = time.time()
    proc = run_adsdash(settings, "metrics")
    text = proc.stdout.decode()
    found = families(text)
    assert set(found) == EXPECTED_FAMILIES
    assert proc.stderr == b""
    if (problems := promtool_says(text)) is not None:
        assert problems == "", problems

    # per client: the watermark's lag in days (as seconds), the freshness state, clients per state
    clients = plan(30)
    for client in clients:
        state = FRESHNESS_OF_KIND[client.kind]
        assert value(found, "adsdash_client_freshness", client=client.slug, state=state) == 1
        if state in ("never", "error"):
            assert not [s for s in found["adsdash_client_watermark_lag_seconds"].samples
                        if s.labels["client"] == client.slug]
        else:
            assert value(found, "adsdash_client_watermark_lag_seconds", client=client.slug) == client.lag * 86400
    assert len(found["adsdash_client_freshness"].samples) == 30  # one series per client
    for state in FRESHNESS_OF_KIND.values():
        expected = sum(FRESHNESS_OF_KIND[c.kind] == state for c in clients)
        assert value(found, "adsdash_clients", state=state) == expected

    # the last successful append and validate, from the store
    last = "adsdash_client_last_success_timestamp_seconds"
    assert value(found, last, client=first, command="append") == (T0 + timedelta(hours=1, seconds=20)).timestamp()
    assert value(found, last, client=first, command="validate") == (T0 + timedelta(hours=2, seconds=5)).timestamp()
    assert {s.labels["client"] for s in found[last].samples} == {first}  # a failure is no success

    # jobs by command and final status; durations; queued and running
    ended = "adsdash_jobs_ended"
    assert value(found, ended, f"{ended}_total", command="append", status="finished") == 2
    assert value(found, ended, f"{ended}_total", command="append", status="failed") == 1
    assert value(found, ended, f"{ended}_total", command="validate", status="finished") == 1
    assert value(found, ended, f"{ended}_total", command="validate", status="cancelled") == 1
    assert value(found, ended, f"{ended}_total", command="init", status="failed") == 0
    assert sum(s.value for s in found[ended].samples) == 5
    hist = "adsdash_job_duration_seconds"
    assert value(found, hist, f"{hist}_count", command="append") == 3
    assert value(found, hist, f"{hist}_sum", command="append") == pytest.approx(52, abs=1e-3)
    assert value(found, hist, f"{hist}_bucket", command="append", le="1.0") == 0
    assert value(found, hist, f"{hist}_bucket", command="append", le="5.0") == 1  # 2 s
    assert value(found, hist, f"{hist}_bucket", command="append", le="15.0") == 1
    assert value(found, hist, f"{hist}_bucket", command="append", le="30.0") == 3  # 20 s and 30 s
    assert value(found, hist, f"{hist}_bucket", command="append", le="+Inf") == 3
    assert value(found, hist, f"{hist}_count", command="validate") == 1  # the cancelled one never ran
    assert value(found, hist, f"{hist}_sum", command="validate") == pytest.approx(5, abs=1e-3)
    assert value(found, "adsdash_jobs_queued", command="append") == 1
    assert value(found, "adsdash_jobs_queued", command="report") == 1
    assert value(found, "adsdash_jobs_queued", command="validate") == 0
    assert value(found, "adsdash_jobs_running", command="validate") == 1
    assert value(found, "adsdash_jobs_oldest_queued_timestamp_seconds") == (T0 + timedelta(hours=6)).timestamp()

    # workers, the store, notifications, the sources
    assert value(found, "adsdash_workers_live") == 1
    age = value(found, "adsdash_worker_heartbeat_age_seconds", worker="test:here:1", kind="embedded")
    assert 0 <= age <= time.time() - before + 1
    assert value(found, "adsdash_store_lines") == 5
    size = sum(os.stat(f"{settings.store_path}{end}").st_size for end in ("", "-wal")
               if os.path.exists(f"{settings.store_path}{end}"))
    assert value(found, "adsdash_store_size_bytes") == size > 0
    assert value(found, "adsdash_notifications_sent", "adsdash_notifications_sent_total") == 0
    assert value(found, "adsdash_notifications_failed", "adsdash_notifications_failed_total") == 0
    assert value(found, "adsdash_metrics_source_up", source="workspace") == 1
    assert value(found, "adsdash_metrics_source_up", source="store") == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_process(settings, *flags: str) -> subprocess.Popen:
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"))
    return subprocess.Popen([sys.executable, "-m", "adsdash", "worker", *flags], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"] == metrics.CONTENT_TYPE
            return response.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


def comparable(found: dict) -> dict:
    """Every sample, but the figures that move by themselves (heartbeat ages, the file's size);
    sums of durations to the millisecond (added up in another order, the last bits differ)."""
    moving = {"adsdash_worker_heartbeat_age_seconds", "adsdash_store_size_bytes"}
    return {(s.name, tuple(sorted(s.labels.items()))): (None if f.name in moving else round(s.value, 3))
            for f in found.values() for s in f.samples}


def test_a_worker_serves_the_same_facts_over_http(known):
    settings, store, late = known.settings, known.store, known.late
    port = free_port()
    proc = worker_process(settings, "--metrics-port", str(port))
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        early = wait_for(lambda: get(url), timeout=30)  # served at once: the worker counts the jobs now
        assert set(families(early)) == EXPECTED_FAMILIES
        # The worker fails the gone worker's job and runs the two queued ones; once all have ended,
        # its long-lived count (only what ended since) and a count from nothing agree.
        wait_for(lambda: not store.jobs(status="queued") and not store.jobs(status=STARTED), timeout=60)
        printed = families(run_adsdash(settings, "metrics").stdout.decode())
        # The worker hears of changed client files from the OS, up to a second late (folder_watch).
        served = wait_for(lambda: comparable(found := families(get(url))) == comparable(printed) and found,
                          timeout=10)
        for _ in range(2):  # again, with nothing changed: written from what the worker kept
            assert comparable(families(get(url))) == comparable(printed)
        assert value(served, "adsdash_jobs_ended", "adsdash_jobs_ended_total", command="validate",
                     status="failed") == 1  # the lost one
        assert value(served, "adsdash_jobs_queued", command="append") == 0
        assert value(served, "adsdash_client_freshness", client=late, state="fresh") == 1  # its append ran
        assert value(served, "adsdash_workers_live") == 2  # the worker and this process
        assert {s.labels["kind"] for s in served["adsdash_worker_heartbeat_age_seconds"].samples} == \
            {"standalone", "embedded"}
        assert get(f"http://127.0.0.1:{port}/elsewhere") is None  # 404
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
    assert get(url) is None  # the worker took its endpoint with it


def test_the_endpoint_listens_on_this_host_only_unless_told(known):
    settings = known.settings
    port = free_port()
    proc = worker_process(settings, "--metrics-port", str(port))
    try:
        wait_for(lambda: get(f"http://127.0.0.1:{port}/metrics"), timeout=30)
        listening = {line.split()[1] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
                     if line.split()[3] == "0A"}  # local address of each listening socket
        assert f"0100007F:{port:04X}" in listening  # 127.0.0.1
        assert f"00000000:{port:04X}" not in listening  # not every address
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_taken_port_is_one_line_and_no_worker_starts(known):
    settings, store = known.settings, known.store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_adsdash(settings, "worker", "--metrics-port", str(port), check=1)
    assert "cannot listen on 127.0.0.1" in one_error_line(proc)
    assert [w.id for w in store.live_workers()] == ["test:here:1"]  # none started
    assert store.jobs(status="queued")  # nothing ran
    proc = run_adsdash(settings, "worker", "--metrics-address", "0.0.0.0", check=2)  # an address for nothing
    assert "--metrics-address needs --metrics-port" in one_error_line(proc)


def test_an_unreadable_folder_still_prints_the_store(known, tmp_path):
    settings = known.settings
    proc = run_adsdash(settings, "metrics", check=1, extra_env={"ADS_SYNC_PROJECT_PATH": str(tmp_path / "gone")})
    assert "cannot read the workspace" in one_error_line(proc)
    found = families(proc.stdout.decode())
    assert value(found, "adsdash_metrics_source_up", source="workspace") == 0
    assert value(found, "adsdash_metrics_source_up", source="store") == 1
    assert "adsdash_client_freshness" not in found and "adsdash_jobs_queued" in found


def test_a_long_lived_tally_counts_what_a_new_one_counts(tmp_path):
    """A worker's tally reads only what ended since; after jobs end, new ones come and rows are
    deleted (as retention does), it still equals a count from nothing."""
    clock = HandClock(T0)
    store = Store(tmp_path / "jobs.db", clock=clock)
    conn = store._conn()
    kept = JobTally()

    def same(a, b) -> bool:  # durations' sums to the float's last bits: added up in another order
        if a._replace(durations={}) != b._replace(durations={}) or a.durations.keys() != b.durations.keys():
            return False
        return all(h._replace(total_seconds=0) == b.durations[c]._replace(total_seconds=0)
                   and h.total_seconds == pytest.approx(b.durations[c].total_seconds) for c, h in a.durations.items())

    for i in range(6):
        run_job(store, clock, f"c{i % 3}", ("append", "validate")[i % 2], (FINISHED, FAILED)[i % 4 == 3],
                T0 + timedelta(minutes=i), 10 + i, lines=i)
    waiting = store.create_job(slug="c0", command="append", args={}, argv=["x"], cwd="/")
    assert same(kept.facts(conn), JobTally().facts(conn))
    store.claim(waiting.id, "test:1:worker")
    clock.to(T0 + timedelta(hours=1))
    store.finish(waiting.id, FINISHED, worker="test:1:worker")  # ended since the last read
    run_job(store, clock, "c1", "append", CANCELLED, T0 + timedelta(hours=2), 1)
    assert same(kept.facts(conn), JobTally().facts(conn))
    assert kept.facts(conn).jobs["append", FINISHED] == 4
    assert kept.recounts == 0  # it only ever read what ended since
    conn.execute("delete from jobs where id in (1, 2)")  # retention deletes old rows
    assert same(kept.facts(conn), JobTally().facts(conn))
    assert sum(kept.facts(conn).jobs.values()) == 6 and kept.recounts == 1


def test_the_writer_writes_what_prometheus_client_writes(tmp_path):
    """Outside text in labels (a job row's command is data) is escaped as prometheus_client does."""
    odd = 'we"ird\\com\nmand ✓'
    gauge = GaugeMetricFamily("adsdash_x", "help with \\ and\nnewline", labels=["command"])
    gauge.add_metric([odd], 1.5)
    gauge.add_metric(["plain"], float("inf"))
    counter = CounterMetricFamily("adsdash_y", "a counter", labels=["a", "b"])
    counter.add_metric(["1", "2"], 7)
    hist = HistogramMetricFamily("adsdash_z_seconds", "a histogram", labels=["command"])
    hist.add_metric([odd], [("1.0", 1), ("+Inf", 2)], 3.25)
    ours = metrics.exposition([gauge, counter, hist]).decode()
    theirs = generate_latest(type("Registry", (), {"collect": lambda self: iter([gauge, counter, hist])})()).decode()
    assert list(text_string_to_metric_families(ours)) == list(text_string_to_metric_families(theirs))
    if (problems := promtool_says(ours)) is not None:
        assert problems == "", problems


def test_a_job_row_with_an_odd_command_is_escaped(known):
    settings, store = known.settings, known.store
    store.create_job(slug="x", command='bad"\\\ncommand', args={}, argv=["x"], cwd="/")
    text = run_adsdash(settings, "metrics").stdout.decode()
    assert value(families(text), "adsdash_jobs_queued", command='bad"\\\ncommand') == 1
    if (problems := promtool_says(text)) is not None:
        assert problems == "", problems


def test_the_example_alert_rules_pass_promtool():
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    rules = os.path.join(os.path.dirname(__file__), "..", "docs", "alerts.rules.yml")
    proc = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_json_form_lists_the_samples(known):
    settings = known.settings
    import json

    data = json.loads(run_adsdash(settings, "metrics", "--json").stdout)
    assert data["problems"] == []
    assert {"name": "adsdash_workers_live", "labels": {}, "value": 1} in data["samples"]


def test_store_faults_are_reported_not_raised(known):
    settings = known.settings
    conn = sqlite3.connect(settings.store_path)
    conn.execute("alter table jobs rename to jobs_gone")  # the store is not what adsdash wrote
    conn.commit()
    conn.close()
    proc = run_adsdash(settings, "metrics", check=1)
    assert "cannot read the store" in one_error_line(proc)
    found = families(proc.stdout.decode())
    assert value(found, "adsdash_metrics_source_up", source="store") == 0
    assert "adsdash_client_freshness" in found


def test_what_ended_since_is_found_by_id_not_by_walking_an_index(tmp_path):
    """A scrape reads the few jobs that ended since: by id, never a walk of every job's row."""
    from adsdash.job_tally import _ENDED_SINCE, _FOLD, _LAST_SUCCESS

    conn = Store(tmp_path / "jobs.db")._conn()
    for sql in (_FOLD.format(where=_ENDED_SINCE), _LAST_SUCCESS.format(where=_ENDED_SINCE)):
        steps = [row[3] for row in conn.execute("explain query plan " + sql, (0, "[]"))]
        assert any("INTEGER PRIMARY KEY (rowid>?)" in step for step in steps), steps
        assert not any(step.startswith(("SCAN jobs", "SEARCH jobs USING INDEX")) for step in steps), steps
