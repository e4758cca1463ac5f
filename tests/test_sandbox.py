"""The sandbox ads_sync CLI, run as a real subprocess in a generated workspace."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import wait_for

from adsdash.sandbox.generate import create_workspace, plan
from adsdash.sandbox.project import parse_config, yesterday_in

REPO = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (DEBUG|INFO|WARNING|ERROR) - ads_sync - ")
KINDS = {p.kind: p.slug for p in plan(30)}  # one slug per kind (the last of each)


# --- helpers -------------------------------------------------------------------------------

def env(speed: float) -> dict[str, str]:
    e = dict(os.environ, ADS_SYNC_SANDBOX_SPEED=str(speed), PYTHONUNBUFFERED="1")
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), e.get("PYTHONPATH")]))
    return e


def cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "adsdash.sandbox", *args]


def run(ads_dir: Path, *args: str, speed: float = 0, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(cmd(*args), cwd=ads_dir, env=env(speed), capture_output=True, text=True,
                          timeout=timeout)


def spawn(ads_dir: Path, *args: str, speed: float) -> subprocess.Popen:
    return subprocess.Popen(cmd(*args), cwd=ads_dir, env=env(speed), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def config(ads_dir: Path, slug: str):
    raw = yaml.safe_load((ads_dir / "configs" / "clients" / f"{slug}.yaml").read_text(encoding="utf-8"))
    return parse_config(slug, raw)


def state(ads_dir: Path, slug: str) -> dict:
    return json.loads((ads_dir / "state" / f"{slug}.json").read_text(encoding="utf-8"))


def yesterday(ads_dir: Path, slug: str) -> date:
    return yesterday_in(config(ads_dir, slug).timezone)


def csv_rows(ads_dir: Path, slug: str) -> list[dict]:
    with open(ads_dir / "data" / slug / f"{slug}-master-campaign_data.csv", newline="") as f:
        return list(csv.DictReader(f))


def errors(ads_dir: Path, slug: str) -> list[dict]:
    folder = ads_dir / "errors" / slug
    return [json.loads(p.read_text()) for p in sorted(folder.glob("error_*.json"))] if folder.exists() else []


def classify(ads_dir: Path, slug: str) -> str:
    """A client's kind as its files show it: never, broken, fresh, late (1-2 d), stale (3+ d)."""
    if not (ads_dir / "state" / f"{slug}.json").exists():
        return "never"
    try:
        watermark = date.fromisoformat(state(ads_dir, slug)["google_ads"]["watermark_date"])
    except json.JSONDecodeError:
        return "broken"
    lag = (yesterday(ads_dir, slug) - watermark).days
    return "fresh" if lag <= 0 else "late" if lag <= 2 else "stale"


# --- the generated workspace ----------------------------------------------------------------

def test_generator_variety(sandbox_template):
    slugs = sorted(p.stem for p in (sandbox_template / "configs" / "clients").glob("*.yaml"))
    assert len(slugs) == 30
    counts: dict[str, int] = {}
    for slug in slugs:
        kind = classify(sandbox_template, slug)
        counts[kind] = counts.get(kind, 0) + 1
    # 18 fresh; 4 late + the stale-lock client (1 day late); 3 stale + the failing one (3 days).
    assert counts == {"fresh": 18, "late": 5, "stale": 4, "never": 2, "broken": 1}

    locks = list((sandbox_template / "locks").glob("*.lock"))
    assert [p.stem for p in locks] == [KINDS["stale_lock"]]
    pid = int(locks[0].read_text().splitlines()[0].split(":")[1])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    failing = KINDS["failing"]
    assert config(sandbox_template, failing).fails("append")
    (err,) = errors(sandbox_template, failing)
    assert set(err) == {"timestamp", "command", "slug", "exception_type", "exception_message",
                        "context", "recovery_command"}
    assert err["recovery_command"] == (f"python ads_sync_cli.py repair {failing} --from "
                                       f"{err['context']['start_date']} --to {err['context']['end_date']}")

    raws = [yaml.safe_load((sandbox_template / "configs" / "clients" / f"{s}.yaml").read_text()) for s in slugs]
    assert sum("customer_id" in r and "timezone" in r for r in raws) == 2
    assert sum("client_id" in r and "time_zone" in r for r in raws) == 28
    zones = {config(sandbox_template, s).timezone for s in slugs}
    assert {"America/Chicago", "America/Denver", "America/Los_Angeles", "America/New_York",
            "Europe/London"} <= zones
    names = [r["client_name"] for r in raws]
    assert "Santana & Blanchard Law Firm" in names and any(":" in n for n in names)
    for slug in slugs:
        if classify(sandbox_template, slug) in ("fresh", "late", "stale"):
            s = state(sandbox_template, slug)
            assert s["data_quality"]["total_rows"] == len(csv_rows(sandbox_template, slug)) > 0


def test_generator_is_deterministic_and_refuses_a_used_folder(tmp_path):
    now = datetime(2025, 10, 13, 13, 0).astimezone()
    a, b = tmp_path / "a", tmp_path / "b"
    assert create_workspace(a, 12, now=now) == create_workspace(b, 12, now=now)
    for rel in ("configs/clients/priority-roofing.yaml", "state/priority-roofing.json",
                "data/priority-roofing/priority-roofing-master-campaign_data.csv"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes()
    assert state(a, "priority-roofing")["google_ads"]["watermark_date"] == "2025-10-12"
    with pytest.raises(FileExistsError):
        create_workspace(a, 3)


# --- sub-commands ---------------------------------------------------------------------------

def test_init_backfills_in_chunks(ads_dir):
    slug = KINDS["never"]
    r = run(ads_dir, "init", slug)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert all(LINE.match(line) for line in lines)
    chunks = [line for line in lines if " - Processing chunk " in line]
    assert len(chunks) == 9 and re.search(r"Processing chunk 1/9: \d{4}-\d\d-\d\d to ", chunks[0])
    assert lines[-1].endswith(f"Completed initial sync for '{slug}'")
    s = state(ads_dir, slug)
    assert s["google_ads"]["watermark_date"] == yesterday(ads_dir, slug).isoformat()
    assert s["data_quality"]["total_rows"] == len(csv_rows(ads_dir, slug)) > 0
    # Like the real tool, state.timezone comes from `timezone` only: a field config gets Chicago.
    assert config(ads_dir, slug).timezone == "America/Phoenix" and s["timezone"] == "America/Chicago"
    assert not (ads_dir / "locks" / f"{slug}.lock").exists()
    assert (ads_dir / "logs" / f"{datetime.now():%Y-%m-%d}.log").read_text().count("Processing chunk") == 9


def test_append_merges_and_moves_the_watermark(ads_dir):
    slug = KINDS["late"]
    before = state(ads_dir, slug)
    r = run(ads_dir, "append", slug)
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines()[-1].endswith(f"Completed incremental append for '{slug}'")
    y = yesterday(ads_dir, slug)
    old = date.fromisoformat(before["google_ads"]["watermark_date"])
    assert f"Append window: {old - timedelta(days=3)} to {y}" in r.stdout
    after = state(ads_dir, slug)
    rows = csv_rows(ads_dir, slug)
    keys = {(x["date"], x["campaign_id"], x["data_source"]) for x in rows}
    assert len(keys) == len(rows) == after["data_quality"]["total_rows"]
    assert max(x["date"] for x in rows) == y.isoformat() == after["google_ads"]["watermark_date"]
    assert after["data_quality"]["duplicate_rows_removed"] > before["data_quality"]["duplicate_rows_removed"]
    assert after["data_quality"]["last_append"] > before["data_quality"]["last_append"]


def test_append_caps_a_stale_window(ads_dir):
    slug = KINDS["stale"]
    r = run(ads_dir, "append", slug)
    assert r.returncode == 0
    y = yesterday(ads_dir, slug)
    assert f"Append window: {y - timedelta(days=30)} to {y}" in r.stdout


def test_append_without_master_csv_fails_with_an_error_file(ads_dir):
    slug = KINDS["never"]
    r = run(ads_dir, "append", slug)
    assert r.returncode == 1
    assert "Master CSV not found" in r.stdout
    assert "Run 'init' command first to create initial data" in r.stdout
    assert "Command failed: Master CSV not found" in r.stdout and "Traceback" in r.stdout
    (err,) = errors(ads_dir, slug)
    y = yesterday(ads_dir, slug)
    assert err["context"] == {"start_date": (y - timedelta(days=30)).isoformat(), "end_date": y.isoformat()}
    assert err["exception_type"] == "FileNotFoundError"


def test_demanded_failure_writes_an_error_file_with_the_window(ads_dir):
    slug = KINDS["failing"]
    watermark = date.fromisoformat(state(ads_dir, slug)["google_ads"]["watermark_date"])
    time.sleep(1.05)  # error files are named by the second: do not collide with the generated one
    r = run(ads_dir, "append", slug)
    assert r.returncode == 1
    out = r.stdout.splitlines()
    failed = next(i for i, line in enumerate(out) if " - ERROR - ads_sync - Command failed: " in line)
    assert out[failed + 1] == "Traceback (most recent call last):"
    assert out[-1].startswith("google.ads.googleads.errors.GoogleAdsException: ")
    newest = errors(ads_dir, slug)[-1]
    assert len(errors(ads_dir, slug)) == 2
    assert newest["command"] == "append" and newest["exception_type"] == "GoogleAdsException"
    assert newest["context"] == {"start_date": (watermark - timedelta(days=3)).isoformat(),
                                 "end_date": yesterday(ads_dir, slug).isoformat()}
    assert "--from" in newest["recovery_command"]
    assert state(ads_dir, slug)["google_ads"]["watermark_date"] == watermark.isoformat()
    assert not (ads_dir / "locks" / f"{slug}.lock").exists()


def test_validate_passes_and_records_the_time(ads_dir):
    slug = KINDS["fresh"]
    before = state(ads_dir, slug)["data_quality"]["last_validation"]
    r = run(ads_dir, "validate", slug)
    assert r.returncode == 0
    assert r.stdout.splitlines()[-1].endswith(f"Validation complete for '{slug}'")
    assert state(ads_dir, slug)["data_quality"]["last_validation"] > before


def test_validate_fails_on_a_broken_state_file(ads_dir):
    r = run(ads_dir, "validate", KINDS["broken_state"])
    assert r.returncode == 1
    assert " - ERROR - ads_sync - Validation failed: " in r.stdout
    assert "json.decoder.JSONDecodeError" in r.stdout


def test_repair_is_idempotent_and_checks_dates(ads_dir):
    slug = KINDS["fresh"]
    y = yesterday(ads_dir, slug)
    before = csv_rows(ads_dir, slug)
    args = ("repair", slug, "--start", str(y - timedelta(days=40)), "--end", str(y - timedelta(days=10)))
    r = run(ads_dir, *args)
    assert r.returncode == 0 and r.stdout.splitlines()[-1].endswith(f"Repair complete for '{slug}'")
    after = csv_rows(ads_dir, slug)
    strip = lambda rows: sorted(tuple(v for k, v in x.items() if k != "pull_date") for x in rows)  # noqa: E731
    assert strip(after) == strip(before)
    bad = run(ads_dir, "repair", slug, "--start", "2025-13-01", "--end", "2025-12-31")
    assert bad.returncode == 1 and "Command failed: Invalid date range" in bad.stdout
    assert errors(ads_dir, slug)[-1]["context"] == {"start_date": "2025-13-01", "end_date": "2025-12-31"}


def test_force_unlock(ads_dir):
    slug = KINDS["stale_lock"]
    r = run(ads_dir, "force-unlock", slug)
    assert r.returncode == 0 and f"[SUCCESS] Lock removed for '{slug}'" in r.stdout
    assert not (ads_dir / "locks" / f"{slug}.lock").exists()
    r = run(ads_dir, "force-unlock", slug)
    assert r.returncode == 0 and f"[INFO] No lock found for '{slug}'" in r.stdout


def test_report_sequence_and_index(ads_dir):
    slug = KINDS["late"]
    year = datetime.now().year
    for scope in ("LAST-7-DAYS", "2025-01..2025-03"):
        r = run(ads_dir, "report", slug, "--scope", scope)
        assert r.returncode == 0
        assert f"Generating report for '{slug}' with scope '{scope}'" in r.stdout
    folder = ads_dir / "output" / slug / str(year)
    names = sorted(p.name for p in folder.glob("*.md"))
    assert [n[:4] for n in names] == ["001-", "002-"]
    assert re.fullmatch(rf"002-{slug}-report-2025-01\.\.2025-03-\d{{8}}_\d{{6}}\.md", names[1])
    index = json.loads((folder / "index.json").read_text())
    assert index["last_sequence"] == 2 and [e["file"] for e in index["reports"]] == names
    text = (folder / names[0]).read_text()
    y = yesterday(ads_dir, slug)
    assert f"({y - timedelta(days=6)} to {y})" in text and "## Totals" in text and "## Campaigns" in text


def test_report_accepts_any_scope_and_defaults(ads_dir):
    slug = KINDS["fresh"]
    for args in (("--scope", "2025-Q5"), ("--scope", "LIFETIME"), ("--scope", "2024-Q4"), ()):
        r = run(ads_dir, "report", slug, *args)
        assert r.returncode == 0, r.stdout
    assert "with scope 'LAST-30-DAYS'" in r.stdout
    r = run(ads_dir, "report", KINDS["never"], "--scope", "LIFETIME")
    assert r.returncode == 0  # no data yet: an empty report, not a crash


def test_discover_lists_and_exports(ads_dir):
    r = run(ads_dir, "discover", "--mcc-id", "1877202760", "--export")
    assert r.returncode == 0
    table = [line for line in r.stdout.splitlines() if not LINE.match(line)]
    assert table[0].startswith("customer_id,name,status,time_zone") and len(table) == 31
    assert (ads_dir / "discovered_clients.csv").read_text().count("\n") == 31


def test_bad_arguments_exit_2(ads_dir):
    for args in ((), ("bogus",), ("repair", "priority-roofing", "--start", "2025-01-01"), ("init",)):
        r = run(ads_dir, *args)
        assert r.returncode == 2, args
        assert "usage:" in r.stderr and r.stdout == ""


def test_unknown_slug_fails_without_litter(ads_dir):
    for sub in ("validate", "append", "init", "report"):
        r = run(ads_dir, sub, "no-such-client")
        assert r.returncode == 1, sub
        assert "Client config not found" in r.stdout
    assert not (ads_dir / "errors" / "no-such-client").exists()
    assert not (ads_dir / "locks" / "no-such-client.lock").exists()


def test_extra_lines(ads_dir):
    slug = next(p.slug for p in plan(30) if p.sandbox.get("extra_lines"))
    r = run(ads_dir, "append", slug)
    assert r.returncode == 0 and r.stdout.count("Streamed page") == 400


# --- cancel, locks, atomic state ------------------------------------------------------------

def test_sigint_during_init_exits_130_and_releases_the_lock(ads_dir):
    slug = KINDS["never"]
    proc = spawn(ads_dir, "init", slug, speed=0.2)
    try:
        for line in proc.stdout:
            if "Processing chunk 1/" in line:
                break
        assert (ads_dir / "locks" / f"{slug}.lock").exists()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "WARNING - ads_sync - Operation cancelled by user" in out
    assert not (ads_dir / "locks" / f"{slug}.lock").exists()
    assert not (ads_dir / "state" / f"{slug}.json").exists() and errors(ads_dir, slug) == []


def test_lock_holds_pid_and_timestamp_while_running(ads_dir):
    slug = KINDS["fresh"]
    proc = spawn(ads_dir, "append", slug, speed=0.3)
    lock = ads_dir / "locks" / f"{slug}.lock"

    def written() -> list[str] | None:  # the lock file is made, then written: wait for both lines
        try:
            text = lock.read_text()
        except FileNotFoundError:
            return None
        return text.splitlines() if text.endswith("\n") and text.count("\n") == 2 else None

    try:
        pid_line, stamp_line = wait_for(written, 10)
        assert pid_line == f"pid: {proc.pid}"
        assert abs(float(stamp_line.removeprefix("timestamp: ")) - time.time()) < 10
        proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and not lock.exists()


def test_stale_lock_with_dead_pid_is_taken_over(ads_dir):
    slug = KINDS["stale_lock"]
    pid = (ads_dir / "locks" / f"{slug}.lock").read_text().splitlines()[0].split(": ")[1]
    r = run(ads_dir, "append", slug)
    assert r.returncode == 0
    assert f"Removing stale lock for {slug} (dead PID {pid})" in r.stdout
    assert not (ads_dir / "locks" / f"{slug}.lock").exists()


def test_live_lock_makes_the_command_wait_then_fail(ads_dir):
    slug = KINDS["fresh"]
    lock = ads_dir / "locks" / f"{slug}.lock"
    content = f"pid: {os.getpid()}\ntimestamp: {time.time()}\n"
    lock.write_text(content)
    started = time.monotonic()
    r = run(ads_dir, "append", slug, speed=0.002)  # 300 s -> 0.6 s
    waited = time.monotonic() - started
    assert r.returncode == 1
    assert f"Command failed: Could not acquire lock for '{slug}' after 300s" in r.stdout
    assert 0.6 <= waited < 10
    assert lock.read_text() == content  # someone else's lock is left alone


def test_lock_wait_ends_when_the_holder_releases(ads_dir):
    slug = KINDS["fresh"]
    lock = ads_dir / "locks" / f"{slug}.lock"
    content = f"pid: {os.getpid()}\ntimestamp: {time.time()}\n"
    lock.write_text(content)
    # validate takes no lock: it runs to its end under a live lock (one that waited would give
    # up after 300 s -> 3 s and fail), and leaves the lock alone. Not timed: CI machines are busy.
    r = run(ads_dir, "validate", slug, speed=0.01)
    assert r.returncode == 0, r.stdout
    assert lock.read_text() == content
    threading.Timer(0.5, lock.unlink).start()
    started = time.monotonic()
    r = run(ads_dir, "repair", slug, "--start", "2025-01-01", "--end", "2025-01-02", speed=0.01)  # 300 s -> 3 s
    assert r.returncode == 0, r.stdout
    assert time.monotonic() - started >= 0.5


def test_state_is_replaced_atomically(ads_dir):
    slug = KINDS["fresh"]
    path = ads_dir / "state" / f"{slug}.json"
    seen_bad = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                json.loads(path.read_text())
            except json.JSONDecodeError as e:
                seen_bad.append(e)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(3):
            assert run(ads_dir, "validate", slug).returncode == 0
            assert run(ads_dir, "append", slug).returncode == 0
    finally:
        stop.set()
        t.join()
    assert seen_bad == []
    assert sorted(p.name for p in (ads_dir / "state").iterdir() if slug in p.name) == [f"{slug}.json"]
