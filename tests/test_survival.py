"""Jobs outlive the terminal, and adsdash's own faults never stop ads_sync.

The app runs as a real process on a pseudo-terminal (its controlling terminal, as over
SSH); it starts a background worker; the terminal is hung up or the app SIGKILLed mid-job;
the job runs on to its end with all of its output. And a store on a full disk leaves the
CLI running to its end, its lines held and written once there is room again.
"""

from __future__ import annotations

import json
import os
import pty
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import wait_ended, wait_for

from adsdash.config import load_settings
from adsdash.engine import Engine
from adsdash.processes import pid_alive
from adsdash.sandbox.generate import create_workspace, plan
from adsdash.store import FINISHED, STARTED
from adsdash.tasks.worker import Worker


def _drain(fd: int) -> None:
    """Read the app's screen output so it never blocks on a full terminal."""
    while True:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def _stop_background_workers(engine: Engine) -> None:
    for w in engine.store.live_workers():
        if w.kind == "background":
            os.kill(w.pid, signal.SIGTERM)
            wait_for(lambda w=w: not pid_alive(w.pid), 30)


@pytest.mark.parametrize("how", ["hangup", "sigkill"])
def test_a_job_survives_the_app_and_its_terminal(tmp_path, how):
    ads, home = tmp_path / "ads", tmp_path / "home"
    create_workspace(ads, clients=6)
    slug = next(p.slug for p in plan(6) if p.kind == "never")
    env = dict(os.environ, ADS_SYNC_PROJECT_PATH=str(ads), ADSDASH_HOME=str(home), TERM="xterm-256color",
               ADS_SYNC_CLI_COMMAND=f"{shlex.quote(sys.executable)} -m adsdash.sandbox",
               ADSDASH_CONFIG=str(tmp_path / "absent.toml"), ADS_SYNC_SANDBOX_SPEED="0.15")
    settings = load_settings({}, config_file=tmp_path / "absent.toml", environ=env)
    engine = Engine(settings)
    pid, master = pty.fork()
    if pid == 0:  # the app, with the pty as its controlling terminal
        os.execve(sys.executable, [sys.executable, "-m", "adsdash"], env)
    reader = threading.Thread(target=_drain, args=(master,), daemon=True)
    reader.start()
    try:
        worker = wait_for(lambda: [w for w in engine.store.live_workers() if w.kind == "background"], 30)[0]
        assert worker.pid != pid and os.getsid(worker.pid) == worker.pid  # detached: a session of its own
        job = engine.submit("init", slug)
        wait_for(lambda: (j := engine.store.job(job.id)).status == STARTED and j.line_count >= 3, 30)
        if how == "hangup":
            os.close(master)  # the terminal goes: the kernel hangs up the app's session
            master = -1
        else:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert engine.store.job(job.id).status == STARTED  # the app is gone, the job is not
        done = wait_ended(engine, job.id, timeout=60)
        assert (done.status, done.exit_code, done.error) == (FINISHED, 0, None)
        lines = engine.store.lines(job.id)
        assert [line.seq for line in lines] == list(range(1, done.line_count + 1))
        assert lines[0].as_text.endswith(f"Acquired lock for '{slug}'")
        assert any(line.as_text.endswith(f"Completed initial sync for '{slug}'") for line in lines[-3:])
        assert pid_alive(worker.pid)  # and still serves the folder
    finally:
        if master >= 0:
            os.close(master)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        except ProcessLookupError:
            pass
        _stop_background_workers(engine)


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"needs a small file system of its own (mount tmpfs as root): {exc}")


def test_a_full_disk_never_stops_the_cli(fake_settings, tmp_path, monkeypatch):
    home = tmp_path / "small"
    _mount_tmpfs(home, "32m")
    try:
        settings = load_settings({"ads_sync_path": str(fake_settings.ads_sync_path), "home": str(home),
                                  "cli_command": fake_settings.cli_command},
                                 config_file=tmp_path / "absent.toml", environ={})
        engine = Engine(settings)
        engine.store.quick_check()
        filler = home / "filler"
        filler.write_bytes(b"\0" * (30 << 20))  # leaves about 2 MB for 200,000 lines (~8 MB in the store)
        w = Worker(settings, kind="embedded")
        w.start()
        try:
            job = engine.submit("validate", "flood")
            running = wait_for(lambda: (j := engine.store.job(job.id)).pid and j, 30)
            wait_for(lambda: not pid_alive(running.pid), 60)  # the CLI ran to its end, not killed
            filler.unlink()  # room again: the held lines and the end are written
            done = wait_ended(engine, job.id, timeout=120)
        finally:
            w.stop()
        assert (done.status, done.exit_code) == (FINISHED, 0)
        assert done.output_note.startswith("store writes failed from line ")
        assert done.output_note.endswith("every line was held and written late")
        assert done.line_count == 200_000
        seq = 0
        while batch := engine.store.lines(job.id, after=seq, limit=50_000):
            assert [line.seq for line in batch] == list(range(seq + 1, seq + 1 + len(batch)))
            seq = batch[-1].seq
        assert seq == 200_000 and engine.store.lines(job.id, after=199_999)[0].text == "line 200000"
        shown = subprocess.run([sys.executable, "-m", "adsdash", "--home", str(home), "job", str(job.id)],
                               capture_output=True, text=True, timeout=60).stdout
        assert f"output     {done.output_note}" in shown  # the operator is told, not only the log
    finally:
        engine.store.close()
        subprocess.run(["umount", "-l", str(home)], check=False, timeout=30)


def test_one_background_worker_per_data_folder_and_stop(fake_settings):
    from adsdash.tasks import background

    engine = Engine(fake_settings)
    procs = [background.spawn(fake_settings) for _ in range(3)]  # three apps starting at once
    try:
        live = wait_for(lambda: [w for w in engine.store.live_workers() if w.kind == "background"], 30)
        codes = sorted(p.wait(timeout=30) for p in procs if p.pid != live[0].pid)
        assert codes == [0, 0]  # the others found the folder served, and left quietly
        assert len([w for w in engine.store.live_workers() if w.kind == "background"]) == 1
        assert os.getsid(live[0].pid) == live[0].pid
        job = engine.submit("validate", "ok")
        assert wait_ended(engine, job.id).worker.endswith(live[0].id.split(":", 1)[1])
        stop = subprocess.run([sys.executable, "-m", "adsdash", "--home", str(fake_settings.home), "worker", "--stop"],
                              capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0 and stop.stdout.strip() == f"background worker pid {live[0].pid} stopped"
        assert not [w for w in engine.store.live_workers() if w.kind == "background"]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def test_queueing_on_a_full_disk_is_one_line_and_loses_nothing(fake_settings, tmp_path):
    home = tmp_path / "small"
    _mount_tmpfs(home, "4m")
    try:
        base = [sys.executable, "-m", "adsdash", "--home", str(home), "--ads-sync-path",
                str(fake_settings.ads_sync_path), "--cli-command", fake_settings.cli_command]
        first = subprocess.run([*base, "--json", "run", "validate", "ok"], capture_output=True, text=True, timeout=60)
        assert first.returncode == 0
        filler = home / "filler"
        with open(filler, "wb", buffering=0) as fh:  # fill every last block (unbuffered: nothing left to flush)
            try:
                while True:
                    fh.write(b"\0" * 65536)
            except OSError:
                pass
        full = subprocess.run([*base, "run", "validate", "ok"], capture_output=True, text=True, timeout=60)
        assert full.returncode != 0 and "Traceback" not in full.stderr
        assert len(full.stderr.strip().splitlines()) == 1 and "full" in full.stderr, full.stderr
        filler.unlink()
        listed = subprocess.run([*base, "--json", "jobs"], capture_output=True, text=True, timeout=60)
        assert [j["job_id"] for j in json.loads(listed.stdout)] == [1]  # the first one kept
    finally:
        subprocess.run(["umount", "-l", str(home)], check=False, timeout=30)
