"""Cancel and retry, asked the same way from every screen that lists jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adsdash.catalogue import COMMANDS
from adsdash.screens.dialogs import ConfirmDialog
from adsdash.store import Job

if TYPE_CHECKING:
    from adsdash.app import AdsdashApp

JOB_ACTIONS = frozenset({"cancel_job", "retry_job"})


def job_action_state(action: str, job: Job | None) -> bool | None:
    """Cancel is for a job still queued or running, retry for an ended one; greyed otherwise."""
    if job is None:
        return None
    if action == "cancel_job":
        return None if job.ended else True
    return True if job.ended else None


def ask_cancel(app: AdsdashApp, job: Job) -> None:
    if job.ended:
        app.notify(f"job {job.id} already {job.status}", markup=False)
        return
    def answer(ok: bool | None) -> None:
        if ok:
            app.cancel_job(job.id)

    app.push_screen(ConfirmDialog(
        f"Cancel job {job.id}?",
        f"{job.command} {job.slug} is {job.status}. A running command is interrupted (SIGINT, then "
        f"SIGTERM, then SIGKILL) and the job ends as cancelled."), answer)


def ask_retry(app: AdsdashApp, job: Job, show: Callable[[Job], object]) -> None:
    """Queue the same command and arguments again (long or destructive commands ask first),
    then `show` the new job."""
    def retry() -> None:
        if (new := app.retry_job(job.id)) is not None:
            show(new)

    spec = COMMANDS.get(job.command)
    if spec is None or not spec.confirm:
        retry()
        return
    def answer(ok: bool | None) -> None:
        if ok:
            retry()

    app.push_screen(ConfirmDialog(f"Run {job.command} {job.slug} again?",
                                  f"{spec.description} (typically {spec.typical})."), answer)
