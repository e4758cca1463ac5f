"""Snapshots of the clients screen (as it is, read-only, at 80x24, in the light theme) and of the
screens and dialogs opened from it: client detail, reports, a report, confirm, report scope, keys.

The same picture in every run: the sandbox workspace generated for a fixed moment (SNAPSHOT_NOW,
the app's clock too), its stale lock's PID pinned, the local zone UTC, no worker and no job, no
refresh during the test, the folder named by a relative path (see conftest.snapshot_settings).
"""

from __future__ import annotations

from conftest import SIZE, clients_settled, footer_drawn, sandbox_slug, screenshot_text, select, until
from textual.widgets import DataTable, Markdown

from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.dialogs import ConfirmDialog, ReportDialog
from adsdash.screens.reports import ReportsScreen, ReportViewScreen
from adsdash.widgets.keys_help import KeysScreen

REPORTED = sandbox_slug("fresh")  # the first fresh clients have two reports each
NEVER = sandbox_slug("never")
FAILING = sandbox_slug("failing")


async def open_screen(pilot, key: str, kind: type):
    """Press `key` and wait for a `kind` screen on top."""
    await pilot.press(key)
    return await until(pilot, lambda: isinstance(pilot.app.screen, kind) and pilot.app.screen, 10, kind.__name__)


# ---- the clients screen -----------------------------------------------------------------

def test_clients_screen(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=clients_settled)


def test_clients_screen_read_only(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(read_only=True), terminal_size=SIZE, run_before=clients_settled)


def test_clients_screen_80x24(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=clients_settled)


def test_clients_screen_80x20(snap_compare, snapshot_app):  # the log pane gives way: ten clients show
    assert snap_compare(snapshot_app(), terminal_size=(80, 20), run_before=clients_settled)


def test_clients_screen_220x60(snap_compare, snapshot_app):  # names and slugs whole, not cut at 28
    assert snap_compare(snapshot_app(), terminal_size=(220, 60), run_before=clients_settled)


def test_clients_screen_light_theme(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(theme="textual-light"), terminal_size=SIZE, run_before=clients_settled)


# ---- dialogs over the clients screen ------------------------------------------------------

def _dialog_snapshot(snap_compare, snapshot_app, slug: str, key: str, dialog_class, focused: str) -> bool:
    async def run_before(pilot):
        await clients_settled(pilot)
        await select(pilot, slug)
        dialog = await open_screen(pilot, key, dialog_class)
        await until(pilot, lambda: dialog.query_one(focused).has_focus, 5, f"{focused} focused")

    return snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)


def test_confirm_dialog(snap_compare, snapshot_app):
    assert _dialog_snapshot(snap_compare, snapshot_app, NEVER, "i", ConfirmDialog, "#yes")


def test_report_scope_dialog(snap_compare, snapshot_app):
    assert _dialog_snapshot(snap_compare, snapshot_app, REPORTED, "g", ReportDialog, "#kinds")


def test_keys_help(snap_compare, snapshot_app):
    async def run_before(pilot):
        await clients_settled(pilot)
        keys = await open_screen(pilot, "question_mark", KeysScreen)
        table = keys.query_one(DataTable)
        await until(pilot, lambda: table.row_count == len(keys.rows) > 0, 5, "the keys listed")

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)


# ---- screens opened from the clients screen -----------------------------------------------

def test_client_detail(snap_compare, snapshot_app):
    async def run_before(pilot):
        await clients_settled(pilot)
        await select(pilot, FAILING)  # an error file: every section has something to show
        screen = await open_screen(pilot, "enter", ClientDetailScreen)
        await until(pilot, lambda: screen.client is not None, 10, "the client read")
        await footer_drawn(pilot, screen)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)


async def open_reports(pilot) -> ReportsScreen:
    await clients_settled(pilot)
    await select(pilot, REPORTED)
    screen = await open_screen(pilot, "p", ReportsScreen)
    table = screen.query_one("#reports", DataTable)
    await until(pilot, lambda: table.row_count == 2, 10, "the two reports")
    await footer_drawn(pilot, screen)
    return screen


def test_reports(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=open_reports)


def test_report_view(snap_compare, snapshot_app):
    async def run_before(pilot):
        await open_reports(pilot)
        screen = await open_screen(pilot, "enter", ReportViewScreen)  # the newest report
        markdown = screen.query_one(Markdown)
        await until(pilot, lambda: "Campaign report" in screenshot_text(pilot.app), 10, "the report drawn")
        assert markdown.source.startswith("# Campaign report: ")
        await footer_drawn(pilot, screen)

    assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=run_before)

