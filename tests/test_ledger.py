"""Trust in the ledger: every commit kept with many processes on one store, each job run exactly
once, recovery that kills only what it started and leaves a paused worker's jobs alone."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from conftest import wait_ended, wait_for

from adsdash.processes import pid_alive, start_ticks
from adsdash.store import FAILED, FINISHED, STARTED, Store
from adsdash.tasks import worker as worker_module
from adsdash.tasks.worker import Worker

WRITER = textwrap.dedent("""
    import sys
    from adsdash.store import Store
    store = Store(sys.argv[1])
    for i in range(int(sys.argv[2])):
        store.create_job(slug="writer", command="validate", args={}, argv=["x"], cwd="/")
""")


def test_every_commit_survives_many_processes_on_one_store(tmp_path):
    path = tmp_path / "home" / "jobs.db"
    long_lived = Store(path)
    long_lived.create_job(slug="app", command="validate", args={}, argv=["x"], cwd="/")  # holds a connection
    stop = threading.Event()
    written = []

    def keep_writing() -> None:  # the app's and worker's own writes, from a thread of theirs
        while not stop.is_set():
            written.append(long_lived.create_job(slug="app", command="validate", args={}, argv=["x"], cwd="/").id)
            time.sleep(0.005)  # paces the writer on purpose (steady writes alongside), not a wait

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        for _ in range(12):
            second = Store(path)  # a second Store of the file in this process (as the engine and worker hold)
            second.create_job(slug="second", command="validate", args={}, argv=["x"], cwd="/")
            # short-lived writers and readers in other processes, each closing its last connection
            subprocess.run([sys.executable, "-c", WRITER, str(path), "3"], check=True, timeout=60)
            subprocess.run([sys.executable, "-m", "adsdash", "--home", str(path.parent), "jobs", "--limit", "1"],
                           check=True, timeout=60, capture_output=True)
    finally:
        stop.set()
        thread.join()
    wal = path.with_name("jobs.db-wal")
    assert wal.exists(), "the WAL was deleted under a live connection"
    after = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3
        conn = sqlite3.connect({str(path)!r})
        print(conn.execute("pragma integrity_check").fetchone()[0])
        print(conn.execute("select count(*), count(distinct id) from jobs").fetchone())
    """)], capture_output=True, text=True, check=True).stdout.split("\n")
    assert after[0] == "ok"
    expected = 1 + len(written) + 12 + 12 * 3
    assert after[1] == str((expected, expected))
    assert long_lived.quick_check() == ["ok"]


def test_a_store_file_is_created_private_and_refused_when_others_may_write(tmp_path):
    home = tmp_path / "home"
    Store(home / "jobs.db")
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert oct((home / "jobs.db").stat().st_mode & 0o777) == "0o600"
    other = tmp_path / "open"
    other.mkdir(mode=0o777)
    other.chmod(0o777)
    run = subprocess.run([sys.executable, "-m", "adsdash", "--home", str(other), "jobs"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert str(other) in run.stderr and "writable by group or others" in run.stderr
    assert not (other / "jobs.db").exists()  # refused before anything was written


def _starts(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_duplicate_deliveries_and_a_racing_recovery_start_one_process(fake_engine, fake_settings, tmp_path,
                                                                       monkeypatch):
    starts = tmp_path / "starts"
    monkeypatch.setenv("FAKE_STARTS", str(starts))
    monkeypatch.setenv("FAKE_SECONDS", "1")
    monkeypatch.setattr(worker_module, "ORPHAN_AFTER_SECONDS", 0)  # recovery re-sends every queued job
    first = Worker(fake_settings, kind="embedded")
    second = Worker(fake_settings, kind="embedded")  # two consumers, as with two worker processes
    first.start()
    second.start()
    try:
        jobs = [fake_engine.submit("append", "slow") for _ in range(3)]
        for job in jobs:
            for w in (first, second):
                w.task(job.id)  # the same message delivered again, to both
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # recovery racing the consumers over the queued ones
            first.recover()
            second.recover()
        ended = [wait_ended(fake_engine, job.id, timeout=30) for job in jobs]
    finally:
        first.stop()
        second.stop()
    assert [j.status for j in ended] == [FINISHED] * 3
    assert len(_starts(starts)) == 3, _starts(starts)  # one process per job
    for job in ended:
        seqs = [line.seq for line in fake_engine.store.lines(job.id)]
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 10


def test_the_worker_runs_its_own_command_not_the_rows(fake_engine, fake_settings, tmp_path, monkeypatch):
    starts = tmp_path / "starts"
    monkeypatch.setenv("FAKE_STARTS", str(starts))
    store = fake_engine.store
    forged = store.create_job(slug="ok", command="validate", args={}, argv=["/bin/sh", "-c", "touch pwned"],
                              cwd=str(tmp_path))
    bad_args = store.create_job(slug="ok", command="validate", args={"scope": "-rf"}, argv=["x"], cwd="/")
    unknown = store.create_job(slug="../etc", command="validate", args={}, argv=["x"], cwd="/")
    w = Worker(fake_settings, kind="embedded")
    w.start()
    try:
        w.enqueue([forged.id, bad_args.id, unknown.id])
        done = [wait_ended(fake_engine, j.id) for j in (forged, bad_args, unknown)]
    finally:
        w.stop()
    assert done[0].status == FINISHED and not (tmp_path / "pwned").exists()
    assert done[0].argv[-2:] == ["validate", "ok"] and done[0].cwd == str(fake_settings.ads_sync_path.resolve())
    assert (done[1].status, done[1].error) == (FAILED, "refused by the worker: validate does not take --scope")
    assert done[2].status == FAILED and done[2].error.startswith("refused by the worker: slug '../etc'")
    assert len(_starts(starts)) == 1


def _worker_process(settings, env_extra: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "adsdash", "worker", "--home", str(settings.home),
         "--ads-sync-path", str(settings.ads_sync_path), "--cli-command", settings.cli_command],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def test_a_paused_worker_is_not_lost_and_a_dead_one_is(fake_engine, fake_settings):
    proc = _worker_process(fake_settings, {"FAKE_SECONDS": "3"})
    try:
        job = fake_engine.submit("append", "slow")
        running = wait_for(lambda: (j := fake_engine.store.job(job.id)).status == STARTED and j.pid and j, 30)
        os.kill(proc.pid, signal.SIGSTOP)
        # Long silent: its heartbeat is far older than any timeout.
        fake_engine.store.db.execute("update workers set heartbeat = 0")
        other = Worker(fake_settings, kind="embedded")
        other.start()  # a start runs recovery
        try:
            assert other.recover() == []
            assert fake_engine.store.job(job.id).status == STARTED and pid_alive(running.pid)
            os.kill(proc.pid, signal.SIGCONT)
            done = wait_ended(fake_engine, job.id, timeout=30)
            assert done.status == FINISHED and done.worker == running.worker
        finally:
            other.stop()
        # now a dead one (the only worker, so it runs the job): its job is failed, its CLI killed
        second = fake_engine.submit("append", "slow")
        victim = wait_for(lambda: (j := fake_engine.store.job(second.id)).status == STARTED and j.pid and j, 30)
        assert victim.worker == running.worker
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        third = Worker(fake_settings, kind="embedded")
        third.start()  # its start recovers
        try:
            lost = wait_ended(fake_engine, second.id, timeout=10)
            wait_for(lambda: not pid_alive(victim.pid), 10)
        finally:
            third.stop()
        assert lost.status == FAILED and lost.error.startswith("worker lost")
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
            proc.wait()


def test_recovery_never_kills_a_process_that_reused_the_pid(fake_engine, fake_settings):
    store = fake_engine.store
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)  # a group leader, not ours
    try:
        job = store.create_job(slug="ok", command="validate", args={}, argv=["x"], cwd="/")
        store.claim(job.id, f"{socket.gethostname()}:1:dead")  # a worker of this host, gone
        store.db.execute("update jobs set pid = ?, pgid = ?, proc_start = ? where id = ?",
                         (bystander.pid, bystander.pid, start_ticks(bystander.pid) - 1, job.id))
        w = Worker(fake_settings, kind="embedded")
        w.start()
        try:
            done = wait_ended(fake_engine, job.id, timeout=10)
        finally:
            w.stop()
        assert done.status == FAILED and done.error.startswith("worker lost")
        assert bystander.poll() is None  # a different process now holds that pid: left alone
    finally:
        bystander.kill()
        bystander.wait()


def test_cancel_reaches_a_grandchild_in_a_session_of_its_own(fake_engine, worker, tmp_path, monkeypatch):
    pidfile = tmp_path / "grandchild.pid"
    monkeypatch.setenv("FAKE_PIDFILE", str(pidfile))
    job = fake_engine.submit("append", "setsid")
    wait_for(lambda: pidfile.exists() and pidfile.read_text(), 20)
    grandchild = int(pidfile.read_text())
    assert os.getsid(grandchild) == grandchild  # it left the CLI's session and group
    fake_engine.cancel(job.id)
    assert wait_ended(fake_engine, job.id, timeout=15).status == "cancelled"
    wait_for(lambda: not pid_alive(grandchild) or _zombie(grandchild), 10)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_corrupt_store_is_one_line_naming_the_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "jobs.db").write_bytes(b"not a database, " * 512)
    (home / "jobs.db").chmod(0o600)
    run = subprocess.run([sys.executable, "-m", "adsdash", "--home", str(home), "jobs"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and str(home / "jobs.db") in run.stderr
    assert "adsdash store check" in run.stderr
    with pytest.raises(sqlite3.DatabaseError):  # and nothing rewrote it
        sqlite3.connect(home / "jobs.db").execute("select * from jobs").fetchall()


def test_wake_ups_only_write_to_fifos(tmp_path):
    from adsdash.tasks.queue import WakeListener, wake_all

    wake = tmp_path / "home" / "wake"
    store = Store(tmp_path / "home" / "jobs.db")
    store.create_job(slug="a", command="validate", args={}, argv=["x"], cwd="/")  # holds a connection
    listener = WakeListener(wake)
    try:
        (wake / "planted.fifo").write_bytes(b"")  # a regular file where a FIFO should be
        (wake / "link.fifo").symlink_to(tmp_path / "home" / "jobs.db")  # ... and a link to the store
        since = listener.generation
        assert wake_all(wake) == 1  # only the real FIFO
        assert listener.wait(since, 5)
        assert (wake / "planted.fifo").read_bytes() == b""
        assert (tmp_path / "home" / "jobs.db-wal").exists() and store.quick_check() == ["ok"]
    finally:
        listener.close()


def test_a_last_line_without_newline_is_kept_when_a_grandchild_holds_the_pipe(fake_engine, worker):
    done = wait_ended(fake_engine, fake_engine.submit("validate", "grandchild-tail").id, timeout=15)
    assert done.status == FINISHED and done.result == "last words"
    assert [line.text for line in fake_engine.store.lines(done.id)] == ["first", "last words"]


def test_retry_of_a_row_with_odd_arguments_is_a_refusal_not_a_crash(fake_engine):
    from adsdash.catalogue import RequestError

    job = fake_engine.store.create_job(slug="ok", command="validate", args={"bogus": "1"}, argv=["x"], cwd="/")
    with pytest.raises(RequestError, match="does not take --bogus"):
        fake_engine.retry(job.id)
    assert len(fake_engine.store.jobs()) == 1  # nothing queued


def test_a_symlink_in_place_of_the_store_is_refused_not_followed(tmp_path):
    from adsdash.store import StoreError

    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (tmp_path / "elsewhere.db").write_bytes(b"")
    (home / "jobs.db").symlink_to(tmp_path / "elsewhere.db")
    with pytest.raises(StoreError, match="not a regular file"):
        Store(home / "jobs.db")
    assert (tmp_path / "elsewhere.db").read_bytes() == b""


ADOPTER = textwrap.dedent("""
    import json, os, sys
    from adsdash.store import Store
    store, taken = Store(sys.argv[1]), []
    while True:  # until the test says it stored the last job, and then nothing is left
        done = os.path.exists(sys.argv[2])
        got = store.adopt()
        taken += got
        if done and not got:
            break
    print(json.dumps(taken))
""")


def test_each_stored_job_is_adopted_by_exactly_one_worker_process(tmp_path):
    """Three processes adopt while jobs are stored (some cancelled at once, adopted or not): every
    job is handed over at most once, every one still waiting is handed over, nothing is left."""
    path, done = tmp_path / "jobs.db", tmp_path / "done"
    store = Store(path)
    adopters = [subprocess.Popen([sys.executable, "-c", ADOPTER, str(path), str(done)], stdout=subprocess.PIPE,
                                 text=True) for _ in range(3)]
    made = []
    for i in range(300):
        job = store.create_job(slug=f"c{i % 7}", command="validate", args={}, argv=["x"], cwd="/")
        made.append(job.id)
        if i % 50 == 0:
            store.request_cancel(job.id)  # may be adopted first or not: either way it never runs
    done.touch()
    taken = [job_id for proc in adopters for job_id in json.loads(proc.communicate(timeout=60)[0])]
    cancelled = {job.id for job in store.jobs(status="cancelled", limit=None)}
    assert len(taken) == len(set(taken))  # no job handed over twice
    assert set(made) - cancelled <= set(taken)  # every job that waits was handed over
    assert store.adopt() == []
