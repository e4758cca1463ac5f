"""The Textual app: wiring, bindings, the one place actions reach the engine. Kept thin."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import App
from textual.binding import Binding

from adsdash.catalogue import RequestError
from adsdash.engine import Engine
from adsdash.sanitize import one_line
from adsdash.store import Job, system_clock
from adsdash.tasks.worker import Worker


class AdsdashApp(App[int]):
    CSS_PATH = "adsdash.tcss"
    TITLE = "adsdash"
    BINDINGS = [
        Binding("q", "quit_app", "Quit", id="app.quit"),
        Binding("j", "open_jobs", "Jobs", id="app.jobs"),
        Binding("question_mark", "show_keys", "Keys", id="app.keys"),
    ]

    def __init__(self, engine: Engine, *, worker: Worker | None = None, read_only: bool = False,
                 clock: Callable[[], datetime] | None = None):
        super().__init__()
        self.engine = engine
        self.worker_here = worker  # an embedded consumer this app owns, if any
        self.read_only = read_only
        self.clock = clock or engine.clock or system_clock
        if engine.settings.keymap:
            self.set_keymap(dict(engine.settings.keymap))
        from adsdash.screens.clients import start_first_load

        self.first_load = start_first_load(self)  # files and store, read before Textual starts (bounded)

    def get_default_screen(self):
        """The clients screen is the base screen (not pushed over an empty one: one frame less)."""
        from adsdash.screens.clients import ClientsScreen

        return ClientsScreen()

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "read-only"

    # -- the only way actions reach the engine ---------------------------

    def refuse(self, message: str) -> None:
        """Say on screen why an action did not happen. Outside text is fine: never markup."""
        self.notify(one_line(message), title="Refused", severity="error", markup=False, timeout=8)

    def submit_job(self, command: str, slug: str, **params: str | None) -> Job | None:
        """Validate, store and enqueue, exactly as `adsdash run` does; say what happened."""
        if self.read_only:
            self.refuse("read-only: actions are disabled")
            return None
        try:
            job = self.engine.submit(command, slug, **params)
        except RequestError as exc:
            self.refuse(str(exc))
            return None
        self.notify(one_line(f"job {job.id} queued: {command} {slug}"), title="Queued", markup=False)
        return job

    def cancel_job(self, job_id: int) -> Job | None:
        if self.read_only:
            self.refuse("read-only: actions are disabled")
            return None
        try:
            job = self.engine.cancel(job_id)
        except RequestError as exc:
            self.refuse(str(exc))
            return None
        self.notify(f"job {job_id}: {'cancelling' if job and job.status == 'started' else job.status}",
                    markup=False)
        return job

    def retry_job(self, job_id: int) -> Job | None:
        job = self.engine.store.job(job_id)
        if job is None:
            self.refuse(f"no job {job_id}")
            return None
        return self.submit_job(job.command, job.slug, **job.args)

    # -- navigation -------------------------------------------------------

    def action_open_jobs(self) -> None:
        from adsdash.screens.jobs import JobsScreen

        self.push_screen(JobsScreen())

    def action_show_keys(self) -> None:
        from adsdash.widgets.keys_help import KeysScreen

        self.push_screen(KeysScreen(self.screen))

    async def action_quit(self) -> None:
        """ctrl+q (Textual's own quit key) asks first too."""
        self.action_quit_app()

    def action_quit_app(self) -> None:
        running = self.worker_here.running() if self.worker_here else []
        if not running:
            self.exit(0)
            return
        from adsdash.screens.dialogs import ConfirmDialog

        def answer(ok: bool | None) -> None:
            if ok:
                self.exit(0)

        self.push_screen(ConfirmDialog(
            "Quit adsdash?",
            f"{len(running)} job(s) still run in this app's worker; quitting cancels them."), answer)
