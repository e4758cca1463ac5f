"""What a command loads: the command line answers at once, so a command imports only its own
part (bench/bench_cli.py has the figures). Each test runs a real `python -m adsdash` and
looks at the modules it loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Runs `adsdash ARGS` in this process as `python -m adsdash` does, then writes the names of
# the modules it loaded to the file named first (so the command's own output stays apart).
LOADED = """
import json, os, runpy, sys
report, sys.argv = sys.argv[1], ["adsdash", *sys.argv[2:]]
code = 0

def exit_now(status):
    raise SystemExit(status)

os._exit = exit_now  # a submit ends with os._exit (cli._exit_now): caught below like any exit
try:
    runpy.run_module("adsdash", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
with open(report, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""
DRAWING = {"textual", "rich", "sqlite_utils"}  # screens, tables and the store's schema: ~150 ms to import


def loaded_by(settings, tmp_path, *args: str) -> tuple[int, set[str]]:
    env = dict(os.environ, ADSDASH_HOME=str(settings.home), ADS_SYNC_PROJECT_PATH=str(settings.ads_sync_path),
               ADS_SYNC_CLI_COMMAND=settings.cli_command, ADSDASH_CONFIG=str(settings.home / "absent.toml"))
    report = tmp_path / "loaded.json"
    proc = subprocess.run([sys.executable, "-c", LOADED, str(report), *args], env=env, capture_output=True,
                          timeout=60)
    assert report.exists(), proc.stderr.decode()
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"])


def top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_loads_nothing_but_the_command_line(fake_settings, tmp_path):
    code, modules = loaded_by(fake_settings, tmp_path, "--version")
    assert code == 0
    assert not top_level(modules) & (DRAWING | {"huey", "yaml", "platformdirs"})
    assert "importlib.metadata" not in modules  # the version is read without it (~40 ms)
    assert {m for m in modules if m.startswith("adsdash")} == {"adsdash", "adsdash.cli"}


def test_a_submit_loads_nothing_to_draw_no_yaml_and_no_queue(fake_settings, fake_engine, tmp_path):
    assert fake_engine.store.jobs() == []  # the store exists (only making one takes sqlite-utils)
    code, modules = loaded_by(fake_settings, tmp_path, "--json", "run", "validate", "ok")
    assert code == 0 and [job.command for job in fake_engine.store.jobs()] == ["validate"]  # it did queue
    # validate takes no date: no client config is read; a worker hands the job to Huey; no file is
    # parsed (no parse cache, so no platform folder), and the settings file has no schedules
    assert not top_level(modules) & (DRAWING | {"yaml", "huey", "platformdirs", "cronsim", "prometheus_client",
                                                "apprise"})


@pytest.mark.parametrize("args", [("--json", "jobs"), ("--json", "job", "1"), ("logs", "1"), ("logs", "1", "--raw"),
                                  ("--json", "result", "1"), ("result", "1")])
def test_reading_jobs_loads_nothing_to_draw_and_no_queue(fake_settings, fake_engine, tmp_path, args):
    fake_engine.store.create_job(slug="ok", command="validate", args={}, argv=["x"], cwd="/")
    code, modules = loaded_by(fake_settings, tmp_path, *args)
    assert code == 0
    assert not top_level(modules) & (DRAWING | {"yaml", "huey"})


def test_metrics_loads_prometheus_client_and_nothing_to_draw(fake_settings, fake_engine, tmp_path):
    assert fake_engine.store.jobs() == []  # the store exists (only making one takes sqlite-utils)
    code, modules = loaded_by(fake_settings, tmp_path, "metrics")
    assert code == 0 and "prometheus_client" in top_level(modules)
    assert not top_level(modules) & (DRAWING | {"huey"})  # text straight to stdout; a worker's queue is not read
