"""Shared fixtures: a real job store, a real Huey consumer, real subprocesses; for the screen
tests a sandbox workspace, a fixed clock and an app factory whose workers stop after each test."""

from __future__ import annotations

import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adsdash.app import AdsdashApp
from adsdash.config import load_settings
from adsdash.engine import Engine
from adsdash.sandbox.generate import create_workspace, plan
from adsdash.tasks.worker import Worker

FAKE_CLI = Path(__file__).parent / "bin" / "fake_cli.py"
FAKE_SLUGS = ("ok", "flood", "slow", "ignore-term", "grandchild", "segv", "fail", "stderr-only", "dirty",
              "ok-2", "setsid")


def make_settings(tmp_path: Path, ads_sync: Path, cli_command: str, **flags):
    return load_settings(
        {"ads_sync_path": str(ads_sync), "home": str(tmp_path / "home"), "cli_command": cli_command,
         "cancel_grace_seconds": 0.5, **flags},
        config_file=tmp_path / "absent.toml", environ={},
    )


@pytest.fixture
def fake_settings(tmp_path):
    ads = tmp_path / "ads"
    (ads / "configs" / "clients").mkdir(parents=True)
    for slug in FAKE_SLUGS:
        (ads / "configs" / "clients" / f"{slug}.yaml").write_text(f"client_name: {slug.title()}\n")
    return make_settings(tmp_path, ads, f"{shlex.quote(sys.executable)} {shlex.quote(str(FAKE_CLI))}", workers=4)


@pytest.fixture
def fake_engine(fake_settings):
    return Engine(fake_settings)


@pytest.fixture
def worker(fake_settings):
    w = Worker(fake_settings, kind="embedded")
    w.start()
    yield w
    w.stop()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.02):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {predicate}")


def wait_ended(engine, job_id: int, timeout: float = 30.0):
    return wait_for(lambda: (j := engine.store.job(job_id)) and j.ended and j, timeout)


async def until(pilot, predicate, timeout: float = 30.0, what: str = ""):
    """Let the app run until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")


# ---- screens: a sandbox workspace, a fixed clock, a real app ---------------------------

NOW = datetime(2025, 10, 13, 14, 0, 0, tzinfo=UTC)
SIZE = (160, 45)


def fixed_clock() -> datetime:
    return NOW


def sandbox_slug(kind: str) -> str:
    """The first sandbox client of a kind (fresh, failing, stale_lock, broken_state, ...)."""
    return next(p.slug for p in plan(30) if p.kind == kind)


@pytest.fixture
def sandbox_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    ads = tmp_path / "ads"
    create_workspace(ads, clients=30, now=NOW)
    return make_settings(tmp_path, ads, f"{shlex.quote(sys.executable)} -m adsdash.sandbox", workers=4)


@pytest.fixture
def make_app():
    """make_app(settings, read_only=False) -> a real AdsdashApp, and a real worker (a Huey
    consumer in this process, as the background worker runs one) that stops after the test."""
    workers: list[Worker] = []

    def make(settings, *, read_only: bool = False) -> AdsdashApp:
        worker = Worker(settings, kind="embedded", clock=fixed_clock)
        worker.start()
        workers.append(worker)
        return AdsdashApp(Engine(settings, clock=fixed_clock), read_only=read_only, clock=fixed_clock)

    yield make
    for worker in workers:
        worker.stop()


# ---- the clients screen, driven by Pilot ----------------------------------------------

async def loaded(pilot, count: int = 1):
    """The clients screen once it has applied `count` reads of the files and store."""
    from adsdash.screens.clients import ClientsScreen

    screen = await until(pilot, lambda: isinstance(pilot.app.screen, ClientsScreen) and pilot.app.screen, 10)
    await until(pilot, lambda: screen.loaded >= count, 20, f"{count} refresh(es)")
    return screen


async def select(pilot, slug: str) -> None:
    """Put the cursor on `slug` and wait for the log pane to follow it."""
    screen = pilot.app.screen
    assert screen.table.select_slug(slug)
    await until(pilot, lambda: screen.job_log.view.slug == slug, 5, f"the log to follow {slug}")


def log_text(screen) -> str:
    """The log pane's lines on screen, as drawn."""
    return "\n".join(screen.job_log.output.shown_lines())


def header(screen) -> str:
    return str(screen.query_one("#job-header").render())
