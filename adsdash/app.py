"""The Textual app: wiring, bindings, the one place actions reach the engine. Kept thin."""

from __future__ import annotations

import gc
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TypeVar, Unpack

from textual import events, work
from textual.actions import ActionParseResult
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode

from adsdash import look, sweeps
from adsdash.catalogue import JobParams, RequestError
from adsdash.engine import Engine
from adsdash.sanitize import one_line
from adsdash.screens.base import READ_ONLY
from adsdash.screens.clients import ClientsScreen
from adsdash.screens.jobs import JobsScreen
from adsdash.store import Job, StoreError
from adsdash.widgets.input_first import InputFirst
from adsdash.widgets.keys_help import KeysScreen

STORE_TROUBLE = (sqlite3.Error, OSError, StoreError)
T = TypeVar("T")
WORKER_CHECK_SECONDS = 15.0  # how often the app looks for a live worker, and starts one if none


class AdsdashApp(App[int]):
    CSS_PATH = "adsdash.tcss"
    TITLE = "adsdash"
    BINDINGS = [
        Binding("q", "quit_app", "Quit", id="app.quit"),
        Binding("j", "open_jobs", "Jobs", id="app.jobs"),
        Binding("t", "open_schedules", "Schedules", id="app.schedules"),
        Binding("A", "open_audit", "Audit", show=False, id="app.audit"),  # rare: `?` and the README name it
        Binding("question_mark", "show_keys", "Keys", id="app.keys"),
    ]

    def __init__(self, engine: Engine, *, read_only: bool = False, clock: Callable[[], datetime] | None = None,
                 ensure_worker: Callable[[], bool] | None = None):
        """`ensure_worker()` starts a background worker if none is live and says whether it did
        (the app never runs jobs itself: they must outlive it)."""
        super().__init__()
        self.engine = engine
        self.read_only = read_only
        self.ensure_worker = ensure_worker
        # A first check is due at mount: until then, no live worker means one is on its way.
        self.worker_started_at = time.monotonic() if ensure_worker and not read_only else float("-inf")
        self.worker_checks = 0
        self.clock = clock or engine.clock
        self.theme = engine.settings.theme  # checked against Textual's themes by the command line
        if engine.settings.keymap:
            self.set_keymap(dict(engine.settings.keymap))
        self.input_first = InputFirst()
        self.clients_screen = ClientsScreen.opening(self)  # its rows are read before Textual starts

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self.input_first.key()
        await super().on_event(event)

    async def run_action(self, action: str | ActionParseResult, default_namespace: DOMNode | None = None,
                         namespaces: Mapping[str, DOMNode] | None = None) -> bool:
        """Every key binding runs here: the log pane waits for the frame that shows what it did."""
        handled = await super().run_action(action, default_namespace, namespaces)
        if handled:  # else the key goes on to another binding (a hold not ended runs out by itself)
            self.input_first.acted(self)
        return handled

    def get_default_screen(self) -> ClientsScreen:
        """The clients screen is the base screen (not pushed over an empty one: one frame less)."""
        return self.clients_screen

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables; the states' colours (adsdash.look) follow them, before any
        widget redraws with the new theme."""
        variables = super().get_css_variables()
        look.use_theme(variables)
        return variables

    def on_mount(self) -> None:
        self.call_after_refresh(self._freeze)
        if self.read_only:
            self.sub_title = "read-only"
        if self.ensure_worker is not None and not self.read_only:
            self._check_worker()
            self.set_interval(WORKER_CHECK_SECONDS, self._check_worker, name="worker-check")

    @staticmethod
    def _freeze() -> None:
        """What is there at the first frame (Textual, the modules, the screen) lives as long as the
        app: a full collection need not walk it again (60 ms a time, measured during a flood).
        Collected first, so no garbage of the start is kept for good."""
        gc.collect()
        gc.freeze()

    @work(thread=True, exclusive=True, group="worker-check")
    def _check_worker(self) -> None:
        """Start a background worker if none is live (at start, and again if one died)."""
        ensure = self.ensure_worker
        if ensure is None:
            return
        if self.worker_checks and self.engine.settings.notify_urls:
            self._notify_check()  # not at the first: a worker dead before the app opened gets its start first
        self.worker_checks += 1
        try:
            if ensure():
                self.worker_started_at = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - shown, never raised: the app goes on without a worker
            self.call_from_thread(self.refuse, f"cannot start a background worker: {exc}")

    def _notify_check(self) -> None:
        """A worker cannot tell of its own death: no live worker while jobs wait is an alert, sent
        from here (no notifier runs then). Never raised: the app goes on without it."""
        from adsdash import notify_send

        try:
            notify_send.check(self.engine, worker=f"app:{os.getpid()}")
        except Exception:  # logged; the app's job is the screen
            logging.getLogger(__name__).exception("notify: the no-worker check failed")

    def starting_worker(self) -> bool:
        """A background worker was started a moment ago and may not have said hello yet."""
        return time.monotonic() - self.worker_started_at < WORKER_CHECK_SECONDS

    # -- the only way actions reach the engine ---------------------------

    def refuse(self, message: str) -> None:
        """Say on screen why an action did not happen. Outside text is fine: never markup."""
        self.notify(one_line(message), title="Refused", severity="error", markup=False, timeout=8)

    def submit_job(self, command: str, slug: str, **params: Unpack[JobParams]) -> Job | None:
        """Validate, store and enqueue, exactly as `adsdash run` does; say what happened."""
        job = self._act(lambda: self.engine.submit(command, slug, origin="app", **params), "not queued")
        if job is not None:
            self.notify(one_line(f"job {job.id} queued: {job.command} {job.slug}"), title="Queued", markup=False)
        return job

    def append_then_job(self, command: str, slug: str, **params: Unpack[JobParams]) -> Job | None:
        """An append of the client first (or the one it has), and this job after it (Engine.append_then)."""
        jobs = self._act(lambda: self.engine.append_then(command, slug, origin="app", **params), "not queued")
        if jobs is None:
            return None
        append, job = jobs
        self.notify(one_line(f"job {append.id}: append {slug}, then job {job.id}: {job.command} after it"),
                    title="Queued", markup=False)
        return job

    def cancel_job(self, job_id: int) -> Job | None:
        job = self._act(lambda: self.engine.cancel(job_id, origin="app"), "not cancelled")
        if job is not None:
            self.notify(f"job {job_id}: {'cancelling' if job.status == 'started' else job.status}", markup=False)
        return job

    def retry_job(self, job_id: int) -> Job | None:
        job = self._act(lambda: self.engine.retry(job_id, origin="app"), "not queued")
        if job is not None:
            self.notify(one_line(f"job {job.id} queued: {job.command} {job.slug} (again, as job {job_id})"),
                        title="Queued", markup=False)
        return job

    def snooze(self, slug: str, *, clear: bool = False, hours: float | None = None, until_fresh: bool = False,
               reason: str | None = None) -> None:
        """Snooze a client's alerts (or end its snooze), as `adsdash snooze` does; say what happened."""
        from adsdash import notify_send  # here: the notifications' parts load when first asked

        engine = self.engine
        if clear:
            had = self._act(lambda: notify_send.unsnooze_client(engine, slug, origin="app"), "not changed")
            if had is not None:
                self.notify(one_line(f"{slug}: snooze ended" if had else f"{slug} had no snooze"), markup=False)
            return
        done = self._act(lambda: notify_send.snooze_client(engine, slug, hours=hours, until_fresh=until_fresh,
                                                           reason=reason, origin="app"), "not snoozed")
        if done is not None:
            self.notify(one_line(f"{slug}: alerts snoozed {done.describe()}"), title="Snoozed", markup=False)

    def sweep_jobs(self, command: str, slugs: Sequence[str], *, append_if_lacking: bool = False,
                   **params: Unpack[JobParams]) -> list[sweeps.Outcome] | None:
        """Queue `command` once for each slug, in the order given, as `adsdash run --all` does
        (sweeps.py); say how many were queued, already queued or running, refused."""
        outcomes = self._act(lambda: sweeps.sweep(self.engine, command, slugs, origin="app",
                                                  append_if_lacking=append_if_lacking, **params), "not queued")
        if outcomes is not None:
            refused = next((o for o in outcomes if o.status == sweeps.REFUSED), None)
            why = f" ({refused.slug}: {refused.error})" if refused else ""
            self.notify(one_line(f"{command}: {sweeps.tally(outcomes)}{why}", 300), title="Sweep",
                        severity="warning" if refused else "information", markup=False, timeout=8)
        return outcomes

    def _act(self, action: Callable[[], T], failed: str) -> T | None:
        """Run an engine action; a refusal or store trouble is said on screen, never raised."""
        if self.read_only:
            self.refuse(READ_ONLY)
            return None
        try:
            job = action()
        except RequestError as exc:
            self.refuse(str(exc))
            return None
        except STORE_TROUBLE as exc:  # disk full, a damaged store: nothing happened
            self.refuse(f"{failed}: job store {self.engine.settings.store_path}: {exc}")
            return None
        return job

    # -- navigation -------------------------------------------------------

    def action_open_jobs(self) -> None:
        self.push_screen(JobsScreen())

    def action_open_schedules(self) -> None:
        from adsdash.screens.schedules import SchedulesScreen  # here: cronsim and the ledger load when asked

        if not isinstance(self.screen, SchedulesScreen):
            self.push_screen(SchedulesScreen())

    def action_open_audit(self) -> None:
        from adsdash.screens.audit import AuditScreen

        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen())

    def action_show_keys(self) -> None:
        self.push_screen(KeysScreen(self.screen, self.engine.settings.keymap))

    def action_quit_app(self) -> None:
        """Jobs run in a worker of their own: quitting leaves them running, so nothing to ask."""
        self.exit(0)
