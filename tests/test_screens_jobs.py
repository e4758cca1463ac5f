"""Pilot tests of the jobs screen, on a real app, engine, store and embedded worker."""

from __future__ import annotations

import signal

from conftest import SIZE, ended, until

from adsdash.screens.dialogs import ConfirmDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.jobs import JobsScreen, JobTable


async def open_jobs(pilot, slug=None, rows=1) -> JobTable:
    await pilot.app.push_screen(JobsScreen(slug))
    table = pilot.app.screen.query_one(JobTable)
    await until(pilot, lambda: table.row_count >= rows, what=f"{rows} rows")
    return table


def row_ids(table: JobTable) -> list[int]:
    return [int(row.key.value) for row in table.ordered_rows]


# ---- tests --------------------------------------------------------------------------


async def test_lists_jobs_newest_first_and_filters(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        ids = [app.engine.submit(cmd, slug).id for cmd, slug in
               (("validate", "ok"), ("append", "fail"), ("validate", "ok-2"))]
        for job_id in ids:
            await until(pilot, ended(app, job_id))
        table = await open_jobs(pilot, rows=3)
        assert row_ids(table) == sorted(ids, reverse=True)
        await until(pilot, lambda: "✗ failed" in table.get_row(str(ids[1]))[4].plain)

        await pilot.press("s")  # all -> queued
        await until(pilot, lambda: table.row_count == 0, what="no queued jobs")
        for _ in range(3):  # queued -> started -> finished -> failed
            await pilot.press("s")
        await until(pilot, lambda: row_ids(table) == [ids[1]], what="only the failed job")

        screen = app.screen
        screen.query_one("#status-filter").value = ""
        screen.query_one("#client-filter").value = "ok-2"
        await until(pilot, lambda: row_ids(table) == [ids[2]], what="only ok-2's job")


async def test_jobs_screen_of_one_client_and_open_detail(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        first = app.engine.submit("validate", "ok").id
        app.engine.submit("validate", "ok-2")
        await until(pilot, ended(app, first))
        table = await open_jobs(pilot, slug="ok")
        assert row_ids(table) == [first]
        await pilot.press("enter")
        assert isinstance(app.screen, JobDetailScreen) and app.screen.job_id == first
        await pilot.press("escape")
        assert isinstance(app.screen, JobsScreen)


async def test_cursor_stays_on_its_job_when_new_jobs_arrive(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        ids = [app.engine.submit("validate", "ok").id for _ in range(3)]
        table = await open_jobs(pilot, rows=3)
        await pilot.press("down")
        assert table.selected_job.id == ids[1]
        newer = app.engine.submit("validate", "ok-2").id
        await until(pilot, lambda: table.row_count == 4, what="the new row")
        assert row_ids(table)[0] == newer
        assert table.selected_job.id == ids[1]


async def test_cancel_a_running_job_after_confirming(fake_settings, make_app, monkeypatch):
    monkeypatch.setenv("FAKE_SECONDS", "30")
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job_id = app.engine.submit("append", "slow").id
        await until(pilot, lambda: app.engine.store.job(job_id).status == "started", what="started")
        table = await open_jobs(pilot)
        await until(pilot, lambda: table.selected_job and table.selected_job.status == "started")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("n")  # not yet
        assert app.engine.store.job(job_id).status == "started"
        await pilot.press("x")
        await pilot.press("y")
        job = await until(pilot, ended(app, job_id), what="cancelled")
        # Cancelled (not failed or finished), by the SIGINT a cancel sends first: fake_cli's slow obeys it.
        assert (job.status, job.exit_code, job.error) == ("cancelled", -signal.SIGINT, "cancelled by request")
        # An ended job cannot be cancelled again: the binding is greyed out.
        await until(pilot, lambda: table.selected_job.ended)
        assert app.screen.check_action("cancel_job", ()) is None


async def test_retry_queues_the_same_arguments(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        first = app.engine.submit("report", "ok", scope="2025-Q3", anyway=True).id  # no data: asked anyway
        await until(pilot, ended(app, first))
        table = await open_jobs(pilot)
        await until(pilot, lambda: table.selected_job and table.selected_job.ended)
        await pilot.press("R")
        await until(pilot, lambda: len(app.engine.store.jobs()) == 2, what="a second job")
        again = app.engine.store.jobs()[0]
        assert (again.id, again.command, again.slug, again.args) == (first + 1, "report", "ok", {"scope": "2025-Q3"})
        assert again.argv == app.engine.store.job(first).argv


async def test_read_only_hides_and_refuses_job_actions(fake_settings, make_app):
    app = make_app(fake_settings, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        job_id = app.engine.submit("validate", "ok").id
        await until(pilot, ended(app, job_id))
        await open_jobs(pilot)
        screen = app.screen
        assert screen.check_action("retry_job", ()) is False
        assert screen.check_action("cancel_job", ()) is False
        await pilot.press("R")
        await pilot.press("x")
        await pilot.pause(0.2)  # time passes on purpose: nothing may come of the keys
        assert screen is app.screen
        assert len(app.engine.store.jobs()) == 1
