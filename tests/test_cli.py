"""The headless command line, run as a real process against a real store and worker."""

from __future__ import annotations

import json
import os
import select
import shlex
import sqlite3
import subprocess
import sys
import time
from datetime import date
from importlib import metadata
from pathlib import Path

import pytest
from conftest import FLOOD_LINES, one_error_line, run_adsdash, wait_ended

from adsdash.catalogue import last_complete_quarter


def as_json(proc):
    return json.loads(proc.stdout)


def test_run_then_job_result_logs_and_jobs(fake_settings, fake_engine, worker):
    queued = as_json(run_adsdash(fake_settings, "run", "validate", "ok", "--json"))
    assert queued["status"] == "queued" and isinstance(queued["job_id"], int)
    wait_ended(fake_engine, queued["job_id"])

    status = as_json(run_adsdash(fake_settings, "job", str(queued["job_id"]), "--json"))
    assert {"job_id", "status", "result", "error", "queued_at", "started_at", "finished_at", "exit_code"} <= set(status)
    assert status["status"] == "finished" and status["result"] == "Validation complete for 'ok'"
    assert status["exit_code"] == 0 and status["started_at"] < status["finished_at"]

    result = as_json(run_adsdash(fake_settings, "result", str(queued["job_id"]), "--json"))
    assert result["exit_code"] == 0 and result["stderr"] == ""
    assert result["stdout"].splitlines()[-1].endswith("Validation complete for 'ok'")

    logs = run_adsdash(fake_settings, "logs", str(queued["job_id"])).stdout.decode()
    assert logs.splitlines()[-1].endswith("Validation complete for 'ok'")

    listed = as_json(run_adsdash(fake_settings, "jobs", "--slug", "ok", "--json"))
    assert [j["job_id"] for j in listed] == [queued["job_id"]]
    assert as_json(run_adsdash(fake_settings, "jobs", "--slug", "fail", "--json")) == []


def test_a_submit_ends_at_once_with_its_job_committed(fake_settings):
    """`run` ends without Python's teardown or SQLite's checkpoint at the last close (cli._exit_now):
    its output whole on both streams, the job committed in the WAL, read by the next command,
    which ends as Python does and, the last connection, checkpoints it."""
    wal = Path(f"{fake_settings.store_path}-wal")
    proc = run_adsdash(fake_settings, "--json", "run", "validate", "ok")
    queued = as_json(proc)
    assert b"no live worker" in proc.stderr
    assert wal.exists()  # the submit left it: no checkpoint-on-close ran
    listed = as_json(run_adsdash(fake_settings, "--json", "jobs"))
    assert [(j["job_id"], j["slug"], j["status"]) for j in listed] == [(queued["job_id"], "ok", "queued")]
    assert not wal.exists()


def test_follow_streams_and_exits_with_the_cli_code(fake_settings, worker):
    proc = run_adsdash(fake_settings, "run", "append", "fail", "--follow", check=1)
    out = proc.stdout.decode()
    assert "Command failed: something broke" in out and "RuntimeError: something broke" in out
    assert b"failed" in proc.stderr
    ok = run_adsdash(fake_settings, "report", "ok", "--scope", "2025-Q3", "--follow", "--anyway", check=0)
    assert b"report ok" in ok.stdout


def test_logs_print_outside_text_safely_and_raw_exactly(fake_settings, fake_engine, worker):
    job = fake_engine.submit("validate", "dirty")
    wait_ended(fake_engine, job.id)
    shown = run_adsdash(fake_settings, "logs", str(job.id)).stdout
    assert b"\x1b" not in shown and b"\x00" not in shown and b"\x07" not in shown
    assert b"[bold red]markup[/] and [/]" in shown  # markup stays literal text
    assert "bad utf8 \ufffd\ufffd end".encode() in shown
    raw = run_adsdash(fake_settings, "logs", str(job.id), "--raw").stdout
    assert b"\x1b]0;pwned\x07title \x1b[2Jclear" in raw and b"bad utf8 \xff\xfe end\n" in raw
    assert b"nul\x00byte\n" in raw
    as_json(run_adsdash(fake_settings, "result", str(job.id), "--json"))  # valid JSON despite the bytes


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
    proc = run_adsdash(fake_settings, *args, check=2)
    err = proc.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("adsdash: error:")
    assert fake_engine.store.jobs() == []


def test_unknown_job_and_bad_id(fake_settings):
    assert b"no job 99" in run_adsdash(fake_settings, "job", "99", check=1).stderr
    assert b"whole number" in run_adsdash(fake_settings, "job", "abc", check=2).stderr


def test_cancel_via_cli(fake_settings, fake_engine):
    job = fake_engine.submit("validate", "ok")  # no worker: stays queued
    out = as_json(run_adsdash(fake_settings, "cancel", str(job.id), "--json"))
    assert out["status"] == "cancelled"
    assert fake_engine.store.job(job.id).status == "cancelled"


def test_catalogue_facts(fake_settings):
    commands = as_json(run_adsdash(fake_settings, "commands", "--json"))
    assert {c["command"] for c in commands} == {"init", "append", "validate", "repair", "force-unlock", "report"}
    assert all(c["description"] for c in commands)
    scopes = [s["example"] for s in as_json(run_adsdash(fake_settings, "scopes", "--json"))]
    quarter = last_complete_quarter(date.today())  # the quarter's example: the last complete one
    assert scopes == ["LIFETIME", "LAST-7-DAYS", "LAST-30-DAYS", quarter, "2025-01..2025-03"]


def test_health_reports_the_worker(fake_settings, worker):
    report = as_json(run_adsdash(fake_settings, "health", "--json"))
    assert report["status"] == "healthy", report
    assert worker.id in report["checks"]["worker"]["detail"]


def test_health_without_worker_is_degraded(fake_settings):
    report = as_json(run_adsdash(fake_settings, "health", "--json", check=1))
    assert report["status"] == "degraded" and not report["checks"]["worker"]["ok"]


def test_config_shows_values_and_origins(fake_settings, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('workers = 3\nstale_after_days = 5\n[keymap]\n"clients.append" = "A"\n')
    proc = run_adsdash(fake_settings, "config", "--json", "--workers", "4",
                   extra_env={"ADSDASH_CONFIG": str(cfg), "ADSDASH_STALE_AFTER_DAYS": "7"})
    data = as_json(proc)
    assert data["workers"] == {"value": "4", "origin": "flag --workers"}
    assert data["stale_after_days"] == {"value": "7", "origin": "env ADSDASH_STALE_AFTER_DAYS"}
    assert data["late_after_days"]["origin"] == "default"
    assert data["keymap.clients.append"] == {"value": "A", "origin": f"file {cfg}"}
    assert data["keymap.clients.validate"] == {"value": "v", "origin": "default"}
    bad = tmp_path / "bad.toml"
    bad.write_text("workerz = 1\n")
    err = run_adsdash(fake_settings, "config", extra_env={"ADSDASH_CONFIG": str(bad)}, check=2).stderr
    assert b"unknown setting" in err and b"workerz" in err


def test_an_unknown_keymap_id_is_refused_naming_the_valid_ones(fake_settings, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[keymap]\n"clients.apend" = "A"\n')
    err = one_error_line(run_adsdash(fake_settings, "jobs", extra_env={"ADSDASH_CONFIG": str(cfg)}, check=2))
    assert "clients.apend" in err and "clients.{append," in err


def test_a_nan_refresh_is_refused_in_one_line(fake_settings):
    err = one_error_line(run_adsdash(fake_settings, "config", extra_env={"ADSDASH_REFRESH": "nan"}, check=2))
    assert "refresh_seconds from env ADSDASH_REFRESH" in err and "0.2 to 3600" in err


@pytest.mark.parametrize("before", [True, False])
def test_global_flags_work_before_or_after_the_command(fake_settings, tmp_path, before):
    home = str(tmp_path / "elsewhere")
    flags = ["--home", home, "--json"]
    data = as_json(run_adsdash(fake_settings, *([*flags, "config"] if before else ["config", *flags])))
    assert data["home"] == {"value": home, "origin": "flag --home"}
    json_first = ["--json", "commands"] if before else ["commands", "--json"]
    assert {c["command"] for c in as_json(run_adsdash(fake_settings, *json_first))} >= {"append", "report"}


def test_version(fake_settings):
    proc = run_adsdash(fake_settings, "--version")
    assert proc.stdout.decode() == f"adsdash {metadata.version('adsdash')}\n"


def test_a_job_id_beyond_sqlite_is_refused_in_one_line(fake_settings):
    err = one_error_line(run_adsdash(fake_settings, "job", "99999999999999999999", check=2))
    assert "from 1 to 9223372036854775807" in err
    assert b"no job 9223372036854775807" in run_adsdash(fake_settings, "job", str(2**63 - 1), check=1).stderr


def test_sandbox_init_refuses_a_folder_in_use(fake_settings, tmp_path):
    ws = tmp_path / "ws"
    run_adsdash(fake_settings, "sandbox", "init", str(ws), "--clients", "3")
    assert "not an empty folder" in one_error_line(run_adsdash(fake_settings, "sandbox", "init", str(ws), check=2))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    one_error_line(run_adsdash(fake_settings, "sandbox", "init", str(tmp_path / "other"), check=2))
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == ["notes.txt"]


def test_demo_says_where_its_data_is_and_how_to_reach_it(fake_settings, tmp_path):
    demo = tmp_path / "d"
    env = dict(os.environ, ADSDASH_CONFIG=str(tmp_path / "absent.toml"))
    for name in ("ADSDASH_HOME", "ADS_SYNC_PROJECT_PATH", "ADS_SYNC_CLI_COMMAND"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "adsdash", "demo", "--read-only", "--dir", str(demo),
                             "--clients", "3"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    said, deadline = b"", time.monotonic() + 30
    try:  # read until the block's last line is whole; the app draws on stderr after it
        while b"export ADSDASH_HOME=" not in said.partition(b"\x1b")[0].rpartition(b"\n")[0]:
            assert time.monotonic() < deadline, said
            if select.select([proc.stderr], [], [], 1)[0]:
                said += os.read(proc.stderr.fileno(), 65536)
    finally:
        proc.kill()
        proc.wait()
    block = said.partition(b"\x1b")[0].decode().splitlines()
    assert str(demo / ".adsdash") in block[0]
    exports = dict(shlex.split(line)[1].split("=", 1) for line in block if line.startswith("export "))
    assert exports["ADSDASH_HOME"] == str(demo / ".adsdash")
    shown = as_json(subprocess.run([sys.executable, "-m", "adsdash", "config", "--json"], capture_output=True,
                                   env=dict(env, **exports), timeout=60))
    assert shown["home"]["value"] == str(demo / ".adsdash")
    assert shown["ads_sync_path"]["value"] == str(demo)


# -- streaming a big job ---------------------------------------------------------

def test_result_of_a_job_of_many_pages(fake_settings, fake_engine, flood_job):
    from adsdash.cli import PAGE_LINES

    assert FLOOD_LINES > 2 * PAGE_LINES
    result = as_json(run_adsdash(fake_settings, "result", str(flood_job.id), "--json"))
    stored = fake_engine.store.lines(flood_job.id)
    assert result["stdout"] == "\n".join(line.as_text for line in stored if line.stream == "stdout")
    assert result["stdout"].split("\n") == [f"line {i}" for i in range(1, FLOOD_LINES + 1)]
    assert result["stderr"] == "" and result["exit_code"] == 0
    text = run_adsdash(fake_settings, "result", str(flood_job.id)).stdout.decode().splitlines()
    assert text[1:3] == ["--- stdout ---", "line 1"] and text[-2:] == [f"line {FLOOD_LINES}", "--- stderr ---"]
    assert len(text) == FLOOD_LINES + 3


def test_a_reader_that_leaves_early_gets_no_traceback(fake_settings, flood_job):
    env = dict(os.environ, ADSDASH_HOME=str(fake_settings.home), ADSDASH_CONFIG=str(fake_settings.home / "x.toml"))
    proc = subprocess.Popen([sys.executable, "-m", "adsdash", "logs", str(flood_job.id)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"line 1\n"
    proc.stdout.close()  # like `| head -1`
    assert proc.wait(timeout=60) == 141 and proc.stderr.read() == b""


# -- the data folder and the store ---------------------------------------------------

def test_a_home_that_is_a_file_is_one_line(fake_settings, tmp_path):
    (tmp_path / "plain").write_text("x")
    err = one_error_line(run_adsdash(fake_settings, "jobs", extra_env={"ADSDASH_HOME": str(tmp_path / "plain")},
                                 check=1))
    assert str(tmp_path / "plain") in err


def test_a_store_of_garbage_is_one_line_naming_it(fake_settings):
    fake_settings.home.mkdir(parents=True)
    fake_settings.store_path.write_bytes(b"not a database" * 100)
    proc = run_adsdash(fake_settings, "jobs", check=1)
    assert str(fake_settings.store_path) in one_error_line(proc) and "adsdash store check" in proc.stderr.decode()
    check = run_adsdash(fake_settings, "store", "check", "--json", check=1)
    assert as_json(check)["ok"] is False and as_json(check)["problems"]


def test_a_store_broken_inside_is_one_line_naming_it(fake_settings, fake_engine):
    for _ in range(200):  # pages enough that the damage below misses the schema on page 1
        fake_engine.store.create_job(slug="ok", command="validate", args={}, argv=["x" * 500], cwd="/")
    fake_engine.store.close()
    data = bytearray(fake_settings.store_path.read_bytes())
    data[8192:] = b"\xff" * (len(data) - 8192)
    fake_settings.store_path.write_bytes(bytes(data))
    err = one_error_line(run_adsdash(fake_settings, "jobs", check=1))
    assert str(fake_settings.store_path) in err and "adsdash store backup FILE" in err


def test_store_check_and_backup(fake_settings, fake_engine, tmp_path):
    ids = [fake_engine.submit("validate", "ok").id for _ in range(3)]  # no worker: they stay queued
    check = as_json(run_adsdash(fake_settings, "store", "check", "--json"))
    assert check == {"ok": True, "problems": [], "path": str(fake_settings.store_path)}
    copy = tmp_path / "copy.db"
    done = as_json(run_adsdash(fake_settings, "store", "backup", str(copy), "--json"))
    assert done["path"] == str(copy)
    with sqlite3.connect(copy) as backup, sqlite3.connect(fake_settings.store_path) as original:
        query = "select * from jobs order by id"
        assert backup.execute(query).fetchall() == original.execute(query).fetchall()
        assert [r[0] for r in backup.execute("select id from jobs order by id")] == ids
    before = copy.read_bytes()
    assert "already exists" in one_error_line(run_adsdash(fake_settings, "store", "backup", str(copy), check=2))
    assert copy.read_bytes() == before
    nowhere = tmp_path / "no" / "such" / "dir.db"
    err = one_error_line(run_adsdash(fake_settings, "store", "backup", str(nowhere), check=1))
    assert str(nowhere) in err
