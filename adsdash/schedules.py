"""Schedules: `[[schedule]]` tables of the settings file, checked, and their due times.

```toml
[[schedule]]
name = "morning-append"
command = "append"          # any catalogue command; report needs scope = "LAST-7-DAYS" etc.
at = "05:30"                # in each client's own time zone
days = ["mon", "tue"]       # default: every day. Or `cron = "30 5 * * 1-5"` instead of at/days
clients = "all"             # or ["acme", "globex"], or freshness: "not fresh", "late,stale"
```

An entry that cannot be used is refused with one line naming the entry and the field; the
others load. Unknown clients and bad client zones depend on the ads_sync folder, so they
are found when the schedules are run or shown (`targets`), and said the same way.

Due times come from cronsim (healthchecks.io's cron evaluator): `at`/`days` become a
5-field cron expression, evaluated in the client's zone with Debian cron's rules for
daylight saving: a time skipped by spring-forward runs at the first valid instant after
it, a time that occurs twice at fall-back runs once (the first). Hand-written date
arithmetic gets exactly those two days wrong; cronsim is tested on them.
No Textual, no store here: config.py, the scheduler, the command line and the app share it.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from adsdash import catalogue

if TYPE_CHECKING:
    from adsdash.workspace import Client

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
_AT_RE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)", re.ASCII)
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron's day numbers: 0 is Sunday
_FULL_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
FRESHNESS_KINDS = ("fresh", "late", "stale", "never", "error")
FIELDS = frozenset({"name", "command", "at", "days", "cron", "clients", "scope", "append_first"})
# Commands whose arguments a schedule cannot give (dates of a range to re-pull).
_NEEDS_DATES = frozenset(c.name for c in catalogue.COMMANDS.values() if "start" in c.params)


def _show(value: object, limit: int = 60) -> str:
    """Outside text quoted for a message: repr escapes control characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Refused(ValueError):
    """One field of one entry cannot be used: (field, problem)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Clients:
    """Which clients a schedule runs for: all, a list of slugs, or a freshness filter."""
    text: str  # as shown: all, acme, globex (a list), not fresh, late,stale
    slugs: tuple[str, ...] | None = None  # a list of slugs
    kinds: frozenset[str] | None = None  # a freshness filter: these kinds (or all but these, with exclude)
    exclude: bool = False

    def skip_reason(self, client: Client) -> str | None:
        """Why a filter passes `client` by now (None: it runs)."""
        if self.kinds is None:
            return None
        kind = client.freshness.kind.value
        if (kind in self.kinds) != self.exclude:
            return None
        return f"{kind} (clients = {self.text!r})"

    def as_json(self) -> str | list[str]:
        return list(self.slugs) if self.slugs is not None else self.text


@dataclass(frozen=True)
class Schedule:
    name: str
    command: str
    cron: str  # 5 fields, read in each client's zone; at/days are turned into one
    clients: Clients
    scope: str | None
    at: str | None  # as given (HH:MM), for showing
    days: tuple[str, ...]  # with at: the days, mon..sun (empty with cron)
    entry: int  # its place among the file's [[schedule]] tables, from 1
    # A report whose days the data lacks: queued after an append (True), or refused, the reason
    # recorded (False: a report is never run on missing days without being asked; report_check).
    append_first: bool = False

    @property
    def when(self) -> str:
        if self.at is None:
            return f"cron {self.cron}"
        return f"{self.at} " + ("every day" if len(self.days) == 7 else ",".join(self.days))

    @property
    def params(self) -> dict[str, str]:
        return {"scope": self.scope} if self.scope is not None else {}


# ---- reading the [[schedule]] tables -----------------------------------------------------

def parse(raw: Any, path: Path | str) -> tuple[tuple[Schedule, ...], tuple[str, ...]]:
    """The usable schedules and one line per refused entry (never raises)."""
    if raw is None:
        return (), ()
    if not isinstance(raw, list):
        return (), (f"schedule in {path}: expected [[schedule]] tables, got {_show(raw)}",)
    found: list[Schedule] = []
    refusals: list[str] = []
    names: dict[str, int] = {}
    for entry, table in enumerate(raw, start=1):
        label = f"schedule #{entry}"
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            label += f" {_show(table['name'])}"
        try:
            if not isinstance(table, dict):
                raise Refused("[[schedule]]", f"expected a table, got {_show(table)}")
            schedule = _entry(table, entry)
            if schedule.name in names:
                raise Refused("name", f"{schedule.name!r} is taken by schedule #{names[schedule.name]}")
        except Refused as exc:
            refusals.append(f"{label} in {path}: {exc}")
            continue
        names[schedule.name] = entry
        found.append(schedule)
    return tuple(found), tuple(refusals)


def _entry(table: dict[str, Any], entry: int) -> Schedule:
    unknown = sorted(str(key) for key in set(table) - FIELDS)
    if unknown:
        raise Refused(unknown[0], f"unknown field (known: {', '.join(sorted(FIELDS))})")
    name = table.get("name")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise Refused("name", f"expected a name of letters, digits, '.', '_' or '-', got {_show(name)}")
    command = table.get("command")
    if not isinstance(command, str) or command not in catalogue.COMMANDS:
        raise Refused("command", f"expected one of {', '.join(catalogue.COMMANDS)}, got {_show(command)}")
    if command in _NEEDS_DATES:
        raise Refused("command", f"{command} needs a date range, which a schedule cannot give")
    scope = _scope(command, table.get("scope"))
    append_first = table.get("append_first", False)
    if not isinstance(append_first, bool):
        raise Refused("append_first", f"expected true or false, got {_show(append_first)}")
    if append_first and command != "report":
        raise Refused("append_first", "only a report waits for an append")
    cron, at, days = _when(table)
    return Schedule(name, command, cron, _clients(table.get("clients", "all")), scope, at, days, entry, append_first)


def _scope(command: str, scope: Any) -> str | None:
    takes_scope = "scope" in catalogue.COMMANDS[command].params
    if scope is None:
        if takes_scope:
            raise Refused("scope", f"{command} needs a scope, such as \"LAST-7-DAYS\"")
        return None
    if not takes_scope:
        raise Refused("scope", f"{command} takes no scope")
    try:
        return catalogue.check_scope(scope)
    except catalogue.RequestError as exc:
        raise Refused("scope", str(exc)) from None


def _when(table: dict[str, Any]) -> tuple[str, str | None, tuple[str, ...]]:
    at, cron, days = table.get("at"), table.get("cron"), table.get("days")
    if at is not None and cron is not None:
        raise Refused("cron", "give either at = \"HH:MM\" (with days) or cron = \"…\", not both")
    if at is None and cron is None:
        raise Refused("at", "missing: give at = \"HH:MM\" (with days) or cron = \"…\"")
    if cron is not None:
        if days is not None:
            raise Refused("days", "goes with at, not with cron (put the days in the cron expression)")
        return check_cron(cron), None, ()
    match = _AT_RE.fullmatch(at) if isinstance(at, str) else None
    if match is None:
        raise Refused("at", f"expected a 24-hour time \"HH:MM\", got {_show(at)}")
    hour, minute = int(match[1]), int(match[2])
    numbers = _days(list(DAYS) if days is None else days)
    weekday = "*" if len(numbers) == 7 else ",".join(str(n) for n in numbers)
    return f"{minute} {hour} * * {weekday}", f"{hour:02d}:{minute:02d}", tuple(DAYS[n] for n in _monday_first(numbers))


def _days(days: Any) -> list[int]:
    if not isinstance(days, list) or not days:
        raise Refused("days", f"expected a list such as [\"mon\", \"fri\"], got {_show(days)}")
    numbers = set()
    for day in days:
        text = day.strip().lower() if isinstance(day, str) else None
        if text in DAYS:
            numbers.add(DAYS.index(text))
        elif text in _FULL_DAYS:
            numbers.add(_FULL_DAYS.index(text))
        else:
            raise Refused("days", f"expected days mon, tue, wed, thu, fri, sat, sun; got {_show(day)}")
    return sorted(numbers)


def _monday_first(numbers: Iterable[int]) -> list[int]:
    return sorted(numbers, key=lambda n: (n + 6) % 7)


def check_cron(cron: Any) -> str:
    """A 5-field cron expression that matches some time; Refused otherwise."""
    if not isinstance(cron, str) or len(cron.split()) != 5:
        raise Refused("cron", f"expected 5 fields (minute hour day month weekday), got {_show(cron)}")
    expression = " ".join(cron.split())
    try:
        next(CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC)))
    except CronSimError as exc:
        raise Refused("cron", f"{_show(cron)}: {exc}") from None
    except StopIteration:
        raise Refused("cron", f"{_show(cron)} never matches a time") from None
    return expression


def _clients(value: Any) -> Clients:
    if isinstance(value, list):
        if not value:
            raise Refused("clients", "the list of slugs is empty")
        for slug in value:
            if not catalogue.is_safe_slug(slug):
                raise Refused("clients", f"{_show(slug)} is not a client slug")
        slugs = tuple(dict.fromkeys(value))
        return Clients(", ".join(slugs), slugs=slugs)
    text = value.strip().lower() if isinstance(value, str) else ""
    if text == "all":
        return Clients("all")
    exclude = text.startswith("not ")
    kinds = [k.strip() for k in text.removeprefix("not ").split(",")]
    if text and all(k in FRESHNESS_KINDS for k in kinds):
        shown = ("not " if exclude else "") + ",".join(kinds)
        return Clients(shown, kinds=frozenset(kinds), exclude=exclude)
    raise Refused("clients", "expected \"all\", a list of slugs, or freshness such as \"late,stale\" or"
                             f" \"not fresh\" (kinds: {', '.join(FRESHNESS_KINDS)}); got {_show(value)}")


# ---- clients and times ----------------------------------------------------------------------

def targets(schedule: Schedule, clients: Sequence[Client]) -> tuple[list[tuple[Client, ZoneInfo]], list[str]]:
    """The clients the schedule may run for, each with its zone, and one line per client it
    cannot run for (an unknown slug, a zone that is not a zone). A filter is applied when a
    run is due (`Clients.skip_reason`), not here."""
    refusals: list[str] = []
    if schedule.clients.slugs is None:
        chosen = list(clients)
    else:
        by_slug = {client.slug: client for client in clients}
        chosen = []
        for slug in schedule.clients.slugs:
            if slug in by_slug:
                chosen.append(by_slug[slug])
            else:
                refusals.append(f"schedule {schedule.name!r}: clients: unknown client {slug!r}")
    found = []
    for client in chosen:
        if (zone := client.zone) is None:
            refusals.append(f"schedule {schedule.name!r}: client {client.slug!r}: time zone"
                            f" {_show(client.timezone)} is not a known zone")
        else:
            found.append((client, zone))
    return found, refusals


def dues(schedule: Schedule, zone: ZoneInfo, since: datetime, now: datetime, *, limit: int) -> list[datetime]:
    """The due instants in (since, now], newest first, at most `limit` (the newest), in UTC.
    Searched forwards from `since`: backwards from `now`, a search started in the second pass
    of a fall-back hour finds only the first pass, and an hourly cron would skip the repeat."""
    found: deque[datetime] = deque(maxlen=limit)
    try:
        for local in CronSim(schedule.cron, since.astimezone(zone)):
            due = local.astimezone(UTC)
            if due > now:
                break
            if due > since:  # a local time read across a fold may land a moment before `since`
                found.append(due)
    except StopIteration:  # no later match within cronsim's 50 years
        pass
    return list(reversed(found))


def next_due(schedule: Schedule, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first due instant after `after`, in UTC (None: it never comes)."""
    try:
        return next(CronSim(schedule.cron, after.astimezone(zone))).astimezone(UTC)
    except StopIteration:
        return None


# ---- the file, read again when it changes ------------------------------------------------

class ScheduleBook:
    """The settings file's schedules, read again when the file changes, so a running worker
    (which may outlive many apps) picks up a schedule added since it started. Only the
    schedules are read again; every other setting keeps the value it started with."""

    def __init__(self, path: Path | None, schedules: tuple[Schedule, ...] = (), refusals: tuple[str, ...] = ()):
        self.path = path
        self._signature: object = object()  # never equal to a stat: the first look reads the file
        self._current = (schedules, refusals)
        self._lock = threading.Lock()

    def current(self) -> tuple[tuple[Schedule, ...], tuple[str, ...]]:
        """(usable schedules, refusal lines)."""
        if self.path is None:
            return self._current
        with self._lock:
            signature = _signature(self.path)
            if signature != self._signature:
                self._current = self._read(self._current[0])
                self._signature = signature
            return self._current

    def _read(self, kept: tuple[Schedule, ...]) -> tuple[tuple[Schedule, ...], tuple[str, ...]]:
        import tomllib  # here: most commands never read schedules

        assert self.path is not None
        try:
            with self.path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            return (), ()
        except (OSError, tomllib.TOMLDecodeError) as exc:
            return kept, (f"config file {self.path}: cannot read it ({exc}); the schedules read before it changed"
                          " still run",)
        return parse(data.get("schedule"), self.path)


def _signature(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns
