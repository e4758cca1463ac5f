"""Notifications in the app, driven by Pilot: `z` snoozes a client's alerts (a dialog: hours or
until fresh, a reason), the client detail shows the snooze, and a failing alert URL shows in
the summary line, masked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import SIZE, closed_port, loaded, sandbox_slug, select, until

from adsdash import audit, notify_send, notify_store
from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.clients import ClientsScreen
from adsdash.screens.snooze_dialog import SnoozeDialog
from adsdash.widgets.summary_bar import SummaryBar

SECRET = "hunter2"


async def test_z_snoozes_a_client_and_the_detail_and_the_audit_say_so(live_sandbox_settings):
    settings = live_sandbox_settings._replace(notify_urls=(f"json://ops:{SECRET}@127.0.0.1:{closed_port()}/x",))
    engine = Engine(settings)
    slug = sandbox_slug("stale")
    app = AdsdashApp(engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, slug)
        await pilot.press("z")
        dialog = await until(pilot, lambda: isinstance(app.screen, SnoozeDialog) and app.screen, 5, "the dialog")
        await pilot.click("#reason")
        await pilot.press(*"billing", "enter")
        await until(pilot, lambda: isinstance(app.screen, ClientsScreen), 5, "the dialog to close")
        assert not dialog.is_attached
        snooze = notify_store.snoozes(engine.store, engine.clock())[slug]
        assert snooze.reason == "billing" and not snooze.until_fresh
        assert datetime.fromisoformat(snooze.until) - datetime.fromisoformat(snooze.at) == timedelta(hours=4)
        assert [(r.slug, r.origin, r.outcome) for r in audit.read(engine.store, action=audit.SNOOZE)] == \
            [(slug, "app", "ok")]
        await pilot.press("enter")
        detail = await until(pilot, lambda: isinstance(app.screen, ClientDetailScreen) and app.screen, 5)
        await until(pilot, lambda: "alerts snoozed until" in str(detail.query_one("#heading").render()), 10,
                    "the heading to show the snooze")
        assert "billing" in str(detail.query_one("#heading").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, 5)
        await pilot.press("z")  # again: the snooze in force is shown, and can be ended
        dialog = await until(pilot, lambda: isinstance(app.screen, SnoozeDialog) and app.screen, 5, "the dialog")
        assert "billing" in str(dialog.query_one("#current").render())
        await pilot.click("#clear")
        await until(pilot, lambda: not notify_store.snoozes(engine.store, engine.clock()), 5, "the snooze to end")


async def test_a_failing_alert_url_shows_in_the_summary_line_masked(live_sandbox_settings):
    port = closed_port()
    settings = live_sandbox_settings._replace(notify_urls=(f"json://ops:{SECRET}@127.0.0.1:{port}/x",))
    engine = Engine(settings)
    [(shown, error)] = notify_send.test_urls(engine)  # the real send: refused, recorded as failing
    assert error
    async with AdsdashApp(engine).run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        line = str(screen.query_one(SummaryBar).render())
        assert f"⚠ notify: json://****@127.0.0.1:{port}/****" in line and "failing" in line
        assert SECRET not in line and shown in line


async def test_the_apps_worker_check_alerts_when_no_worker_starts_while_jobs_wait(live_sandbox_settings, receiver):
    """The app's periodic worker check (here a start that never comes up) sends the alert: no
    notifier runs without a worker."""
    settings = live_sandbox_settings._replace(notify_urls=(receiver.url,))
    past = datetime.now(UTC) - timedelta(minutes=10)
    job = Engine(settings, clock=lambda: past).submit("validate", sandbox_slug("fresh"))
    app = AdsdashApp(Engine(settings), ensure_worker=lambda: False)  # as if every start failed
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.worker_checks == 1, 10, "the first check (at mount)")
        assert receiver.posts == []  # the first check only starts a worker
        app._check_worker()  # the next periodic check (every WORKER_CHECK_SECONDS)
        await until(pilot, lambda: receiver.posts, 20, "the alert")
        assert receiver.posts[0]["title"] == "adsdash: no live worker, jobs are waiting"
        assert f"job {job.id}, validate" in receiver.posts[0]["message"]
