"""Queueing a report from a screen: checked against the client's data first (report_check); a
scope over days the data lacks is not queued silently: the operator is told which days, and
offered an append first with the report after it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from adsdash.catalogue import RequestError
from adsdash.screens.dialogs import ConfirmDialog

if TYPE_CHECKING:
    from adsdash.screens.base import AdsdashScreen


def queue_report(screen: AdsdashScreen, slug: str, scope: str, then: Callable[[], None]) -> None:
    """Queue the report, or ask first when the data lacks days; `then()` after a job was queued."""
    app = screen.adsdash
    try:
        lacking = app.engine.report_lacks(slug, scope)
    except RequestError as exc:
        app.refuse(str(exc))
        return
    if lacking is None:
        if app.submit_job("report", slug, scope=scope) is not None:
            then()
        return

    def answer(ok: bool | None) -> None:
        if ok and app.append_then_job("report", slug, scope=scope) is not None:
            then()

    screen.app.push_screen(ConfirmDialog(f"Report {slug}: its data lacks days",
                                         f"{lacking}.\n\nQueue an append of {slug} first, and the report after it"
                                         " (it runs if the append finishes)?"), answer)
