"""Retention: old output goes, job rows stay a year saying so, never a queued or running job's,
and the file gives the space back. A real store on a fixed clock, a real worker where a job
must run, the command line as a real process."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Clock, run_adsdash, until, wait_ended, wait_for

from adsdash import audit, retention
from adsdash.chunks import make_chunk
from adsdash.engine import Engine
from adsdash.records import system_clock
from adsdash.store import CANCELLED, FAILED, FINISHED, STARTED, Store
from adsdash.tasks.pruner import DailyPrune
from adsdash.tasks.worker import Worker

NOW = datetime(2025, 10, 13, 14, 0, tzinfo=UTC)
RULES = retention.Rules(output_keep_days=90, output_keep_jobs=2, job_keep_days=365)


def add_job(store: Store, clock: Clock, slug: str, days_ago: float, *, lines: int = 3, status: str | None = FINISHED,
            text: bytes = b"output line", now: datetime = NOW) -> int:
    """A job queued, run and ended `days_ago` before `now` (status None: left running), with `lines` of output."""
    clock.now = now - timedelta(days=days_ago)
    job = store.create_job(slug=slug, command="validate", args={}, argv=["x"], cwd="/")
    if status == CANCELLED:
        store.finish(job.id, CANCELLED)  # never started
        return job.id
    assert store.claim(job.id, "w").value == "claimed"
    if lines:
        store.append_chunks(job.id, [make_chunk(1, lines, time.time(), "stdout", b"\n".join([text] * lines))])
    if status is not None:
        store.finish(job.id, status, worker="w")
    return job.id


def counts(store: Store) -> tuple[int, int]:
    conn = store._conn()
    return tuple(conn.execute(f"select count(*) from {table}").fetchone()[0] for table in ("jobs", "chunks"))


@pytest.fixture
def aged(tmp_path):
    """A store of jobs of every age, its clock at NOW: (store, clock, ids by name)."""
    clock = Clock(NOW)
    store = Store(tmp_path / "jobs.db", clock=clock)
    ids = {}
    for days in (400, 200, 100, 95, 10, 1):  # a: newest first are 1 and 10 (kept by count and age)
        ids[f"a{days}"] = add_job(store, clock, "a", days, status=FAILED if days == 100 else FINISHED)
    for n in range(3):  # b: three alike, 150 days old: the newest two kept by count
        ids[f"b{n}"] = add_job(store, clock, "b", 150, lines=5)
    ids["c-empty"] = add_job(store, clock, "c", 200, lines=0)  # no output: nothing to remove
    ids["c1"], ids["c2"] = add_job(store, clock, "c", 5), add_job(store, clock, "c", 4)
    # d: a job still running since 500 days, and one queued as long, each behind two newer ones
    ids["d-running"] = add_job(store, clock, "d", 500, status=None)
    clock.now = NOW - timedelta(days=500)
    ids["e-queued"] = store.create_job(slug="e", command="validate", args={}, argv=["x"], cwd="/").id
    store.append_chunks(ids["e-queued"], [make_chunk(1, 2, time.time(), "stdout", b"a\nb")])  # a row is data
    for slug in ("d", "e", "d", "e"):
        add_job(store, clock, slug, 1, status=CANCELLED)
    clock.now = NOW
    return store, clock, ids


def test_prune_removes_exactly_the_old_output_beyond_each_clients_newest_and_never_a_live_jobs(aged):
    store, _clock, ids = aged
    jobs_before, _chunks = counts(store)
    planned = retention.plan(store, RULES, NOW)
    assert counts(store) == (jobs_before, _chunks)  # the dry run removed nothing
    done = retention.prune(store, RULES, NOW)
    assert done.to_dict() == planned.to_dict()  # and said what the prune then did
    assert sorted(done.output_jobs) == sorted(ids[k] for k in ("a200", "a100", "a95", "b0"))
    assert done.deleted_jobs == (ids["a400"],)
    assert (done.lines, done.bytes) == (3 * 3 + 5 + 3, (3 * 11 + 2) * 4 + (5 * 11 + 4))
    for name, job_id in ids.items():
        job = store.job(job_id)
        gone = job_id in done.output_jobs
        assert (job is None) == (name == "a400"), name
        if job is not None:
            assert (job.output_pruned_at == "2025-10-13T14:00:00.000000+00:00") == gone, name
            assert bool(store.lines(job_id)) == (not gone and job.line_count > 0), name
    assert store.job(ids["d-running"]).status == STARTED and len(store.lines(ids["d-running"])) == 3
    assert len(store.lines(ids["e-queued"])) == 2
    again = retention.prune(store, RULES, NOW)  # nothing left to do
    assert again.to_dict() == {"jobs_output_removed": 0, "lines": 0, "bytes": 0, "job_rows_deleted": 0}


def test_a_running_jobs_output_is_never_pruned_however_old(fake_settings, monkeypatch):
    """A real worker on a clock 200 days back runs a slow job, then time jumps to now and a
    prune keeping no job by count runs while the job still writes."""
    monkeypatch.setenv("FAKE_SECONDS", "30")
    settings = fake_settings._replace(output_keep_jobs=0)
    clock = Clock(system_clock() - timedelta(days=200))
    worker = Worker(settings, kind="embedded", clock=clock)
    worker.start()
    try:
        engine = worker.engine
        done = wait_ended(engine, engine.submit("validate", "ok").id)
        slow = engine.submit("validate", "slow")
        wait_for(lambda: engine.store.job(slow.id).line_count >= 2)
        clock.now = system_clock()
        pruned = retention.prune(engine.store, retention.rules_of(settings), clock.now)
        assert pruned.output_jobs == (done.id,) and engine.store.lines(done.id) == []
        running = engine.store.job(slow.id)
        assert running.status == STARTED and running.output_pruned_at is None
        assert len(engine.store.lines(slow.id)) >= 2
        wait_for(lambda: engine.store.job(slow.id).line_count >= running.line_count + 2)  # it writes on
        engine.cancel(slow.id)
        assert wait_ended(engine, slow.id).status == CANCELLED
        assert len(engine.store.lines(slow.id)) == engine.store.job(slow.id).line_count
    finally:
        worker.stop()


def test_the_file_shrinks_after_a_prune(tmp_path):
    clock = Clock(NOW)
    store = Store(tmp_path / "jobs.db", clock=clock)
    megabyte = os.urandom(512 << 10).hex().encode()  # 1 MB that does not compress into nothing
    for n in range(24):
        add_job(store, clock, "big", 200 - n, lines=1, text=megabyte)
    store._conn().execute("pragma wal_checkpoint(truncate)")
    before, file_before = retention.size(store), os.path.getsize(store.path)
    assert before.used > 24 << 20 and store._conn().execute("pragma auto_vacuum").fetchone()[0] == 2
    done = retention.prune(store, RULES, NOW)
    assert len(done.output_jobs) == 22 and done.bytes == 22 << 20
    store._conn().execute("pragma wal_checkpoint(truncate)")
    after = retention.size(store)
    assert after.used < before.used - (21 << 20) and after.free == 0
    assert os.path.getsize(store.path) < file_before - (21 << 20)


def test_an_older_store_is_switched_to_incremental_vacuum_once_and_keeps_its_jobs(fake_settings, fake_engine):
    """A schema 5 store (auto_vacuum off, no audit) is migrated by the next command that opens it."""
    job = fake_engine.store.create_job(slug="ok", command="validate", args={}, argv=["x"], cwd="/")
    fake_engine.store.close()
    with sqlite3.connect(fake_settings.store_path, isolation_level=None) as conn:  # back to schema 5
        for sql in ("drop trigger audit_no_update", "drop trigger audit_no_delete", "drop table audit",
                    "drop table housekeeping", "alter table jobs drop column output_pruned_at",
                    "pragma auto_vacuum = none", "vacuum", "pragma user_version = 5"):
            conn.execute(sql)
        assert conn.execute("pragma auto_vacuum").fetchone()[0] == 0
    proc = run_adsdash(fake_settings, "--json", "job", str(job.id))
    assert json.loads(proc.stdout)["output_pruned_at"] is None
    with sqlite3.connect(fake_settings.store_path) as conn:
        assert conn.execute("pragma user_version").fetchone()[0] >= 6  # 6 or a later schema
        assert conn.execute("pragma auto_vacuum").fetchone()[0] == 2
        assert conn.execute("select count(*) from audit").fetchone()[0] == 0
        assert conn.execute("select slug from jobs").fetchall() == [("ok",)]


def test_a_new_store_is_incremental_from_its_first_page(tmp_path):
    code = ("import sqlite3, sys; from adsdash.store import Store; Store(sys.argv[1]);"
            " print(sqlite3.connect(sys.argv[1]).execute('pragma auto_vacuum').fetchone()[0])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "new.db")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "2"


def test_the_worker_prunes_once_a_day_and_audits_it(fake_settings, monkeypatch):
    monkeypatch.setenv("SSH_CLIENT", "10.9.9.9 1 22")  # who started the worker: not who prunes
    clock = Clock(system_clock())
    worker = Worker(fake_settings._replace(output_keep_jobs=0), kind="embedded", clock=clock)
    worker.start()
    try:
        engine = worker.engine
        clock.now -= timedelta(days=100)
        job = wait_ended(engine, engine.submit("validate", "ok").id)
        clock.now += timedelta(days=100)
        first = worker.pruner.run_once()
        assert first is not None and first.output_jobs == (job.id,)
        assert worker.pruner.run_once() is None  # the same day: not again (nor by another worker)
        assert DailyPrune(Engine(fake_settings, clock=clock)).run_once() is None
        clock.now += timedelta(hours=25)
        assert worker.pruner.run_once() is not None
        row = audit.read(engine.store, action="prune")
        assert len(row) == 1 and (row[0].origin, row[0].detail["jobs_output_removed"]) == ("worker", 1)
        assert row[0].address is None
    finally:
        worker.stop()


def static_text(screen, selector: str) -> str:
    """A Static's content as plain text (its Rich table included)."""
    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=158, file=io.StringIO(), color_system=None)
    console.print(screen.query_one(selector, Static).content)
    return console.file.getvalue()


def old_jobs(settings, days: int = 200) -> list[int]:
    """Two clients' ended jobs, `days` old by the real clock, two lines each."""
    clock = Clock(system_clock())
    store = Store(settings.store_path, clock=clock)
    return [add_job(store, clock, slug, days, now=system_clock()) for slug in ("ok", "ok-2", "ok")]


def test_adsdash_prune_dry_run_says_what_prune_removes_and_the_job_says_its_output_went(fake_settings):
    ids = old_jobs(fake_settings)
    env = {"ADSDASH_OUTPUT_KEEP_JOBS": "1"}
    dry = json.loads(run_adsdash(fake_settings, "--json", "prune", "--dry-run", extra_env=env).stdout)
    assert (dry["jobs_output_removed"], dry["lines"], dry["job_rows_deleted"], dry["dry_run"]) == (1, 3, 0, True)
    assert json.loads(run_adsdash(fake_settings, "--json", "job", str(ids[0])).stdout)["output_pruned_at"] is None
    done = json.loads(run_adsdash(fake_settings, "--json", "prune", extra_env=env).stdout)
    assert {k: done[k] for k in ("jobs_output_removed", "lines", "bytes", "job_rows_deleted")} == \
        {k: dry[k] for k in ("jobs_output_removed", "lines", "bytes", "job_rows_deleted")}
    job = json.loads(run_adsdash(fake_settings, "--json", "job", str(ids[0])).stdout)
    assert job["output_pruned_at"] and job["line_count"] == 3
    assert "pruned on" in run_adsdash(fake_settings, "job", str(ids[0])).stdout.decode()
    logs = run_adsdash(fake_settings, "logs", str(ids[0]))
    assert logs.stdout == b"" and f"job {ids[0]}: its output (3 lines) was pruned on" in logs.stderr.decode()
    assert run_adsdash(fake_settings, "logs", str(ids[2])).stdout.count(b"output line") == 3  # the newest kept
    row = json.loads(run_adsdash(fake_settings, "--json", "audit", "--action", "prune").stdout)
    assert len(row) == 1 and row[0]["origin"] == "shell" and row[0]["detail"]["lines"] == 3
    health = json.loads(run_adsdash(fake_settings, "--json", "health", check=1).stdout)  # no worker: degraded
    assert health["checks"]["store"]["size_bytes"] > 0 and health["checks"]["store"]["last_prune"] is None


async def test_the_job_detail_says_the_output_was_pruned_and_the_summary_shows_the_store_size(fake_settings,
                                                                                              make_app):
    from adsdash.screens.job_detail import JobDetailScreen
    from adsdash.widgets.summary_bar import SummaryBar

    job_id = old_jobs(fake_settings)[0]
    engine = Engine(fake_settings)
    retention.prune(engine.store, retention.Rules(90, 1, 365), system_clock())
    app = make_app(fake_settings)
    async with app.run_test(size=(220, 40)) as pilot:  # the size gives way first on a narrower line
        summary = app.screen.query_one(SummaryBar)
        text = await until(pilot, lambda: "store " in str(summary.render()) and str(summary.render()),
                           10, "the store's size")
        assert f"store {retention.human_bytes(retention.size(engine.store).used)}" in text
        await app.push_screen(JobDetailScreen(job_id))
        screen = app.screen
        shown = await until(pilot, lambda: "pruned on" in (text := static_text(screen, "#facts")) and text, 10,
                            "the facts")
        assert "(3 lines; the job's facts are kept)" in shown
        assert screen.output.line_count == 0
