"""Snapshots of the repair dialog, the jobs screen and a job's detail, at 160x45.

Deterministic by construction: a fixed clock stamps every job time, the local zone is
UTC, the requester's name is fixed, the CLI is the fake one behind a short name on
PATH (so no machine path shows in argv), one worker thread runs the jobs in order,
and every job has ended before the screenshot.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from datetime import date

import pytest
from conftest import FAKE_CLI, SIZE, make_settings, wait_ended
from textual.widgets import Input

from adsdash.screens.client_detail import ClientDetailScreen
from adsdash.screens.dialogs import RepairDialog
from adsdash.screens.job_detail import JobDetailScreen
from adsdash.screens.jobs import JobsScreen, JobTable
from adsdash.widgets.output_view import OutputView

JOBS = (("validate", "ok", {}), ("append", "fail", {}), ("report", "ok-2", {"scope": "2025-Q3"}),
        ("validate", "stderr-only", {}))


@pytest.fixture
def stable_settings(tmp_path, fake_settings, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setenv("LOGNAME", "operator")
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        monkeypatch.delenv(name, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ads-sync"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_CLI))} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    yield make_settings(tmp_path / "stable", fake_settings.ads_sync_path, "ads-sync", workers=1)
    monkeypatch.undo()
    time.tzset()


def app_with_jobs(settings, make_app):
    app = make_app(settings)
    for command, slug, args in JOBS:
        job = app.engine.submit(command, slug, **args)
        wait_ended(app.engine, job.id)
    return app


async def settle(pilot, predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the screen did not settle"
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_repair_dialog(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(ClientDetailScreen("fail"))
        screen = pilot.app.screen
        await settle(pilot, lambda: screen.client is not None and screen.query_one(JobTable).row_count == 1)
        await pilot.app.push_screen(RepairDialog("fail", date(2025, 9, 1), date(2025, 9, 30), date(2025, 10, 13)))
        await pilot.pause()
        end = pilot.app.screen.query_one("#end", Input)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        end.focus()
        end.value = ""
        await pilot.press(*"2025-10-20")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_jobs_screen(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(JobsScreen())
        table = pilot.app.screen.query_one(JobTable)
        await settle(pilot, lambda: table.row_count == len(JOBS))
        await pilot.press("down")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_job_detail(snap_compare, stable_settings, make_app):
    app = app_with_jobs(stable_settings, make_app)

    async def run_before(pilot):
        await pilot.app.push_screen(JobDetailScreen(2))  # append fail: a traceback and an error
        view = pilot.app.screen.query_one(OutputView)
        await settle(pilot, lambda: view.line_count == 5)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
