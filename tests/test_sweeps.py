"""Sweeps from the command line (`adsdash run COMMAND --all | --freshness K | SLUG SLUG ...`, `adsdash
report --all`), run as real processes against a sandbox workspace, a real store and a real worker;
and the filter syntax the clients screen and the command line share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PRODUCTION_CONFIG, one_error_line, run_adsdash, running_worker, sandbox_slug, state, wait_for

from adsdash.client_filter import ClientFilter, parse
from adsdash.engine import Engine
from adsdash.workspace import Workspace

RANK = {"error": 0, "never": 1, "stale": 2, "late": 3, "fresh": 4}


def listed(proc) -> list[dict]:
    return json.loads(proc.stdout)




def freshness(engine: Engine) -> dict:
    return {c.slug: c.freshness for c in engine.workspace.clients()}


def assert_worst_first(engine: Engine, slugs: list[str]) -> None:
    found = freshness(engine)
    keys = [(RANK[found[s].kind.value], -(found[s].lag_days or 0)) for s in slugs]
    assert keys == sorted(keys), list(zip(slugs, keys, strict=True))


def test_a_sweep_of_late_and_stale_clients_is_worst_first_and_safe_to_repeat(live_sandbox_settings):
    settings, engine = live_sandbox_settings, Engine(live_sandbox_settings)
    wanted = {slug for slug, f in freshness(engine).items() if f.kind.value in ("late", "stale")}
    assert len(wanted) >= 4

    first = listed(run_adsdash(settings, "--json", "run", "append", "--freshness", "late,stale"))
    assert {row["slug"] for row in first} == wanted and len(first) == len(wanted)
    assert [row["status"] for row in first] == ["queued"] * len(first)
    assert_worst_first(engine, [row["slug"] for row in first])
    ids = [row["job_id"] for row in first]
    assert ids == sorted(ids)  # queued in that order: the workers start the worst first

    again = run_adsdash(settings, "--json", "run", "append", "--freshness", " Stale, LATE ")  # no worker yet
    assert listed(again) == [{**row, "status": "already queued"} for row in first]
    assert b"0 queued, " in again.stderr and b"already queued or running" in again.stderr
    jobs = engine.store.jobs(limit=None)
    assert len(jobs) == len(wanted) and {job.origin for job in jobs} == {"shell"}

    worker = running_worker(settings)
    next(worker)
    try:
        ended = [wait_for(lambda i=i: (job := engine.store.job(i)).ended and job, 30) for i in ids]
    finally:
        worker.close()
    failing = sandbox_slug("failing")  # the sandbox's client whose every run fails
    assert {job.slug: job.status for job in ended} == {s: "failed" if s == failing else "finished" for s in wanted}
    assert len(engine.store.jobs(limit=None)) == len(wanted)  # one job per client, however often asked
    after = listed(run_adsdash(settings, "--json", "run", "append", "--freshness", "late,stale"))
    assert [row["slug"] for row in after] == [failing]  # the others are fresh now


def test_the_json_list_refuses_an_unknown_slug_and_queues_the_others(live_sandbox_settings):
    settings, engine = live_sandbox_settings, Engine(live_sandbox_settings)
    fresh, stale = sandbox_slug("fresh"), "a-1-plumbing-drain"
    proc = run_adsdash(settings, "run", "validate", fresh, "nobody", stale, "../x", fresh, "--json", check=1)
    rows = listed(proc)
    assert [(r["slug"], r["status"]) for r in rows] == [
        (stale, "queued"), (fresh, "queued"), ("nobody", "refused"), ("../x", "refused")]  # worst first, once each
    assert "job_id" in rows[2] and rows[2]["job_id"] is None and "unknown client 'nobody'" in rows[2]["error"]
    assert "not a safe name" in rows[3]["error"] and "error" not in rows[0]
    assert sorted(job.slug for job in engine.store.jobs()) == sorted([fresh, stale])
    assert b"validate: 2 queued, 2 refused" in proc.stderr

    every_one = run_adsdash(settings, "run", "validate", "--json", "nobody", "ghost", check=2)  # slugs after a flag
    assert [r["status"] for r in listed(every_one)] == ["refused", "refused"]
    text = run_adsdash(settings, "run", "validate", fresh, stale, check=0).stdout.decode()
    assert "already queued" in text and fresh in text  # a table for people
    assert len(engine.store.jobs()) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["run", "append", "--freshness", "late,nope"], "--freshness: 'nope' is not a freshness kind (one of: fresh"),
    (["run", "append", "--freshness", ""], "--freshness: an empty name is not a freshness kind"),
    (["run", "append", "--all", "priority-roofing"], "give slugs, or --all / --freshness, not both"),
    (["run", "append"], "run append needs a client's slug"),
    (["run", "append", "--all", "--follow"], "--follow follows one job"),
    (["run", "frobnicate", "--all"], "unknown command 'frobnicate'"),
    (["run", "validate", "--all", "--start", "2025-01-01"], "validate does not take --start"),
    (["report", "--all", "--scope", "2025-Q9"], "quarter must be 1–4"),
])
def test_a_bad_sweep_is_refused_in_one_line_before_anything_is_queued(live_sandbox_settings, args, message):
    proc = run_adsdash(live_sandbox_settings, *args, check=2)
    assert message in one_error_line(proc)
    assert Engine(live_sandbox_settings).store.jobs() == []


def test_one_slug_after_the_flags_is_still_one_job(live_sandbox_settings):
    stale = "a-1-plumbing-drain"
    one = json.loads(run_adsdash(live_sandbox_settings, "run", "repair", "--start", "2025-01-01", "--end", "2025-01-02",
                                 stale, "--json").stdout)
    assert one == {"job_id": 1, "status": "queued"}  # the single-client answer, as before sweeps


def test_report_all_with_a_scope(live_sandbox_settings):
    engine = Engine(live_sandbox_settings)
    rows = listed(run_adsdash(live_sandbox_settings, "report", "--all", "--scope", "last-7-days", "--json", "--anyway"))
    assert len(rows) == 30 and {r["status"] for r in rows} == {"queued"}
    assert_worst_first(engine, [r["slug"] for r in rows])
    assert {(job.command, job.args["scope"]) for job in engine.store.jobs(limit=None)} == {("report", "LAST-7-DAYS")}


def test_two_sweeps_at_once_queue_each_client_once(live_sandbox_settings):
    settings = live_sandbox_settings
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"))
    argv = [sys.executable, "-m", "adsdash", "--json", "run", "validate", "--all"]
    procs = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [json.loads(proc.communicate(timeout=60)[0]) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0]
    queued = [row for out in outs for row in out if row["status"] == "queued"]
    assert sorted(row["slug"] for row in queued) == sorted(c.slug for c in Engine(settings).workspace.clients())
    assert len(Engine(settings).store.jobs(limit=None)) == 30
    by_slug = {row["slug"]: row["job_id"] for row in queued}
    for out in outs:  # the other sweep names the job it found
        assert all(row["job_id"] == by_slug[row["slug"]] for row in out)


@pytest.mark.parametrize(("query", "expected"), [
    ("", ClientFilter()),
    ("  ROOF ", ClientFilter(text="roof")),
    ("is:late Roofing co", ClientFilter(text="roofing co", kinds=frozenset({"late"}))),
    ("is:Late,STALE is:error", ClientFilter(kinds=frozenset({"late", "stale", "error"}))),
    ("is:marked", ClientFilter(marked=True)),
])
def test_the_filter_syntax(query, expected):
    assert parse(query) == expected


def test_a_filter_matches_kind_and_text_and_a_typo_matches_nothing():
    late_roof = parse("is:late,stale roof")
    assert late_roof.matches(slug="priority-roofing", name="Priority Roofing", kind="late")
    assert not late_roof.matches(slug="priority-roofing", name="Priority Roofing", kind="fresh")
    assert not late_roof.matches(slug="acme", name="Acme", kind="late")
    assert parse("is:marked").matches(slug="a", name="A", kind="fresh", marked=True)
    assert not parse("is:marked").matches(slug="a", name="A", kind="fresh", marked=False)
    typo = parse("is:lat")
    assert typo.problem is not None and "is:lat" in typo.problem
    assert not typo.matches(slug="a", name="A", kind="late")


def test_a_refresh_reuses_an_unchanged_client_and_never_a_changed_one(folder):
    """The workspace makes again only the clients whose files or day changed (the clients screen's
    refresh at 1,000 clients depends on it); every change still shows."""
    now = [datetime(2025, 10, 13, 20, 0, tzinfo=UTC)]  # noon in Los Angeles: yesterday is the 12th
    ws = Workspace(folder.root, clock=lambda: now[0])
    folder.client("acme", PRODUCTION_CONFIG, state("2025-10-12"))
    folder.client("bolt", PRODUCTION_CONFIG, state("2025-10-12"))
    first = {c.slug: c for c in ws.clients()}
    again = {c.slug: c for c in ws.clients()}
    assert again["acme"] is first["acme"] and first["acme"].freshness.kind.value == "fresh"
    folder.write("locks/acme.lock", f"pid: 4242\ntimestamp: {now[0].timestamp()}\n")
    locked = {c.slug: c for c in ws.clients()}
    assert locked["acme"].lock is not None and locked["bolt"] is first["bolt"]
    (folder.root / "locks" / "acme.lock").unlink()
    assert next(c for c in ws.clients() if c.slug == "acme").lock is None
    folder.write("state/bolt.json", state("2025-10-01"))  # another size: a new stat key
    assert next(c for c in ws.clients() if c.slug == "bolt").freshness.kind.value == "stale"
    now[0] += timedelta(days=1)  # a new day in the client's zone: a day more behind, files unchanged
    acme = next(c for c in ws.clients() if c.slug == "acme")
    assert acme.freshness.kind.value == "late" and acme.freshness.lag_days == 1
