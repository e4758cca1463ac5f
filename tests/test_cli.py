"""The headless command line, run as a real process against a real store and worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import wait_ended


def adsdash(settings, *args: str, check: int | None = 0, extra_env: dict | None = None):
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"))
    env.update(extra_env or {})
    proc = subprocess.run([sys.executable, "-m", "adsdash", *args], env=env, capture_output=True, timeout=60)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


def as_json(proc):
    return json.loads(proc.stdout)


def test_run_then_job_result_logs_and_jobs(fake_settings, fake_engine, worker):
    queued = as_json(adsdash(fake_settings, "run", "validate", "ok", "--json"))
    assert queued["status"] == "queued" and isinstance(queued["job_id"], int)
    wait_ended(fake_engine, queued["job_id"])

    status = as_json(adsdash(fake_settings, "job", str(queued["job_id"]), "--json"))
    assert {"job_id", "status", "result", "error", "queued_at", "started_at", "finished_at", "exit_code"} <= set(status)
    assert status["status"] == "finished" and status["result"] == "Validation complete for 'ok'"
    assert status["exit_code"] == 0 and status["started_at"] < status["finished_at"]

    result = as_json(adsdash(fake_settings, "result", str(queued["job_id"]), "--json"))
    assert result["exit_code"] == 0 and result["stderr"] == ""
    assert result["stdout"].splitlines()[-1].endswith("Validation complete for 'ok'")

    logs = adsdash(fake_settings, "logs", str(queued["job_id"])).stdout.decode()
    assert logs.splitlines()[-1].endswith("Validation complete for 'ok'")

    listed = as_json(adsdash(fake_settings, "jobs", "--slug", "ok", "--json"))
    assert [j["job_id"] for j in listed] == [queued["job_id"]]
    assert as_json(adsdash(fake_settings, "jobs", "--slug", "fail", "--json")) == []


def test_follow_streams_and_exits_with_the_cli_code(fake_settings, worker):
    proc = adsdash(fake_settings, "run", "append", "fail", "--follow", check=1)
    out = proc.stdout.decode()
    assert "Command failed: something broke" in out and "RuntimeError: something broke" in out
    assert b"failed" in proc.stderr
    ok = adsdash(fake_settings, "report", "ok", "--scope", "2025-Q3", "--follow", check=0)
    assert b"report ok" in ok.stdout


def test_logs_print_outside_text_safely_and_raw_exactly(fake_settings, fake_engine, worker):
    job = fake_engine.submit("validate", "dirty")
    wait_ended(fake_engine, job.id)
    shown = adsdash(fake_settings, "logs", str(job.id)).stdout
    assert b"\x1b" not in shown and b"\x00" not in shown and b"\x07" not in shown
    assert b"[bold red]markup[/] and [/]" in shown  # markup stays literal text
    assert "bad utf8 \ufffd\ufffd end".encode() in shown
    raw = adsdash(fake_settings, "logs", str(job.id), "--raw").stdout
    assert b"\x1b]0;pwned\x07title \x1b[2Jclear" in raw and b"bad utf8 \xff\xfe end\n" in raw
    assert b"nul\x00byte\n" in raw
    as_json(adsdash(fake_settings, "result", str(job.id), "--json"))  # valid JSON despite the bytes


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "validate", "nobody"], "unknown client"),
        (["run", "validate", "../x"], "not a safe name"),
        (["run", "repair", "ok", "--start", "2025-02-30", "--end", "2025-03-01"], "not a real"),
        (["run", "repair", "ok", "--start", "2025-03-02", "--end", "2025-03-01"], "after end"),
        (["report", "ok", "--scope", "2025-Q0"], "quarter"),
        (["run", "validate", "ok", "--start", "2025-01-01"], "does not take"),
    ],
)
def test_refusals_exit_2_with_one_line_and_queue_nothing(fake_settings, fake_engine, args, message):
    proc = adsdash(fake_settings, *args, check=2)
    err = proc.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("adsdash: error:")
    assert fake_engine.store.jobs() == []


def test_unknown_job_and_bad_id(fake_settings):
    assert b"no job 99" in adsdash(fake_settings, "job", "99", check=1).stderr
    assert b"whole number" in adsdash(fake_settings, "job", "abc", check=2).stderr


def test_cancel_via_cli(fake_settings, fake_engine):
    job = fake_engine.submit("validate", "ok")  # no worker: stays queued
    out = as_json(adsdash(fake_settings, "cancel", str(job.id), "--json"))
    assert out["status"] == "cancelled"
    assert fake_engine.store.job(job.id).status == "cancelled"


def test_catalogue_facts(fake_settings):
    commands = as_json(adsdash(fake_settings, "commands", "--json"))
    assert {c["command"] for c in commands} == {"init", "append", "validate", "repair", "force-unlock", "report"}
    assert all(c["description"] for c in commands)
    scopes = [s["example"] for s in as_json(adsdash(fake_settings, "scopes", "--json"))]
    assert scopes == ["LIFETIME", "LAST-7-DAYS", "LAST-30-DAYS", "2025-Q3", "2025-01..2025-03"]


def test_health_reports_the_worker(fake_settings, worker):
    report = as_json(adsdash(fake_settings, "health", "--json"))
    assert report["status"] == "healthy", report
    assert worker.id in report["checks"]["worker"]["detail"]


def test_health_without_worker_is_degraded(fake_settings):
    report = as_json(adsdash(fake_settings, "health", "--json", check=1))
    assert report["status"] == "degraded" and not report["checks"]["worker"]["ok"]


def test_config_shows_values_and_origins(fake_settings, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('workers = 3\nstale_after_days = 5\n[keymap]\n"clients.append" = "A"\n')
    proc = adsdash(fake_settings, "config", "--json", "--workers", "4",
                   extra_env={"ADSDASH_CONFIG": str(cfg), "ADSDASH_STALE_AFTER_DAYS": "7"})
    data = as_json(proc)
    assert data["workers"] == {"value": "4", "origin": "flag --workers"}
    assert data["stale_after_days"] == {"value": "7", "origin": "env ADSDASH_STALE_AFTER_DAYS"}
    assert data["late_after_days"]["origin"] == "default"
    assert data["keymap.clients.append"]["value"] == "A"
    bad = tmp_path / "bad.toml"
    bad.write_text("workerz = 1\n")
    err = adsdash(fake_settings, "config", extra_env={"ADSDASH_CONFIG": str(bad)}, check=2).stderr
    assert b"unknown setting" in err and b"workerz" in err
