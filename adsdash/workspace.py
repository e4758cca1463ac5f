"""Read-only view of the ads_sync project folder: clients, state, locks, errors, reports.

Only the ads_sync CLI writes that folder; this module only reads it. Every file is
untrusted: a broken one makes its client ERROR with a specific reason, never an
exception. Parsed files are cached on (path, mtime_ns, size, inode), so re-reading a
thousand unchanged clients costs one scandir per directory and one stat per file.
Freshness (depends on the clock) and lock liveness (the PID can die while the file
stays) are recomputed on every call.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

import yaml

from .catalogue import is_safe_slug
from .freshness import Freshness, Kind, assess

DEFAULT_TIMEZONE = "America/Chicago"
DEFAULT_CURRENCY = "USD"
SOURCES = ("google_ads", "google_lsa", "search_terms")
MAX_FILE_BYTES = 1 << 20  # configs, state, locks and error files are tiny; refuse giants
_YOUNG_EMPTY_LOCK_SECONDS = 10.0  # O_EXCL create and the write are two steps

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
_DATE_PREFIX_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ].*)?", re.DOTALL | re.ASCII)
_LOCK_LINE_RE = re.compile(r"^\s*(pid|timestamp)\s*:\s*(\S+)\s*$", re.MULTILINE)
_ERROR_NAME_RE = re.compile(r"error_(\d{8}_\d{6})([._-][A-Za-z0-9]+)?\.json", re.ASCII)
_RECOVERY_START_RE = re.compile(r"--(?:from|start)(?:=|\s+)(\d{4}-\d{2}-\d{2})\b", re.ASCII)
_RECOVERY_END_RE = re.compile(r"--(?:to|end)(?:=|\s+)(\d{4}-\d{2}-\d{2})\b", re.ASCII)
_YEAR_RE = re.compile(r"\d{4}", re.ASCII)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LockInfo:
    pid: int | None
    alive: bool  # False: the holder is gone (stale lock) or cannot be told
    age_seconds: float | None
    problem: str | None = None


@dataclass(frozen=True)
class ErrorInfo:
    path: Path
    timestamp: str | None
    command: str | None
    exception_type: str | None
    message: str | None
    start_date: date | None
    end_date: date | None
    recovery_command: str | None
    problem: str | None = None


@dataclass(frozen=True)
class Report:
    path: Path
    slug: str
    year: int
    sequence: int
    scope: str
    created: datetime | None  # from the file name stamp, read as this machine's local time
    size: int


@dataclass(frozen=True)
class Client:
    slug: str
    name: str
    customer_id: str | None
    timezone: str
    currency: str
    watermarks: Mapping[str, date | None]
    freshness: Freshness
    last_append_timestamp: str | None
    last_sync: str | None
    data_quality: Mapping[str, Any]
    state: Mapping[str, Any] | None
    lock: LockInfo | None
    newest_error: ErrorInfo | None
    problems: tuple[str, ...]

    @property
    def zone(self) -> ZoneInfo | None:
        """The client's zone, or None when its name is unusable (never raises)."""
        return _zone(self.timezone)

    def data_status(self) -> dict:
        """The older dashboard's data-status answer, with better sources (see contract)."""
        watermark = self.watermarks.get("google_ads")
        return {
            "slug": self.slug,
            "last_append_timestamp": self.last_append_timestamp,
            "last_sync": self.last_sync,
            "watermark_date": watermark.isoformat() if watermark else None,
        }


# ---- parsing one file (results cached) -------------------------------------------

@dataclass(frozen=True)
class _Config:
    name: str | None = None
    customer_id: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    currency: str = DEFAULT_CURRENCY
    problems: tuple[str, ...] = ()
    fatal: str | None = None  # makes the client ERROR


@dataclass(frozen=True)
class _State:
    watermarks: Mapping[str, date | None] = field(default_factory=lambda: MappingProxyType(dict.fromkeys(SOURCES)))
    data_quality: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    raw: Mapping[str, Any] | None = None
    last_updated: str | None = None
    last_append: str | None = None
    problems: tuple[str, ...] = ()
    fatal: str | None = None


_NO_STATE = _State()  # before the first init: no state file, every watermark None


@dataclass(frozen=True)
class _Lock:
    pid: int | None
    timestamp: float | None
    empty: bool
    problem: str | None


class _Unreadable(Exception):
    """A file that cannot be turned into data; the message names the file and why."""


def _read_text(path: str, rel: str) -> str:
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise _Unreadable(f"{rel}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"{rel}: not UTF-8 text (byte {exc.start})") from None


def _load(path: str, rel: str, fmt: str) -> dict:
    """The file's top-level mapping; fmt is "JSON" or "YAML" (safe loader only)."""
    text = _read_text(path, rel)
    try:
        data = json.loads(text) if fmt == "JSON" else yaml.load(text, Loader=_SafeLoader)
    except json.JSONDecodeError as exc:
        raise _Unreadable(f"{rel}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise _Unreadable(f"{rel}: invalid YAML at line {line}: {exc.problem or exc.context}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # e.g. huge integers, deep nesting
        raise _Unreadable(f"{rel}: invalid {fmt} ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise _Unreadable(f"{rel}: expected a mapping of keys at the top, found {found}")
    return data


def _strict_date(value: Any) -> date | None:
    """A real YYYY-MM-DD date or None; nothing looser (fromisoformat accepts '20251012')."""
    if isinstance(value, str) and (m := _DATE_RE.fullmatch(value)):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


def _text(data: Mapping, keys: tuple[str, ...], rel: str, problems: list[str]) -> str | None:
    """The first of `keys` present; numbers become text (YAML reads unquoted digits as int)."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if value is not None:
            problems.append(f"{rel}: {key} is a {type(value).__name__}, not text")
            return None
    return None


def _parse_config(path: str, rel: str) -> _Config:
    data = _load(path, rel, "YAML")
    problems: list[str] = []
    name = _text(data, ("client_name",), rel, problems)
    customer_id = _text(data, ("customer_id", "client_id"), rel, problems)
    currency = _text(data, ("currency_code",), rel, problems) or DEFAULT_CURRENCY
    before = len(problems)
    zone = _text(data, ("timezone", "time_zone"), rel, problems)
    if zone is not None and _zone(zone) is None:
        problems.append(f"{rel}: unknown time zone {zone!r}")
    fatal = problems[before] if len(problems) > before else None
    return _Config(name, customer_id, zone or DEFAULT_TIMEZONE, currency, tuple(problems), fatal)


def _parse_state(path: str, rel: str) -> _State:
    data = _load(path, rel, "JSON")
    problems: list[str] = []
    fatal: str | None = None
    watermarks: dict[str, date | None] = {}
    for source in SOURCES:
        section, why = data.get(source), None
        raw = section.get("watermark_date") if isinstance(section, dict) else None
        if section is not None and not isinstance(section, dict):
            why = f"{rel}: {source} is a {type(section).__name__}, not an object"
        elif raw is not None and _strict_date(raw) is None:
            why = f"{rel}: {source}.watermark_date {raw!r} is not a YYYY-MM-DD date"
        watermarks[source] = None if why else _strict_date(raw)
        if why:
            problems.append(why)
            if source == "google_ads":  # the watermark freshness is judged on
                fatal = why
    quality = data.get("data_quality")
    if quality is None:
        quality = {}
    elif not isinstance(quality, dict):
        problems.append(f"{rel}: data_quality is a {type(quality).__name__}, not an object")
        quality = {}
    return _State(
        MappingProxyType(watermarks), MappingProxyType(quality), MappingProxyType(data),
        _text(data, ("last_updated",), rel, problems), _text(quality, ("last_append",), rel, problems),
        tuple(problems), fatal,
    )


def _parse_lock(path: str, rel: str) -> _Lock:
    text = _read_text(path, rel)
    found = dict(_LOCK_LINE_RE.findall(text))
    raw_pid, raw_stamp = found.get("pid"), found.get("timestamp")
    problems = []
    pid = int(raw_pid) if raw_pid and raw_pid.isascii() and raw_pid.isdigit() and 0 < int(raw_pid) < 2**31 else None
    if pid is None:  # never 0 or negative: os.kill would address process groups
        problems.append("no pid line" if raw_pid is None else f"bad pid {raw_pid[:20]!r}")
    try:
        stamp = float(raw_stamp) if raw_stamp is not None else None
        if stamp is not None and not math.isfinite(stamp):
            raise ValueError
    except ValueError:
        stamp = None
    if stamp is None:
        problems.append("no timestamp line" if raw_stamp is None else f"bad timestamp {raw_stamp[:20]!r}")
    return _Lock(pid, stamp, not text.strip(), f"{rel}: {', '.join(problems)}" if problems else None)


def _error_date(context: Any, key: str, recovery: str | None, pattern: re.Pattern) -> date | None:
    value = context.get(key) if isinstance(context, dict) else None
    if isinstance(value, str) and (m := _DATE_PREFIX_RE.fullmatch(value)) and (day := _strict_date(m[1])):
        return day
    if recovery and (m := pattern.search(recovery)):  # the text says --from/--to: take the dates only
        return _strict_date(m[1])
    return None


def _parse_error(path: str, rel: str) -> ErrorInfo:
    data = _load(path, rel, "JSON")
    ignored: list[str] = []
    text = {key: _text(data, (key,), rel, ignored) for key in (
        "timestamp", "command", "exception_type", "exception_message", "recovery_command")}
    recovery = text["recovery_command"]
    return ErrorInfo(
        Path(path), text["timestamp"], text["command"], text["exception_type"], text["exception_message"],
        _error_date(data.get("context"), "start_date", recovery, _RECOVERY_START_RE),
        _error_date(data.get("context"), "end_date", recovery, _RECOVERY_END_RE),
        recovery,
    )


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except Exception:  # not found, unsafe key ('../x'), odd characters: all just "unknown"
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # exists, owned by someone else
    except (ProcessLookupError, OverflowError, OSError):
        return False
    return True


# ---- the stat cache and the workspace ----------------------------------------------

class _Found(NamedTuple):
    path: str
    rel: str  # for messages: "state/acme.json"
    stat: os.stat_result


class _StatCache:
    """path -> (stat key, parsed value); a file is parsed again only when its key changes."""

    def __init__(self, parse: Callable[[str, str], Any], failed: Callable[[str, str], Any]) -> None:
        self._parse, self._failed = parse, failed  # failed(path, why) stands in for a broken file
        self._entries: dict[str, tuple[tuple[int, int, int], Any]] = {}

    def get(self, found: _Found) -> Any:
        path, rel, st = found
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if (hit := self._entries.get(path)) is not None and hit[0] == key:
            return hit[1]
        try:
            value = self._parse(path, rel)
        except OSError as exc:  # not cached: a permission fix does not change the mtime
            return self._failed(path, f"{rel}: cannot read ({exc.strerror or type(exc).__name__})")
        except _Unreadable as exc:
            value = self._failed(path, str(exc))
        except Exception as exc:  # last resort: untrusted input must not break the listing
            value = self._failed(path, f"{rel}: cannot be read ({type(exc).__name__})")
        self._entries[path] = (key, value)
        return value

    def keep_only(self, found: Iterable[_Found | None]) -> None:
        """Forget files that are gone, so the cache does not grow without bound."""
        for path in self._entries.keys() - {f.path for f in found if f is not None}:
            del self._entries[path]


class Workspace:
    def __init__(self, root: Path, *, late_after_days: int = 1, stale_after_days: int = 3,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.root = Path(root)
        self.late_after_days, self.stale_after_days, self.clock = late_after_days, stale_after_days, clock
        self._configs = _StatCache(_parse_config, lambda _, why: _Config(problems=(why,), fatal=why))
        self._states = _StatCache(_parse_state, lambda _, why: _State(problems=(why,), fatal=why))
        self._locks = _StatCache(_parse_lock, lambda _, why: _Lock(None, None, False, why))
        self._errors = _StatCache(_parse_error, lambda path, why: ErrorInfo(Path(path), *[None] * 7, problem=why))
        self._skipped: tuple[str, ...] = ()
        self._mutex = threading.Lock()  # the caches are shared by UI and worker threads

    def exists(self) -> bool:
        return (self.root / "configs" / "clients").is_dir()

    def slugs(self) -> frozenset[str]:
        return frozenset(self._scan("configs/clients", ".yaml"))

    def skipped_names(self) -> tuple[str, ...]:
        """Config file names the last clients() ignored because they are not safe slugs."""
        return self._skipped

    def clients(self) -> list[Client]:
        """Every client, sorted by slug: one scandir per folder, files re-read only if changed."""
        with self._mutex:
            skipped: list[str] = []
            configs = self._scan("configs/clients", ".yaml", skipped)
            states, locks = self._scan("state", ".json"), self._scan("locks", ".lock")
            error_dirs = self._scan_dirs("errors")
            errors = {slug: self._newest_error_file(slug) for slug in configs if slug in error_dirs}
            now = self.clock()
            result = [self._build(slug, configs[slug], states.get(slug), locks.get(slug), errors.get(slug), now)
                      for slug in sorted(configs)]
            for cache, files in ((self._configs, configs), (self._states, states),
                                 (self._locks, locks), (self._errors, errors)):
                cache.keep_only(files.values())
            self._skipped = tuple(sorted(skipped))
            return result

    def client(self, slug: str) -> Client | None:
        if not is_safe_slug(slug):
            return None
        with self._mutex:
            if (config := self._find(f"configs/clients/{slug}.yaml")) is None:
                return None
            return self._build(slug, config, self._find(f"state/{slug}.json"), self._find(f"locks/{slug}.lock"),
                               self._newest_error_file(slug), self.clock())

    def reports(self, slug: str) -> list[Report]:
        """Report files for a slug, newest first (year, then sequence, descending)."""
        if not is_safe_slug(slug):
            return []
        # Anchored on the slug, so "acme" does not pick up "acme-west"'s files.
        name_re = re.compile(
            rf"([0-9]{{3,9}})-{re.escape(slug)}-report-([A-Za-z0-9.-]{{1,64}})-([0-9]{{8}}_[0-9]{{6}})\.md")
        found: list[tuple[tuple, Report]] = []
        for year in filter(_YEAR_RE.fullmatch, self._scan_dirs(f"output/{slug}")):
            for entry in self._entries(f"output/{slug}/{year}"):
                if not (m := name_re.fullmatch(entry.name)) or not self._is_plain_file(entry):
                    continue
                try:
                    size = entry.stat().st_size
                except OSError:
                    continue
                try:  # the CLI stamps names with its local time
                    created = datetime.strptime(m[3], "%Y%m%d_%H%M%S").astimezone()
                except ValueError:
                    created = None
                report = Report(Path(entry.path), slug, int(year), int(m[1]), m[2], created, size)
                found.append(((report.year, report.sequence, m[3], entry.name), report))
        return [report for _, report in sorted(found, key=lambda pair: pair[0], reverse=True)]

    def _build(self, slug: str, config_file: _Found, state_file: _Found | None,
               lock_file: _Found | None, error_file: _Found | None, now: datetime) -> Client:
        config: _Config = self._configs.get(config_file)
        state: _State = self._states.get(state_file) if state_file else _NO_STATE
        lock = self._lock_info(lock_file, now)
        error: ErrorInfo | None = self._errors.get(error_file) if error_file else None
        problems = config.problems + state.problems + tuple(
            x.problem for x in (lock, error) if x is not None and x.problem)
        fatal = config.fatal or state.fatal
        zone = None if fatal else _zone(config.timezone)
        if zone is None:
            fresh = Freshness(Kind.ERROR, None, fatal or f"unknown time zone {config.timezone!r}")
        else:
            fresh = assess(state.watermarks.get("google_ads"), zone, now,
                           late_after_days=self.late_after_days, stale_after_days=self.stale_after_days)
        return Client(
            slug, config.name or slug, config.customer_id, config.timezone, config.currency,
            watermarks=state.watermarks, freshness=fresh,
            last_append_timestamp=state.last_append or state.last_updated, last_sync=state.last_updated,
            data_quality=state.data_quality, state=state.raw, lock=lock, newest_error=error, problems=problems,
        )

    def _lock_info(self, found: _Found | None, now: datetime) -> LockInfo | None:
        if found is None:
            return None
        parsed: _Lock = self._locks.get(found)
        age = now.timestamp() - (parsed.timestamp if parsed.timestamp is not None else found.stat.st_mtime)
        if parsed.pid is not None:  # liveness is checked on every call: the PID can die any time
            return LockInfo(parsed.pid, _pid_alive(parsed.pid), age, parsed.problem)
        if parsed.empty and age < _YOUNG_EMPTY_LOCK_SECONDS:
            return LockInfo(None, True, age, None)  # just created, pid not written yet
        return LockInfo(None, False, age, parsed.problem)

    def _newest_error_file(self, slug: str) -> _Found | None:
        # The name's stamp orders them; the mtime may have been touched by a copy.
        names = [(m[1], e.name) for e in self._entries(f"errors/{slug}")
                 if (m := _ERROR_NAME_RE.fullmatch(e.name)) and self._is_plain_file(e)]
        return self._find(f"errors/{slug}/{max(names)[1]}") if names else None

    # -- reading folders, never leaving the ads_sync folder --------------------------

    def _entries(self, rel_dir: str) -> list[os.DirEntry]:
        try:
            with os.scandir(self.root / rel_dir) as it:
                return list(it)
        except OSError:  # missing, not a directory, no permission: nothing there
            return []

    def _scan(self, rel_dir: str, suffix: str, skipped: list[str] | None = None) -> dict[str, _Found]:
        """slug -> file for every SLUG+suffix in rel_dir whose slug is safe."""
        found: dict[str, _Found] = {}
        for entry in self._entries(rel_dir):
            slug = entry.name[: -len(suffix)] if entry.name.endswith(suffix) else None
            if slug is None:
                continue
            if not is_safe_slug(slug):
                if skipped is not None:
                    skipped.append(entry.name)
            elif self._is_plain_file(entry):
                try:
                    found[slug] = _Found(entry.path, f"{rel_dir}/{entry.name}", entry.stat())
                except OSError:
                    continue
        return found

    def _scan_dirs(self, rel_dir: str) -> set[str]:
        return {e.name for e in self._entries(rel_dir) if _no_raise(e.is_dir, follow_symlinks=False)}

    def _find(self, rel: str) -> _Found | None:
        path = os.path.join(self.root, rel)
        try:
            if os.path.islink(path) and not self._inside(path):
                return None
            st = os.stat(path)
        except OSError:
            return None
        return _Found(path, rel, st) if stat.S_ISREG(st.st_mode) else None

    def _is_plain_file(self, entry: os.DirEntry) -> bool:
        """A regular file; a symlink only if it stays inside the ads_sync folder."""
        return (not _no_raise(entry.is_symlink) or self._inside(entry.path)) and _no_raise(entry.is_file)

    def _inside(self, path: str) -> bool:
        return os.path.realpath(path).startswith(os.path.realpath(self.root) + os.sep)


def _no_raise(check: Callable[..., bool], **kwargs: Any) -> bool:
    try:
        return check(**kwargs)
    except OSError:
        return False
