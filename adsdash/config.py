"""Settings: defaults < TOML file < environment < flags, each value with its origin.

The file is `$ADSDASH_CONFIG`, else `<user config dir>/adsdash/config.toml`.
Keys are the field names below; `[keymap]` maps binding ids to keys.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import platformdirs


class ConfigError(ValueError):
    """A setting has a value adsdash cannot use."""


@dataclass(frozen=True)
class Setting:
    name: str
    env: str | None
    default: Any
    kind: type
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("ads_sync_path", "ADS_SYNC_PROJECT_PATH", "../ads_sync", Path, "the ads_sync project folder"),
    Setting("cli_command", "ADS_SYNC_CLI_COMMAND", "poetry run python ads_sync_cli.py", str,
            "command prefix for ads_sync, split like a shell would"),
    Setting("home", "ADSDASH_HOME", None, Path, "adsdash's data folder (job store, queue, parse cache, log)"),
    Setting("workers", "ADSDASH_WORKERS", 2, int, "jobs run at once by one worker process"),
    Setting("late_after_days", "ADSDASH_LATE_AFTER_DAYS", 1, int, "lag (days) from which a client is late"),
    Setting("stale_after_days", "ADSDASH_STALE_AFTER_DAYS", 3, int, "lag (days) from which a client is stale"),
    Setting("cancel_grace_seconds", "ADSDASH_CANCEL_GRACE", 2.0, float,
            "wait after SIGINT and again after SIGTERM before the next signal"),
    Setting("refresh_seconds", "ADSDASH_REFRESH", 3.0, float, "how often the screens re-read files and store"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("adsdash"))


def default_config_file() -> Path:
    env = os.environ.get("ADSDASH_CONFIG")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("adsdash")) / "config.toml"


@dataclass(frozen=True)
class Settings:
    ads_sync_path: Path
    cli_command: str
    home: Path
    workers: int
    late_after_days: int
    stale_after_days: int
    cancel_grace_seconds: float
    refresh_seconds: float
    keymap: Mapping[str, str] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def store_path(self) -> Path:
        return self.home / "jobs.db"

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.db"

    @property
    def wake_dir(self) -> Path:
        return self.home / "wake"

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, origin) for every setting, for `adsdash config`."""
        rows = [(f.name, str(getattr(self, f.name)), self.origins.get(f.name, "default"))
                for f in fields(self) if f.name in _BY_NAME]
        for binding, key in sorted(self.keymap.items()):
            rows.append((f"keymap.{binding}", key, self.origins.get("keymap", "file")))
        return rows


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    try:
        if setting.kind is Path:
            if not isinstance(raw, (str, os.PathLike)) or not str(raw).strip():
                raise TypeError("a non-empty path")
            return Path(raw).expanduser()
        if setting.kind is int:
            if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                raise TypeError("a whole number")
            return int(raw)
        if setting.kind is float:
            if isinstance(raw, bool):
                raise TypeError("a number")
            return float(raw)
        if not isinstance(raw, str) or not raw.strip():
            raise TypeError("a non-empty string")
        return raw
    except (TypeError, ValueError) as exc:
        want = exc.args[0] if isinstance(exc, TypeError) else f"a {setting.kind.__name__}"
        raise ConfigError(f"{setting.name} from {origin}: expected {want}, got {raw!r}") from None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting. `flags` holds only the flags the user gave (None = not given)."""
    environ = os.environ if environ is None else environ
    path = config_file or default_config_file()
    data = _read_file(path)
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    keymap = data.pop("keymap", {})
    if not isinstance(keymap, dict) or not all(isinstance(v, str) for v in keymap.values()):
        raise ConfigError(f"[keymap] in {path} must map binding ids to key strings")
    unknown = sorted(set(data) - set(_BY_NAME))
    if unknown:
        raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")

    for s in SETTINGS:
        value, origin = s.default, "default"
        if s.name in data:
            value, origin = data[s.name], f"file {path}"
        if s.env and environ.get(s.env):
            value, origin = environ[s.env], f"env {s.env}"
        if flags and flags.get(s.name) is not None:
            value, origin = flags[s.name], f"flag --{s.name.replace('_', '-')}"
        if value is None and s.name == "home":
            value = default_home()
        values[s.name] = _coerce(s, value, origin)
        origins[s.name] = origin
    origins["keymap"] = f"file {path}"

    if not 1 <= values["workers"] <= 32:
        raise ConfigError(f"workers from {origins['workers']}: must be 1 to 32, got {values['workers']}")
    late, stale = values["late_after_days"], values["stale_after_days"]
    if not 1 <= late < stale:
        raise ConfigError(f"freshness thresholds: need 1 <= late_after_days ({late}) < stale_after_days ({stale})")
    if values["cancel_grace_seconds"] < 0 or values["refresh_seconds"] <= 0:
        raise ConfigError("cancel_grace_seconds must be >= 0 and refresh_seconds > 0")
    return Settings(**values, keymap=dict(keymap), origins=origins)
