"""Where adsdash keeps its files: the data folder, and the logs and parse cache that follow it.

The data folder at its default place puts logs and cache in the platform folders (one
subfolder per data folder); any other data folder keeps them inside itself.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import platformdirs
import pytest

import adsdash
from adsdash.config import default_home, load_settings
from adsdash.engine import Engine
from adsdash.logfiles import LOG_BYTES, LOG_KEEP, log_handler
from adsdash.tasks import background


@contextmanager
def bare_root_logger() -> Iterator[logging.Logger]:
    """The root logger without handlers, as in a fresh process; put back as it was (with
    pytest's handlers of this test phase) afterwards."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers[:] = []
    try:
        yield root
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved
        root.setLevel(level)


def workspace(tmp_path: Path) -> Path:
    ads = tmp_path / "ads"
    (ads / "configs" / "clients").mkdir(parents=True, exist_ok=True)
    (ads / "configs" / "clients" / "acme.yaml").write_text("client_name: Acme\n")
    return ads


def load(tmp_path: Path, **flags):
    return load_settings({"ads_sync_path": str(workspace(tmp_path)), **flags},
                         config_file=tmp_path / "absent.toml", environ={})


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def use_every_folder(settings) -> None:
    """What a run does: the parse cache written, both logs opened and written."""
    time.sleep(0.25)  # files younger than the file system's timestamp tick are not cached
    Engine(settings).workspace.clients()
    for name in ("adsdash.log", background.LOG_NAME):
        handler = log_handler(settings.log_dir, name)
        handler.emit(logging.makeLogRecord({"msg": "hello"}))
        handler.close()


def test_a_default_home_puts_logs_and_cache_in_the_platform_folders(tmp_path, platform_dirs):
    settings = load(tmp_path)
    assert settings.origins["home"] == "default"
    assert settings.home == Path(platformdirs.user_data_dir("adsdash")) == platform_dirs["XDG_DATA_HOME"] / "adsdash"
    assert settings.log_dir.parent == Path(platformdirs.user_log_dir("adsdash"))
    assert settings.cache_dir.parent == Path(platformdirs.user_cache_dir("adsdash"))
    assert settings.log_dir.name == settings.cache_dir.name and settings.log_dir.name.startswith("adsdash-")
    use_every_folder(settings)
    assert [p.name for p in files_under(platform_dirs["XDG_STATE_HOME"])] == ["adsdash.log", "worker.log"]
    assert [p.name for p in files_under(platform_dirs["XDG_CACHE_HOME"])] == ["workspace-cache.json"]
    assert files_under(settings.home) == []  # the data folder keeps only the store, queue and lock
    for path in files_under(platform_dirs["XDG_STATE_HOME"]) + files_under(platform_dirs["XDG_CACHE_HOME"]):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def test_an_explicit_home_keeps_logs_and_cache_inside_it(tmp_path, platform_dirs):
    home = tmp_path / "demo" / ".adsdash"
    settings = load(tmp_path, home=str(home))
    assert settings.origins["home"] == "flag --home"
    assert (settings.log_dir, settings.cache_dir) == (home / "log", home / "cache")
    use_every_folder(settings)
    assert sorted(p.relative_to(home).as_posix() for p in files_under(home)) == [
        "cache/workspace-cache.json", "log/adsdash.log", "log/worker.log"]
    assert files_under(platform_dirs["HOME"] / "state") == files_under(platform_dirs["HOME"] / "cache") == []


def test_the_default_place_given_explicitly_is_still_the_default(tmp_path, platform_dirs):
    """The background worker is always given --home: it must pick the app's folders."""
    app = load(tmp_path)
    worker = load(tmp_path, home=str(default_home()))
    assert worker.origins["home"] == "flag --home"
    assert (worker.log_dir, worker.cache_dir) == (app.log_dir, app.cache_dir)
    relative = load(tmp_path, home=os.path.relpath(default_home()))  # another spelling of the same folder
    assert relative.log_dir == app.log_dir


def test_two_data_folders_never_share_a_log_or_cache_file(tmp_path, platform_dirs, monkeypatch):
    first = load(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "other-data"))  # another default home, same state/cache
    second = load(tmp_path)
    assert first.home != second.home and first.home.name == second.home.name == "adsdash"
    assert first.log_dir != second.log_dir and first.cache_dir != second.cache_dir
    a, b = load(tmp_path, home=str(tmp_path / "a" / "h")), load(tmp_path, home=str(tmp_path / "b" / "h"))
    assert len({a.log_dir, b.log_dir, first.log_dir, second.log_dir}) == 4
    assert len({a.cache_dir, b.cache_dir, first.cache_dir, second.cache_dir}) == 4


def test_adsdash_config_shows_the_folders(tmp_path, platform_dirs):
    for settings, origin in ((load(tmp_path), "platform log folder (home is the default)"),
                             (load(tmp_path, home=str(tmp_path / "h")), "inside home (not the default)")):
        rows = {name: (value, why) for name, value, why in settings.describe()}
        assert rows["log_dir"] == (str(settings.log_dir), origin)
        assert rows["cache_dir"][0] == str(settings.cache_dir)
        names = [name for name, _, _ in settings.describe()]
        assert names.index("log_dir") == names.index("home") + 1


def test_the_background_worker_log_rotates_and_stays_private(tmp_path):
    log_dir = tmp_path / "home" / "log"
    with bare_root_logger() as root:
        background.detach_logging(log_dir)
        (handler,) = root.handlers
        assert (handler.maxBytes, handler.backupCount) == (LOG_BYTES, LOG_KEEP) == (5 << 20, 3)
        line = "x" * (1 << 20)
        for _ in range(LOG_KEEP + 2):  # more than maxBytes, several times over
            for _ in range(5):
                logging.getLogger("adsdash.test").warning(line)
    names = sorted(p.name for p in log_dir.iterdir())
    assert names == ["worker.log", *(f"worker.log.{i}" for i in range(1, LOG_KEEP + 1))]
    for path in log_dir.iterdir():
        assert path.stat().st_size <= LOG_BYTES + (2 << 20), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700


def test_a_log_left_readable_is_made_private_and_a_symlink_is_refused(tmp_path):
    folder = tmp_path / "log"
    folder.mkdir(mode=0o700)
    (folder / "adsdash.log").write_text("old\n")
    (folder / "adsdash.log").chmod(0o644)
    log_handler(folder, "adsdash.log").close()
    assert stat.S_IMODE((folder / "adsdash.log").stat().st_mode) == 0o600
    (tmp_path / "elsewhere").write_text("")
    (folder / "worker.log").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        log_handler(folder, "worker.log")


def test_the_app_logs_to_its_log_folder(tmp_path, platform_dirs, monkeypatch):
    from adsdash import cli
    from adsdash.app import AdsdashApp

    monkeypatch.setattr(AdsdashApp, "run", lambda self: 0)
    settings = load(tmp_path, home=str(tmp_path / "h"))
    with bare_root_logger() as root:
        assert cli.open_app(settings, read_only=True) == 0
        (handler,) = root.handlers
        assert isinstance(handler, logging.handlers.RotatingFileHandler) and handler.maxBytes == LOG_BYTES
        assert Path(handler.baseFilename) == settings.log_dir / "adsdash.log"
        logging.getLogger("adsdash.test").info("hello")
    assert (settings.log_dir / "adsdash.log").read_text().endswith("INFO adsdash.test: hello\n")
    assert not (settings.home / "adsdash.log").exists()


def test_the_background_worker_is_given_absolute_folders(tmp_path, monkeypatch):
    """It runs in the data folder: a relative path there would name another folder."""
    monkeypatch.chdir(tmp_path)
    workspace(tmp_path)
    settings = load_settings({"ads_sync_path": "ads", "home": "h"}, config_file=tmp_path / "absent.toml", environ={})
    seen = {}
    monkeypatch.setattr(background.subprocess, "Popen", lambda argv, **kw: seen.update(argv=argv, **kw))
    background.spawn(settings, Path("cfg.toml"))
    argv = seen["argv"]
    for flag, expected in (("--home", tmp_path / "h"), ("--ads-sync-path", tmp_path / "ads"),
                           ("--config", tmp_path / "cfg.toml")):
        assert argv[argv.index(flag) + 1] == str(expected)
    assert seen["cwd"] == "h"


def test_the_version_comes_from_pyproject():
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert adsdash.__version__ == metadata.version("adsdash") == pyproject["project"]["version"]
    out = subprocess.run([sys.executable, "-m", "adsdash", "--version"], capture_output=True, text=True, timeout=60)
    assert out.stdout == f"adsdash {pyproject['project']['version']}\n"
