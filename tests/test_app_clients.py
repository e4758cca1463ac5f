"""Pilot tests of the clients screen against the sandbox ads_sync, with a real embedded worker."""

from __future__ import annotations

import gc
import json
import os
import threading
from datetime import UTC, datetime

from conftest import SIZE, header, loaded, log_text, sandbox_slug, select, until, wait_ended
from textual.command import CommandList, CommandPalette
from textual.widgets import Input

from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.freshness import SEVERITY, Kind
from adsdash.sandbox.generate import plan
from adsdash.screens.clients import ClientsScreen
from adsdash.widgets.summary_bar import SummaryBar

PLAN = {p.slug: p for p in plan(30)}


def cell_text(screen: ClientsScreen, slug: str, column: str) -> str:
    return screen.table.get_cell(slug, column).plain


async def palette_offers(pilot, title: str) -> None:
    """Until the command palette shows `title` first and highlighted (enter then runs it)."""
    commands = pilot.app.screen.query_one(CommandList)
    await until(pilot, lambda: commands.highlighted == 0 and str(commands.get_option_at_index(0).prompt)
                .startswith(title), 5, f"the palette to offer {title}")


def worst_first(engine: Engine) -> list[str]:
    clients = engine.workspace.clients()
    return [c.slug for c in sorted(clients, key=lambda c: (
        SEVERITY[c.freshness.kind], -(c.freshness.lag_days or 0), c.name.casefold(), c.slug))]


# -- the table -------------------------------------------------------------

async def test_lists_the_30_clients_worst_first(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.table.row_count == 30
        assert screen.table.shown_slugs == worst_first(app.engine)
        assert screen.table.shown_slugs[0] == sandbox_slug("broken_state")  # ERROR first
        assert cell_text(screen, sandbox_slug("broken_state"), "fresh") == "! error"
        assert cell_text(screen, sandbox_slug("stale_lock"), "lock").startswith("stale ")
        summary = screen.query_one(SummaryBar).summary
        assert summary.total == 30 and summary.kinds[Kind.ERROR] == 1
        assert summary.worker == f"embedded worker pid {os.getpid()}"
        assert screen.table.selected_slug == sandbox_slug("broken_state")


async def test_what_the_first_frame_holds_is_frozen_out_of_the_collectors_way(app):
    """A full collection walked every object of Textual and of the modules (60 ms, measured during
    a flood): what is there at the first frame lives as long as the app, and is frozen once."""
    gc.unfreeze()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: gc.get_freeze_count() > 10_000, 5, "the objects of the first frame frozen")


async def test_filter_by_name_or_slug_and_escape_clears(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"ROOF")
        roofers = {s for s, p in PLAN.items() if "roof" in p.name.lower() or "roof" in s}
        assert len(roofers) >= 2
        assert set(screen.table.shown_slugs) == roofers
        await pilot.press("enter")  # back to the table, the filter stays
        assert app.focused is screen.table and set(screen.table.shown_slugs) == roofers
        await pilot.press("escape")
        assert screen.table.row_count == 30 and not screen.query_one("#filter").display
        await pilot.press("slash", *"dr-maria")  # a slug fragment
        assert screen.table.shown_slugs == ["dr-maria-chen-dds"]


async def test_sort_keeps_the_cursor_on_the_same_client(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        slug = "priority-roofing"
        await select(pilot, slug)
        before = table.cursor_row
        orders = []
        for _ in range(5):
            await pilot.press("s")
            orders.append(table.order)
            assert table.selected_slug == slug
            assert table.shown_slugs[table.cursor_row] == slug
        assert orders == ["name", "lag", "last job", "gaps", "worst first"]
        assert table.cursor_row == before
        await pilot.press("s")  # by name
        names = [PLAN[s].name.casefold() for s in table.shown_slugs]
        assert names == sorted(names)


async def test_refresh_after_a_file_change_updates_the_row_without_moving_the_cursor(live_sandbox_settings,
                                                                                    sandbox_worker, ads_dir):
    now = datetime.now(UTC)  # a clock that stands still: the order, held after a key, waits for `o`
    app = AdsdashApp(Engine(live_sandbox_settings, clock=lambda: now), clock=lambda: now)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        table = screen.table
        target = "priority-roofing"
        await select(pilot, target)
        await pilot.press("down", "down")  # the cursor somewhere in the middle
        chosen, row = table.selected_slug, table.cursor_row
        scroll = table.scroll_y
        other = next(s for s in table.shown_slugs[row + 1:] if PLAN[s].kind == "fresh")
        state_file = ads_dir / "state" / f"{other}.json"
        state = json.loads(state_file.read_text())
        state["google_ads"]["watermark_date"] = "2020-01-01"  # years behind: stale, sorts up
        state_file.write_text(json.dumps(state))
        count = screen.loaded
        await until(pilot, lambda: screen.loaded >= count + 1 and cell_text(screen, other, "watermark") == "2020-01-01",
                    10, "the refresh")
        assert cell_text(screen, other, "fresh") == "✗ stale"
        # the operator pressed keys a moment ago: rows stay put, a new order waits
        assert table.shown_slugs.index(other) > table.shown_slugs.index(chosen)
        assert table.selected_slug == chosen and table.cursor_row == row
        assert "new order waiting (o)" in str(screen.query_one(SummaryBar).render())
        await pilot.press("o")
        assert table.shown_slugs.index(other) < table.shown_slugs.index(chosen)  # it moved above
        assert "new order waiting" not in str(screen.query_one(SummaryBar).render())
        assert table.selected_slug == chosen  # the cursor stayed on its client
        assert table.cursor_row == row + 1 and table.scroll_y == scroll
        # a change that does not re-sort: the row updates in place, cursor untouched
        state["google_ads"]["watermark_date"] = "2019-06-30"
        state_file.write_text(json.dumps(state))
        await until(pilot, lambda: cell_text(screen, other, "watermark") == "2019-06-30", 10)
        assert table.selected_slug == chosen and table.cursor_row == row + 1


# -- actions ---------------------------------------------------------------

async def test_v_queues_a_validate_whose_output_streams_into_the_log(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "priority-roofing")
        await pilot.press("v")
        job = app.engine.store.jobs(slug="priority-roofing")[0]
        assert job.command == "validate"
        await until(pilot, lambda: "Validation complete for 'priority-roofing'" in log_text(screen), 20)
        await until(pilot, lambda: "finished" in header(screen), 10)
        assert f"job {job.id} validate priority-roofing" in header(screen) and "exit 0" in header(screen)
        assert app.engine.store.job(job.id).status == "finished"
        await until(pilot, lambda: cell_text(screen, "priority-roofing", "job").startswith("validate finished"), 10)


async def test_a_on_the_failing_client_shows_failed_and_the_error(app):
    failing = sandbox_slug("failing")
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, failing)
        await pilot.press("a")
        await until(pilot, lambda: "failed" in header(screen), 30, "the append to fail")
        text = header(screen)
        assert "exit 1" in text and "OAUTH_TOKEN_REVOKED" in text
        assert "ERROR" in log_text(screen)
        await until(pilot, lambda: cell_text(screen, failing, "job").startswith("append failed"), 10)
        assert screen.query_one(SummaryBar).summary.failed_24h == 1


async def test_i_asks_first_then_queues_init(app):
    from adsdash.screens.dialogs import ConfirmDialog

    slug = sandbox_slug("never")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, slug)
        await pilot.press("i")
        assert isinstance(app.screen, ConfirmDialog) and slug in app.screen.body
        await pilot.press("n")
        assert isinstance(app.screen, ClientsScreen) and not app.engine.store.jobs(slug=slug)
        await pilot.press("i")
        await pilot.press("y")
        jobs = app.engine.store.jobs(slug=slug)
        assert [j.command for j in jobs] == ["init"]
        screen = app.screen
        await until(pilot, lambda: app.engine.store.job(jobs[0].id).ended, 60, "init to end")
        await until(pilot, lambda: "Completed initial sync" in log_text(screen), 10)
        assert app.engine.store.job(jobs[0].id).status == "finished"
        assert screen.job_log.view.progress is not None  # `Processing chunk i/N` drove the bar
        chunk, total = screen.job_log.view.progress
        assert chunk == total >= 2


async def test_u_confirms_with_the_lock_pid_and_age_then_unlocks(app, ads_dir):
    from adsdash.screens.dialogs import ConfirmDialog

    slug = sandbox_slug("stale_lock")
    pid = app.engine.workspace.client(slug).lock.pid
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, slug)
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmDialog)
        assert f"PID {pid}" in app.screen.body and "stale" in app.screen.body and "5h00m" in app.screen.body
        await pilot.press("y")
        await until(pilot, lambda: "finished" in header(screen), 20)
        assert not (ads_dir / "locks" / f"{slug}.lock").exists()
        await until(pilot, lambda: cell_text(screen, slug, "lock") == "—", 10)


async def test_r_prefills_the_repair_from_the_newest_error(app):
    from adsdash.screens.dialogs import RepairDialog

    slug = sandbox_slug("failing")
    error = app.engine.workspace.client(slug).newest_error
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, slug)
        await pilot.press("r")
        dialog = app.screen
        assert isinstance(dialog, RepairDialog)
        assert dialog.query_one("#start", Input).value == error.start_date.isoformat()
        assert dialog.query_one("#end", Input).value == error.end_date.isoformat()
        dialog.query_one("#start", Input).focus()
        await pilot.press("enter")  # start submitted -> valid -> dismissed with the dates
        job = await until(pilot, lambda: app.engine.store.jobs(slug=slug, limit=1), 5)
        assert job[0].command == "repair"
        assert job[0].args == {"start": error.start_date.isoformat(), "end": error.end_date.isoformat()}


async def test_g_asks_for_a_scope_then_queues_the_report(app):
    from adsdash.screens.dialogs import ReportDialog

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "priority-roofing")
        await pilot.press("g")
        assert isinstance(app.screen, ReportDialog)
        await pilot.press("enter")  # the highlighted default scope
        job = await until(pilot, lambda: app.engine.store.jobs(slug="priority-roofing", limit=1), 5)
        assert job[0].command == "report" and job[0].args == {"scope": "LAST-30-DAYS"}


async def test_actions_are_in_the_command_palette(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "priority-roofing")
        titles = [title for title, _, _ in screen.palette_commands()]
        assert "Validate Priority Roofing" in titles and "Force-unlock Priority Roofing" in titles
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"validate prio")
        await palette_offers(pilot, "Validate Priority Roofing")
        await pilot.press("enter")
        job = await until(pilot, lambda: app.engine.store.jobs(slug="priority-roofing", limit=1), 5)
        assert job[0].command == "validate"


async def test_read_only_refuses_every_action(live_sandbox_settings):
    app = AdsdashApp(Engine(live_sandbox_settings), read_only=True)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await loaded(pilot)
        assert "READ-ONLY" in str(screen.query_one(SummaryBar).render())
        for key in "avirug":
            await pilot.press(key)
            assert isinstance(app.screen, ClientsScreen), key  # no dialog either
        assert app.engine.store.jobs() == []
        await until(pilot, lambda: any("read-only" in str(t.render()) for t in app.screen.query("Toast")), 5)
        active = screen.active_bindings  # hidden from the footer, not merely greyed
        assert not {"a", "v", "i", "r", "u", "g"} & set(active) and active["s"].enabled
        assert not any(t.startswith("Validate") for t, _, _ in screen.palette_commands())
        screen.action_validate()  # the palette's way in is refused too
        assert app.engine.store.jobs() == []


async def test_outside_text_in_a_client_name_renders_safely(live_sandbox_settings, sandbox_worker, ads_dir):
    evil = "Evil [/] [bold red]Co[/bold red] \x1b]0;pwned\x07\x1b[2J\x1b[31mred"
    (ads_dir / "configs" / "clients" / "evil.yaml").write_text(
        "client_name: " + json.dumps(evil) + "\ntime_zone: America/Chicago\n")
    app = AdsdashApp(Engine(live_sandbox_settings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "evil")
        name = cell_text(screen, "evil", "name")
        assert name.startswith("Evil [/] [bold red]Co[/bold red]") and "\x1b" not in name and "pwned" not in name
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "pwned" not in svg
        assert "[bold red]Co[/bold red]" in svg.replace("&#160;", " ")
        titles = [t for t, _, _ in screen.palette_commands()]
        assert any(t.startswith("Validate Evil [/]") for t in titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"validate evil")
        await palette_offers(pilot, "Validate Evil [/]")
        await pilot.press("enter")
        await until(pilot, lambda: app.engine.store.jobs(slug="evil", limit=1), 5)
        await pilot.press("u")  # the dialog shows outside text as plain text
        await pilot.press("n")
        assert isinstance(app.screen, ClientsScreen)


async def test_a_keymap_overrides_a_binding_by_id(live_sandbox_settings, sandbox_worker):
    settings = live_sandbox_settings._replace(keymap={"clients.validate": "x", "app.quit": "ctrl+w"})
    app = AdsdashApp(Engine(settings))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "priority-roofing")
        await pilot.press("v")
        assert app.engine.store.jobs() == []
        await pilot.press("x")
        assert [j.command for j in app.engine.store.jobs()] == ["validate"]
        await pilot.press("q")
        assert app.is_running
        await pilot.press("ctrl+w")
    assert app.return_value == 0


async def test_question_mark_lists_every_key_with_its_id(app):
    from adsdash.widgets.keys_help import KeysScreen

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, KeysScreen)
        ids = {row[1].plain for row in app.screen.rows}
        assert {"clients.append", "clients.validate", "clients.init", "clients.repair", "clients.unlock",
                "clients.report", "clients.detail", "clients.reports", "clients.sort", "clients.filter",
                "app.quit", "app.jobs", "app.keys"} <= ids
        await pilot.press("escape")
        assert isinstance(app.screen, ClientsScreen)


async def test_enter_p_and_j_open_their_screens(app):
    from adsdash.screens.client_detail import ClientDetailScreen
    from adsdash.screens.jobs import JobsScreen
    from adsdash.screens.reports import ReportsScreen

    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "priority-roofing")
        for key, cls in (("enter", ClientDetailScreen), ("p", ReportsScreen), ("j", JobsScreen)):
            await pilot.press(key)
            await until(pilot, lambda cls=cls: isinstance(app.screen, cls), 5, cls.__name__)
            app.pop_screen()
            await until(pilot, lambda: isinstance(app.screen, ClientsScreen), 5)


async def test_q_exits_with_0(app):
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await until(pilot, lambda: app.return_value is not None, 5, "the app to exit")
    assert app.return_value == 0


async def test_q_quits_at_once_and_leaves_a_running_job_running(app, ads_dir, monkeypatch):
    slug = "priority-roofing"
    config = ads_dir / "configs" / "clients" / f"{slug}.yaml"
    config.write_text(config.read_text() + "sandbox: {delay_factor: 3}\n")
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "1")  # this one job takes its time
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        job = app.submit_job("validate", slug)
        await until(pilot, lambda: app.engine.store.job(job.id).status == "started", 10, "the job to start")
        await pilot.press("q")
        await until(pilot, lambda: app.return_value is not None, 5, "the app to exit")
    assert app.return_value == 0  # asked nothing
    assert app.engine.store.job(job.id).status == "started"  # cancelled nothing
    assert wait_ended(app.engine, job.id).status == "finished"


# -- start -------------------------------------------------------------------

async def test_the_footer_and_the_log_come_after_the_first_frame_complete(app):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await until(pilot, lambda: len(screen.query("#footer-slot FooterKey")) >= 10, 5, "the footer's keys")
        await until(pilot, lambda: screen.job_log.watcher is not None and screen.job_log.output, 5, "the log")
        table = screen.table  # no cell was measured (fixed widths), yet the table knows its size
        assert table.virtual_size.height == 30 + 1 and table.virtual_size.width > 100


async def test_a_slow_first_read_does_not_hold_the_screen_back(live_sandbox_settings, monkeypatch):
    import adsdash.screens.clients_read as clients_screen

    real = clients_screen.read_clients
    release = threading.Event()  # the folder is "slow" until the test says so: no timing to race

    def slow(app, **kwargs):
        release.wait(30)
        return real(app, **kwargs)

    monkeypatch.setattr(clients_screen, "read_clients", slow)
    monkeypatch.setattr(clients_screen, "FIRST_PAINT_WAIT", 0.05)
    app = AdsdashApp(Engine(live_sandbox_settings))
    # made while the read is held: it waited a bounded moment, not for it
    assert not app.clients_screen.first_read.done()
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await until(pilot, lambda: isinstance(app.screen, ClientsScreen) and app.screen.is_mounted
                                 and app.screen, 5)
            await pilot.pause(0.2)  # time passes on purpose: the held read must not land meanwhile
            assert screen.loaded == 0 and screen.table.row_count == 0  # mounted, the rows still being read
            release.set()
            screen = await loaded(pilot)
            assert screen.table.row_count == 30
    finally:
        release.set()  # a failed assert must not leave reader threads waiting


async def test_a_refresh_reads_again_only_when_the_folder_or_the_jobs_changed(app, ads_dir):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        # The gap days, counted once after the first read, are a change too: read once more then.
        await until(pilot, lambda: screen.data.fingerprint[-1:] == (1,), 20, "the gap days counted and read")
        await until(pilot, lambda: screen.checks >= 2, 10, "the first refreshes")
        reads, checks = screen.loaded, screen.checks
        await until(pilot, lambda: screen.checks >= checks + 3, 10, "three quiet refreshes")
        assert screen.loaded == reads  # nothing changed: looked, did not read
        state_file = next((ads_dir / "state").glob("*.json"))
        state_file.write_text(state_file.read_text() + " ")  # a file changed: read again
        await until(pilot, lambda: screen.loaded > reads, 10, "a read after the file changed")
        reads = screen.loaded
        job = app.submit_job("validate", "priority-roofing")  # a job: read again
        await until(pilot, lambda: screen.loaded > reads and app.engine.store.job(job.id).ended, 20, "a read")


async def test_a_refresh_after_one_file_changed_makes_only_that_client_again(app, ads_dir):
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        workspace = app.engine.workspace
        await until(pilot, lambda: screen.checks >= 2, 10, "the first refreshes")
        before = {row.slug: row for row in screen.data.rows}
        locked = {c.slug for c in screen.data.clients.values() if c.lock is not None}  # made at every read
        target = next(slug for slug, p in PLAN.items() if p.kind == "fresh" and slug not in locked)
        state_file = ads_dir / "state" / f"{target}.json"
        state = json.loads(state_file.read_text())
        state["google_ads"]["watermark_date"] = "2020-01-01"
        state_file.write_text(json.dumps(state))
        await until(pilot, lambda: cell_text(screen, target, "watermark") == "2020-01-01", 10, "the refresh")
        assert cell_text(screen, target, "fresh") == "✗ stale"
        assert workspace.looked_at == {target} | locked  # not the other 29-odd clients' files
        after = {row.slug: row for row in screen.data.rows}
        assert after[target] is not before[target]
        assert after.keys() == before.keys()
        # A file changed back: shown at the next refresh too.
        state["google_ads"]["watermark_date"] = before[target].cells[2].plain
        state_file.write_text(json.dumps(state))
        await until(pilot, lambda: cell_text(screen, target, "watermark") == before[target].cells[2].plain, 10)
        assert workspace.looked_at == {target} | locked
