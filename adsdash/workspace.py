"""Read-only view of the ads_sync project folder: clients, state, locks, errors, reports.

Only the ads_sync CLI writes that folder; this module only reads it. Every file is
untrusted: a broken one makes its client ERROR with a specific reason, never an
exception. Parsed files are cached on (path, mtime_ns, size, inode), so re-reading a
thousand unchanged clients costs one scandir per directory and one stat per file.
Freshness (depends on the clock) and lock liveness (the PID can die while the file
stays) are recomputed on every call.
"""

from __future__ import annotations

import os
import re
import stat
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, NamedTuple
from zoneinfo import ZoneInfo

from .ads_files import (  # SOURCES, ErrorInfo: part of this module's API too
    NO_STATE, SOURCES, ErrorInfo, ParsedConfig, ParsedLock, ParsedState,
    Unreadable, parse_config, parse_error, parse_lock, parse_state, pid_alive, zone_named,
)
from .catalogue import is_safe_slug
from .freshness import Freshness, Kind, assess

_YOUNG_EMPTY_LOCK_SECONDS = 10.0  # O_EXCL create and the write are two steps
_ERROR_NAME_RE = re.compile(r"error_(\d{8}_\d{6})([._-][A-Za-z0-9]+)?\.json", re.ASCII)
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
        return zone_named(self.timezone)

    def data_status(self) -> dict:
        """The older dashboard's data-status answer, with better sources (see contract)."""
        watermark = self.watermarks.get("google_ads")
        return {
            "slug": self.slug,
            "last_append_timestamp": self.last_append_timestamp,
            "last_sync": self.last_sync,
            "watermark_date": watermark.isoformat() if watermark else None,
        }


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
        except Unreadable as exc:
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
        self._configs = _StatCache(parse_config, lambda _, why: ParsedConfig(problems=(why,), fatal=why))
        self._states = _StatCache(parse_state, lambda _, why: ParsedState(problems=(why,), fatal=why))
        self._locks = _StatCache(parse_lock, lambda _, why: ParsedLock(None, None, False, why))
        self._errors = _StatCache(parse_error, lambda path, why: ErrorInfo(Path(path), *[None] * 7, problem=why))
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
        config: ParsedConfig = self._configs.get(config_file)
        state: ParsedState = self._states.get(state_file) if state_file else NO_STATE
        lock = self._lock_info(lock_file, now)
        error: ErrorInfo | None = self._errors.get(error_file) if error_file else None
        problems = config.problems + state.problems + tuple(
            x.problem for x in (lock, error) if x is not None and x.problem)
        fatal = config.fatal or state.fatal
        zone = None if fatal else zone_named(config.timezone)
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
        parsed: ParsedLock = self._locks.get(found)
        age = now.timestamp() - (parsed.timestamp if parsed.timestamp is not None else found.stat.st_mtime)
        if parsed.pid is not None:  # liveness is checked on every call: the PID can die any time
            return LockInfo(parsed.pid, pid_alive(parsed.pid), age, parsed.problem)
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
__all__ = ["SOURCES", "Client", "ErrorInfo", "LockInfo", "Report", "Workspace"]
