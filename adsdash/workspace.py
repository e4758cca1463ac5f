"""Read-only view of the ads_sync project folder: clients, state, locks, errors, reports.

Only the ads_sync CLI writes that folder; this module only reads it. Every file is
untrusted: a broken one makes its client ERROR with a specific reason, never an
exception. Parsed files are cached on (path, mtime_ns, size, inode), so re-reading a
thousand unchanged clients costs one scandir per directory and one stat per file; with a
`cache_path`, that cache is also kept on disk (`parse_cache`), so a fresh start does not
parse them all again either. Freshness (depends on the clock) and lock liveness (the PID
can die while the file stays) are recomputed on every call.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from adsdash import parse_cache
from adsdash.ads_files import (  # SOURCES, ErrorInfo: part of this module's API too
    CONFIG,
    ERROR,
    LOCK,
    NO_STATE,
    SOURCES,
    STATE,
    ErrorInfo,
    ParsedConfig,
    ParsedLock,
    ParsedState,
    zone_named,
)
from adsdash.catalogue import is_safe_slug
from adsdash.client_folder import ClientFolder, FileWithStat, no_raise
from adsdash.folder_delta import changed_slugs
from adsdash.freshness import Freshness, Kind, assess, client_yesterday, next_day_turn
from adsdash.parse_cache import StatCache, Stored
from adsdash.processes import pid_alive
from adsdash.store import Clock, system_clock

if TYPE_CHECKING:
    from adsdash.folder_watch import FolderWatch

_YOUNG_EMPTY_LOCK_SECONDS = 10.0  # O_EXCL create and the write are two steps
_ERROR_NAME_RE = re.compile(r"error_(\d{8}_\d{6})([._-][A-Za-z0-9]+)?\.json", re.ASCII)
_YEAR_RE = re.compile(r"\d{4}", re.ASCII)
SAVE_EVERY_SECONDS = 60.0  # files change while jobs run: rewrite the cache file at most this often
FULL_SCAN_SECONDS = 60.0  # clients(as_of=) looks at every file at least this often, not just the changed


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


# ---- the workspace ------------------------------------------------------------------

class _DaysHold(NamedTuple):
    start: datetime
    end: datetime  # the first of the zones' next midnights
    zones: frozenset[str]


class Workspace(ClientFolder):
    def __init__(self, root: Path, *, late_after_days: int = 1, stale_after_days: int = 3,
                 clock: Clock = system_clock, cache_path: Path | str | Callable[[], Path] | None = None,
                 private: Path | None = None) -> None:
        super().__init__(root, private=private)
        self.late_after_days, self.stale_after_days, self.clock = late_after_days, stale_after_days, clock
        self._configs = StatCache(CONFIG, lambda _, why: ParsedConfig(problems=(why,), fatal=why))
        self._states = StatCache(STATE, lambda _, why: ParsedState(problems=(why,), fatal=why))
        # Locks come and go within seconds and are few: not worth keeping on disk.
        self._locks = StatCache(LOCK, lambda _, why: ParsedLock(None, None, False, why), keep=False)
        self._errors = StatCache(ERROR, lambda path, why: ErrorInfo(Path(path), problem=why))
        self._mutex = threading.Lock()  # the caches are shared by UI and worker threads
        self._made: dict[str, tuple[Any, ...]] = {}  # slug -> what its Client was made of, and it (_build)
        self._stamped: tuple[tuple, dict[str, list[os.DirEntry]]] | None = None  # the last stamp() and its entries
        # The last clients(as_of=): its stamp and clients, by slug (see _clients_since); a full scan at least
        # every FULL_SCAN_SECONDS. `looked_at`: the slugs the last call made again or looked at (tests, bench).
        self._since: tuple[tuple, dict[str, Client]] | None = None
        self._full_at = float("-inf")
        # No client's day turns from .start until .end: _clients_since need not look at each one's zone.
        self._days_hold: _DaysHold | None = None
        self._locked: set[str] = set()  # clients made at every call: their lock's age and liveness change
        self.looked_at: frozenset[str] = frozenset()
        # A callable is asked once, when the cache is first needed (finding the platform's cache
        # folder imports platformdirs, which a command that parses no file never needs).
        self._cache_path = cache_path
        self._disk_loaded = False
        self._saved_at: float | None = None  # monotonic time of the last cache file write
        self._watch: FolderWatch | None = None  # see watch()

    @property
    def cache_path(self) -> Path | None:
        if callable(self._cache_path):
            self._cache_path = self._cache_path()
        return Path(self._cache_path) if self._cache_path is not None else None

    def watch(self) -> None:
        """Let the OS tell which files change (folder_watch), so that stamp() states none of
        them: for a screen that refreshes the clients again and again. stop_watching() ends it."""
        from adsdash.folder_watch import FolderWatch  # here: only the app watches

        if self._watch is None:
            self._watch = FolderWatch(self.root)

    def stop_watching(self) -> None:
        """Stop the watch, without waiting for its thread (the exit does)."""
        if self._watch is not None:
            self._watch.stop(wait=False)
            self._watch = None

    def stamp(self) -> tuple:
        """A cheap fingerprint of the folder: it changes when a file clients() reads is added,
        removed or written. Watched (watch()): the count of changes the OS told of; else the
        names, sizes and times of the folders' entries."""
        if self._watch is not None and (generation := self._watch.stamp()) is not None:
            stamp: tuple = (_WATCHED, generation)
            self._stamped = (stamp, {})
            return stamp
        parts: list[tuple[str, int, int, int]] = []
        seen: dict[str, list[os.DirEntry]] = {}
        for rel_dir in ("configs/clients", "state", "locks", "errors"):
            for entry in seen.setdefault(rel_dir, self._entries(rel_dir)):
                try:
                    st = entry.stat(follow_symlinks=False)  # kept by the entry: clients(as_of=) stats none again
                except OSError:
                    continue
                parts.append((f"{rel_dir}/{entry.name}", st.st_mtime_ns, st.st_size, st.st_ino))
        stamp = tuple(parts)
        self._stamped = (stamp, seen)
        return stamp

    def clients(self, *, save_cache: bool = True, as_of: tuple | None = None) -> list[Client]:
        """Every client, sorted by slug: one scandir per folder, files re-read only if changed.
        save_cache=False: do not write the cache file now (a later call will), e.g. while the
        app waits for this read to draw its first screen. `as_of`: the stamp() just taken, whose
        folder entries are read (as they were stamped) instead of scanning and stating them again."""
        stamped = self._stamped
        seen = stamped[1] if as_of is not None and stamped is not None and stamped[0] is as_of else {}
        with self._mutex:
            self._load_disk_cache()
            if as_of is not None and (seen or _watched(as_of)) and \
                    (since := self._clients_since(as_of, seen)) is not None:
                return since
            configs = self._scan("configs/clients", ".yaml", entries=seen.get("configs/clients"))
            odd_states: dict[str, str] = {}  # slug -> why its state file is not read
            states = self._scan("state", ".json", odd=odd_states, entries=seen.get("state"))
            locks = self._scan("locks", ".lock", entries=seen.get("locks"))
            error_dirs = {e.name for e in seen.get("errors") or self._entries("errors")
                          if no_raise(e.is_dir, follow_symlinks=False)}
            errors = {slug: self._newest_error_file(slug) for slug in configs if slug in error_dirs}
            now = self.clock()
            result = [self._build(slug, configs[slug], states.get(slug), locks.get(slug), errors.get(slug), now,
                                  odd_states.get(slug)) for slug in sorted(configs)]
            for cache, files in ((self._configs, configs), (self._states, states),
                                 (self._locks, locks), (self._errors, errors)):
                cache.scanned(files.values())
            if len(self._made) > len(configs):  # clients gone
                self._made = {slug: made for slug, made in self._made.items() if slug in configs}
            self._locked.intersection_update(configs)
            self._since = ((as_of, {client.slug: client for client in result})
                           if as_of is not None and (seen or _watched(as_of)) else None)
            self._full_at, self.looked_at = time.monotonic(), frozenset(configs)
            self._days_hold = None
            to_save = self._cache_to_save() if save_cache else None
        # Written outside the lock: readers need not wait for the disk.
        if to_save is not None and self.cache_path is not None:
            parse_cache.save(self.cache_path, self._cache_root(), to_save)
        return result

    def _clients_since(self, stamp: tuple, seen: dict[str, list[os.DirEntry]]) -> list[Client] | None:
        """clients() made from the last call's: only the clients whose entries in the stamp changed,
        that hold a lock (its age and liveness change with time) or whose day turned are made again.
        None: a full scan is due (none yet, or the last one FULL_SCAN_SECONDS ago)."""
        if self._since is None or time.monotonic() - self._full_at > FULL_SCAN_SECONDS:
            return None
        before, known = self._since
        now = self.clock()
        if _watched(stamp) is not None:
            if self._watch is None or _watched(before) is None or \
                    (told := self._watch.changed_since(_watched(before) or 0)) is None:
                return None
            dirty = told
        else:
            dirty = changed_slugs(before, stamp)
        dirty |= self._locked.intersection(known)
        hold = self._days_hold
        if hold is None or not hold.start <= now < hold.end:
            dirty |= self._days_turned(known, now)
        clients = dict(known)
        if _watched(stamp) is not None:  # no folder listed: each changed client's files are found one by one
            for slug in dirty:
                if (client := self._read_client(slug, now) if is_safe_slug(slug) else None) is not None:
                    clients[slug] = client
                else:  # gone
                    clients.pop(slug, None)
                    self._made.pop(slug, None)
                    self._locked.discard(slug)
            self._since, self.looked_at = (stamp, clients), frozenset(dirty)
            return [clients[slug] for slug in sorted(clients)]
        configs = self._scan("configs/clients", ".yaml", entries=_named(seen["configs/clients"], dirty, ".yaml"))
        odd_states: dict[str, str] = {}
        states = self._scan("state", ".json", odd=odd_states, entries=_named(seen["state"], dirty, ".json"))
        locks = self._scan("locks", ".lock", entries=_named(seen["locks"], dirty, ".lock"))
        error_dirs = {e.name for e in _named(seen["errors"], dirty, "") if no_raise(e.is_dir, follow_symlinks=False)}
        for slug in dirty:
            if slug in configs:
                clients[slug] = self._build(slug, configs[slug], states.get(slug), locks.get(slug),
                                            self._newest_error_file(slug) if slug in error_dirs else None, now,
                                            odd_states.get(slug))
            else:  # gone
                clients.pop(slug, None)
                self._made.pop(slug, None)
                self._locked.discard(slug)
        self._since, self.looked_at = (stamp, clients), frozenset(dirty)
        return [clients[slug] for slug in sorted(clients)]

    def _days_turned(self, known: Mapping[str, Client], now: datetime) -> set[str]:
        """The clients whose client day is no longer the one they were made on; and, till the
        first zone's next midnight, the hold that spares the next calls this walk of every client."""
        turned: set[str] = set()
        yesterdays: dict[str, date | None] = {}
        for slug in known:
            if (made := self._made.get(slug)) is None or made[3] is None:  # a lock (made anyway), or no zone
                continue
            zone_name = made[0].timezone
            if zone_name not in yesterdays:
                zone = zone_named(zone_name)
                yesterdays[zone_name] = client_yesterday(zone, now) if zone is not None else None
            if yesterdays[zone_name] != made[3]:
                turned.add(slug)
        turns = [next_day_turn(zone, now) for name in yesterdays if (zone := zone_named(name)) is not None]
        self._days_hold = _DaysHold(now, min(turns), frozenset(yesterdays)) if turns else None
        return turned

    def client(self, slug: str) -> Client | None:
        if not is_safe_slug(slug):
            return None
        with self._mutex:
            client = self._read_client(slug, self.clock())
            if client is not None and self._since is not None and slug in self._since[1]:
                # The next refresh starts from what it made last: never from older than this (the
                # client's day may have turned; _clients_since sees no change in it then).
                self._since[1][slug] = client
            return client

    def _read_client(self, slug: str, now: datetime) -> Client | None:
        """One client, its files found one by one (no folder is listed)."""
        if (config := self._find(f"configs/clients/{slug}.yaml")) is None:
            return None
        state_rel = f"state/{slug}.json"
        state_file = self._find(state_rel)
        odd = None if state_file else self._why_not_plain(os.path.join(self.root, state_rel), state_rel)
        return self._build(slug, config, state_file, self._find(f"locks/{slug}.lock"),
                           self._newest_error_file(slug), now, odd)

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
                    st = entry.stat()
                except OSError:
                    continue
                if self._is_ours(st):
                    continue
                size = st.st_size
                try:  # the CLI stamps names with its local time
                    created = datetime.strptime(m[3], "%Y%m%d_%H%M%S").astimezone()
                except ValueError:
                    created = None
                report = Report(Path(entry.path), slug, int(year), int(m[1]), m[2], created, size)
                found.append(((report.year, report.sequence, m[3], entry.name), report))
        return [report for _, report in sorted(found, key=lambda pair: pair[0], reverse=True)]

    # -- the parse cache on disk -------------------------------------------------------

    def _kept(self) -> tuple[StatCache, ...]:
        return self._configs, self._states, self._errors

    def _cache_root(self) -> str:
        return os.path.realpath(self.root)

    def _load_disk_cache(self) -> None:
        if self._disk_loaded or self.cache_path is None:
            return
        self._disk_loaded = True  # once: later, the caches in memory are newer
        found = parse_cache.load(self.cache_path, self._cache_root(), tuple(c.kind.name for c in self._kept()))
        for cache in self._kept():
            cache.disk = found[cache.kind.name]

    def _cache_to_save(self) -> dict[str, dict[str, Stored]] | None:
        if self.cache_path is None or not any(c.changed for c in self._kept()):
            return None
        now = time.monotonic()
        if self._saved_at is not None and now - self._saved_at < SAVE_EVERY_SECONDS:
            return None
        self._saved_at = now
        for cache in self._kept():
            cache.changed = False
        return {cache.kind.name: cache.to_keep() for cache in self._kept()}

    def _build(self, slug: str, config_file: FileWithStat, state_file: FileWithStat | None,
               lock_file: FileWithStat | None, error_file: FileWithStat | None, now: datetime,
               odd_state: str | None = None) -> Client:
        config: ParsedConfig = self._configs.get(config_file)
        if state_file:
            state: ParsedState = self._states.get(state_file)
        else:  # a state path that is there but is no file is not "never synced": that invites an init
            state = ParsedState(problems=(odd_state,), fatal=odd_state) if odd_state else NO_STATE
        error: ErrorInfo | None = self._errors.get(error_file) if error_file else None
        fatal = config.fatal or state.fatal
        zone = None if fatal else zone_named(config.timezone)
        # The same Client as last time when made of the same parsed files on the same client day
        # (a refresh of 1,000 clients makes the few that changed). A lock's age and liveness
        # change with time: a client with a lock file is made every time.
        yesterday = client_yesterday(zone, now) if zone is not None else None
        if zone is not None and lock_file is None and (hold := self._days_hold) is not None \
                and config.timezone not in hold.zones:
            self._days_hold = None  # a zone the hold did not count: its day may turn sooner
        made = self._made.get(slug)
        if (lock_file is None and made is not None and made[0] is config and made[1] is state and made[2] is error
                and made[3] == yesterday):
            return made[4]
        lock = self._lock_info(lock_file, now)
        problems = config.problems + state.problems + tuple(
            x.problem for x in (lock, error) if x is not None and x.problem)
        if zone is None:
            fresh = Freshness(Kind.ERROR, None, fatal or f"unknown time zone {config.timezone!r}")
        else:
            fresh = assess(state.watermarks.get("google_ads"), zone, now,
                           late_after_days=self.late_after_days, stale_after_days=self.stale_after_days)
        client = Client(
            slug, config.name or slug, config.customer_id, config.timezone, config.currency,
            watermarks=state.watermarks, freshness=fresh,
            last_append_timestamp=state.last_append or state.last_updated, last_sync=state.last_updated,
            data_quality=state.data_quality, state=state.raw, lock=lock, newest_error=error, problems=problems,
        )
        if lock_file is None:
            self._made[slug] = (config, state, error, yesterday, client)
            self._locked.discard(slug)
        else:  # made every time while the lock is there
            self._made.pop(slug, None)
            self._locked.add(slug)
        return client

    def _lock_info(self, found: FileWithStat | None, now: datetime) -> LockInfo | None:
        if found is None:
            return None
        parsed: ParsedLock = self._locks.get(found)
        age = now.timestamp() - (parsed.timestamp if parsed.timestamp is not None else found.stat.st_mtime)
        if parsed.pid is not None:  # liveness is checked on every call: the PID can die any time
            return LockInfo(parsed.pid, pid_alive(parsed.pid), age, parsed.problem)
        if parsed.empty and age < _YOUNG_EMPTY_LOCK_SECONDS:
            return LockInfo(None, True, age, None)  # just created, pid not written yet
        return LockInfo(None, False, age, parsed.problem)

    def _newest_error_file(self, slug: str) -> FileWithStat | None:
        # The name's stamp orders them; the mtime may have been touched by a copy.
        names = [(m[1], e.name) for e in self._entries(f"errors/{slug}")
                 if (m := _ERROR_NAME_RE.fullmatch(e.name)) and self._is_plain_file(e)]
        return self._find(f"errors/{slug}/{max(names)[1]}") if names else None


_WATCHED = "watched"  # a stamp told by the OS: (_WATCHED, generation)


def _watched(stamp: tuple | None) -> int | None:
    """The generation of a watched stamp; None for a stamp of stated files."""
    return stamp[1] if stamp is not None and len(stamp) == 2 and stamp[0] == _WATCHED else None


def _named(entries: list[os.DirEntry], slugs: set[str], ending: str) -> list[os.DirEntry]:
    """The entries of these clients (SLUG + ending)."""
    names = {slug + ending for slug in slugs}
    return [entry for entry in entries if entry.name in names]




__all__ = ["SOURCES", "Client", "ErrorInfo", "LockInfo", "Report", "Workspace"]
