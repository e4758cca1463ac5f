"""Settings: defaults < TOML file < environment < flags, each value with its origin.

The file is `$ADSDASH_CONFIG`, else `<user config dir>/adsdash/config.toml`.
Keys are the field names below; `[keymap]` maps binding ids to keys.

Folders: `home` (the data folder) holds the job store, the queue, the background-worker
lock and the wake-up pipes. Logs and the parse cache go to `log_dir` and `cache_dir`: for
the data folder at its default place, the platform's log and cache folders, in a subfolder
named after the data folder (`adsdash-3fa2c1d0`: name and hash of its path, so two data
folders never share a file); for any other data folder (a demo's, a test's), `home/log`
and `home/cache`, so it leaves nothing elsewhere. The rule looks at the path, not at how it
was given, so every process on one data folder agrees (the background worker is always
given `--home`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from adsdash.binding_ids import BINDING_IDS

if TYPE_CHECKING:
    from adsdash.schedules import Schedule


class ConfigError(ValueError):
    """A setting has a value adsdash cannot use."""


# What a notification can be about (adsdash/notify_events.py); `fresh` (back to fresh) is off by default.
NOTIFY_EVENT_KINDS = ("failed", "escalated", "stale", "unreadable", "fresh", "missed", "no_worker")
NOTIFY_DEFAULT_EVENTS = tuple(kind for kind in NOTIFY_EVENT_KINDS if kind != "fresh")


class Setting(NamedTuple):
    name: str
    env: str | None
    default: Any
    kind: type
    help: str
    low: float = -math.inf  # the allowed range, for numbers
    high: float = math.inf


SETTINGS: tuple[Setting, ...] = (
    Setting("ads_sync_path", "ADS_SYNC_PROJECT_PATH", "../ads_sync", Path, "the ads_sync project folder"),
    Setting("cli_command", "ADS_SYNC_CLI_COMMAND", "poetry run python ads_sync_cli.py", str,
            "command prefix for ads_sync, split like a shell would"),
    Setting("home", "ADSDASH_HOME", None, Path, "adsdash's data folder (job store, queue, worker lock)"),
    Setting("workers", "ADSDASH_WORKERS", 2, int, "jobs run at once by one worker process", 1, 32),
    Setting("late_after_days", "ADSDASH_LATE_AFTER_DAYS", 1, int, "lag (days) from which a client is late",
            1, 3650),
    Setting("stale_after_days", "ADSDASH_STALE_AFTER_DAYS", 3, int, "lag (days) from which a client is stale",
            1, 3650),
    Setting("cancel_grace_seconds", "ADSDASH_CANCEL_GRACE", 2.0, float,
            "wait after SIGINT and again after SIGTERM before the next signal", 0, 300),
    Setting("refresh_seconds", "ADSDASH_REFRESH", 3.0, float, "how often the screens re-read files and store",
            0.2, 3600),
    Setting("theme", "ADSDASH_THEME", "textual-dark", str, "the app's colours: a Textual theme name"),
    Setting("schedule_catch_up_hours", "ADSDASH_SCHEDULE_CATCH_UP_HOURS", 3.0, float,
            "a scheduled run missed while no worker was up still runs if a worker starts within this", 0, 168),
    Setting("output_keep_days", "ADSDASH_OUTPUT_KEEP_DAYS", 90, int,
            "keep every job's output this many days (the worker prunes older output daily)", 1, 36500),
    Setting("output_keep_jobs", "ADSDASH_OUTPUT_KEEP_JOBS", 50, int,
            "and at least each client's newest this many jobs' output, however old", 0, 1_000_000),
    Setting("job_keep_days", "ADSDASH_JOB_KEEP_DAYS", 365, int,
            "keep job rows (status, times, error, who) this many days, their output gone", 1, 36500),
    # Notifications (adsdash/notify_*.py): lists are a TOML list or one string (space or comma separated).
    Setting("notify_urls", "ADSDASH_NOTIFY_URLS", (), tuple, "Apprise URLs that alerts go to (shown masked)"),
    Setting("notify_events", "ADSDASH_NOTIFY_EVENTS", NOTIFY_DEFAULT_EVENTS, tuple,
            f"which events go out: any of {', '.join(NOTIFY_EVENT_KINDS)}, or all"),
    Setting("notify_digest_seconds", "ADSDASH_NOTIFY_DIGEST_SECONDS", 0.0, float,
            "0: each alert at once; else the alerts within this window go out as one message", 0, 86400),
    Setting("notify_escalate_after", "ADSDASH_NOTIFY_ESCALATE_AFTER", 3, int,
            "a client's failed jobs in a row that make one escalation, then quiet till one succeeds (0: never)",
            0, 1000),
    Setting("notify_no_worker_minutes", "ADSDASH_NOTIFY_NO_WORKER_MINUTES", 5.0, float,
            "alert when no worker is live while a job has waited this long", 0.5, 1440),
    Setting("notify_timeout_seconds", "ADSDASH_NOTIFY_TIMEOUT_SECONDS", 10.0, float,
            "the longest one send to one URL may take", 1, 120),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def default_home() -> Path:
    import platformdirs  # here, as in the folders below: a command that needs none of them skips ~10 ms

    return Path(platformdirs.user_data_dir("adsdash"))


def data_folder_key(home: Path) -> str:
    """`demo-3fa2c1d0`: a data folder's name and a short hash of its real path, naming its
    log and cache subfolders in the platform folders."""
    import hashlib  # here: only the platform folders' names need it

    real = os.path.realpath(home)
    return f"{os.path.basename(real) or 'root'}-{hashlib.sha256(os.fsencode(real)).hexdigest()[:8]}"


def default_config_file() -> Path:
    env = os.environ.get("ADSDASH_CONFIG")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("adsdash")) / "config.toml"


class Settings(NamedTuple):  # not a dataclass: see records.py
    ads_sync_path: Path
    cli_command: str
    home: Path
    workers: int
    late_after_days: int
    stale_after_days: int
    cancel_grace_seconds: float
    refresh_seconds: float
    theme: str = "textual-dark"
    schedule_catch_up_hours: float = 3.0
    schedules: tuple[Schedule, ...] = ()  # the usable [[schedule]] tables (adsdash/schedules.py)
    schedule_refusals: tuple[str, ...] = ()  # one line per refused table: loading goes on without it
    config_file: Path | None = None  # the settings file read (it may not exist)
    keymap: Mapping[str, str] = MappingProxyType({})
    origins: Mapping[str, str] = MappingProxyType({})
    output_keep_days: int = 90  # retention (adsdash/retention.py)
    output_keep_jobs: int = 50
    job_keep_days: int = 365
    notify_urls: tuple[str, ...] = ()  # notifications (adsdash/notify_events.py, notify_send.py)
    notify_events: tuple[str, ...] = NOTIFY_DEFAULT_EVENTS
    notify_digest_seconds: float = 0.0
    notify_escalate_after: int = 3
    notify_no_worker_minutes: float = 5.0
    notify_timeout_seconds: float = 10.0

    @property
    def store_path(self) -> Path:
        return self.home / "jobs.db"

    @property
    def queue_path(self) -> Path:
        return self.home / "queue.db"

    @property
    def wake_dir(self) -> Path:
        return self.home / "wake"

    @property
    def platform_folders(self) -> bool:
        """Whether logs and cache go to the platform folders: the data folder is at its default place."""
        return os.path.realpath(self.home) == os.path.realpath(default_home())

    @property
    def log_dir(self) -> Path:
        """The app's log (adsdash.log) and the background worker's (worker.log)."""
        if self.platform_folders:
            import platformdirs

            return Path(platformdirs.user_log_dir("adsdash")) / data_folder_key(self.home)
        return self.home / "log"

    @property
    def cache_dir(self) -> Path:
        """The workspace's parse cache (workspace-cache.json)."""
        if self.platform_folders:
            import platformdirs

            return Path(platformdirs.user_cache_dir("adsdash")) / data_folder_key(self.home)
        return self.home / "cache"

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, origin) for every setting, the folders that follow from `home`, and
        every binding id, for `adsdash config`."""
        rows = [(f, _shown(f, getattr(self, f)), self.origins.get(f, "default"))
                for f in self._fields if f in _BY_NAME]
        at = next(i for i, row in enumerate(rows) if row[0] == "home") + 1
        why = "platform {} folder (home is the default)" if self.platform_folders else "inside home (not the default)"
        rows[at:at] = [("log_dir", str(self.log_dir), why.format("log")),
                       ("cache_dir", str(self.cache_dir), why.format("cache"))]
        for binding, default in sorted(BINDING_IDS.items()):
            if binding in self.keymap:
                rows.append((f"keymap.{binding}", self.keymap[binding], self.origins.get("keymap", "file")))
            else:
                rows.append((f"keymap.{binding}", default, "default"))
        return rows


def _shown(name: str, value: Any) -> str:
    """A setting's value for `adsdash config`: a list as words, an Apprise URL masked (secrets)."""
    if name == "notify_urls":
        from adsdash.notify_url import labelled

        return " ".join(labelled(url) for url in value) or "none"
    return " ".join(value) if isinstance(value, tuple) else str(value)


def _wanted(setting: Setting) -> str:
    if setting.kind is tuple:
        return "a list of strings, or one string of them separated by spaces or commas"
    if setting.kind is Path:
        return "a non-empty path"
    if setting.kind is int:
        return f"a whole number from {setting.low} to {setting.high}"
    if setting.kind is float:
        return f"a number from {setting.low:g} to {setting.high:g}"
    return "a non-empty string"


def _convert(setting: Setting, raw: Any) -> Any:
    """The value, or ValueError/TypeError/OverflowError for anything `_wanted` does not allow."""
    if setting.kind is tuple:
        from adsdash.notify_url import split_urls, split_words

        return (split_urls if setting.name == "notify_urls" else split_words)(raw)
    if setting.kind in (int, float):
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise TypeError
        number = float(raw)  # "nan", "inf", "1e999" parse; nan compares false and inf is out of range
        if not setting.low <= number <= setting.high:
            raise ValueError
        if setting.kind is float:
            return number
        if isinstance(raw, str):
            return int(raw)  # "3.0" and "1e1" are not whole numbers as written
        if not number.is_integer():
            raise ValueError
        return int(raw)
    if not isinstance(raw, (str, os.PathLike)) or not str(raw).strip() or "\0" in str(raw):
        raise TypeError
    return Path(raw).expanduser() if setting.kind is Path else raw


def _coerce(setting: Setting, raw: Any, origin: str) -> Any:
    try:
        return _convert(setting, raw)
    except (TypeError, ValueError, OverflowError):
        got = "a value not shown (URLs hold secrets)" if setting.name == "notify_urls" else repr(raw)
        raise ConfigError(f"{setting.name} from {origin}: expected {_wanted(setting)}, got {got}") from None


def _flatten(table: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`clients.append = "A"` without quotes is a nested table in TOML: read it as the id."""
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _grouped(ids: list[str]) -> str:
    """`app.{jobs,quit}, clients.{append,init}`: every valid id, short enough for one line."""
    groups: dict[str, list[str]] = {}
    for binding in sorted(ids):
        screen, _, name = binding.partition(".")
        groups.setdefault(screen, []).append(name)
    return ", ".join(f"{screen}.{{{','.join(names)}}}" for screen, names in groups.items())


def _check_keymap(table: Any, path: Path) -> dict[str, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"[keymap] in {path} must be a table of binding id = key, got {table!r}")
    keymap = dict(_flatten(table))
    for binding, key in keymap.items():
        if binding not in BINDING_IDS:
            import difflib  # here: only this refusal needs it

            near = difflib.get_close_matches(binding, BINDING_IDS, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise ConfigError(f"[keymap] in {path}: unknown binding id {binding!r}{hint};"
                              f" valid ids: {_grouped(list(BINDING_IDS))}")
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(f"[keymap] in {path}: {binding} needs a key like \"A\" or \"ctrl+a\", got {key!r}")
    return keymap


def _read_file(path: Path) -> dict[str, Any]:
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    import tomllib  # here: without a config file, nothing to parse

    with fh:
        try:
            return tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None


def _notify_events(kinds: tuple[str, ...], origin: str) -> tuple[str, ...]:
    if "all" in kinds:
        return NOTIFY_EVENT_KINDS
    if unknown := sorted(set(kinds) - set(NOTIFY_EVENT_KINDS)):
        raise ConfigError(f"notify_events from {origin}: unknown event {unknown[0]!r}"
                          f" (one of: {', '.join(NOTIFY_EVENT_KINDS)}, or all)")
    return tuple(dict.fromkeys(kinds))


def _check_urls(urls: tuple[str, ...], origin: str) -> None:
    from adsdash.notify_url import mask_url, scheme_of

    for url in urls:
        if scheme_of(url) is None:
            raise ConfigError(f"notify_urls from {origin}: {mask_url(url)} is not an Apprise URL"
                              " (scheme://..., e.g. json://host/path, ntfy://topic, mailto://user:pass@host)")


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
    keymap = _check_keymap(data.pop("keymap", {}), path)
    found: tuple[Schedule, ...] = ()
    refused: tuple[str, ...] = ()
    if "schedule" in data:  # here: the schedules' module (and cronsim) only for a file that has some
        from adsdash import schedules

        found, refused = schedules.parse(data.pop("schedule"), path)
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

    values["notify_events"] = _notify_events(values["notify_events"], origins["notify_events"])
    if values["notify_urls"]:
        _check_urls(values["notify_urls"], origins["notify_urls"])
    late, stale = values["late_after_days"], values["stale_after_days"]
    if late >= stale:
        raise ConfigError(f"late_after_days ({late}, from {origins['late_after_days']}) must be less than"
                          f" stale_after_days ({stale}, from {origins['stale_after_days']})")
    return Settings(**values, keymap=keymap, origins=origins, schedules=found, schedule_refusals=refused,
                    config_file=path)
