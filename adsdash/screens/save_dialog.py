"""The job detail's save dialog: a path (a default filled in) and cleaned text or the exact bytes.

The file is written by output_file.save_output in a thread (a million-line job must not
freeze the screen) while the dialog stays open, so a problem (no such folder, permission,
disk full) shows as one line under the path and can be fixed there; an existing file is
replaced only after a yes. Escape while writing calls the save off and leaves no file.
"""

from __future__ import annotations

import logging

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static
from textual.worker import get_current_worker

from adsdash.output_file import Cancelled, Saved, SaveError, default_path, save_output, target
from adsdash.sanitize import one_line, safe_text
from adsdash.screens.base import Dialog
from adsdash.screens.dialogs import ConfirmDialog
from adsdash.store import Job, Store

log = logging.getLogger(__name__)


class SaveOutputDialog(Dialog[Saved | None]):
    """Dismissed with what was written, or None when called off."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, store: Store, job: Job) -> None:
        super().__init__()
        self.store = store
        self.job = job
        self.writing = False

    def compose(self) -> ComposeResult:
        job = self.job
        with Vertical(id="dialog"):
            yield Label(safe_text(f"Save the output of job {job.id} ({job.command} {job.slug})"), id="dialog-title")
            if not job.ended:
                yield Static("The job is still running: the file gets the lines written so far.", classes="hint")
            yield Label("File")
            yield Input(default_path(job), id="path")
            yield Static("", id="path-error", classes="field-error")
            with RadioSet(id="form"):
                yield RadioButton("cleaned text, as adsdash logs prints it", value=True, id="text")
                yield RadioButton("the exact bytes, as adsdash logs --raw gives them", id="raw")
            with Horizontal(id="buttons"):
                yield Button("Save", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    @property
    def raw(self) -> bool:
        return self.query_one("#raw", RadioButton).value

    def _say(self, text: str) -> None:
        self.query_one("#path-error", Static).update(safe_text(one_line(text)))

    def save(self, *, overwrite: bool = False) -> None:
        if self.writing:
            return
        try:
            path = target(self.query_one("#path", Input).value)
        except SaveError as exc:
            self._say(str(exc))
            return
        self._busy(True)
        raw = self.raw
        self.run_worker(lambda: self._write(path, raw, overwrite), thread=True, exclusive=True, group="save",
                        exit_on_error=False)

    def _busy(self, busy: bool) -> None:
        self.writing = busy
        self.query_one("#ok", Button).disabled = busy
        self._say("writing…" if busy else "")

    def _write(self, path, raw: bool, overwrite: bool) -> None:
        """In a thread: the answer goes back to the UI thread, unless the dialog was closed."""
        worker = get_current_worker()
        try:
            outcome: Saved | Exception = save_output(self.store, self.job.id, path, raw=raw, overwrite=overwrite,
                                                     cancelled=lambda: worker.is_cancelled)
        except Cancelled:
            return
        except (FileExistsError, SaveError) as exc:
            outcome = exc
        except Exception as exc:  # a bug must still end as one line, not a dead dialog
            log.exception("saving the output of job %s failed", self.job.id)
            outcome = SaveError(one_line(f"cannot save: {exc}"))
        if not worker.is_cancelled:
            self.app.call_from_thread(self._done, outcome)

    def _done(self, outcome: Saved | Exception) -> None:
        if not self.is_attached:
            return
        self._busy(False)
        if isinstance(outcome, Saved):
            self.dismiss(outcome)
        elif isinstance(outcome, FileExistsError):
            path = outcome.args[0]
            self.app.push_screen(ConfirmDialog(f"Replace {path}?", f"{path} exists. Write over it?"),
                                 self._replace)
        else:
            self._say(str(outcome))

    def _replace(self, yes: bool | None) -> None:
        if yes:
            self.save(overwrite=True)
        else:
            self._say("the file exists: give another name, or save again and answer yes")
            self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        self.save()

    @on(Input.Changed, "#path")
    def _changed(self) -> None:
        if not self.writing:
            self._say("")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.workers.cancel_group(self, "save")  # the writing thread stops at its next chunk and cleans up
        self.dismiss(None)
