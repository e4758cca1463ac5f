"""Small things seen (issue 9, item 6): the report scope list stops at its ends and offers the
last complete quarter of the client's today; Home/End move the cursor; an exit by signal is
named; the keys help shows no internal names; after a retry the new job is shown.

Real app, engine, store, embedded worker and subprocesses (tests/bin/fake_cli.py); the CLI
run as a real process.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from conftest import (
    SANDBOX_CLI,
    SIZE,
    ended,
    header,
    loaded,
    make_settings,
    run_adsdash,
    screenshot_text,
    select,
    until,
)
from textual.widgets import Input

from adsdash.app import AdsdashApp
from adsdash.catalogue import last_complete_quarter
from adsdash.engine import Engine
from adsdash.exits import exit_phrase, exit_text
from adsdash.sandbox.generate import create_workspace
from adsdash.screens.dialogs import ReportDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.jobs import JobsScreen
from adsdash.widgets.job_table import JobTable
from adsdash.widgets.keys_help import KeysScreen, key_rows

# ---- the report scope list ---------------------------------------------------------------


async def test_the_scope_list_stops_at_its_ends(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ReportDialog("acme", date(2025, 10, 13)))
        await pilot.pause()
        dialog = app.screen
        assert dialog.kind == "LAST-30-DAYS"
        await pilot.press("down", "down", "down")  # one too many: stays on the last, never LIFETIME
        assert dialog.kind == "month range"
        await pilot.press(*["up"] * 6)
        assert dialog.kind == "LIFETIME"
        await pilot.press("down")
        assert dialog.kind == "LAST-7-DAYS"


@pytest.mark.parametrize(("today", "quarter"), [
    (date(2025, 10, 13), "2025-Q3"), (date(2026, 1, 1), "2025-Q4"), (date(2026, 3, 31), "2025-Q4"),
    (date(2026, 4, 1), "2026-Q1"), (date(2026, 12, 31), "2026-Q3"),
])
def test_the_last_complete_quarter(today, quarter):
    assert last_complete_quarter(today) == quarter


async def test_the_quarter_offered_is_the_last_complete_one_in_the_clients_own_time(tmp_path, monkeypatch):
    """03:00 UTC on 1 January: a new year in London (2025-Q4 has ended), still 31 December in
    Los Angeles (2025-Q4 has not)."""
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    moment = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
    create_workspace(tmp_path / "ads", clients=30, now=moment)
    engine = Engine(make_settings(tmp_path, tmp_path / "ads", SANDBOX_CLI), clock=lambda: moment)
    zones = {str(client.zone): client.slug for client in engine.workspace.clients() if client.zone}
    app = AdsdashApp(engine, clock=lambda: moment)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for zone, quarter in (("Europe/London", "2025-Q4"), ("America/Los_Angeles", "2025-Q3")):
            await select(pilot, zones[zone])
            await pilot.press("g")
            await until(pilot, lambda: isinstance(app.screen, ReportDialog), 5, "the scope dialog")
            await pilot.press("down", "enter")  # LAST-30-DAYS -> quarter: its value is offered, ready
            box = app.screen.query_one("#scope-value", Input)
            await until(pilot, lambda box=box: box.has_focus, 5, "the quarter's field")
            assert box.value == quarter, zone
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ReportDialog), 5, "the dialog closed")


def test_the_shell_report_default_scope_is_the_catalogues(sandbox, tmp_path):
    settings, engine = sandbox
    slug = next(iter(sorted(engine.workspace.slugs())))
    job = json.loads(run_adsdash(settings, "report", slug, "--json", "--anyway").stdout)
    assert engine.store.job(job["job_id"]).args == {"scope": "LAST-30-DAYS"}
    scopes = json.loads(run_adsdash(settings, "scopes", "--json").stdout)
    assert next(s["example"] for s in scopes if s["scope"] == "quarter") == last_complete_quarter(date.today())


# ---- Home and End ------------------------------------------------------------------------------


async def test_home_and_end_move_the_cursor_in_the_clients_and_jobs_tables(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=(160, 20)) as pilot:  # short: the last rows are off screen
        screen = await loaded(pilot)
        table = screen.table
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1 > 0
        assert table.selected_slug == table.shown_slugs[-1]
        await pilot.press("home")
        assert table.cursor_row == 0 and table.selected_slug == table.shown_slugs[0]

        ids = [app.engine.submit("validate", slug).id for slug in ("ok", "ok-2", "dirty")]
        for job_id in ids:
            await until(pilot, ended(app, job_id))
        await app.push_screen(JobsScreen())
        jobs = app.screen.query_one(JobTable)
        await until(pilot, lambda: jobs.row_count == 3, 10, "three jobs")
        await pilot.press("end")
        assert jobs.selected_job.id == ids[0]  # newest first: the oldest is last
        await pilot.press("home")
        assert jobs.selected_job.id == ids[-1]


# ---- an exit by signal is named ------------------------------------------------------------------


def test_exit_text_names_a_signal_and_keeps_codes():
    assert exit_text(-9) == "killed (SIGKILL)" and exit_text(-11) == "killed (SIGSEGV)"
    assert exit_text(-200) == "killed (signal 200)"
    assert exit_text(0) == "0" and exit_text(1) == "1" and exit_text(None) == "—"
    assert exit_phrase(-9) == "killed (SIGKILL)" and exit_phrase(3) == "exit code 3"


async def test_a_job_killed_by_a_signal_is_named_wherever_its_exit_is_shown(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "segv")
        job = app.engine.submit("validate", "segv")
        done = await until(pilot, ended(app, job.id), 20, "the job to crash")
        assert done.exit_code == -11  # stored as the OS said: naming is for people
        await until(pilot, lambda: "exit killed (SIGSEGV)" in header(screen), 10, "the log pane")

        await app.push_screen(JobsScreen())
        jobs = app.screen.query_one(JobTable)
        await until(pilot, lambda: jobs.row_count == 1, 10, "the job listed")
        exit_cell = jobs.get_row(str(job.id))[[key for key, _, _ in jobs.columns_spec].index("exit")]
        assert exit_cell.plain == "killed (SIGSEGV)"
        exit_column = next(column for column in jobs.columns.values() if column.key == "exit")
        assert exit_column.width >= len("killed (SIGSEGV)")  # the column makes room for it
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.job is not None, 10)
        await until(pilot, lambda: "exit killed (SIGSEGV)" in screenshot_text(app), 10, "the detail's facts")
        assert "exit -11" not in screenshot_text(app)

    shown = run_adsdash(fake_settings, "job", str(job.id)).stdout.decode()
    assert "killed (SIGSEGV)" in shown and "-11" not in shown
    assert "killed (SIGSEGV)" in run_adsdash(fake_settings, "jobs").stdout.decode()
    assert json.loads(run_adsdash(fake_settings, "job", str(job.id), "--json").stdout)["exit_code"] == -11


# ---- the keys help ------------------------------------------------------------------------------


async def test_the_keys_help_shows_descriptions_never_internal_names(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for screen_class in (None, JobsScreen):
            if screen_class is not None:
                await app.push_screen(screen_class())
                await pilot.pause()
            rows = [[cell.plain for cell in row] for row in key_rows(app.screen, {})]
            does = {row[0]: row[2] for row in rows}
            assert not [row for row in rows if "_" in row[2]], rows  # no `help_quit`, `scroll_top`
            assert ["^c", "Say how to quit"] in [[row[0], row[2]] for row in rows]  # Textual's own, described
            assert does["home"] == "First row" and does["end"] == "Last row"
            assert "pgdn" in does  # a table's own keys are listed with those of its class
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), 5, "the keys help")
        assert "help_quit" not in app.export_screenshot()


# ---- after a retry, the new job ------------------------------------------------------------------


async def test_after_a_retry_the_jobs_list_selects_the_new_job(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        first = app.engine.submit("validate", "ok").id
        app.engine.submit("validate", "ok-2")
        await until(pilot, ended(app, first))
        await app.push_screen(JobsScreen())
        screen = app.screen
        table = screen.query_one(JobTable)
        await until(pilot, lambda: table.row_count == 2, 10, "two jobs")
        screen.query_one("#status-filter").value = "finished"
        await until(pilot, lambda: screen.status_filter == "finished" and table.row_count == 2, 10)
        table.select_job(first)
        await pilot.press("R")
        new = await until(pilot, lambda: max(j.id for j in app.engine.store.jobs()) > first + 1
                          and max(j.id for j in app.engine.store.jobs()), 10, "the new job")
        await until(pilot, lambda: table.selected_job is not None and table.selected_job.id == new, 10,
                    "the cursor on the new job")
        assert screen.status_filter is None  # the finished-only filter would have hidden it when queued


async def test_after_a_retry_the_job_detail_shows_the_new_job(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        first = app.engine.submit("validate", "ok").id
        await until(pilot, ended(app, first))
        await app.push_screen(JobsScreen())
        await pilot.pause()
        await app.push_screen(JobDetailScreen(first))
        await until(pilot, lambda: app.screen.job is not None, 10, "the job read")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen) and app.screen.job_id > first, 10,
                    "the new job's detail")
        new = app.screen.job_id
        await until(pilot, lambda: app.screen.job is not None and app.screen.job.id == new, 10)
        await pilot.press("escape")
        assert isinstance(app.screen, JobsScreen)  # back where the old detail came from
