"""The job engine end to end: real store, real Huey consumer, real subprocesses."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import FAKE_CLI, wait_ended, wait_for

from adsdash.catalogue import RequestError
from adsdash.engine import AlreadyQueued
from adsdash.processes import pid_alive
from adsdash.store import CANCELLED, FAILED, FINISHED, QUEUED, STARTED
from adsdash.tasks.worker import Worker


def test_validate_runs_and_records_everything(fake_engine, worker):
    job = fake_engine.submit("validate", "ok")
    assert job.status == QUEUED and job.argv[-2:] == ["validate", "ok"]
    done = wait_ended(fake_engine, job.id)
    assert done.status == FINISHED and done.exit_code == 0
    assert done.result == "Validation complete for 'ok'"
    assert done.queued_at <= done.started_at <= done.finished_at
    assert done.worker == worker.id and done.pid and done.requested_by
    lines = fake_engine.store.lines(job.id)
    assert [line.seq for line in lines] == [1, 2] and lines[1].text.endswith("Validation complete for 'ok'")
    assert done.line_count == 2


@pytest.mark.parametrize(
    ("slug", "exit_code", "error"),
    [
        ("fail", 1, "exit code 1: Command failed: something broke"),
        ("segv", -signal.SIGSEGV, "killed by SIGSEGV"),
        ("stderr-only", 3, "exit code 3: fatal: disk full"),
    ],
)
def test_failures_carry_a_readable_reason(fake_engine, worker, slug, exit_code, error):
    done = wait_ended(fake_engine, fake_engine.submit("append", slug).id)
    assert (done.status, done.exit_code, done.error) == (FAILED, exit_code, error)


def _engine_with_cli(fake_settings, tmp_path, cli_command: str):
    from adsdash.config import load_settings
    from adsdash.engine import Engine

    return Engine(load_settings({"ads_sync_path": str(fake_settings.ads_sync_path), "home": str(fake_settings.home),
                                 "cli_command": cli_command}, config_file=tmp_path / "absent.toml", environ={}))


CHECK = " (check ADS_SYNC_CLI_COMMAND)"


def _script(path, mode: int = 0o755):
    """fake_cli.py as a program of its own, so deleting it removes the command's first word."""
    path.write_text(f"#!{sys.executable}\n" + FAKE_CLI.read_text())
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp, ads: str(tmp / "no-such-cli"), "the ads_sync command '{tmp}/no-such-cli' does not exist" + CHECK),
        (lambda tmp, ads: str(_script(tmp / "cli.py", 0o644)),
         "the ads_sync command '{tmp}/cli.py' is not an executable file"),
        (lambda tmp, ads: str(tmp), "the ads_sync command '{tmp}' is not an executable file"),
        # A relative path is found from the ads_sync folder, where the CLI runs, not from here.
        (lambda tmp, ads: "./cli.py", "the ads_sync command '{ads}/./cli.py' does not exist" + CHECK),
        (lambda tmp, ads: "adsdash-no-such-program --x",
         "the ads_sync command 'adsdash-no-such-program' is not an executable found on PATH"),
    ],
    ids=["missing", "not-executable", "directory", "relative-to-ads-sync", "not-on-path"],
)
def test_a_cli_that_cannot_start_is_refused_at_submit(fake_engine, fake_settings, tmp_path, make, message):
    ads = fake_settings.ads_sync_path.resolve()
    fake_engine.submit("validate", "ok")  # a job in the same store, so the count below is not 0 == 0
    engine = _engine_with_cli(fake_settings, tmp_path, make(tmp_path, ads))
    before = len(engine.store.jobs())
    expected = message.format(tmp=tmp_path, ads=ads)
    with pytest.raises(RequestError) as refused:
        engine.submit("validate", "ok")
    assert str(refused.value) == expected
    assert len(engine.store.jobs()) == before == 1  # nothing queued
    assert engine.health()["checks"]["cli"] == {"ok": False, "detail": str(refused.value)}


def test_a_cli_found_from_the_ads_sync_folder_or_path_is_taken(fake_settings, tmp_path, monkeypatch):
    ads = fake_settings.ads_sync_path.resolve()
    script = _script(ads / "cli.py")
    assert _engine_with_cli(fake_settings, tmp_path, "./cli.py").build("validate", "ok")[1][0] == "./cli.py"
    monkeypatch.setenv("PATH", f"{tmp_path / 'nothing'}{os.pathsep}{ads}")
    engine = _engine_with_cli(fake_settings, tmp_path, "cli.py")
    assert engine.build("validate", "ok")[1][:3] == ["cli.py", "validate", "ok"]
    assert engine.health()["checks"]["cli"] == {"ok": True, "detail": str(script)}


def test_cli_that_vanishes_before_the_run_fails_cleanly(fake_settings, tmp_path):
    script = _script(tmp_path / "cli.py")
    engine = _engine_with_cli(fake_settings, tmp_path, str(script))
    job = engine.submit("validate", "ok")  # accepted: the script is there now
    script.unlink()
    w = Worker(engine.settings, kind="embedded")
    w.start()  # only now can the job run
    try:
        done = wait_ended(engine, job.id)
    finally:
        w.stop()
    # The worker checks the command again before it runs it: a plain refusal, nothing started.
    assert (done.status, done.exit_code, done.pid) == (FAILED, None, None)
    assert engine.store.lines(job.id) == []
    assert done.error == f"refused by the worker: the ads_sync command {str(script)!r} does not exist{CHECK}"


@pytest.mark.parametrize(
    ("command", "slug", "params", "message"),
    [
        ("validate", "nobody", {}, "unknown client"),
        ("validate", "../etc", {}, "not a safe name"),
        ("validate", "-rf", {}, "not a safe name"),
        ("explode", "ok", {}, "unknown command"),
        ("repair", "ok", {}, "--start"),
        ("repair", "ok", {"start": "2025-02-30", "end": "2025-03-01"}, "not a real"),
        ("repair", "ok", {"start": "2025-03-05", "end": "2025-03-01"}, "after end"),
        ("repair", "ok", {"start": "2025-03-05", "end": "2999-03-01"}, "after today"),
        ("validate", "ok", {"start": "2025-03-05"}, "does not take"),
        ("report", "ok", {"scope": "2025-Q5"}, "quarter"),
        ("report", "ok", {"scope": "2025-13..2025-14"}, "month"),
        ("report", "ok", {"scope": "2025-03..2025-01"}, "2025-03"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_queued(fake_engine, command, slug, params, message):
    with pytest.raises(RequestError, match=message):
        fake_engine.submit(command, slug, **params)
    assert fake_engine.store.jobs() == []


def test_once_refuses_a_second_job_of_the_same_command_and_records_the_origin(fake_engine):
    first = fake_engine.submit("validate", "ok", origin="schedule morning")
    with pytest.raises(AlreadyQueued, match=f"validate is already queued for ok \\(job {first.id}\\)"):
        fake_engine.submit("validate", "ok", once=True)
    other = fake_engine.submit("append", "ok", once=True)  # another command is not a duplicate
    again = fake_engine.submit("validate", "ok")  # without `once`, a person may queue it twice
    assert [j.id for j in fake_engine.store.jobs()] == [again.id, other.id, first.id]
    assert fake_engine.store.job(first.id).origin == "schedule morning"
    assert fake_engine.store.job(first.id).asked.endswith(" via schedule morning")
    fake_engine.cancel(first.id)
    fake_engine.cancel(again.id)
    assert fake_engine.submit("validate", "ok", once=True).id > again.id  # none active: queued


def test_cancel_a_queued_job_never_starts_it(fake_engine, fake_settings):
    job = fake_engine.submit("validate", "ok")  # no worker yet
    cancelled = fake_engine.cancel(job.id)
    assert cancelled.status == CANCELLED
    w = Worker(fake_settings, kind="embedded")
    w.start()
    try:
        probe = wait_ended(fake_engine, fake_engine.submit("validate", "ok-2").id)
    finally:
        w.stop()
    assert probe.status == FINISHED
    again = fake_engine.store.job(job.id)
    assert again.status == CANCELLED and again.started_at is None and fake_engine.store.lines(job.id) == []


@pytest.mark.parametrize("slug", ["slow", "ignore-term"])
def test_cancel_a_running_job_kills_its_process_group(fake_engine, worker, slug):
    job = fake_engine.submit("append", slug)
    running = wait_for(lambda: (j := fake_engine.store.job(job.id)).status == STARTED and j.line_count and j)
    fake_engine.cancel(job.id)
    done = wait_ended(fake_engine, job.id, timeout=15)
    assert done.status == CANCELLED
    expected = -signal.SIGKILL if slug == "ignore-term" else -signal.SIGINT
    assert done.exit_code == expected
    assert not pid_alive(running.pid)


def test_grandchild_holding_the_pipe_does_not_hang_the_job(fake_engine, worker):
    done = wait_ended(fake_engine, fake_engine.submit("validate", "grandchild").id, timeout=10)
    assert done.status == FINISHED
    assert fake_engine.store.lines(done.id)[-1].text.endswith("started a grandchild; exiting")


def test_two_jobs_for_one_client_never_overlap(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_SECONDS", "1")
    ids = [fake_engine.submit("append", "slow").id for _ in range(3)]
    other = fake_engine.submit("validate", "ok").id
    ended = [wait_ended(fake_engine, i, timeout=30) for i in ids]
    assert all(j.status == FINISHED for j in ended)
    spans = sorted((j.started_at, j.finished_at) for j in ended)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, spans
    assert [j.id for j in sorted(ended, key=lambda j: j.started_at)] == ids  # in queue order
    # another client's job did not wait behind them
    assert fake_engine.store.job(other).finished_at < ended[0].finished_at


def test_200k_lines_stored_whole_and_in_order(fake_engine, worker):
    done = wait_ended(fake_engine, fake_engine.submit("validate", "flood").id, timeout=60)
    assert done.status == FINISHED and done.line_count == 200_000
    seq, count = 0, 0
    while batch := fake_engine.store.lines(done.id, after=seq, limit=50_000):
        for line in batch:
            count += 1
            assert line.seq == count and line.text == f"line {count}"
        seq = batch[-1].seq
    assert count == 200_000


def test_dirty_output_is_stored_without_loss(fake_engine, worker):
    done = wait_ended(fake_engine, fake_engine.submit("validate", "dirty").id)
    lines = fake_engine.store.lines(done.id)
    texts = [(line.stream, line.text) for line in lines]
    assert ("stdout", "[bold red]markup[/] and [/] and [link=x]y[/link]") in texts
    assert ("stdout", "\x1b]0;pwned\x07title \x1b[2Jclear \x1b[31mred\x1b[0m") in texts
    assert ("stdout", "nul\x00byte") in texts
    assert ("stdout", b"bad utf8 \xff\xfe end") in texts
    assert ("stdout", "no newline at end") in texts
    assert ("stderr", "err line") in texts


def test_wake_up_starts_a_job_without_polling(fake_engine, fake_settings):
    # The poll bound is far beyond the test's patience before any consumer thread waits on it,
    # and every one of them is waiting before the submit: only the wake-up can start the job.
    w = Worker(fake_settings, kind="embedded")
    w.huey.storage.wait_seconds = 3600
    w.start()
    try:
        # (counted by the listener: walking the threads' stacks with sys._current_frames() once
        # deadlocked this test against a thread taking the GIL back from SQLite)
        wait_for(lambda: w.huey.storage.listener.waiting == w.concurrency, timeout=10)
        job = fake_engine.submit("validate", "ok")
        done = wait_ended(fake_engine, job.id, timeout=5)
    finally:
        w.stop()
    assert done.status == FINISHED


def _standalone_worker(settings) -> subprocess.Popen:
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"),
               ADSDASH_CANCEL_GRACE="0.5")
    return subprocess.Popen([sys.executable, "-m", "adsdash", "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_worker_killed_mid_job_is_recovered_by_the_next(fake_engine, fake_settings):
    proc = _standalone_worker(fake_settings)
    try:
        wait_for(fake_engine.store.live_workers, timeout=20)
        job = fake_engine.submit("append", "slow")
        running = wait_for(lambda: (j := fake_engine.store.job(job.id)).status == STARTED and j.pid and j)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert pid_alive(running.pid)  # the orphaned CLI outlives its worker...
    w = Worker(fake_settings, kind="embedded")
    w.start()  # ...until the next worker starts and recovers
    try:
        done = wait_ended(fake_engine, job.id, timeout=30)
        assert done.status == FAILED and done.error.startswith("worker lost")
        wait_for(lambda: not pid_alive(running.pid), timeout=5)
        # and the new worker serves the client again
        assert wait_ended(fake_engine, fake_engine.submit("validate", "ok").id).status == FINISHED
    finally:
        w.stop()


def test_standalone_worker_stops_cleanly_on_sigterm(fake_engine, fake_settings):
    proc = _standalone_worker(fake_settings)
    wait_for(fake_engine.store.live_workers, timeout=20)
    job = fake_engine.submit("append", "slow")
    wait_for(lambda: fake_engine.store.job(job.id).status == STARTED)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    assert fake_engine.store.job(job.id).status == CANCELLED
    assert fake_engine.store.live_workers() == []


def test_engine_keeps_the_parse_cache_in_its_cache_folder(fake_settings):
    from adsdash.engine import Engine

    time.sleep(0.25)  # files younger than the file system's timestamp tick are not kept
    first = Engine(fake_settings).workspace.clients()
    cache = fake_settings.home / "cache" / "workspace-cache.json"  # an explicit home keeps it inside
    assert cache.is_file() and (cache.stat().st_mode & 0o777) == 0o600
    assert Engine(fake_settings).workspace.clients() == first
