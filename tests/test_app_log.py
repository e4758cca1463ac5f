"""The live log pane: cleaning, colours, stderr, switching, whole output, and a flood that must not freeze it.

Real store, real worker, real subprocesses (tests/bin/fake_cli.py picks its behaviour by slug).
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

from conftest import SIZE, header, loaded, log_text, select, until
from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Offset, Region
from textual.selection import Selection

from adsdash.app import AdsdashApp
from adsdash.chunks import make_chunk
from adsdash.screens.clients import ClientsScreen
from adsdash.store import Store
from adsdash.widgets.input_first import MAX_HOLD_SECONDS, InputFirst
from adsdash.widgets.output_view import BAR_SECONDS, OutputView


def drawn(view, line_text: str):
    """The strip the view draws for the line on screen that reads `line_text`."""
    for y, shown in enumerate(view.shown_lines()):
        if shown == line_text:
            return view.render_line(y)
    raise AssertionError(f"{line_text!r} not on screen: {view.shown_lines()}")


async def test_dirty_output_is_shown_clean_coloured_and_stderr_is_marked(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "dirty")
        await pilot.press("v")
        await until(pilot, lambda: "finished" in header(screen), 20)
        await until(pilot, lambda: "no newline at end" in log_text(screen), 5)
        view = screen.job_log.output
        lines = view.shown_lines()
        assert "[bold red]markup[/] and [/] and [link=x]y[/link]" in lines
        assert "title clear red" in lines  # the OSC title and the clear-screen are gone
        assert "nul␀byte" in lines and "bad utf8 \ufffd\ufffd end" in lines and "err line" in lines
        strip = drawn(view, "title clear red")
        red = [s for s in strip if s.text == "red"]
        assert red and red[0].style.color is not None and red[0].style.color.number == 1  # SGR red kept
        assert all("\x1b" not in s.text for s in strip)
        assert "┃" in drawn(view, "err line").text  # stderr marked in the gutter, not only by colour
        svg = app.export_screenshot()
        assert "pwned" not in svg and "\x1b" not in svg
        # Selecting with the mouse copies the text as seen, without the sequences.
        y = lines.index("title clear red")
        top, _ = view.visible_range()
        app.screen.selections = {view: Selection(Offset(0, top + y), Offset(5, top + y + 1))}
        assert app.screen.get_selected_text() == "title clear red\nnul␀b"


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
        assert screen.job_log.output.line_count == 0 and log_text(screen).strip() == ""


async def test_a_long_job_opens_at_its_end_with_every_line_reachable(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_LINES", "12000")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: app.engine.store.job(job.id).ended, 30)
        await select(pilot, "flood")
        view = screen.job_log.output
        await until(pilot, lambda: view.shown_lines()[-1:] == ["line 12000"], 5)
        assert view.line_count == 12_000 and "12,000 lines" in header(screen)
        view.action_top()
        await pilot.pause()
        assert view.shown_lines()[0] == "line 1"


async def test_new_lines_show_as_the_watcher_sees_them_and_are_read_once(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_SECONDS", "3")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "slow")
        job = app.submit_job("validate", "slow")
        view = screen.job_log.output
        await until(pilot, lambda: view.line_count >= 2, 10, "the first lines")
        screen.job_log._fast.pause()  # no tick: only the watcher's word brings the new lines now
        store, reads = app.engine.store, []
        read = store.lines_cut

        def lines_cut(job_id, **kwargs):
            found = read(job_id, **kwargs)
            reads.append((kwargs["after"], len(found)))
            return found

        monkeypatch.setattr(store, "lines_cut", lines_cut)
        seen = view.line_count
        await until(pilot, lambda: view.line_count >= seen + 5, 10, "five more lines without the tick")
        await pilot.pause()
        last = store.lines(job.id, after=view.line_count - 1)[0].as_text
        assert view.shown_lines()[-1] == last
        # Following, the pane reads each new line once (not the page it falls in, again and again).
        reads.sort()
        assert reads and all(after >= before + count for (before, count), (after, _) in pairwise(reads))


async def test_a_flood_never_freezes_the_app(fake_engine, worker, monkeypatch):
    monkeypatch.setenv("FAKE_FLOOD_SECONDS", "4")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen: ClientsScreen = await loaded(pilot)
        await select(pilot, "flood")
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: screen.job_log.output.line_count > 0, 10, "the flood to start")
        table, times = screen.table, []
        while not app.engine.store.job(job.id).ended:
            order = table.order
            start = time.perf_counter()
            app.post_message(events.Key("s", "s"))  # as the terminal sends it (pilot.press waits for idle)
            while table.order == order:
                await asyncio.sleep(0.001)  # a tight poll on purpose: the latency is what is measured
                assert time.perf_counter() - start < 5, "s not handled within 5 s"
            times.append(time.perf_counter() - start)
            await asyncio.sleep(0.02)  # paces the keys on purpose, not a wait
        # A freeze, not a speed: latency itself is measured in bench/bench_tui.py, since a timed
        # bound tight enough to measure speed flakes on a shared machine.
        assert len(times) >= 3 and max(times) < 2.0, f"key latencies during the flood: {times}"
        total = app.engine.store.job(job.id).line_count
        await until(pilot, lambda: screen.job_log.output.shown_lines()[-1:] == [f"line {total}"], 10)
        await until(pilot, lambda: "finished" in header(screen), 5)
        assert f"{total:,} lines" in header(screen) and total >= 100_000


async def test_stderr_only_failure_shows_exit_code_and_error(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "stderr-only")
        await pilot.press("v")
        await until(pilot, lambda: "failed" in header(screen), 20)
        assert "exit 3" in header(screen) and "fatal: disk full" in header(screen)
        # the error's line is on screen: the header grew to two rows (a header of as many lines
        # as before is updated without a layout, so this one must ask for it)
        await until(pilot, lambda: screen.job_log.query_one("#job-header").size.height == 2, 5, what="two rows")
        await until(pilot, lambda: screen.job_log.output.shown_lines()[:1] == ["fatal: disk full"], 5)
        assert "┃" in screen.job_log.output.render_line(0).text


async def test_a_sleeping_pane_wakes_for_a_job_queued_elsewhere(fake_engine, worker):
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "ok")
        await until(pilot, lambda: "ok: no jobs yet" in header(screen), 5)
        await pilot.pause(1.0)  # nothing moves: the pane's fast tick goes to sleep (on purpose: this waits)
        job = fake_engine.submit("validate", "ok")  # as the command line or a schedule would, not a key
        await until(pilot, lambda: f"job {job.id} validate ok" in header(screen) and "finished" in header(screen),
                    5, "the pane to show the new job")
        await until(pilot, lambda: "Validation complete for 'ok'" in log_text(screen), 5)


async def test_a_flood_moves_the_pane_at_its_pace_and_the_header_slower(fake_engine, worker, monkeypatch):
    """Each move draws every line in view anew: a flood moves the pane 30 times a second at most
    (PACE_SECONDS), and the header's count 4 times (HEADER_SECONDS); the end shows at once."""
    monkeypatch.setenv("FAKE_FLOOD_SECONDS", "2")
    app = AdsdashApp(fake_engine)
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "flood")
        pane, view = screen.job_log, screen.job_log.output
        moves: list[tuple[float, str]] = []  # (when, the followed job's status then)
        headers: list[tuple[float, str]] = []
        set_line_count, box = view.set_line_count, pane.query_one("#job-header")
        update = box.update

        def counted(count: int) -> None:
            moves.append((time.monotonic(), pane.view.job.status if pane.view.job else ""))
            set_line_count(count)

        def header_drawn(text, **kwargs) -> None:
            headers.append((time.monotonic(), str(text)))
            update(text, **kwargs)

        monkeypatch.setattr(view, "set_line_count", counted)
        monkeypatch.setattr(box, "update", header_drawn)
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: app.engine.store.job(job.id).ended, 30)
        total = app.engine.store.job(job.id).line_count
        await until(pilot, lambda: view.shown_lines()[-1:] == [f"line {total}"] and "finished" in header(screen), 5)
        running = [when for when, status in moves if status == "started"]
        assert len(running) >= 10, f"the pane hardly moved during a 2 s flood: {len(running)} moves"
        gaps = [b - a for a, b in pairwise(running)]
        assert min(gaps) >= 1 / 30 - 0.005, f"moves closer than 1/30 s: {min(gaps) * 1000:.1f} ms"
        counts = [when for when, text in headers if "started" in text and "lines" in text]
        assert len(counts) >= 3
        gaps = [b - a for a, b in pairwise(counts)]
        assert min(gaps) >= 0.25 - 0.005, f"header counts closer than 1/4 s: {min(gaps) * 1000:.1f} ms"
        assert f"{total:,} lines" in header(screen)


async def test_a_key_holds_the_flood_until_the_frame_that_shows_it(fake_engine, worker, monkeypatch):
    """From a key until its action is drawn, the pane does not move; a key that runs no action
    holds it MAX_HOLD_SECONDS at most. The hold's clock is the test's, so nothing here is timed."""
    monkeypatch.setenv("FAKE_FLOOD_SECONDS", "8")
    now = [1000.0]
    app = AdsdashApp(fake_engine)
    app.input_first = InputFirst(clock=lambda: now[0])
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await select(pilot, "flood")
        view, store = screen.job_log.output, app.engine.store
        job = app.submit_job("validate", "flood")
        await until(pilot, lambda: view.line_count > 0, 10, "the flood to start")

        async def held_for_a_while() -> int:
            held = view.line_count
            await pilot.pause(0.3)  # the flood goes on meanwhile
            running = store.job(job.id)
            assert running.status == "started" and running.line_count > held, "the flood must still run"
            assert view.line_count == held, "the pane moved during the hold"
            return held

        app.input_first.key()  # as App.on_event does when a key arrives
        held = await held_for_a_while()
        app.input_first.acted(app)  # its action ran: the hold ends with the next frame
        await until(pilot, lambda: view.line_count > held, 5, "the pane to move after the frame")

        app.input_first.key()  # a key that runs no action (typing in a box)
        held = await held_for_a_while()
        now[0] += MAX_HOLD_SECONDS
        await until(pilot, lambda: view.line_count > held, 5, "the pane to move after the longest hold")

        seen: list[bool] = []  # the hold, as the key's action runs
        sort = screen.action_cycle_sort
        monkeypatch.setattr(screen, "action_cycle_sort", lambda: (seen.append(app.input_first.holding()), sort()))
        await pilot.press("s")  # the real path: the key, its action, its frame; the clock stands still
        assert seen == [True], "the key's arrival did not hold the pane"
        held = view.line_count
        await until(pilot, lambda: view.line_count > held, 5, "the pane to move after a real key")
        assert not app.input_first.holding()
        await until(pilot, lambda: store.job(job.id).ended, 30)


class OneView(App):
    def __init__(self, store: Store, job_id: int) -> None:
        super().__init__()
        self.store, self.job_id = store, job_id

    def compose(self) -> ComposeResult:
        yield OutputView(self.store, self.job_id)


async def test_lines_added_under_a_shown_scrollbar_keep_the_bar_true(tmp_path):
    """More lines under a bar already shown change no layout: the view and its bar are told
    directly, and the bar is drawn again (BAR_SECONDS apart at most) as a fresh one would be."""
    store = Store(tmp_path / "jobs.db")
    job = store.create_job(slug="x", command="validate", args={}, argv=["x"], cwd=str(tmp_path))
    # Lines of one width and counts of four digits: nothing widens the view (that would lay it out).
    raw = "\n".join(f"line {n:04}" for n in range(1, 10_000)).encode()
    store.append_chunks(job.id, [make_chunk(1, 9999, time.time(), "stdout", raw)])
    app = OneView(store, job.id)
    async with app.run_test(size=(60, 12)) as pilot:
        view = app.query_one(OutputView)
        view.set_line_count(1000)
        await until(pilot, lambda: view.show_vertical_scrollbar and view.shown_lines()[-1:] == ["line 1000"], 5)
        await pilot.pause(BAR_SECONDS + 0.1)
        bar = view.vertical_scrollbar
        region = Region(0, 0, bar.size.width, bar.size.height)

        def thumb() -> list[str]:
            return [strip.text + repr([s.style for s in strip]) for strip in bar.render_lines(region)]

        before = thumb()
        for count in range(1050, 10_000, 50):  # as a flood grows it, tick after tick
            view.set_line_count(count)
        assert view.virtual_size.height == bar.window_virtual_size == 9950
        assert view.scroll_offset.y == view.max_scroll_y and bar.position == view.max_scroll_y
        await pilot.pause(BAR_SECONDS + 0.1)
        drawn = thumb()
        bar.refresh()
        assert drawn == thumb() != before, "the bar still shows the thumb of 1,000 lines"
        assert view.shown_lines()[-1] == "line 9950"
