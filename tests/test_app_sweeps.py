"""Sweeps and marks in the app, and a list the operator can work down: Pilot against the sandbox
ads_sync, a real store, a real worker where jobs run, and a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import SIZE, loaded, sandbox_slug, select, until
from textual.command import CommandList, CommandPalette

from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.screens.clients import RESORT_IDLE_SECONDS
from adsdash.screens.dialogs import ConfirmDialog
from adsdash.tasks.worker import Worker
from adsdash.widgets.summary_bar import SummaryBar


class Clock:
    """The app's clock: it stands still unless the test moves it."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def app_on(settings, clock: Clock, **kwargs) -> AdsdashApp:
    return AdsdashApp(Engine(settings, clock=clock), clock=clock, **kwargs)


def kinds(app) -> dict[str, str]:
    return {c.slug: c.freshness.kind.value for c in app.engine.workspace.clients()}


def cell(screen, slug: str, column: str) -> str:
    return screen.table.get_cell(slug, column).plain


def summary(screen) -> str:
    return str(screen.query_one(SummaryBar).render())


def toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def appends(app) -> list:
    """The append jobs in the store, oldest first."""
    return [job for job in reversed(app.engine.store.jobs(limit=None)) if job.command == "append"]


def is_worst_first(app, slugs: list[str]) -> bool:
    """Error, never, stale, late, fresh; within a kind the most days behind first."""
    rank = {"error": 0, "never": 1, "stale": 2, "late": 3, "fresh": 4}
    found = {c.slug: c.freshness for c in app.engine.workspace.clients()}
    keys = [(rank[found[s].kind.value], -(found[s].lag_days or 0)) for s in slugs]
    return keys == sorted(keys)


async def confirm(pilot, title: str) -> ConfirmDialog:
    dialog = await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmDialog) and pilot.app.screen, 5,
                         "the confirmation")
    assert dialog.title_text == title
    return dialog


async def test_marks_and_a_filter_sweep_the_late_clients_once(live_sandbox_settings):
    clock = Clock()
    app = app_on(live_sandbox_settings, clock)  # no worker yet: the jobs wait, so a repeat finds them queued
    late = {slug for slug, kind in kinds(app).items() if kind == "late"}
    stale = {slug for slug, kind in kinds(app).items() if kind == "stale"}
    assert len(late) >= 2 and stale
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        await pilot.press("slash", *"is:late", "enter")
        assert set(table.shown_slugs) == late
        await pilot.press("asterisk")  # every client shown
        assert table.marks == late and all(cell(screen, s, "mark") == "◉" for s in late)
        assert f"{len(late)} marked" in summary(screen)
        await pilot.press("escape")  # the filter goes, the marks stay
        assert table.row_count == 30 and table.marks == late
        await select(pilot, "priority-roofing")  # a fresh client: space marks it, and again unmarks it
        await pilot.press("space")
        assert "priority-roofing" in table.marks and cell(screen, "priority-roofing", "mark") == "◉"
        await pilot.press("space")
        assert table.marks == late and cell(screen, "priority-roofing", "mark") == " "
        await pilot.press("slash", *"is:marked", "enter")
        assert set(table.shown_slugs) == late
        await pilot.press("escape")

        await pilot.press("a")
        dialog = await confirm(pilot, f"Append {len(late)} clients?")
        assert f"the {len(late)} marked clients" in dialog.body
        await pilot.press("y")
        first = await until(pilot, lambda: len(appends(app)) == len(late) and appends(app), 5, "the jobs")
        assert {job.slug for job in first} == late and all(job.origin == "app" for job in first)
        assert is_worst_first(app, [job.slug for job in first])  # queued worst first
        assert table.marks == set() and cell(screen, first[0].slug, "mark") == " "
        assert any(f"append: {len(late)} queued" in text for text in toasts(app))

        # again, now for every late and stale client, from the palette: the late ones are still
        # queued, so only the stale ones get a job
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"every late")
        commands = app.screen.query_one(CommandList)
        await until(pilot, lambda: commands.option_count and str(commands.get_option_at_index(0).prompt)
                    .startswith("Append every late and stale client"), 5, "the palette's sweep")
        await pilot.press("enter")
        dialog = await confirm(pilot, f"Append {len(late | stale)} clients?")
        await pilot.press("y")
        both = await until(pilot, lambda: len(appends(app)) > len(late) and appends(app), 5, "the new jobs")
        assert len(both) == len(late | stale) and {job.slug for job in both} == late | stale  # one each
        assert any(f"append: {len(stale)} queued, {len(late)} already queued or running" in text
                   for text in toasts(app))

        worker = Worker(live_sandbox_settings, kind="embedded")  # now they run
        worker.start()
        try:
            await until(pilot, lambda: all(job.ended for job in appends(app)) and appends(app), 30, "the runs")
            failing = sandbox_slug("failing")  # the sandbox's client whose every run fails
            assert {job.slug: job.status for job in appends(app)} == {
                slug: "failed" if slug == failing else "finished" for slug in late | stale}
            await until(pilot, lambda: all(cell(screen, s, "fresh") == "✓ fresh" for s in (late | stale) - {failing}),
                        10, "the clients fresh")
        finally:
            worker.stop()


async def test_a_mistyped_filter_shows_nothing_and_says_why(live_sandbox_settings):
    app = app_on(live_sandbox_settings, Clock())
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", *"is:lat", "enter")
        assert screen.table.row_count == 0  # a sweep of "every client shown" must not widen to all
        assert "unknown filter is:lat" in summary(screen)
        await pilot.press("asterisk", "a")
        assert not isinstance(app.screen, ConfirmDialog) and appends(app) == []


async def test_marks_in_read_only_queue_nothing(live_sandbox_settings):
    app = app_on(live_sandbox_settings, Clock(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("space", "down", "space")
        assert len(screen.table.marks) == 2
        await pilot.press("v")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmDialog) and app.engine.store.jobs() == []
        assert not [title for title, _, _ in screen.palette_commands() if " every " in title]  # no sweeps offered


async def test_the_cursor_stays_on_its_row_after_an_action_in_worst_first_order(live_sandbox_settings,
                                                                                 sandbox_worker):
    clock = Clock()
    app = app_on(live_sandbox_settings, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        assert table.order == "worst first"
        found = kinds(app)
        order = table.shown_slugs
        slug = next(s for s in order if found[s] == "late")
        row = order.index(slug)
        below = order[row + 1]
        assert found[below] == "late"  # the sandbox has several late clients
        await select(pilot, slug)
        await pilot.press("a")
        await until(pilot, lambda: cell(screen, slug, "fresh") == "✓ fresh"
                    and cell(screen, slug, "job").startswith("append finished"), 30, "the append shown as done")
        assert table.shown_slugs == order and table.selected_slug == slug and table.cursor_row == row
        assert "new order waiting (o)" in summary(screen)
        await pilot.press("down")
        assert table.selected_slug == below and found[below] != "fresh"  # the next worst, not a fresh one

        clock.now += timedelta(seconds=RESORT_IDLE_SECONDS + 1)  # the operator is away: the order catches up
        await until(pilot, lambda: not table.order_waiting, 5, "the re-sort when idle")
        assert table.shown_slugs.index(slug) > table.shown_slugs.index(below)  # done: it went down the list
        assert table.selected_slug == below and "new order waiting" not in summary(screen)


async def test_g_with_marks_asks_a_scope_then_once_for_all(live_sandbox_settings):
    from adsdash.screens.dialogs import ReportDialog

    app = app_on(live_sandbox_settings, Clock())
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("space", "down", "space")
        marked = set(screen.table.marks)
        lacking = {slug for slug in marked if app.engine.report_lacks(slug, "LAST-30-DAYS")}
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ReportDialog), 5, "the scope")
        await pilot.press("enter")  # the highlighted default scope
        await confirm(pilot, "Report 2 clients?")
        await pilot.press("y")
        jobs = await until(pilot, lambda: [j for j in app.engine.store.jobs() if j.command == "report"], 5,
                           "the reports")
        assert {job.slug for job in jobs} == marked and len(jobs) == 2
        assert {job.args["scope"] for job in jobs} == {"LAST-30-DAYS"}
        appends = {job.id: job.slug for job in app.engine.store.jobs() if job.command == "append"}
        assert {job.slug: appends.get(job.after) for job in jobs if job.after} == {  # lacking days: appended first
            slug: slug for slug in lacking}
        assert screen.table.marks == set()
