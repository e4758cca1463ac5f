"""Every ads_sync command end to end on the sandbox: engine, real worker, real CLI processes."""

from __future__ import annotations

import json

from conftest import run_adsdash, sandbox_slug, wait_ended

from adsdash.engine import Engine
from adsdash.freshness import Kind


def run(engine: Engine, command: str, slug: str, **params):
    return wait_ended(engine, engine.submit(command, slug, **params).id, timeout=60)


def test_validate_append_report_repair_on_a_fresh_client(sandbox):
    _, engine = sandbox
    slug = sandbox_slug("fresh")
    assert run(engine, "validate", slug).result == f"Validation complete for '{slug}'"
    assert run(engine, "append", slug).result == f"Completed incremental append for '{slug}'"
    assert engine.workspace.client(slug).freshness.kind == Kind.FRESH
    before = len(engine.workspace.reports(slug))
    report = run(engine, "report", slug, scope="2025-Q3")
    assert report.status == "finished"
    reports = engine.workspace.reports(slug)
    assert len(reports) == before + 1 and reports[0].scope == "2025-Q3"
    repair = run(engine, "repair", slug, start="2025-09-01", end="2025-09-30")
    assert repair.status == "finished" and repair.result == f"Repair complete for '{slug}'"


def test_init_brings_a_never_client_to_fresh(sandbox):
    _, engine = sandbox
    slug = sandbox_slug("never")
    assert engine.workspace.client(slug).freshness.kind == Kind.NEVER
    job = run(engine, "init", slug)
    assert job.status == "finished" and job.result == f"Completed initial sync for '{slug}'"
    assert any("Processing chunk 1/" in line.as_text for line in engine.store.lines(job.id))
    assert engine.workspace.client(slug).freshness.kind == Kind.FRESH


def test_failing_append_fails_with_the_reason_and_an_error_file(sandbox):
    _, engine = sandbox
    slug = sandbox_slug("failing")
    before = engine.workspace.client(slug).newest_error
    job = run(engine, "append", slug)
    assert job.status == "failed" and job.exit_code == 1 and job.error.startswith("exit code 1: Command failed")
    after = engine.workspace.client(slug).newest_error
    assert after.path != before.path and after.start_date and after.end_date


def test_force_unlock_removes_a_stale_lock(sandbox):
    _, engine = sandbox
    slug = sandbox_slug("stale_lock")
    lock = engine.workspace.client(slug).lock
    assert lock is not None and not lock.alive
    job = run(engine, "force-unlock", slug)
    assert job.status == "finished" and job.result == f"[SUCCESS] Lock removed for '{slug}'"
    assert engine.workspace.client(slug).lock is None
    assert run(engine, "force-unlock", slug).result == f"[INFO] No lock found for '{slug}'"


def test_unreadable_state_fails_validation(sandbox):
    _, engine = sandbox
    slug = sandbox_slug("broken_state")
    assert engine.workspace.client(slug).freshness.kind == Kind.ERROR
    assert run(engine, "validate", slug).status == "failed"


def test_headless_follow_and_status_on_the_sandbox(sandbox):
    settings, _engine = sandbox
    slug = sandbox_slug("fresh")
    proc = run_adsdash(settings, "run", "validate", slug, "--follow", extra_env={"ADS_SYNC_SANDBOX_SPEED": "0"})
    assert f"Validation complete for '{slug}'" in proc.stdout.decode()
    status = json.loads(run_adsdash(settings, "status", slug, "--json").stdout)
    assert {"slug", "last_append_timestamp", "last_sync", "watermark_date"} <= set(status)
    assert status["slug"] == slug and status["freshness"] == "fresh"
    listed = json.loads(run_adsdash(settings, "clients", "--json").stdout)
    assert len(listed) == 30 and {c["freshness"] for c in listed} >= {"fresh", "late", "stale", "never", "error"}


def test_sandbox_init_command_prints_env_lines(tmp_path, fake_settings):
    out = run_adsdash(fake_settings, "sandbox", "init", str(tmp_path / "ws"), "--clients", "5").stdout.decode()
    assert "export ADS_SYNC_PROJECT_PATH=" in out and "-m adsdash.sandbox" in out
    assert len(list((tmp_path / "ws" / "configs" / "clients").glob("*.yaml"))) == 5
