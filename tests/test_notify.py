"""Notifications with a real worker: the sandbox CLI fails a client (its config says so), the
worker's notifier sees it and Apprise delivers to a real webhook on 127.0.0.1 (json://).

Escalation, as chosen: each failed job of a client is a message until its
`notify_escalate_after`-th in a row, which goes out as one escalation; the later ones of the
streak are recorded but not sent, until a job of the client finishes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from conftest import SANDBOX_CLI, closed_port, make_settings, run_adsdash, sandbox_slug, wait_ended, wait_for

from adsdash import notify_store
from adsdash.engine import Engine
from adsdash.notify_url import url_key
from adsdash.schedule_ledger import MISSED, Ledger, Run
from adsdash.tasks.worker import Worker

FAILING = sandbox_slug("failing")  # its config: sandbox: {fail: [append]}, and an error file with a window


def notify_settings(tmp_path, ads, urls, **flags):
    flags.setdefault("notify_events", "failed,escalated")
    flags.setdefault("workers", 2)
    return make_settings(tmp_path, ads, SANDBOX_CLI, notify_urls=urls, **flags)


@pytest.fixture(autouse=True)
def instant_jobs(monkeypatch):
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")


@pytest.fixture
def workers():
    """start(settings) -> a real worker whose notifier has taken its first look (from then on
    every failure is news); every one is stopped after the test."""
    started: list[Worker] = []

    def start(settings) -> Worker:
        worker = Worker(settings, kind="embedded")
        worker.start()
        started.append(worker)
        if settings.notify_urls:
            wait_for(lambda: worker.notifier.ticks >= 1, 30)
        return worker

    yield start
    for worker in started:
        worker.stop()


def fail_also(ads, slug: str) -> None:
    """Make another sandbox client's append fail, as the failing one's does."""
    config = ads / "configs" / "clients" / f"{slug}.yaml"
    config.write_text(config.read_text() + "sandbox:\n  fail: [append]\n")


def events_of(engine, job_id: int):
    return [e for e, *_ in notify_store.recent(engine.store, 500) if e.job_id == job_id]


def test_a_failed_job_sends_one_message_with_its_repair_command(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url)
    workers(settings)
    engine = Engine(settings)
    job = wait_ended(engine, engine.submit("append", FAILING).id)
    assert job.status == "failed"
    post = receiver.wait(1)[0]
    error = engine.workspace.client(FAILING).newest_error
    assert error.start_date and error.end_date  # the error file the run wrote names its window
    assert post["title"] == f"adsdash: append {FAILING} failed"
    assert f"adsdash run repair {FAILING} --start {error.start_date} --end {error.end_date}" in post["message"]
    assert f"adsdash logs {job.id}" in post["message"]
    assert job.error.splitlines()[0] in post["message"]
    assert post["type"] == "failure"
    time.sleep(2)  # more looks: still one
    assert len(receiver.posts) == 1
    metrics = run_adsdash(settings, "metrics").stdout.decode().splitlines()
    assert "adsdash_notifications_sent_total 1" in metrics and "adsdash_notifications_failed_total 0" in metrics


def test_a_streak_of_failures_escalates_once_and_a_success_ends_it(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url, notify_escalate_after=3)
    workers(settings)
    engine = Engine(settings)
    jobs = []
    for expected in (1, 2, 3, 3, 3):  # the 4th and 5th are part of an escalated streak: recorded, not sent
        jobs.append(wait_ended(engine, engine.submit("append", FAILING).id))
        wait_for(lambda job=jobs[-1]: events_of(engine, job.id))
        receiver.wait(expected)
    time.sleep(1.5)
    titles = [post["title"] for post in receiver.posts]
    assert titles == [f"adsdash: append {FAILING} failed"] * 2 + [f"adsdash: {FAILING} failed 3 times in a row"]
    escalation = receiver.posts[2]["message"]
    assert "3 jobs in a row" in escalation and f"adsdash logs {jobs[2].id}" in escalation
    assert [e.muted for j in jobs[3:] for e in events_of(engine, j.id)] == [notify_store.ESCALATED_BEFORE] * 2
    assert wait_ended(engine, engine.submit("validate", FAILING).id).status == "finished"  # the streak ends
    wait_ended(engine, engine.submit("append", FAILING).id)
    assert receiver.wait(4)[3]["title"] == f"adsdash: append {FAILING} failed"


def test_a_digest_window_sends_the_events_within_it_as_one_message(tmp_path, ads_dir, receiver, workers):
    other = sandbox_slug("late")
    fail_also(ads_dir, other)
    settings = notify_settings(tmp_path, ads_dir, receiver.url, notify_digest_seconds=3)
    workers(settings)
    engine = Engine(settings)
    ended = [wait_ended(engine, job.id) for job in [engine.submit("append", slug) for slug in (FAILING, other)]]
    assert [job.status for job in ended] == ["failed", "failed"]
    post = receiver.wait(1)[0]
    assert post["title"] == "adsdash: 2 alerts"
    for job in ended:
        assert f"append {job.slug} failed" in post["message"] and f"adsdash logs {job.id}" in post["message"]
    time.sleep(2)
    assert len(receiver.posts) == 1


def test_a_snoozed_client_sends_nothing_and_its_events_are_kept(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url)
    workers(settings)
    engine = Engine(settings)
    proc = run_adsdash(settings, "--json", "snooze", FAILING, "--hours", "2", "--reason", "card expired")
    assert json.loads(proc.stdout)["until"]
    job = wait_ended(engine, engine.submit("append", FAILING).id)
    assert [e.muted for e in wait_for(lambda: events_of(engine, job.id))] == [notify_store.SNOOZED]
    time.sleep(2)
    assert receiver.posts == []
    listed = json.loads(run_adsdash(settings, "--json", "snoozes").stdout)
    assert [(s["slug"], s["reason"]) for s in listed] == [(FAILING, "card expired")]
    audit = json.loads(run_adsdash(settings, "--json", "audit", "--action", "snooze").stdout)
    assert [(row["slug"], row["origin"], row["outcome"]) for row in audit] == [(FAILING, "shell", "ok")]
    run_adsdash(settings, "snooze", FAILING, "--clear")
    job = wait_ended(engine, engine.submit("append", FAILING).id)
    assert f"adsdash logs {job.id}" in receiver.wait(1)[0]["message"]


def test_an_unreachable_url_neither_fails_nor_delays_a_job_and_shows_in_health(tmp_path, ads_dir, blackhole, workers):
    fresh = sandbox_slug("fresh")
    quiet = notify_settings(tmp_path / "quiet", ads_dir, (), workers=1)  # one job at a time: the next waits
    workers(quiet)
    engine = Engine(quiet)

    def timed(engine, command, slug):
        start = time.monotonic()
        job = wait_ended(engine, engine.submit(command, slug).id)
        return job, time.monotonic() - start

    _, plain = timed(engine, "validate", fresh)
    secret = "hunter2-token"
    refused = f"json://ops:{secret}@127.0.0.1:{closed_port()}/{secret}"
    hanging = f"json://127.0.0.1:{blackhole}/hook"
    settings = notify_settings(tmp_path / "loud", ads_dir, (refused, hanging), notify_timeout_seconds=4, workers=1)
    workers(settings)
    engine = Engine(settings)
    failed, _ = timed(engine, "append", FAILING)  # its alert goes to both: one refused, one hanging 4 s
    assert failed.status == "failed" and failed.error and "notif" not in failed.error
    job, took = timed(engine, "validate", fresh)  # while the hanging send waits
    assert job.status == "finished"
    assert took < plain + 2.0, (took, plain)  # generous: a send never waits in a job's path
    keys = [url_key(url) for url in settings.notify_urls]
    wait_for(lambda: len(notify_store.failing(engine.store, keys)) == 2, 20)
    proc = run_adsdash(settings, "--json", "health", check=1, extra_env={"ADSDASH_NOTIFY_URLS": " ".join(
        settings.notify_urls)})
    assert secret not in proc.stdout.decode()
    check = json.loads(proc.stdout)["checks"]["notify"]
    assert not check["ok"] and f"127.0.0.1:{blackhole}/****" in json.dumps(check)
    assert all(url["failing_since"] for url in check["urls"])
    text = run_adsdash(settings, "health", check=1, extra_env={"ADSDASH_NOTIFY_URLS": " ".join(
        settings.notify_urls)}).stdout.decode()
    assert "failing since" in text and secret not in text


def test_a_client_that_goes_stale_or_unreadable_alerts_once_per_streak(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url, notify_events="stale,unreadable,fresh")
    worker = workers(settings)  # its first look at the folder: every client stale or unreadable now
    engine = Engine(settings)
    clients = engine.workspace.clients()
    stale = sorted(c.slug for c in clients if c.freshness.kind.value == "stale")
    broken = sorted(c.slug for c in clients if c.freshness.kind.value == "error")
    assert stale and broken
    posts = receiver.wait(len(stale) + len(broken))
    assert sorted(p["title"] for p in posts) == sorted([f"adsdash: {s} is stale" for s in stale]
                                                       + [f"adsdash: {s} cannot be read" for s in broken])
    assert worker.notifier.observer.freshness() == []  # the notifier's next look: nothing new
    run_adsdash(settings, "snooze", stale[0], "--until-fresh")
    job = wait_ended(engine, engine.submit("append", stale[0]).id)  # it catches up: the streak ends
    assert job.status == "finished"
    post = receiver.wait(len(posts) + 1)[-1]
    assert post["title"] == f"adsdash: {stale[0]} is fresh again" and post["type"] == "success"
    assert notify_store.snoozes(engine.store, engine.clock()) == {}  # fresh: its snooze ended
    time.sleep(1.5)
    assert len(receiver.posts) == len(posts) + 1


def test_missed_scheduled_runs_are_one_message_per_schedule_and_tick(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url, notify_events="missed")
    workers(settings)
    engine = Engine(settings)
    now = datetime.now(UTC)
    runs = [Run("morning", slug, f"2026-01-0{day}T11:30:00+00:00", MISSED, reason="not queued at its time")
            for slug in (FAILING, "metro-electric-inc") for day in (1, 2)]
    Ledger(engine.store).record(runs, worker="test", now=now)  # as the scheduler records them
    post = receiver.wait(1)[0]
    assert post["title"] == "adsdash: schedule morning missed runs"
    assert f"4 run(s) for 2 client(s): {FAILING}, metro-electric-inc" in post["message"]
    time.sleep(1.5)
    assert len(receiver.posts) == 1


def test_a_broken_notifications_table_never_reaches_a_job(tmp_path, ads_dir, receiver, workers):
    settings = notify_settings(tmp_path, ads_dir, receiver.url)
    worker = workers(settings)
    engine = Engine(settings)
    engine.store._conn().execute("drop table notify_deliveries")  # every record and send fails from now on
    failed = wait_ended(engine, engine.submit("append", FAILING).id)
    assert failed.status == "failed" and failed.exit_code == 1  # the CLI's outcome, nothing of ours
    assert wait_ended(engine, engine.submit("validate", FAILING).id).status == "finished"
    ticks = worker.notifier.ticks
    wait_for(lambda: worker.notifier.ticks >= ticks + 2, 10)  # the notifier looks on, saying why it cannot
    assert receiver.posts == []
