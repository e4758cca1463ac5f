"""Pilot tests of the job detail, client detail and reports screens, on the real app."""

from __future__ import annotations

import io
import json
import signal
import sys
from datetime import date

from conftest import NOW, SIZE, ended, make_settings, sandbox_slug, screenshot_text, until
from rich.console import Console
from textual.widgets import DataTable, Markdown, Static

from adsdash import timefmt
from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.dialogs import ConfirmDialog, RepairDialog, ReportDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.jobs import JobTable
from adsdash.screens.reports import ReportsScreen, ReportViewScreen
from adsdash.widgets.output_view import OutputView


def screen_lines(view: OutputView) -> list[str]:
    """What the view draws right now, one string a row."""
    return [view.render_line(y).text.rstrip() for y in range(view.size.height)]


def static_text(screen, selector: str) -> str:
    """A Static's content as plain text, Rich renderables (tables, groups) included."""
    console = Console(width=158, file=io.StringIO(), color_system=None)
    console.print(screen.query_one(selector, Static).content)
    return console.file.getvalue()


# ---- job detail ---------------------------------------------------------------------


async def test_a_200000_line_job_scrolls_to_the_end_and_search_finds_lines(fake_settings, make_app, monkeypatch):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("append", "flood")
        job = await until(pilot, ended(app, job.id), what="the flood to end")
        assert job.line_count == 200_000
        store, pages = app.engine.store, set()
        read_page = store.lines_cut

        def lines_cut(job_id, **kwargs):  # the pages of this job's output read from the store
            if job_id == job.id:
                pages.add(kwargs["after"])
            return read_page(job_id, **kwargs)

        monkeypatch.setattr(store, "lines_cut", lines_cut)
        await app.push_screen(JobDetailScreen(job.id))
        view = app.screen.query_one(OutputView)
        await until(pilot, lambda: view.line_count == 200_000)
        await until(pilot, lambda: view.is_vertical_scroll_end and view.scroll_offset.y > 0, what="the end")
        assert screen_lines(view)[-1].endswith("│ line 200000")
        assert 1 <= len(pages) <= 3  # only what is on screen was read

        await pilot.press("g")  # top
        await until(pilot, lambda: view.scroll_offset.y == 0)
        assert screen_lines(view)[0].strip().startswith("1 │ line 1")

        await pilot.press("slash", *"LINE 12345", "enter")  # case-insensitive
        screen = app.screen
        await until(pilot, lambda: screen.match == 12344, what="the first match")
        top, bottom = view.visible_range()
        assert top <= 12344 < bottom
        assert any(text.endswith("line 12345") and "▸" in text for text in screen_lines(view))
        await pilot.press("n")
        await until(pilot, lambda: screen.match == 123449, what="the next match (line 123450)")
        await pilot.press("N")
        await until(pilot, lambda: screen.match == 12344, what="back to line 12345")
        assert "line 12,345" in static_text(screen, "#status-line")

        await pilot.press("slash", *"no such text", "enter")
        await until(pilot, lambda: "no line contains" in static_text(screen, "#status-line"))


async def test_outside_output_renders_safely(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("validate", "dirty")
        await until(pilot, ended(app, job.id))
        await app.push_screen(JobDetailScreen(job.id))
        view = app.screen.query_one(OutputView)
        await until(pilot, lambda: view.line_count == 6)
        await pilot.pause()
        strips = [view.render_line(y) for y in range(6)]
        texts = [strip.text.rstrip() for strip in strips]
        assert texts[0].endswith("│ [bold red]markup[/] and [/] and [link=x]y[/link]")
        assert texts[1].endswith("│ title clear red")
        assert texts[2].endswith("│ nul␀byte")
        assert texts[3].endswith("│ bad utf8 \ufffd\ufffd end")
        assert any(text.endswith("│ no newline at end") for text in texts[4:])  # stderr may come first
        stderr = next(i for i, text in enumerate(texts) if text.endswith("err line"))
        assert "┃" in texts[stderr] and all("┃" not in t for i, t in enumerate(texts) if i != stderr)
        for strip in strips:
            for segment in strip:
                assert "\x1b" not in segment.text and "\x07" not in segment.text and "\x00" not in segment.text
        red = [s for s in strips[1] if s.text == "red"]
        assert red and red[0].style.color.number == 1  # the SGR colour is kept as a colour
        assert "pwned" not in texts[1]
        # The facts show the error-free finish; the whole screen rendered without a markup error.
        assert "finished" in static_text(app.screen, "#facts")


async def test_a_huge_line_is_cut_on_screen_not_in_the_store(tmp_path, fake_settings, make_app):
    stub = tmp_path / "long_line.py"
    stub.write_text("print('x' * 300_000 + 'END')\nprint('short')\n")
    settings = make_settings(tmp_path, fake_settings.ads_sync_path, f"{sys.executable} {stub}", workers=1)
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("validate", "ok")
        await until(pilot, ended(app, job.id))
        await app.push_screen(JobDetailScreen(job.id))
        view = app.screen.query_one(OutputView)
        await until(pilot, lambda: view.line_count == 2)
        await pilot.press("g")
        await pilot.pause()
        line, length = view.line(0)
        assert length == 300_003 and len(line.as_text) <= 16 * 1024  # the page holds only what is shown
        view.scroll_to(x=view.max_scroll_x, animate=False, immediate=True)
        await pilot.pause()
        assert "cut here: the line has 300,003 bytes" in view.render_line(0).text
        await pilot.press("slash", *"xEND", "enter")  # search still sees the whole line
        await until(pilot, lambda: app.screen.match == 0)


async def test_running_job_grows_live_and_can_be_cancelled_from_detail(fake_settings, make_app, monkeypatch):
    monkeypatch.setenv("FAKE_SECONDS", "30")
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("append", "slow")
        await app.push_screen(JobDetailScreen(job.id))
        view = app.screen.query_one(OutputView)
        await until(pilot, lambda: view.line_count > view.size.height + 2, what="a screenful")
        await until(pilot, lambda: view.scroll_offset.y > 0 and view.is_vertical_scroll_end, what="following")
        await pilot.press("g")  # scrolled up: the view stays put while lines arrive
        seen = view.line_count
        await until(pilot, lambda: view.line_count > seen + 3, what="more lines")
        assert view.scroll_offset.y == 0 and not view.follow
        await pilot.press("G")  # back at the bottom: following again
        seen = view.line_count
        await until(pilot, lambda: view.line_count > seen + 3, what="more lines")
        await until(pilot, lambda: view.is_vertical_scroll_end and view.follow, what="following again")
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        done = await until(pilot, ended(app, job.id))
        assert (done.status, done.exit_code, done.error) == ("cancelled", -signal.SIGINT, "cancelled by request")


async def test_job_detail_shows_the_facts(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("append", "fail")
        await until(pilot, ended(app, job.id))
        await app.push_screen(JobDetailScreen(job.id))
        await until(pilot, lambda: "exit 1" in static_text(app.screen, "#facts"))
        facts = static_text(app.screen, "#facts")
        for expected in ("append fail", "✗ failed", "Command failed: something broke", "Asked by",
                         timefmt.local(NOW), "fake_cli.py append fail"):
            assert expected in facts, expected


# ---- client detail ------------------------------------------------------------------


async def test_client_detail_shows_the_error_dates_and_r_queues_that_repair(sandbox_settings, make_app):
    slug = sandbox_slug("failing")
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        error = app.engine.workspace.client(slug).newest_error
        assert error.start_date and error.end_date
        await app.push_screen(ClientDetailScreen(slug))
        screen = app.screen
        await until(pilot, lambda: screen.client is not None, what="the client")
        text = static_text(screen, "#error")
        assert f"{error.start_date} → {error.end_date}" in text and "OAUTH_TOKEN_REVOKED" in text
        assert "google_ads" in static_text(screen, "#sources")
        assert "total_rows" in static_text(screen, "#quality")

        await pilot.press("r")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        job = await until(pilot, lambda: app.engine.store.jobs(slug=slug), what="the repair job")
        assert (job[0].command, job[0].args) == (
            "repair", {"start": error.start_date.isoformat(), "end": error.end_date.isoformat()})
        table = screen.query_one(JobTable)
        await until(pilot, lambda: table.row_count == 1, what="the job in recent jobs")


async def test_client_detail_without_error_opens_the_repair_dialog(sandbox_settings, make_app):
    slug = sandbox_slug("fresh")
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ClientDetailScreen(slug))
        await until(pilot, lambda: app.screen.client is not None)
        await pilot.press("r")
        assert isinstance(app.screen, RepairDialog)
        assert app.screen.today == date(2025, 10, 13)


async def test_client_detail_shows_stale_lock_and_broken_state(sandbox_settings, make_app):
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ClientDetailScreen(sandbox_slug("stale_lock")))
        await until(pilot, lambda: app.screen.client is not None)
        lock = static_text(app.screen, "#lock")
        assert "stale: its process is gone" in lock and "5h00m" in lock
        await pilot.press("escape")
        await app.push_screen(ClientDetailScreen(sandbox_slug("broken_state")))
        await until(pilot, lambda: app.screen.client is not None)
        assert "invalid JSON" in static_text(app.screen, "#problems")


# ---- reports ------------------------------------------------------------------------


async def test_reports_list_open_and_generate(sandbox_settings, make_app):
    slug = sandbox_slug("fresh")
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        before = app.engine.workspace.reports(slug)
        assert len(before) == 2
        await app.push_screen(ReportsScreen(slug))
        screen = app.screen
        table = screen.query_one("#reports", DataTable)
        await until(pilot, lambda: table.row_count == 2)
        assert [row.key.value for row in table.ordered_rows] == [str(r.path) for r in before]  # newest first
        await pilot.press("enter")
        assert isinstance(app.screen, ReportViewScreen) and app.screen.report == before[0]
        markdown = app.screen.query_one(Markdown)
        await until(pilot, markdown.source.strip, what="the report text")
        assert before[0].path.read_text(encoding="utf-8").splitlines()[0] in markdown.source
        await pilot.press("escape")

        await pilot.press("g")
        assert isinstance(app.screen, ReportDialog)
        await pilot.press("enter")  # the default scope
        job = await until(pilot, lambda: app.engine.store.jobs(slug=slug), what="the report job")
        await until(pilot, ended(app, job[0].id))
        await until(pilot, lambda: table.row_count == 3, what="the new report listed")
        jobs = screen.query_one(JobTable)
        await until(pilot, lambda: jobs.row_count == 1 and "wrote " in jobs.get_row_at(0)[-1].plain)


async def test_report_job_without_a_file_is_said_plainly(tmp_path, make_app, sandbox_settings):
    """The real CLI v0.1.0 logs where a report would go and writes nothing."""
    stub = tmp_path / "cli_v010.py"
    stub.write_text(
        "import sys\n"
        "print('2025-10-13 08:00:01,123 - INFO - ads_sync - Report would be written to: '\n"
        "      'output/%s/2025/001-%s-report-LAST-30-DAYS-20251013_080001.md' % (sys.argv[2], sys.argv[2]))\n"
        "print('2025-10-13 08:00:01,124 - INFO - ads_sync - Report generation requires implementation')\n")
    settings = make_settings(tmp_path, sandbox_settings.ads_sync_path, f"{sys.executable} {stub}", workers=2)
    slug = sandbox_slug("never")
    app = make_app(settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("report", slug, anyway=True)  # a never-synced client: its data lacks every day
        await until(pilot, ended(app, job.id))
        await app.push_screen(ReportsScreen(slug))
        jobs = app.screen.query_one(JobTable)
        await until(pilot, lambda: jobs.row_count == 1)
        outcome = jobs.get_row_at(0)[-1].plain
        assert "no report file exists" in outcome and "would be written to" in outcome
        assert "0 reports" in static_text(app.screen, "#heading")


async def test_report_with_markup_and_escapes_opens_safely(sandbox_settings, make_app):
    slug = sandbox_slug("never")
    folder = sandbox_settings.ads_sync_path / "output" / slug / "2025"
    folder.mkdir(parents=True)
    (folder / f"001-{slug}-report-LIFETIME-20251013_080000.md").write_bytes(
        b"# Report [bold]x[/]\n\nCost [/] \x1b]0;pwned\x07 \x1b[2J done \xff\n\n[link](https://example.com)\n")
    (folder / "index.json").write_text(json.dumps({"last_sequence": 1, "reports": []}))
    app = make_app(sandbox_settings)
    async with app.run_test(size=SIZE) as pilot:
        await app.push_screen(ReportsScreen(slug))
        table = app.screen.query_one("#reports", DataTable)
        await until(pilot, lambda: table.row_count == 1)
        await pilot.press("enter")
        markdown = app.screen.query_one(Markdown)
        await until(pilot, lambda: markdown.source.strip() != "")
        assert "[bold]x[/]" in markdown.source and "Cost [/]" in markdown.source
        assert "\x1b" not in markdown.source and "\x07" not in markdown.source
        # drawn as text, without a markup error (a screenshot renders the screen now)
        await until(pilot, lambda: "Cost [/]" in screenshot_text(app), 5, "the report")
