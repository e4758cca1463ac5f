"""Schedules: the [[schedule]] tables, and a real worker's scheduler on an injected clock.

The worker is real (a Huey consumer in this process, running the sandbox CLI); its clock is
a `Clock` the test moves. The scheduler thread ticks at start and at real minute boundaries
with that same clock, so each test calls `tick()` itself and then looks at the store (jobs
and ledger), never at what one tick says it did: a tick of the thread in between must
change nothing, which is the exactly-once promise itself."""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import Clock, configured, run_adsdash, wait_for

from adsdash.engine import Engine
from adsdash.schedule_ledger import Ledger, Run
from adsdash.store import QUEUED, STARTED
from adsdash.tasks.worker import Worker

NY_SLUG, LONDON_SLUG = "smith-jones-partners-llp", "thames-valley-removals-ltd"  # the sandbox's zones
NY, LONDON = ZoneInfo("America/New_York"), ZoneInfo("Europe/London")


@pytest.fixture
def ads(zoned_ads):
    return zoned_ads


@pytest.fixture
def workers():
    """start(settings, clock) -> a started real worker; every one is stopped after the test."""
    started: list[Worker] = []

    def start(settings, clock) -> Worker:
        worker = Worker(settings, kind="embedded", clock=clock)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def scheduled_jobs(engine, name: str):
    return [j for j in engine.store.jobs(limit=None) if j.origin == f"schedule {name}"]


def idle(engine) -> None:
    """Until no job is queued or running (a run due tomorrow must find today's ended)."""
    wait_for(lambda: not engine.store.jobs(status=QUEUED) and not engine.store.jobs(status=STARTED), 60)


def ledger_rows(engine, name: str | None = None):
    return Ledger(engine.store).runs(name, limit=10_000)


# ---- the [[schedule]] tables -------------------------------------------------------------

GOOD = '[[schedule]]\nname = "good"\ncommand = "append"\nat = "05:30"\n'


@pytest.mark.parametrize(("entry", "field"), [
    ('name = "x"\ncommand = "sync"\nat = "05:30"', "command"),
    ('name = "x"\ncommand = "append"\nat = "25:00"', "at"),
    ('name = "x"\ncommand = "append"\nat = "5.30"', "at"),
    ('name = "x"\ncommand = "append"', "at"),
    ('name = "x"\ncommand = "append"\ncron = "61 * * * *"', "cron"),
    ('name = "x"\ncommand = "append"\ncron = "0 5 * *"', "cron"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\ncron = "0 5 * * *"', "cron"),
    ('name = "x"\ncommand = "append"\ncron = "0 5 * * *"\ndays = ["mon"]', "days"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\ndays = ["mon", "funday"]', "days"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\ndays = "mon"', "days"),
    ('name = "x"\ncommand = "report"\nat = "05:30"', "scope"),
    ('name = "x"\ncommand = "report"\nscope = "LAST-8-DAYS"\nat = "05:30"', "scope"),
    ('name = "x"\ncommand = "append"\nscope = "LIFETIME"\nat = "05:30"', "scope"),
    ('name = "x"\ncommand = "repair"\nat = "05:30"', "command"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\nclients = "acme"', "clients"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\nclients = 5', "clients"),
    ('name = "x"\ncommand = "append"\nat = "05:30"\nclients = ["../etc"]', "clients"),
    ('name = "bad name!"\ncommand = "append"\nat = "05:30"', "name"),
    ('name = "good"\ncommand = "append"\nat = "06:00"', "name"),  # taken by the first entry
    ('name = "x"\ncommand = "append"\nat = "05:30"\nwhen = "daily"', "when"),
])
def test_a_bad_entry_is_refused_in_one_line_naming_it_and_the_field_and_the_others_load(tmp_path, entry, field):
    settings = configured(tmp_path, tmp_path, GOOD + "\n[[schedule]]\n" + entry + "\n" + GOOD.replace('"good"', '"z"'))
    assert [s.name for s in settings.schedules] == ["good", "z"]
    [line] = settings.schedule_refusals
    assert "\n" not in line
    assert line.startswith("schedule #2 ") and f": {field}: " in line, line


def test_schedules_read_at_days_cron_clients_and_scope(tmp_path):
    settings = configured(tmp_path, tmp_path, """
[[schedule]]
name = "weekdays"
command = "report"
scope = "last-7-days"
at = "7:05"
days = ["Monday", "fri"]
clients = ["acme", "globex"]

[[schedule]]
name = "cron"
command = "validate"
cron = "0  6 * * 1-5"
clients = "not fresh"
""")
    weekdays, cron = settings.schedules
    assert (weekdays.cron, weekdays.when, weekdays.scope, weekdays.clients.slugs) == (
        "5 7 * * 1,5", "07:05 mon,fri", "LAST-7-DAYS", ("acme", "globex"))
    assert (cron.cron, cron.clients.kinds, cron.clients.exclude) == ("0 6 * * 1-5", {"fresh"}, True)
    assert settings.schedule_refusals == ()


def test_the_catch_up_window_is_a_checked_setting(tmp_path):
    from adsdash.config import ConfigError

    with pytest.raises(ConfigError, match="schedule_catch_up_hours"):
        configured(tmp_path, tmp_path, "schedule_catch_up_hours = 200\n")
    assert configured(tmp_path, tmp_path, "schedule_catch_up_hours = 0.5\n").schedule_catch_up_hours == 0.5


# ---- daylight saving ------------------------------------------------------------------------

DST = """
[[schedule]]
name = "spring"
command = "append"
at = "02:30"
clients = ["smith-jones-partners-llp", "thames-valley-removals-ltd"]

[[schedule]]
name = "autumn"
command = "validate"
at = "01:30"
clients = ["smith-jones-partners-llp", "thames-valley-removals-ltd"]
"""


@pytest.mark.parametrize(("first", "days"), [
    (datetime(2026, 3, 7, 0, 0, tzinfo=UTC), 3),  # New York springs forward on the 8th: 02:30 does not exist
    (datetime(2026, 10, 24, 0, 0, tzinfo=UTC), 3),  # London falls back on the 25th: 01:30 happens twice
], ids=["new-york-spring-forward", "london-fall-back"])
def test_a_daily_schedule_runs_once_per_local_day_in_each_zone_across_a_dst_change(tmp_path, ads, workers,
                                                                                  first, days):
    clock = Clock(first - timedelta(minutes=5))
    worker = workers(configured(tmp_path, ads, DST), clock)
    end = first + timedelta(days=days)
    while clock.now < end:  # a tick every 10 minutes, as a worker up all along
        clock.now += timedelta(minutes=10)
        worker.scheduler.tick()
        idle(worker.engine)
    for name, at in (("spring", "02:30"), ("autumn", "01:30")):
        for slug, zone in ((NY_SLUG, NY), (LONDON_SLUG, LONDON)):
            jobs = [j for j in scheduled_jobs(worker.engine, name) if j.slug == slug]
            per_day = Counter(datetime.fromisoformat(j.queued_at).astimezone(zone).date() for j in jobs)
            assert set(per_day.values()) == {1}, (name, slug, per_day)
            runs = [r for r in ledger_rows(worker.engine, name) if r.slug == slug]
            assert sorted(r.job_id for r in runs) == sorted(j.id for j in jobs)
            assert {r.outcome for r in runs} == {"queued"}
            local = sorted(datetime.fromisoformat(r.due).astimezone(zone) for r in runs)
            assert len({d.date() for d in local}) == len(local) == days  # one a day, every day
            odd = [d for d in local if d.strftime("%H:%M") != at]
            if (zone, at, first.month) == (NY, "02:30", 3):
                assert [d.isoformat() for d in odd] == ["2026-03-08T03:00:00-04:00"]  # the first instant after
            else:
                assert odd == []
    if first.month == 10:  # of London's two 01:30s on the 25th, the first (BST)
        assert "2026-10-25T00:30:00.000000+00:00" in {r.due for r in ledger_rows(worker.engine, "autumn")}


def test_a_quarter_hourly_cron_runs_every_quarter_through_the_fall_back_hour(tmp_path, ads, workers):
    """New York falls back at 06:00 UTC on 2026-11-01: 01:00-01:59 comes twice. A worker up all
    along queues every quarter hour of both passes, each at its time, none `missed`."""
    toml = f'[[schedule]]\nname = "quarterly"\ncommand = "validate"\ncron = "*/15 * * * *"\nclients = ["{NY_SLUG}"]\n'
    start = datetime(2026, 11, 1, 4, 52, tzinfo=UTC)
    clock = Clock(start)
    worker = workers(configured(tmp_path, ads, toml), clock)
    while clock.now < datetime(2026, 11, 1, 7, 10, tzinfo=UTC):  # a tick every 5 minutes
        clock.now += timedelta(minutes=5)
        worker.scheduler.tick()
        idle(worker.engine)
    runs = sorted(ledger_rows(worker.engine, "quarterly"), key=lambda r: r.due)
    assert [(r.due[11:16], r.outcome) for r in runs] == [
        (f"{hour:02}:{minute:02}", "queued") for hour in (5, 6, 7) for minute in (0, 15, 30, 45)
        if (hour, minute) <= (7, 0)]


# ---- exactly once ------------------------------------------------------------------------------

ONE = f'[[schedule]]\nname = "morning"\ncommand = "validate"\nat = "05:30"\nclients = ["{NY_SLUG}", "{LONDON_SLUG}"]\n'
NY_DUE = datetime(2026, 3, 2, 5, 30, tzinfo=NY)


def test_two_workers_and_a_restart_in_the_due_minute_queue_each_run_once(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, ONE)
    clock = Clock(NY_DUE - timedelta(minutes=2))
    first, second = workers(settings, clock), workers(settings, clock)
    clock.now = NY_DUE + timedelta(seconds=5)
    for _ in range(3):  # both tick at the same moment, three times
        ticks = [threading.Thread(target=w.scheduler.tick) for w in (first, second)]
        for t in ticks:
            t.start()
        for t in ticks:
            t.join()
    idle(first.engine)  # the run has ended: only the ledger stands in the way of a second one
    first.stop()
    clock.now = NY_DUE + timedelta(seconds=50)  # restarted within the same minute
    workers(settings, clock).scheduler.tick()
    second.scheduler.tick()
    jobs = scheduled_jobs(second.engine, "morning")
    assert [j.slug for j in jobs] == [NY_SLUG]
    assert jobs[0].asked.endswith("via schedule morning")
    [run] = [r for r in ledger_rows(second.engine) if r.slug == NY_SLUG]
    assert (run.outcome, run.job_id, run.due) == ("queued", jobs[0].id, "2026-03-02T10:30:00.000000+00:00")


NY_DUE_UTC = "2026-03-02T10:30:00.000000+00:00"


def a_minute_after_ny_due(tmp_path, ads):
    """Settings, clock, engine and ledger a minute after the NY run is due, the schedule enrolled."""
    settings = configured(tmp_path, ads, ONE)
    clock = Clock(NY_DUE + timedelta(minutes=1))
    engine = Engine(settings, clock=clock)
    ledger = Ledger(engine.store)
    ledger.enrol(["morning"], clock.now - timedelta(days=1))
    return settings, clock, engine, ledger


def test_a_run_claimed_by_a_worker_killed_before_it_queued_is_queued_once_by_the_next(tmp_path, ads, workers):
    """A worker claims the NY run, then dies before storing the job; another claims the London
    run and dies right after storing it. The next worker queues the first once and settles the
    second with the job it already has."""
    settings, clock, engine, ledger = a_minute_after_ny_due(tmp_path, ads)
    london_due = "2026-03-02T05:30:00.000000+00:00"
    assert ledger.claim("morning", [(NY_SLUG, NY_DUE_UTC)], worker="gone:1:a", now=clock.now) != []
    assert ledger.claim("morning", [(LONDON_SLUG, london_due)], worker="gone:2:b", now=clock.now) != []
    stored = engine.submit("validate", LONDON_SLUG, origin="schedule morning", once=True)
    worker = workers(settings, clock)  # its first tick takes both over
    worker.scheduler.tick()
    idle(engine)
    jobs = scheduled_jobs(engine, "morning")
    assert sorted(j.slug for j in jobs) == sorted([NY_SLUG, LONDON_SLUG])  # one each: none lost, none twice
    runs = {r.slug: r for r in ledger_rows(engine, "morning")}
    assert (runs[LONDON_SLUG].outcome, runs[LONDON_SLUG].job_id) == ("queued", stored.id)
    assert runs[NY_SLUG].outcome == "queued" and runs[NY_SLUG].job_id in {j.id for j in jobs} - {stored.id}


def test_a_stuck_run_of_a_paused_schedule_is_not_queued_and_its_slow_claimer_cannot_overwrite(tmp_path, ads,
                                                                                              workers):
    settings, clock, engine, ledger = a_minute_after_ny_due(tmp_path, ads)
    ledger.claim("morning", [(NY_SLUG, NY_DUE_UTC)], worker="slow:1:a", now=clock.now)
    ledger.set_paused(["morning"], True, clock.now)
    workers(settings, clock).scheduler.tick()  # "slow:1:a" is no live worker: its claim is taken over
    [run] = [r for r in ledger_rows(engine, "morning") if r.slug == NY_SLUG]
    assert run.outcome == "paused" and scheduled_jobs(engine, "morning") == []
    ledger.settle([replace(run, outcome="queued", job_id=999)], worker="slow:1:a", now=clock.now)  # at last
    assert [(r.outcome, r.job_id) for r in ledger_rows(engine, "morning") if r.slug == NY_SLUG] == [("paused", None)]


def test_only_the_worker_that_holds_a_claimed_run_settles_it(tmp_path, ads):
    """A run taken over while still queuing: the worker it was taken from cannot settle it any
    more (its job, if any, is found by the new holder); the new holder can."""
    _settings, clock, _engine, ledger = a_minute_after_ny_due(tmp_path, ads)
    [(slug, due)] = ledger.claim("morning", [(NY_SLUG, NY_DUE_UTC)], worker="slow:1:a", now=clock.now)
    [stuck] = ledger.stuck(older_than=clock.now, live=[])
    assert ledger.take_over(stuck, "slow:1:a", worker="next:2:b", now=clock.now)
    assert not ledger.take_over(stuck, "slow:1:a", worker="third:3:c", now=clock.now)  # one taker
    ledger.settle([Run("morning", slug, due, "queued", 111)], worker="slow:1:a", now=clock.now)
    [run] = ledger.runs("morning")
    assert (run.outcome, run.job_id, run.worker) == ("queuing", None, "next:2:b")
    ledger.settle([Run("morning", slug, due, "queued", 222)], worker="next:2:b", now=clock.now)
    assert [(r.outcome, r.job_id) for r in ledger.runs("morning")] == [("queued", 222)]


@pytest.mark.parametrize(("late", "queued"), [(timedelta(hours=2, minutes=59), True),
                                              (timedelta(hours=3, minutes=1), False)])
def test_a_run_missed_while_no_worker_was_up_is_caught_up_within_the_window(tmp_path, ads, workers, late, queued):
    settings = configured(tmp_path, ads, ONE)  # schedule_catch_up_hours: 3 by default
    clock = Clock(NY_DUE - timedelta(days=3, hours=1))
    workers(settings, clock).stop()  # a worker was up, three days before: the schedule was known
    clock.now = NY_DUE + late  # none since, until now
    engine = workers(settings, clock).engine  # its first tick is at start
    def ny_runs():
        return [(datetime.fromisoformat(r.due).astimezone(NY).date().isoformat(), r.outcome)
                for r in ledger_rows(engine) if r.slug == NY_SLUG]

    wait_for(lambda: len(ny_runs()) == 4 and "queuing" not in dict(ny_runs()).values())
    expected = [("2026-03-02", "queued" if queued else "missed"),  # one row each, the newest alone caught up
                ("2026-03-01", "missed"), ("2026-02-28", "missed"), ("2026-02-27", "missed")]
    assert ny_runs() == expected
    assert [j.slug for j in scheduled_jobs(engine, "morning")] == ([NY_SLUG] if queued else [])
    idle(engine)
    workers(settings, clock).scheduler.tick()  # another worker, later: nothing runs twice or piles up
    clock.now += timedelta(minutes=30)
    workers(settings, clock).scheduler.tick()
    assert ny_runs() == expected
    assert len(scheduled_jobs(engine, "morning")) == (1 if queued else 0)


def test_of_several_runs_missed_within_the_window_only_the_newest_is_caught_up(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, f'[[schedule]]\nname = "hourly"\ncommand = "validate"\n'
                                         f'cron = "0 * * * *"\nclients = ["{NY_SLUG}"]\n')
    clock = Clock(datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
    workers(settings, clock).stop()
    clock.now += timedelta(hours=2, minutes=30)  # 11:00 and 12:00 passed while no worker was up
    engine = workers(settings, clock).engine
    runs = wait_for(lambda: len(rows := ledger_rows(engine)) == 2 and "queuing" not in {r.outcome for r in rows}
                    and rows)
    assert [(r.due[11:16], r.outcome) for r in runs] == [("12:00", "queued"), ("11:00", "missed")]
    assert "only the newest run" in (runs[1].reason or "")
    assert len(scheduled_jobs(engine, "hourly")) == 1


# ---- pause and resume; the command line ----------------------------------------------------------

def cli(settings, *args, check=0, tz="Asia/Tokyo"):
    return run_adsdash(settings, *args, check=check, extra_env={"ADSDASH_CONFIG": str(settings.config_file), "TZ": tz})


def test_a_paused_schedule_queues_nothing_and_is_not_caught_up_after_resume(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, ONE)
    clock = Clock(NY_DUE - timedelta(minutes=2))
    worker = workers(settings, clock)
    assert json.loads(cli(settings, "--json", "schedules", "pause", "morning").stdout) == {
        "paused": True, "schedules": ["morning"]}
    clock.now = NY_DUE + timedelta(minutes=1)
    worker.scheduler.tick()
    assert scheduled_jobs(worker.engine, "morning") == []
    shown = json.loads(cli(settings, "--json", "schedules").stdout)["schedules"][0]
    assert shown["paused"] is True and shown["last_outcomes"]["paused"] == 1  # NY; London's 05:30 is to come
    assert "paused" in cli(settings, "schedules").stdout.decode()

    cli(settings, "schedules", "resume")  # every schedule
    worker.scheduler.tick()
    assert scheduled_jobs(worker.engine, "morning") == []  # the paused run stays paused
    for _ in range(24):  # the next day, a tick an hour
        clock.now += timedelta(hours=1)
        worker.scheduler.tick()
    assert sorted(j.slug for j in scheduled_jobs(worker.engine, "morning")) == [NY_SLUG, LONDON_SLUG]
    assert json.loads(cli(settings, "--json", "schedules").stdout)["schedules"][0]["paused"] is False
    assert "no usable schedule named 'nope'" in cli(settings, "schedules", "pause", "nope", check=2).stderr.decode()


def test_a_bad_schedule_or_client_is_refused_while_the_others_run(tmp_path, ads, workers):
    config = ads / "configs" / "clients" / "metro-electric-inc.yaml"
    config.write_text(config.read_text().replace("America/Chicago", "Mars/Olympus_Mons"))
    settings = configured(tmp_path, ads, ONE.replace(f'"{LONDON_SLUG}"', '"nobody", "metro-electric-inc"')
                          + '\n[[schedule]]\nname = "broken"\ncommand = "append"\nat = "24:00"\n'
                          + '\n[[schedule]]\nname = "all"\ncommand = "validate"\ncron = "30 5 * * *"\n')
    clock = Clock(NY_DUE - timedelta(minutes=2))
    worker = workers(settings, clock)
    clock.now = NY_DUE + timedelta(hours=2)  # 05:30 has come in New York, Chicago and Denver, not Los Angeles
    worker.scheduler.tick()
    [morning] = scheduled_jobs(worker.engine, "morning")
    assert morning.slug == NY_SLUG
    ran = {j.slug for j in scheduled_jobs(worker.engine, "all")}
    assert {"priority-roofing", "summit-roofing-denver"} <= ran  # Chicago, Denver
    [ny] = [r for r in ledger_rows(worker.engine, "all") if r.slug == NY_SLUG]  # New York: validate was queued
    assert (ny.outcome, ny.job_id) == ("already", morning.id)
    assert "metro-electric-inc" not in ran  # its zone is none
    assert not {"dr-maria-chen-dds", LONDON_SLUG} & ran  # Los Angeles: 04:30; London's was before the worker
    shown = json.loads(cli(settings, "--json", "schedules").stdout)
    assert [s["name"] for s in shown["schedules"]] == ["morning", "all"]
    refusals = shown["refusals"]
    assert refusals[0].startswith("schedule #2 'broken' in ") and ": at: " in refusals[0]
    assert "schedule 'morning': clients: unknown client 'nobody'" in refusals
    assert "schedule 'morning': client 'metro-electric-inc': time zone 'Mars/Olympus_Mons' is not a known zone" \
        in refusals
    text = cli(settings, "schedules").stdout.decode()
    assert "refused: schedule #2 'broken'" in text and "unknown client 'nobody'" in text


def test_a_freshness_filter_runs_for_the_clients_of_those_kinds_and_skips_the_others(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, '[[schedule]]\nname = "catch-up"\ncommand = "append"\n'
                                         'cron = "*/10 * * * *"\nclients = "late,stale"\n')
    clock = Clock(datetime(2026, 3, 2, 10, 5, tzinfo=UTC))
    worker = workers(settings, clock)
    clock.now = datetime(2026, 3, 2, 10, 10, 30, tzinfo=UTC)  # 10:10 or 05:10 etc. in every zone
    worker.scheduler.tick()
    kinds = {c.slug: c.freshness.kind.value for c in worker.engine.workspace.clients()}
    wanted = {slug for slug, kind in kinds.items() if kind in ("late", "stale")}
    assert wanted and wanted != set(kinds)  # the filter has something to tell apart
    assert {j.slug for j in scheduled_jobs(worker.engine, "catch-up")} == wanted
    skipped = {r.slug: r.reason for r in ledger_rows(worker.engine) if r.outcome == "skipped"}
    assert set(skipped) == set(kinds) - wanted
    assert all(reason.startswith(kinds[slug]) for slug, reason in skipped.items())


def test_schedules_json_gives_next_runs_in_client_and_local_time_and_last_outcomes(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, ONE + '\n[[schedule]]\nname = "everyone"\ncommand = "report"\n'
                                              'scope = "LAST-7-DAYS"\ncron = "15 4 * * *"\nclients = "all"\n'
                                              'append_first = true\n')  # the data lacks the week
    clock = Clock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))  # the outcomes: by the worker's clock
    worker = workers(settings, clock)
    clock.now = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 04:15 has just been in New York, hours ago elsewhere
    worker.scheduler.tick()
    idle(worker.engine)
    now = datetime.now(UTC)  # the next runs: by the real clock, as the command line reads it
    shown = {s["name"]: s for s in json.loads(cli(settings, "--json", "schedules").stdout)["schedules"]}
    zones = {str(c.zone) for c in Engine(settings).workspace.clients()}
    for name, hour_minute, count in (("morning", "05:30", 2), ("everyone", "04:15", 12)):
        facts = shown[name]
        assert facts["client_count"] == count and facts["paused"] is False
        run = facts["next_run"]
        client_time = datetime.fromisoformat(run["client_time"])
        local_time = datetime.fromisoformat(run["local_time"])
        assert client_time.strftime("%H:%M") == hour_minute and client_time > now
        assert client_time.utcoffset() == client_time.astimezone(ZoneInfo(run["zone"])).utcoffset()
        assert datetime.fromisoformat(run["utc"]) == client_time
        assert local_time == client_time and local_time.utcoffset() == timedelta(hours=9)  # TZ=Asia/Tokyo
        soonest = min(_next_local(now, ZoneInfo(z), hour_minute) for z in (zones if name == "everyone"
                                                                             else {"America/New_York",
                                                                                   "Europe/London"}))
        assert client_time == soonest
    assert sorted(j.slug for j in scheduled_jobs(worker.engine, "everyone") if j.command == "report") == [
        "obrien-family-dentistry", NY_SLUG]
    assert shown["everyone"]["last_outcomes"] == {"queued": 2, "already": 0, "refused": 0, "missed": 10,
                                                  "paused": 0, "skipped": 0, "queuing": 0}
    assert shown["morning"]["last_outcomes"]["missed"] == 2
    assert shown["everyone"]["last_queued"]["slug"] in ("obrien-family-dentistry", NY_SLUG)
    assert shown["everyone"]["clients"] == "all" and shown["morning"]["clients"] == [NY_SLUG, LONDON_SLUG]


def _next_local(now: datetime, zone: ZoneInfo, hour_minute: str) -> datetime:
    hour, minute = map(int, hour_minute.split(":"))
    local = now.astimezone(zone)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > local else (candidate + timedelta(days=1)).replace(tzinfo=zone)


def test_a_running_worker_picks_up_a_schedule_added_to_the_file(tmp_path, ads, workers):
    settings = configured(tmp_path, ads, "")
    clock = Clock(NY_DUE - timedelta(minutes=1))
    worker = workers(settings, clock)
    worker.scheduler.tick()
    settings.config_file.write_text(ONE)
    clock.now = NY_DUE
    worker.scheduler.tick()
    assert [j.slug for j in scheduled_jobs(worker.engine, "morning")] == [NY_SLUG]
