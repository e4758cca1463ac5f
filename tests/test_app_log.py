"""The live log pane: cleaning, colours, stderr, switching, tails, and a flood that must not freeze it.

Real store, real worker, real subprocesses (tests/bin/fake_cli.py picks its behaviour by slug).
"""

from __future__ import annotations

import asyncio
import time

from test_app_clients import SIZE, header, loaded, log_text, select, until
from textual import events
from textual.geometry import Offset
from textual.selection import Selection

from adsdash.app import AdsdashApp
from adsdash.screens.clients import ClientsScreen
from adsdash.widgets import job_log
from adsdash.widgets.job_log import STDERR_MARK, ColourLog, prepare, visible


def test_prepare_cleans_marks_stderr_and_colours_errors():
    assert prepare("stdout", "plain line") == "plain line"
    assert prepare("stderr", "oops") == STDERR_MARK + "oops"
    assert prepare("stdout", "\x1b]0;title\x07a\x1b[2Jb\x1b[31mc\x1b[0m") == "ab\x1b[31mc\x1b[0m"
    line = prepare("stdout", "2025-10-13 08:00:01,123 - ERROR - ads_sync - boom")
    assert line.startswith("\x1b[91m") and visible(line).endswith("boom")
    assert visible(prepare("stdout", "tab\there\x00")) == "tab     here␀"


async def test_the_log_renders_sgr_colours_and_lets_no_other_escape_through(fake_engine):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await select(pilot, "ok")  # settled on a client with no jobs: nothing clears the Log now
        await pilot.pause(0.1)
        log = app.screen.query_one(ColourLog)
        log.write_lines([prepare("stdout", "\x1b[31mred\x1b[0m then plain \x1b]8;;http://x\x1b\\link"),
                         prepare("stderr", "to stderr")])
        await pilot.pause(0.1)
        strip = log.render_line(log.line_count - 2 - int(log.scroll_y))
        text = "".join(s.text for s in strip)
        assert text.startswith("red then plain link") and "\x1b" not in text
        red = [s for s in strip if s.text == "red"]
        assert red and red[0].style.color.number == 1  # ANSI red
        strip = log.render_line(log.line_count - 1 - int(log.scroll_y))
        assert "".join(s.text for s in strip).startswith("┃ to stderr")
        # Copying a selection (what ctrl+c copies) gives the visible text, without the sequences.
        app.screen.selections = {log: Selection(Offset(0, log.line_count - 2), None)}
        assert app.screen.get_selected_text() == "red then plain link\n┃ to stderr"
        assert "\x1b" not in "".join(visible(line) for line in log.lines)


async def test_dirty_output_is_shown_clean_and_stderr_is_marked(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "dirty")
        await pilot.press("v")
        await until(pilot, lambda: "failed" in header(screen) or "finished" in header(screen), 20)
        await until(pilot, lambda: "no newline at end" in log_text(screen), 5)
        lines = [visible(line) for line in screen.job_log.output.lines]
        assert "[bold red]markup[/] and [/] and [link=x]y[/link]" in lines
        assert "title clear red" in lines  # the OSC title and the clear-screen are gone
        assert "nul␀byte" in lines and "bad utf8 \ufffd\ufffd end" in lines
        assert "┃ err line" in lines
        for raw in screen.job_log.output.lines:  # only SGR colour sequences remain
            assert visible(raw).isprintable()
        svg = app.export_screenshot()
        assert "pwned" not in svg and "\x1b" not in svg


async def test_the_pane_follows_the_selected_client_and_switches_jobs(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        for slug in ("ok", "ok-2"):
            job = app.submit_job("validate", slug)
            await until(pilot, lambda job=job: app.engine.store.job(job.id).ended, 20)
        await select(pilot, "ok")
        await until(pilot, lambda: "validate ok\n" in log_text(screen) + "\n", 5)
        assert "ok-2" not in log_text(screen)
        await select(pilot, "ok-2")
        await until(pilot, lambda: "validate ok-2" in log_text(screen), 5)
        assert "validate ok\n" not in log_text(screen) + "\n"
        await select(pilot, "slow")
        await until(pilot, lambda: "slow: no jobs yet" in header(screen), 5)
        assert screen.job_log.output.line_count == 0


async def test_switching_to_a_long_job_loads_its_tail(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_LINES", "12000")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: app.engine.store.job(job.id).ended, 30)
        await select(pilot, "flood")
        await until(pilot, lambda: screen.job_log.output.line_count == job_log.TAIL, 5)
        lines = screen.job_log.output.lines
        assert lines[0] == "line 10001" and lines[-1] == "line 12000"
        assert "10,000 not shown" in header(screen)


async def press_and_time(app, key: str, done) -> float:
    """Seconds from a key reaching the app (as the driver sends it) to `done()` being true.

    Not pilot.press: that also waits for the whole process to go idle, which it never is
    while a flood is being written."""
    start = time.perf_counter()
    app._driver.send_message(events.Key(key, key))
    while not done():
        await asyncio.sleep(0.001)
        assert time.perf_counter() - start < 5, f"{key} not handled within 5 s"
    return time.perf_counter() - start


async def test_a_flood_never_freezes_the_app(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_LINES", "300000")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen: ClientsScreen = await loaded(pilot)
        await select(pilot, "flood")
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: screen.job_log.output.line_count > 0, 10, "the flood to start")
        table, times = screen.table, []
        while not app.engine.store.job(job.id).ended:
            order = table.order
            times.append(await press_and_time(app, "s", lambda order=order: table.order != order))
            assert screen.job_log.output.line_count <= job_log.KEEP
            await asyncio.sleep(0.02)
        # A freeze, not a speed: latency itself is measured in bench/bench_tui.py, since a timed
        # bound tight enough to measure speed flakes on a shared machine.
        assert len(times) >= 5 and max(times) < 2.0, f"key latencies during the flood: {times}"
        await until(pilot, lambda: screen.job_log.output.lines[-1:] == ["line 300000"], 10)
        await until(pilot, lambda: "finished" in header(screen), 5)
        assert "300,000 lines" in header(screen) and "not shown" in header(screen)


async def test_stderr_only_failure_shows_exit_code_and_error(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "stderr-only")
        await pilot.press("v")
        await until(pilot, lambda: "failed" in header(screen), 20)
        assert "exit 3" in header(screen) and "fatal: disk full" in header(screen)
        assert [visible(line) for line in screen.job_log.output.lines] == ["┃ fatal: disk full"]
