"""Keeping a job's output from the job detail: `w` saves it to a file (cleaned text, or the exact
bytes), `c` and ctrl+c copy the selection to the clipboard.

Real store, real worker, real subprocesses (tests/bin/fake_cli.py's `dirty` client prints escape
sequences, markup, a NUL and invalid UTF-8); the saved files are compared with what a real
`adsdash logs ID` (and `--raw`) prints.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from conftest import FLOOD_LINES, SIZE, ended, run_adsdash, until
from textual.geometry import Offset
from textual.selection import Selection
from textual.widgets import Input, RadioButton, Static

from adsdash.screens.dialogs import ConfirmDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.save_dialog import SaveOutputDialog
from adsdash.widgets.output_view import OutputView


def toasts(app) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def open_detail(pilot, job_id: int) -> JobDetailScreen:
    app = pilot.app
    job = await until(pilot, ended(app, job_id), what="the job to end")
    await app.push_screen(JobDetailScreen(job_id))
    screen = app.screen
    await until(pilot, lambda: screen.job is not None and screen.output.line_count == job.line_count,
                what="the job detail to load")
    return screen


async def open_save(pilot) -> SaveOutputDialog:
    await pilot.press("w")
    return await until(pilot, lambda: isinstance(pilot.app.screen, SaveOutputDialog) and pilot.app.screen,
                       what="the save dialog")


async def save_as(pilot, dialog: SaveOutputDialog, path: Path | str, *, raw: bool = False) -> None:
    """Type the path, pick the form with the keys, and press enter in the path."""
    box = dialog.query_one("#path", Input)
    box.value = str(path)
    if raw:
        await pilot.press("tab", "down", "enter")  # the form's second choice
        assert dialog.query_one("#raw", RadioButton).value
        await pilot.press("shift+tab")
    assert dialog.focused is box
    await pilot.press("enter")


def error_line(dialog: SaveOutputDialog) -> str:
    return str(dialog.query_one("#path-error", Static).render())


async def test_saved_text_and_bytes_are_exactly_what_adsdash_logs_prints(fake_settings, make_app, tmp_path):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        job = app.engine.submit("validate", "dirty")
        await open_detail(pilot, job.id)
        dialog = await open_save(pilot)
        assert dialog.query_one("#path", Input).value == f"~/adsdash-job-{job.id}-dirty-validate.log"
        await save_as(pilot, dialog, tmp_path / "clean.log")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the dialog to close")
        assert toasts(app) == [f"Saved\n6 lines written to {tmp_path / 'clean.log'}"]

        dialog = await open_save(pilot)
        await save_as(pilot, dialog, tmp_path / "exact.log", raw=True)
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the dialog to close")

    printed = run_adsdash(fake_settings, "logs", str(job.id)).stdout
    assert b"\x1b" not in printed and b"bad utf8 \xef\xbf\xbd\xef\xbf\xbd end" in printed  # cleaned
    assert (tmp_path / "clean.log").read_bytes() == printed
    raw = run_adsdash(fake_settings, "logs", str(job.id), "--raw").stdout
    assert b"\x1b]0;pwned\x07" in raw and b"bad utf8 \xff\xfe end" in raw  # the exact bytes
    assert (tmp_path / "exact.log").read_bytes() == raw
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["clean.log", "exact.log"]


async def test_a_long_output_is_written_chunk_by_chunk_off_the_ui_thread(fake_settings, make_app, flood_job,
                                                                        tmp_path, monkeypatch):
    app = make_app(fake_settings)
    store = app.engine.store
    readers: list[threading.Thread] = []
    read_chunks = store.chunks

    def chunks(job_id, **kwargs):  # which thread reads the output
        readers.append(threading.current_thread())
        return read_chunks(job_id, **kwargs)

    monkeypatch.setattr(store, "chunks", chunks)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_detail(pilot, flood_job.id)
        dialog = await open_save(pilot)
        await save_as(pilot, dialog, tmp_path / "flood.log")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the dialog to close")
        assert toasts(app) == [f"Saved\n{FLOOD_LINES:,} lines written to {tmp_path / 'flood.log'}"]
    assert readers and threading.main_thread() not in readers
    assert (tmp_path / "flood.log").read_bytes() == run_adsdash(fake_settings, "logs", str(flood_job.id)).stdout


async def test_an_existing_file_is_replaced_only_after_a_yes(fake_settings, make_app, tmp_path):
    target = tmp_path / "kept.log"
    target.write_text("mine\n")
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("validate", "ok")
        await open_detail(pilot, job.id)
        dialog = await open_save(pilot)
        await save_as(pilot, dialog, target)
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("n")
        await until(pilot, lambda: app.screen is dialog, what="back in the save dialog")
        assert target.read_text() == "mine\n"
        assert "exists" in error_line(dialog)

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question again")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen), what="the dialog to close")
    assert target.read_bytes() == run_adsdash(fake_settings, "logs", str(job.id)).stdout
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["kept.log"]  # no temporary file left


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot create a file in (sysfs refuses even root)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o555)
        return folder
    return Path("/sys")


@pytest.mark.parametrize("case", ["no such folder", "permission", "a folder"])
async def test_a_path_that_cannot_be_written_says_why_in_one_line_and_writes_nothing(
        fake_settings, make_app, tmp_path, case):
    saves = tmp_path / "saves"
    saves.mkdir()
    path, why = {
        "no such folder": (saves / "missing" / "out.log", f"no folder {saves / 'missing'}"),
        "permission": (unwritable_folder(saves) / "adsdash-test.log", "cannot write in"),
        "a folder": (saves, "is a folder"),
    }[case]
    before = sorted(saves.rglob("*"))
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE) as pilot:
        job = app.engine.submit("validate", "dirty")
        await open_detail(pilot, job.id)
        dialog = await open_save(pilot)
        await save_as(pilot, dialog, path)
        shown = await until(pilot, lambda: (text := error_line(dialog)) not in ("", "writing…") and text,
                            what="the reason")
        assert app.screen is dialog  # still open, to fix the path
        assert why in shown and "\n" not in shown and "Traceback" not in shown
    assert not path.exists() or path.is_dir()
    assert sorted(saves.rglob("*")) == before  # nothing written, no temporary file


async def test_copy_puts_the_selection_on_the_clipboard_with_osc_52(fake_settings, make_app):
    app = make_app(fake_settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        job = app.engine.submit("validate", "dirty")
        screen = await open_detail(pilot, job.id)
        written: list[str] = []
        write = app._driver.write

        def spy(data: str) -> None:  # what goes to the terminal
            written.append(data)
            write(data)

        app._driver.write = spy
        view = screen.query_one(OutputView)
        # two lines, as the mouse selects them: cleaned of the sequences, the NUL shown
        at = view.shown_lines().index("title clear red")  # stderr's line may come anywhere
        screen.selections = {view: Selection(Offset(0, at), Offset(3, at + 1))}
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard, what="the copy")
        assert app.clipboard == "title clear red\nnul"
        assert "\x1b]52;c;dGl0bGUgY2xlYXIgcmVkCm51bA==\x07" in written  # base64 of the text: OSC 52
        assert toasts(app) == ["copied 19 characters from the selection"]

        app.clear_notifications()
        at = view.shown_lines().index("bad utf8 \ufffd\ufffd end")
        screen.selections = {view: Selection(Offset(0, at), Offset(8, at))}
        await pilot.press("ctrl+c")  # Textual's copy key, with the same toast
        await until(pilot, lambda: app.clipboard == "bad utf8", what="the second copy")
        await until(pilot, lambda: toasts(app) == ["copied 8 characters from the selection"])

        app.clear_notifications()
        screen.selections = {}
        await pilot.press("c")  # nothing selected: the lines on screen
        await until(pilot, lambda: app.clipboard == "\n".join(view.shown_lines()), what="the lines on screen")
        assert len(view.shown_lines()) == 6 and "[bold red]markup[/] and [/] and [link=x]y[/link]" in app.clipboard
        await until(pilot, lambda: toasts(app) and "the lines on screen" in toasts(app)[0])

        await pilot.press("slash", *"ERR LINE", "enter")  # with a search match: its line
        at = view.shown_lines().index("err line")
        await until(pilot, lambda: screen.match == at, what="the match")
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard == "err line", what="the match's line")
        await until(pilot, lambda: toasts(app)[-1:] == [f"copied 8 characters from line {at + 1}"])
