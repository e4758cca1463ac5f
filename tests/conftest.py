"""Shared fixtures and helpers, each defined once here (no test module imports another).

A real job store, a real Huey consumer, real subprocesses; hand-written ads_sync folders for
the workspace tests; for the screen tests a sandbox workspace, a fixed clock and an app
factory whose workers stop after each test; for the snapshots a picture that is the same in
every run."""

from __future__ import annotations

import gc
import json
import os
import shlex
import shutil
import subprocess
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
from adsdash.workspace import Workspace

FAKE_CLI = Path(__file__).parent / "bin" / "fake_cli.py"
FAKE_SLUGS = ("ok", "flood", "slow", "ignore-term", "grandchild", "segv", "fail", "stderr-only", "dirty",
              "ok-2", "setsid", "grandchild-tail")
SANDBOX_CLI = f"{shlex.quote(sys.executable)} -m adsdash.sandbox"


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


def running_worker(settings):
    """A real worker (a Huey consumer in this process) for the test's length."""
    w = Worker(settings, kind="embedded")
    w.start()
    try:
        yield w
    finally:
        w.stop()


@pytest.fixture
def worker(fake_settings):
    yield from running_worker(fake_settings)


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
    """Settings for a sandbox workspace generated for the fixed NOW (see live_sandbox_settings
    for one on the real clock)."""
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    ads = tmp_path / "ads"
    create_workspace(ads, clients=30, now=NOW)
    return make_settings(tmp_path, ads, SANDBOX_CLI, workers=4)


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


@pytest.fixture(autouse=True)
def _thaw():
    """The app freezes what its first frame holds (gc.freeze): thawed for the next test."""
    yield
    gc.unfreeze()


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


def screenshot_text(app) -> str:
    """The screen drawn now, as SVG with plain spaces (drawing it raises on a markup error)."""
    return app.export_screenshot().replace("&#160;", " ")


def ended(app, job_id: int):
    """A predicate for until(): the job once it has ended, else falsy."""
    return lambda: (job := app.engine.store.job(job_id)) is not None and job.ended and job


# ---- the command line, run as a real process -------------------------------------------

def one_error_line(proc) -> str:
    """The refusal: exactly one line on stderr, never a traceback."""
    err = proc.stderr.decode()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("adsdash: error:"), err
    return err


def run_adsdash(settings, *args: str, check: int | None = 0, extra_env: dict | None = None):
    """`python -m adsdash ARGS` against `settings`' folders; checks the exit code unless check=None."""
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"))
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "-m", "adsdash", *args], env=env, capture_output=True, timeout=60)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


FLOOD_LINES = 25_000  # more than two of the command line's pages


@pytest.fixture
def flood_job(fake_engine, worker, monkeypatch):
    """An ended job of FLOOD_LINES lines."""
    monkeypatch.setenv("FAKE_LINES", str(FLOOD_LINES))
    job = wait_ended(fake_engine, fake_engine.submit("validate", "flood").id, timeout=60)
    assert job.line_count == FLOOD_LINES
    return job


@pytest.fixture
def platform_dirs(tmp_path, monkeypatch):
    """The platform folders moved under tmp_path: HOME and every XDG folder."""
    base = tmp_path / "user"
    dirs = {"HOME": base, "XDG_DATA_HOME": base / "data", "XDG_STATE_HOME": base / "state",
            "XDG_CACHE_HOME": base / "cache", "XDG_CONFIG_HOME": base / "config"}
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    for name in ("ADSDASH_HOME", "ADSDASH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return dirs


# ---- hand-written ads_sync folders (the workspace and its parse cache) ------------------

# 12:00 UTC on 13 Oct 2025: yesterday is the 13th in Auckland, the 12th in Los Angeles.
FILES_NOW = datetime(2025, 10, 13, 12, 0, tzinfo=UTC)

PRODUCTION_CONFIG = """\
client_id: 413-902-2884
client_name: Santana & Blanchard Law Firm
time_zone: America/Los_Angeles
currency_code: USD
data_sources:
  google_ads: {enabled: true, mcc_id: null}
  google_lsa: {enabled: false, import_method: csv}
reporting:
  default_template: campaign_report.md.j2
  default_scope: LAST-30-DAYS
"""


def state(watermark="2025-10-12", **extra) -> dict:
    """A client's state file, as ads_sync writes it."""
    data = {
        "slug": "x",
        "google_ads": {"watermark_date": watermark},
        "google_lsa": {"watermark_date": None},
        "search_terms": {"watermark_date": None},
        "data_quality": {"last_append": "2025-10-13T08:00:00+00:00", "total_rows": 4213},
        "last_updated": "2025-10-13T08:05:00+00:00",
    }
    data.update(extra)
    return data


class Folder:
    """A hand-written ads_sync project folder."""

    def __init__(self, root: Path):
        self.root = root
        (root / "configs" / "clients").mkdir(parents=True)

    def write(self, rel: str, content: str | bytes | dict | list) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (dict, list)):
            content = json.dumps(content)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def client(self, slug: str, config: str = PRODUCTION_CONFIG, state_=None) -> None:
        self.write(f"configs/clients/{slug}.yaml", config)
        if state_ is not None:
            self.write(f"state/{slug}.json", state_)


@pytest.fixture
def folder(tmp_path) -> Folder:
    """An empty ads_sync folder."""
    return Folder(tmp_path / "ads_sync")


@pytest.fixture
def ws(folder) -> Workspace:
    """The workspace of `folder`, its clock at FILES_NOW."""
    return Workspace(folder.root, clock=lambda: FILES_NOW)


HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def settle(root) -> None:
    """Age every file, as a workspace looks when adsdash starts: not changed this instant."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            os.utime(os.path.join(dirpath, name), ns=(HOUR_AGO_NS, HOUR_AGO_NS))


@pytest.fixture
def seeded_folder(tmp_path) -> Folder:
    """A folder of three clients (good, broken config, broken state), an error and a lock, every
    file an hour old."""
    folder = Folder(tmp_path / "ads_sync")
    folder.client("acme", PRODUCTION_CONFIG, state("2025-10-12"))
    folder.client("broken", "client_name: [unclosed\n", state("2025-10-12"))
    folder.client("bad-state", PRODUCTION_CONFIG, "{not json")
    folder.write("errors/acme/error_20251013_080000.json", {"exception_type": "Boom", "timestamp": "t"})
    folder.write("locks/acme.lock", f"pid: 4242\ntimestamp: {FILES_NOW.timestamp()}\n")
    settle(folder.root)
    return folder


@pytest.fixture
def cache_file(tmp_path) -> Path:
    """Where the workspace's parse cache goes (not made)."""
    return tmp_path / "home" / "workspace-cache.json"


# ---- the sandbox ads_sync, generated at the real time -----------------------------------

@pytest.fixture(scope="module")
def sandbox_template(tmp_path_factory) -> Path:
    """A 30-client sandbox workspace, generated once per module: copy it (ads_dir) to change it."""
    root = tmp_path_factory.mktemp("sandbox-template") / "ads"
    create_workspace(root, clients=30)
    return root


@pytest.fixture
def ads_dir(sandbox_template, tmp_path) -> Path:
    """A private copy of the sandbox template."""
    dest = tmp_path / "ads"
    shutil.copytree(sandbox_template, dest, symlinks=True)
    return dest


@pytest.fixture
def live_sandbox_settings(ads_dir, tmp_path, monkeypatch):
    """Settings for `ads_dir` on the real clock, refreshing every half second (unlike
    sandbox_settings: a workspace made for the fixed NOW)."""
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    return make_settings(tmp_path, ads_dir, SANDBOX_CLI, refresh_seconds=0.5)


@pytest.fixture
def sandbox_worker(live_sandbox_settings):
    yield from running_worker(live_sandbox_settings)


@pytest.fixture
def app(live_sandbox_settings, sandbox_worker) -> AdsdashApp:
    """The app on live_sandbox_settings, with a worker running its jobs."""
    return AdsdashApp(Engine(live_sandbox_settings))


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """(settings, engine) of a fresh sandbox workspace, a worker running its jobs."""
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    ads = tmp_path / "ads"
    create_workspace(ads, clients=30)
    settings = make_settings(tmp_path, ads, SANDBOX_CLI, workers=4)
    worker = Worker(settings, kind="embedded")
    worker.start()
    yield settings, Engine(settings)
    worker.stop()


# ---- snapshots: the same picture in every run --------------------------------------------

SNAPSHOT_NOW = datetime(2025, 10, 13, 15, 30, tzinfo=UTC)
DEAD_PID = 4_194_305  # above any pid_max: never alive, and the same in every run


def snapshot_clock() -> datetime:
    return SNAPSHOT_NOW


@pytest.fixture
def utc(monkeypatch):
    """The local zone is UTC for the test (local times on screen, report file names)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def snapshot_settings(tmp_path, monkeypatch, utc):
    """The sandbox workspace generated for SNAPSHOT_NOW, its stale lock's PID pinned, no
    refresh during a test, and the folder named by a relative path (the current directory is
    tmp_path) so that no machine path shows on screen."""
    monkeypatch.chdir(tmp_path)
    ads = tmp_path / "ads"
    create_workspace(ads, clients=30, now=SNAPSHOT_NOW)
    stale = sandbox_slug("stale_lock")
    # the generator uses a real reaped PID; pin it so the picture does not change between runs
    (ads / "locks" / f"{stale}.lock").write_text(f"pid: {DEAD_PID}\ntimestamp: {SNAPSHOT_NOW.timestamp() - 5 * 3600}\n")
    return make_settings(tmp_path, Path("ads"), SANDBOX_CLI, refresh_seconds=3600)


@pytest.fixture
def snapshot_app(snapshot_settings):
    """snapshot_app(read_only=False, **settings changes) -> an app on snapshot_settings, its clock
    at SNAPSHOT_NOW, no worker (no job runs)."""
    def make(*, read_only: bool = False, **changes) -> AdsdashApp:
        settings = snapshot_settings._replace(**changes)
        return AdsdashApp(Engine(settings, clock=snapshot_clock), read_only=read_only, clock=snapshot_clock)
    return make


@pytest.fixture
def stable_settings(tmp_path, fake_settings, monkeypatch, utc):
    """The fake CLI's folder for job snapshots: the requester's name is fixed, the CLI is behind a
    short name on PATH (no machine path in argv), one worker thread runs jobs in order."""
    monkeypatch.setenv("LOGNAME", "operator")
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        monkeypatch.delenv(name, raising=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "ads-sync"
    wrapper.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_CLI))} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return make_settings(tmp_path / "stable", fake_settings.ads_sync_path, "ads-sync", workers=1)


async def footer_drawn(pilot, screen=None) -> None:
    """Until the screen's Footer shows its keys (Textual publishes them after the first frame)."""
    screen = screen or pilot.app.screen
    await until(pilot, lambda: screen.query("FooterKey"), 10, "the footer's keys")


async def clients_settled(pilot):
    """The clients screen with its rows, its footer and an idle log pane (no job has run)."""
    screen = await loaded(pilot)
    await until(pilot, lambda: "no jobs yet" in header(screen), 20, "the log pane")
    await footer_drawn(pilot, screen)
    return screen


# ---- schedules: a settings file of [[schedule]] tables, a clock the test moves ----------------

class Clock:
    """An injected clock (workers, engines, apps): it says what the test sets."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def configured(tmp_path: Path, ads: Path, toml: str, **flags):
    """Settings for the sandbox workspace `ads` whose settings file (tmp_path/config.toml) says `toml`."""
    config = tmp_path / "config.toml"
    config.write_text(toml)
    return load_settings({"ads_sync_path": str(ads), "home": str(tmp_path / "home"), "cli_command": SANDBOX_CLI,
                          "cancel_grace_seconds": 0.5, "workers": 4, **flags}, config_file=config, environ={})


@pytest.fixture
def zoned_ads(tmp_path, monkeypatch) -> Path:
    """A 12-client sandbox workspace (Chicago, New York, Denver, Los Angeles, London), instant jobs."""
    monkeypatch.setenv("ADS_SYNC_SANDBOX_SPEED", "0")
    root = tmp_path / "ads"
    create_workspace(root, clients=12, now=datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    return root


# ---- notifications: a real webhook on 127.0.0.1, and URLs that never answer -------------------

class Receiver:
    """A webhook on 127.0.0.1 (a few lines of http.server in a thread) that keeps each POST's JSON
    body with the time it arrived: where Apprise's json:// scheme delivers."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.posts: list[dict] = []
        self.times: list[float] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.times.append(time.time())
                received.posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 20.0) -> list[dict]:
        """The posts once there are `count` (fails the test after `timeout`)."""
        wait_for(lambda: len(self.posts) >= count, timeout)
        return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (a connection is refused at once)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def blackhole():
    """A port on 127.0.0.1 that takes connections and never answers: a send waits for its timeout."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()
