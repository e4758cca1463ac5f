"""Reports checked against the data, chains (a job waits for another), and the watermarks'
history (issue 11), with a real worker running the sandbox CLI, on a sandbox made for today (the
command line reads the real clock)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from conftest import run_adsdash, running_worker, sandbox_slug, wait_ended, wait_for

from adsdash.catalogue import RequestError
from adsdash.engine import Engine
from adsdash.report_check import ReportLacksData


def watermark_of(engine: Engine, slug: str) -> date:
    client = engine.workspace.client(slug)
    assert client is not None and client.watermarks["google_ads"] is not None
    return client.watermarks["google_ads"]


def test_a_report_past_the_watermark_says_which_days_and_waits_for_an_append(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    slug = sandbox_slug("stale")  # its watermark is days behind, and its append works
    watermark = watermark_of(engine, slug)
    yesterday = engine.client_today(slug) - timedelta(days=1)
    refused = run_adsdash(live_sandbox_settings, "report", slug, "--scope", "LAST-7-DAYS", check=2).stderr.decode()
    lacking_from = max(watermark + timedelta(days=1), yesterday - timedelta(days=6))
    assert f"after the watermark {watermark}" in refused and f"{lacking_from}..{yesterday}" in refused
    assert "--append-first" in refused and engine.store.jobs() == []  # nothing queued
    queued = json.loads(run_adsdash(live_sandbox_settings, "--json", "report", slug, "--scope", "LAST-7-DAYS",
                                    "--append-first").stdout)
    report, append = engine.store.job(queued["job_id"]), engine.store.job(queued["after"])
    assert (append.command, append.slug, report.after) == ("append", slug, append.id)
    listed = run_adsdash(live_sandbox_settings, "jobs").stdout.decode()
    assert f"waits for job {append.id}" in listed  # shown as waiting
    for _ in running_worker(live_sandbox_settings):
        report = wait_ended(engine, report.id)
    append = engine.store.job(append.id)
    assert (append.status, report.status) == ("finished", "finished")
    assert append.finished_at <= report.started_at  # after it, not beside it


def test_a_chain_whose_first_job_fails_ends_cancelled_saying_why(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    slug = sandbox_slug("failing")  # its append fails
    append, report = engine.append_then("report", slug, scope="LAST-7-DAYS")
    for _ in running_worker(live_sandbox_settings):
        report = wait_ended(engine, report.id)
    assert engine.store.job(append.id).status == "failed"
    assert report.status == "cancelled" and report.started_at is None
    assert report.error == f"job {append.id} (append) it waited for was failed"
    # and a cancel of the first cancels what waits for it, down the chain
    first = engine.submit("validate", slug)
    second = engine.submit("validate", slug, after=first.id)
    third = engine.submit("validate", slug, after=second.id)
    engine.cancel(first.id)
    assert [engine.store.job(j.id).status for j in (second, third)] == ["cancelled", "cancelled"]
    assert engine.store.job(third.id).error == f"job {second.id} (validate) it waited for was cancelled"


def test_a_job_waits_only_for_a_job_of_its_client_that_can_still_finish(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    slug, other = sandbox_slug("fresh"), sandbox_slug("late")
    theirs = engine.submit("validate", other)
    for after, why in ((theirs.id, f"job {theirs.id} is {other}'s"), (999, "no job 999")):
        with pytest.raises(RequestError, match=why):
            engine.submit("validate", slug, after=after)


def test_a_report_over_gap_days_says_so(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    slug = sandbox_slug("fresh")
    watermark = watermark_of(engine, slug)
    path = live_sandbox_settings.ads_sync_path / "data" / slug / f"{slug}-master-campaign_data.csv"
    gap = (watermark - timedelta(days=3)).isoformat()
    path.write_text("".join(line for line in path.read_text().splitlines(keepends=True) if f",{gap}," not in line))
    with pytest.raises(ReportLacksData, match=re.escape(f"1 gap day ({gap})")):
        engine.submit("report", slug, scope="LAST-7-DAYS")
    assert engine.submit("report", slug, scope="LAST-7-DAYS", anyway=True).status == "queued"


def test_watermark_history_after_an_append_outside_adsdash_and_backwards(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    slug = sandbox_slug("stale")
    before = watermark_of(engine, slug)
    job = engine.submit("append", slug)
    for _ in running_worker(live_sandbox_settings):
        assert wait_ended(engine, job.id).status == "finished"
    after = watermark_of(engine, slug)
    assert after > before
    shown = json.loads(run_adsdash(live_sandbox_settings, "--json", "history", slug).stdout)
    assert [(c["source"], c["from_date"], c["to_date"], c["job_id"]) for c in shown] == [
        ("google_ads", before.isoformat(), after.isoformat(), job.id)]
    state = live_sandbox_settings.ads_sync_path / "state" / f"{slug}.json"
    data = json.loads(state.read_text())
    data["google_ads"]["watermark_date"] = (after - timedelta(days=5)).isoformat()  # by hand: back
    state.write_text(json.dumps(data))
    shown = wait_for(lambda: (h := json.loads(run_adsdash(live_sandbox_settings, "--json", "history", slug).stdout))
                     and len(h) == 2 and h)
    assert (shown[0]["moved_by"], shown[0]["backwards"]) == ("outside adsdash", True)
    assert shown[0]["from_date"] == after.isoformat()
    assert "BACKWARDS" in run_adsdash(live_sandbox_settings, "history", slug).stdout.decode()


def test_a_scope_reads_as_its_days():
    from adsdash.report_check import scope_days

    yesterday, first = date(2025, 10, 12), date(2024, 1, 5)
    assert scope_days("LAST-7-DAYS", yesterday, first) == (date(2025, 10, 6), yesterday)
    assert scope_days("LAST-30-DAYS", yesterday, first) == (date(2025, 9, 13), yesterday)
    assert scope_days("2024-Q1", yesterday, first) == (date(2024, 1, 1), date(2024, 3, 31))
    assert scope_days("2024-01..2024-02", yesterday, first) == (date(2024, 1, 1), date(2024, 2, 29))  # a leap year
    assert scope_days("LIFETIME", yesterday, first) == (first, yesterday)
    assert scope_days("LIFETIME", yesterday, None) is None  # no data: no day yet
