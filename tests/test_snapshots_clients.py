"""Snapshot of the clients screen: a fixed clock, a workspace generated for that moment, no jobs."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from conftest import make_settings
from test_app_clients import SANDBOX_CLI

from adsdash.app import AdsdashApp
from adsdash.engine import Engine
from adsdash.sandbox.generate import create_workspace, plan
from adsdash.screens.clients import ClientsScreen

NOW = datetime(2025, 10, 13, 15, 30, tzinfo=UTC)
DEAD_PID = 4_194_305  # above any pid_max: never alive, and the same in every run


@pytest.fixture
def fixed_app(tmp_path):
    ads = tmp_path / "ads"
    create_workspace(ads, clients=30, now=NOW)
    stale = next(p.slug for p in plan(30) if p.kind == "stale_lock")
    # the generator uses a real reaped PID; pin it so the picture does not change between runs
    (ads / "locks" / f"{stale}.lock").write_text(f"pid: {DEAD_PID}\ntimestamp: {NOW.timestamp() - 5 * 3600}\n")
    settings = make_settings(tmp_path, ads, SANDBOX_CLI, refresh_seconds=3600)
    return AdsdashApp(Engine(settings, clock=lambda: NOW), clock=lambda: NOW)


async def _settled(pilot) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        screen = pilot.app.screen
        if isinstance(screen, ClientsScreen) and screen.loaded and "no jobs yet" in str(
                screen.query_one("#job-header").render()):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_clients_screen(snap_compare, fixed_app):
    assert snap_compare(fixed_app, terminal_size=(160, 45), run_before=_settled)
