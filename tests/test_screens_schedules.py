"""The schedules screen, driven by Pilot: a real app, engine, store and worker on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import SIZE, Clock, configured, loaded, until

from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.schedule_ledger import Ledger
from adsdash.screens.schedules import SchedulesScreen
from adsdash.tasks.worker import Worker
from adsdash.widgets.keys_help import key_rows

NY_SLUG = "smith-jones-partners-llp"
CONFIG = f"""
[[schedule]]
name = "morning"
command = "validate"
at = "05:30"
clients = ["{NY_SLUG}"]

[[schedule]]
name = "weekly"
command = "report"
scope = "LAST-7-DAYS"
cron = "0 7 * * 1"
clients = "not fresh"

[[schedule]]
name = "broken[/]"
command = "append"
at = "05:30"
"""
NOW = datetime(2026, 3, 2, 10, 31, tzinfo=UTC)  # 05:31 in New York, a Monday


def cells(screen, name: str) -> list[str]:
    return [str(getattr(value, "plain", value)) for value in screen.table.get_row(name)]


async def test_shows_each_schedule_and_pauses_and_resumes_it(tmp_path, zoned_ads, utc):
    settings = configured(tmp_path, zoned_ads, CONFIG)
    clock = Clock(NOW - timedelta(minutes=5))
    worker = Worker(settings, kind="embedded", clock=clock)
    worker.start()
    try:
        clock.now = NOW
        worker.scheduler.tick()  # 05:30 in New York: morning's run is queued
        app = AdsdashApp(Engine(settings, clock=clock), clock=clock)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            listed = {(r[0].plain, r[1].plain, r[4].plain) for r in key_rows(app.screen, {})}
            assert ("t", "app.schedules", "") in listed  # in `?`, and live on the clients screen
            await pilot.press("t")
            screen = await until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen)
            await until(pilot, lambda: screen.table.row_count == 2, what="two schedules")
            morning = cells(screen, "morning")
            assert morning[:5] == ["▸ active", "morning", "validate", "05:30 every day", f"{NY_SLUG} (1)"]
            assert morning[5] == "2026-03-03 05:30 EST America/New_York" and morning[6] == "2026-03-03 10:30 UTC"
            assert morning[7] == "1 queued"
            weekly = cells(screen, "weekly")
            assert weekly[2:5] == ["report LAST-7-DAYS", "cron 0 7 * * 1", "not fresh (12)"]
            assert weekly[5] == "2026-03-02 07:00 EST America/New_York"  # the soonest of the zones
            refusals = str(screen.query_one("#schedule-refusals").render())
            assert "refused: schedule #3 'broken[/]' in" in refusals and ": name: " in refusals  # not markup

            await pilot.press("p")  # on the first row: morning
            await until(pilot, lambda: cells(screen, "morning")[0] == "‖ paused", what="paused on screen")
            assert Ledger(app.engine.store).paused() == {"morning"}
            clock.now += timedelta(days=1)
            worker.scheduler.tick()  # the next 05:30: recorded as paused, not queued
            await until(pilot, lambda: cells(screen, "morning")[7] == "1 paused", what="the paused run")
            await pilot.press("r")
            await until(pilot, lambda: cells(screen, "morning")[0] == "▸ active", what="resumed on screen")
            assert Ledger(app.engine.store).paused() == set()
            await pilot.press("escape")
            assert not isinstance(app.screen, SchedulesScreen)
    finally:
        worker.stop()


async def test_pause_is_refused_in_read_only_mode(tmp_path, zoned_ads, utc):
    settings = configured(tmp_path, zoned_ads, CONFIG)
    app = AdsdashApp(Engine(settings, clock=Clock(NOW)), read_only=True, clock=Clock(NOW))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        screen = await until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen)
        await until(pilot, lambda: screen.table.row_count == 2, what="two schedules")
        assert screen.check_action("pause", ()) is False  # not offered in the footer
        await pilot.press("p")
        await pilot.pause(0.2)
        assert Ledger(app.engine.store).paused() == set()
        assert cells(screen, "morning")[0] == "▸ active"


async def test_with_no_schedule_written_the_screen_says_how_to_add_one_and_refuses_nothing(tmp_path, zoned_ads):
    settings = configured(tmp_path, zoned_ads, "")  # a settings file with no [[schedule]]
    app = AdsdashApp(Engine(settings))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        screen = await until(pilot, lambda: isinstance(app.screen, SchedulesScreen) and app.screen)
        said = screen.query_one("#schedule-refusals")
        await until(pilot, lambda: "no schedules yet" in str(said.render()), what="the note")
        assert "refused" not in str(said.render()) and screen.table.row_count == 0
