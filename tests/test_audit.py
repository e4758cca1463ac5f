"""The audit: every action that changes something is one append-only row, with who, from where,
through what, what and the outcome. A real store, a real worker (a Huey consumer in this
process running the fake or the sandbox CLI), the command line as a real process."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from datetime import timedelta

import pytest
from conftest import Clock, configured, run_adsdash, sandbox_slug, until, wait_ended, wait_for

from adsdash import audit
from adsdash.app import AdsdashApp
from adsdash.catalogue import RequestError
from adsdash.engine import Engine
from adsdash.records import this_host
from adsdash.store import CANCELLED, FINISHED, STARTED

SSH = "10.1.2.3 52144 22"


@pytest.fixture
def ana(monkeypatch):
    """The requester: user ana, over SSH from 10.1.2.3."""
    monkeypatch.setenv("LOGNAME", "ana")
    monkeypatch.setenv("SSH_CLIENT", SSH)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)


def rows(engine) -> list[audit.Entry]:
    return audit.read(engine.store, limit=None)


def one_new(engine, before: int) -> audit.Entry:
    """The one row an action added (exactly one)."""
    found = rows(engine)
    assert len(found) == before + 1, found[: len(found) - before]
    return found[0]


def test_queue_cancel_and_retry_each_write_one_row_with_user_address_and_origin(fake_engine, worker, ana,
                                                                                monkeypatch):
    monkeypatch.setenv("FAKE_SECONDS", "30")
    slow = fake_engine.submit("validate", "slow", origin="app")
    row = one_new(fake_engine, 0)
    assert (row.action, row.target, row.slug, row.job_id, row.outcome) == ("queue", "validate slow", "slow", slow.id,
                                                                           "ok")
    assert (row.user, row.address, row.origin) == ("ana", "10.1.2.3", "app")
    assert row.who == "ana from 10.1.2.3 via app"

    with pytest.raises(RequestError):
        fake_engine.submit("validate", "no-such-client")
    row = one_new(fake_engine, 1)
    assert (row.action, row.outcome, row.origin, row.user) == ("queue", "refused", "shell", "ana")
    assert "unknown client 'no-such-client'" in row.reason

    wait_for(lambda: fake_engine.store.job(slow.id).status == STARTED)
    fake_engine.cancel(slow.id, origin="app")
    row = one_new(fake_engine, 2)
    assert (row.action, row.target, row.job_id, row.outcome, row.origin) == (
        "cancel", f"job {slow.id} (validate slow)", slow.id, "ok", "app")
    assert wait_ended(fake_engine, slow.id).status == CANCELLED
    fake_engine.cancel(slow.id)  # ended already: nothing to do, and said so
    row = one_new(fake_engine, 3)
    assert (row.action, row.outcome, row.reason) == ("cancel", "refused", "already cancelled")

    again = fake_engine.retry(slow.id, origin="app")
    row = one_new(fake_engine, 4)  # one row: the retry, not a retry and a queue
    assert (row.action, row.job_id, row.detail, row.outcome, row.origin) == (
        "retry", slow.id, {"new_job": again.id}, "ok", "app")
    fake_engine.cancel(again.id)
    one_new(fake_engine, 5)


def test_a_sweep_writes_one_row_per_client_in_one_more_transaction(fake_engine, ana):
    slugs = ["ok", "ok-2", "no-such-client"]
    fake_engine.submit("validate", "ok")
    before = len(rows(fake_engine))
    fake_engine.submit_many("validate", slugs, origin="schedule nightly", once=True)
    found = rows(fake_engine)[: len(slugs)]
    assert len(rows(fake_engine)) == before + len(slugs)
    by_slug = {row.slug: row for row in found}
    assert by_slug["ok"].outcome == "refused" and "already queued" in by_slug["ok"].reason
    assert by_slug["ok-2"].outcome == "ok" and by_slug["no-such-client"].outcome == "refused"
    assert {row.origin for row in found} == {"schedule nightly"} and {row.user for row in found} == {"ana"}
    assert len({row.at for row in found}) == 1  # written together


def test_the_audit_is_append_only_in_sqlite_itself(fake_engine):
    fake_engine.submit("validate", "ok")
    with sqlite3.connect(fake_engine.settings.store_path) as conn:  # anyone with the file, not just adsdash
        for sql in ("update audit set user = 'mallory'", "delete from audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
        assert conn.execute("select user from audit").fetchall() != [("mallory",)]
        conn.execute("insert into audit (at, action, target, outcome) values ('t', 'queue', 'x', 'ok')")  # appends


def test_a_failing_audit_write_never_stops_a_job(fake_engine, worker, caplog):
    with sqlite3.connect(fake_engine.settings.store_path) as conn:  # every audit insert now fails
        conn.execute("create trigger audit_broken before insert on audit begin select raise(abort, 'broken'); end")
    with caplog.at_level(logging.ERROR, logger="adsdash.audit"):
        job = fake_engine.submit("validate", "ok")
        assert wait_ended(fake_engine, job.id).status == FINISHED
    assert "audit: cannot record 1 row(s) (queue validate ok ...): broken" in caplog.text
    assert rows(fake_engine) == []


def test_force_unlock_records_the_lock_pid_host_and_age_as_the_worker_starts_it(sandbox, ana):
    settings, engine = sandbox
    slug = sandbox_slug("stale_lock")
    lock = settings.ads_sync_path / "locks" / f"{slug}.lock"
    pid, stamp = 4_194_305, time.time() - 3 * 3600  # a pid above any pid_max: stale
    lock.write_text(f"pid: {pid}\ntimestamp: {stamp}\n")
    job = engine.submit("force-unlock", slug, origin="app")
    assert wait_ended(engine, job.id).status == FINISHED and not lock.exists()
    unlock, queued = rows(engine)[:2]
    assert (queued.action, queued.job_id) == ("queue", job.id)
    assert (unlock.action, unlock.slug, unlock.job_id, unlock.outcome) == ("force-unlock", slug, job.id, "ok")
    assert (unlock.user, unlock.address, unlock.origin) == ("ana", "10.1.2.3", "app")  # the requester's
    assert unlock.detail["lock"] == "stale" and unlock.detail["pid"] == pid and unlock.detail["host"] == this_host()
    assert 3 * 3600 <= unlock.detail["age_seconds"] < 3 * 3600 + 60


SCHEDULE = '[[schedule]]\nname = "morning"\ncommand = "validate"\nat = "05:30"\n'


def test_schedule_pause_resume_and_its_runs_are_audited_with_their_origin(tmp_path, zoned_ads, ana):
    from datetime import UTC, datetime

    from adsdash.tasks.worker import Worker

    settings = configured(tmp_path, zoned_ads, SCHEDULE)
    env = {"ADSDASH_CONFIG": str(settings.config_file), "LOGNAME": "bob"}
    engine = Engine(settings)
    run_adsdash(settings, "schedules", "pause", "morning", extra_env=env)
    row = one_new(engine, 0)
    assert (row.action, row.target, row.user, row.origin, row.outcome) == (
        "pause", "schedule morning", "bob", "shell", "ok")
    run_adsdash(settings, "schedules", "resume", extra_env=env)  # all: one row for the action
    row = one_new(engine, 1)
    assert (row.action, row.detail) == ("resume", {"schedules": ["morning"]})
    run_adsdash(settings, "schedules", "pause", "nope", extra_env=env, check=2)
    row = one_new(engine, 2)
    assert row.outcome == "refused" and "no usable schedule named 'nope'" in row.reason

    clock = Clock(datetime(2026, 3, 2, 10, 30, 20, tzinfo=UTC))  # 05:30 in New York: its clients are due
    worker = Worker(settings, kind="embedded", clock=clock)
    worker.start()
    try:
        wait_for(lambda: len(rows(engine)) > 3)
        queued = [r for r in rows(engine) if r.origin == "schedule morning"]
        assert queued and {r.action for r in queued} == {"queue"} and {r.user for r in queued} == {"ana"}
        assert len(queued) == len({j.id for j in engine.store.jobs(limit=None) if j.origin == "schedule morning"})
    finally:
        worker.stop()


def test_adsdash_audit_filters_by_since_and_user_and_refuses_a_bad_since(fake_settings, monkeypatch):
    monkeypatch.setenv("LOGNAME", "ana")
    monkeypatch.delenv("SSH_CLIENT", raising=False)
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    from adsdash.records import system_clock

    old = Engine(fake_settings, clock=Clock(system_clock() - timedelta(days=3)))
    old.submit("validate", "ok")
    monkeypatch.setenv("LOGNAME", "bob")
    Engine(fake_settings).submit("validate", "ok-2")

    every = json.loads(run_adsdash(fake_settings, "audit", "--json").stdout)
    assert [(r["user"], r["slug"]) for r in every] == [("bob", "ok-2"), ("ana", "ok")]  # newest first
    recent = json.loads(run_adsdash(fake_settings, "audit", "--since", "24h", "--json").stdout)
    assert [r["user"] for r in recent] == ["bob"]
    assert [r["user"] for r in json.loads(run_adsdash(fake_settings, "audit", "--user", "ana", "--json").stdout)] \
        == ["ana"]
    text = run_adsdash(fake_settings, "audit", "--since", "7d").stdout.decode()
    assert "bob via shell" in text and "validate ok-2" in text
    proc = run_adsdash(fake_settings, "audit", "--since", "yesterday", check=2)
    assert proc.stderr.decode().count("\n") == 1 and "--since: expected a duration like 24h" in proc.stderr.decode()


async def test_the_audit_screen_lists_rows_newest_first_and_filters_them(live_sandbox_settings, sandbox_worker,
                                                                       ana):
    engine = Engine(live_sandbox_settings)
    fresh = sandbox_slug("fresh")
    engine.submit("validate", fresh, origin="app")
    with pytest.raises(RequestError):
        engine.submit("validate", "[bold]no-such[/bold]")  # outside text: shown as it is, never as markup
    app = AdsdashApp(engine)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("A")
        from adsdash.screens.audit import AuditScreen

        screen = await until(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen, 10, "the audit screen")
        await until(pilot, lambda: screen.table.row_count == 2, 10, "two rows")
        first = [str(c) for c in screen.table.get_row_at(0)]
        assert first[1:5] == ["ana", "10.1.2.3", "shell", "queue"] and "[bold]no-such[/bold]" in first[5]
        assert first[6].startswith("refused: ")
        assert [str(c) for c in screen.table.get_row_at(1)][3:6] == ["app", "queue", f"validate {fresh}"]
        await pilot.press("slash", *fresh[:6])
        await until(pilot, lambda: screen.table.row_count == 1, 10, "the filter")
        assert [str(c) for c in screen.table.get_row_at(0)][5] == f"validate {fresh}"
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: screen.table.row_count == 2, 10, "the filter cleared")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, AuditScreen), 10, "back")
