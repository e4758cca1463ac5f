"""Shared fixtures: a real job store, a real Huey consumer, real subprocesses."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from adsdash.config import load_settings
from adsdash.engine import Engine
from adsdash.tasks.worker import Worker

FAKE_CLI = Path(__file__).parent / "bin" / "fake_cli.py"
FAKE_SLUGS = ("ok", "flood", "slow", "ignore-term", "grandchild", "segv", "fail", "stderr-only", "dirty",
              "ok-2")


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
