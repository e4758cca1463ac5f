"""A job that fails while the app runs says so in a toast; one that failed before it started does not.

Real sandbox ads_sync, store, worker and app (Pilot); the failing sandbox client fails `append`.
"""

from __future__ import annotations

from conftest import SIZE, sandbox_slug, until, wait_ended

from adsdash.engine import Engine
from adsdash.screens.clients import ClientsScreen
from adsdash.tasks.worker import Worker


def toasts(app) -> list[tuple[str, bool]]:
    """(text, is an error) of every toast on screen, as rendered."""
    return [(str(toast.render()), toast.has_class("-error")) for toast in app.screen.query("Toast")]


async def test_a_job_that_fails_while_the_app_runs_is_announced(sandbox_settings, make_app):
    settings = sandbox_settings._replace(refresh_seconds=0.3)
    slug = sandbox_slug("failing")
    engine = Engine(settings)
    before_app = Worker(settings, kind="embedded")
    before_app.start()
    try:
        old = wait_ended(engine, engine.submit("append", slug).id)
    finally:
        before_app.stop()
    assert old.status == "failed"

    app = make_app(settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # toasts are off in tests by default
        screen = await until(pilot, lambda: isinstance(app.screen, ClientsScreen) and app.screen.loaded and app.screen)
        seen = screen.checks
        await until(pilot, lambda: screen.checks >= seen + 2, 10, "two refreshes")
        assert toasts(app) == []  # a failure from before the app started is no news

        job = app.engine.submit("append", slug)
        done = await until(pilot, lambda: (j := app.engine.store.job(job.id)).ended and j, what="the job to end")
        assert done.status == "failed" and done.error
        first_line = done.error.splitlines()[0]
        shown = await until(pilot, lambda: toasts(app), 10, "a toast")
        assert shown == [(f"Job {job.id} failed\nappend {slug}: {first_line}", True)]
        seen = screen.checks
        await until(pilot, lambda: screen.checks >= seen + 2, 10, "two more refreshes")
        assert len(toasts(app)) == 1  # announced once, not at every refresh


async def test_failures_under_another_screen_are_announced_on_return_a_few_at_a_time(sandbox_settings, make_app):
    from adsdash.screens.jobs import JobsScreen

    slug = sandbox_slug("failing")
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await until(pilot, lambda: isinstance(app.screen, ClientsScreen) and app.screen.loaded and app.screen)
        await app.push_screen(JobsScreen())  # the clients screen does not read while under it...
        await until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "clients"),
                    what="a read begun before (it could see the failures early)")  # ...once this one is done
        ids = [app.engine.submit("append", slug).id for _ in range(5)]
        for job_id in ids:
            await until(pilot, lambda job_id=job_id: app.engine.store.job(job_id).ended, what=f"job {job_id}")
        assert toasts(app) == []
        app.pop_screen()
        shown = await until(pilot, lambda: len(toasts(app)) >= 4 and toasts(app), 10, "the toasts")
        titles = [text.split("\n")[0] for text, _error in shown]
        assert titles == [f"Job {job_id} failed" for job_id in ids[:3]] + ["Jobs failed"]
        assert shown[-1] == ("Jobs failed\n2 more jobs failed (j: jobs)", True)
        assert screen.loaded > 1
