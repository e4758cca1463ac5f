"""Snapshots of the repair dialog, the jobs screen and a job's detail, at 160x45.

Deterministic by construction (conftest.stable_settings): a fixed clock stamps every job
time, the local zone is UTC, the requester's name is fixed, the CLI is the fake one behind
a short name on PATH (so no machine path shows in argv), one worker thread runs the jobs in
order, and every job has ended before the screenshot.
"""

from __future__ import annotations

from datetime import date

from conftest import SIZE, footer_drawn, until, wait_ended
from textual.widgets import Input

from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.dialogs import RepairDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.jobs import JobsScreen, JobTable
from adsdash.widgets.output_view import OutputView

JOBS = (("validate", "ok", {}), ("append", "fail", {}), ("report", "ok-2", {"scope": "2025-Q3"}),
        ("validate", "stderr-only", {}))


def app_with_jobs(settings, make_app):
    app = make_app(settings)
    for command, slug, args in JOBS:
        job = app.engine.submit(command, slug, anyway=True, **args)  # the fake clients have no data
        wait_ended(app.engine, job.id)
    return app


def test_repair_dialog(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(ClientDetailScreen("fail"))
        screen = pilot.app.screen
        await until(pilot, lambda: screen.client is not None and screen.query_one(JobTable).row_count == 1)
        await footer_drawn(pilot, screen)
        pilot.app.clear_notifications()  # the clients screen's failure toasts (see test_job_detail)
        await pilot.app.push_screen(RepairDialog("fail", date(2025, 9, 1), date(2025, 9, 30), date(2025, 10, 13)))
        await pilot.pause()
        end = pilot.app.screen.query_one("#end", Input)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        end.focus()
        end.value = ""
        await pilot.press(*"2025-10-20")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_jobs_screen(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(JobsScreen())
        screen = pilot.app.screen
        table = screen.query_one(JobTable)
        await until(pilot, lambda: table.row_count == len(JOBS))
        await footer_drawn(pilot, screen)
        await pilot.press("down")
        await until(pilot, lambda: table.cursor_row == 1)
        pilot.app.clear_notifications()  # the clients screen's failure toasts (see test_job_detail): seen in CI
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_job_detail(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(JobDetailScreen(2))  # append fail: a traceback and an error
        screen = pilot.app.screen
        view = screen.query_one(OutputView)
        await until(pilot, lambda: view.line_count == 5)
        await footer_drawn(pilot, screen)
        # The clients screen's failure toasts fade in on a timer: under load a snapshot caught them
        # half drawn. They are not what this picture is of.
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
