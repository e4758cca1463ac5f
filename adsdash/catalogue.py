"""The ads_sync sub-commands adsdash may run, their arguments, and the argv they become.

Everything here is pure: a request is validated completely before any job exists, and
every refusal is one specific line a person can act on.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Collection, Mapping
from datetime import date
from types import MappingProxyType
from typing import NamedTuple, TypedDict


class RequestError(ValueError):
    """A request adsdash refuses; the message is one clear line for a person."""


class Command(NamedTuple):
    name: str
    description: str
    params: tuple[str, ...]
    typical: str
    confirm: bool  # ask before running: long, or destructive


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command("init", "one-time historical backfill, chunked into 90-day windows", (), "5–15 min", True),
        Command("append", "incremental sync from watermark − overlap to yesterday", (), "< 30 s", False),
        Command("validate", "check config, state and master CSV", (), "seconds", False),
        Command("repair", "re-pull a date range (idempotent)", ("start", "end"), "minutes", False),
        Command("force-unlock", "delete the client's lock file", (), "instant", True),
        Command("report", "write a Markdown report from the CSVs (no API calls)", ("scope",), "seconds", False),
    )
}


class ScopeKind(NamedTuple):
    name: str
    example: str
    description: str


SCOPE_KINDS: tuple[ScopeKind, ...] = (
    ScopeKind("LIFETIME", "LIFETIME", "all data"),
    ScopeKind("LAST-7-DAYS", "LAST-7-DAYS", "the last 7 days"),
    ScopeKind("LAST-30-DAYS", "LAST-30-DAYS", "the last 30 days"),
    ScopeKind("quarter", "2025-Q3", "a calendar quarter, YYYY-Qn"),
    ScopeKind("month range", "2025-01..2025-03", "whole months, YYYY-MM..YYYY-MM"),
)
DEFAULT_SCOPE = "LAST-30-DAYS"  # as the CLI's own default; a quarter offered is last_complete_quarter's
_FIXED_SCOPES = frozenset({"LIFETIME", "LAST-7-DAYS", "LAST-30-DAYS"})

# A slug names files and travels in argv: no separators, no leading dash or dot, no "..".
SLUG_RE = re.compile(r"^(?!.*\.\.)[a-z0-9][a-z0-9._-]{0,63}$")
_DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)
QUARTER_RE = re.compile(r"^(\d{4})-Q(\d+)$", re.ASCII)  # the scopes' forms (report_check reads them too)
MONTHS_RE = re.compile(r"^(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})$", re.ASCII)
FIRST_SCOPE_YEAR = 2000  # Google Ads began in 2000: no data before it


def _show(text: object, limit: int = 60) -> str:
    """Quote untrusted input for an error message: repr escapes control characters."""
    s = str(text)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return repr(s)


def is_safe_slug(slug: object) -> bool:
    # fullmatch, because "$" would also match before a trailing newline.
    return isinstance(slug, str) and SLUG_RE.fullmatch(slug) is not None


def check_slug(slug: str, known: Collection[str]) -> str:
    if not is_safe_slug(slug):
        raise RequestError(f"slug {_show(slug)} is not a safe name")
    if slug not in known:
        raise RequestError(f"unknown client {_show(slug)}")
    return slug


def strict_date(value: object) -> date | None:
    """A real YYYY-MM-DD date or None; nothing looser (fromisoformat accepts '20251012')."""
    if isinstance(value, str) and (m := _DAY_RE.fullmatch(value)):
        try:
            return date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    return None


def parse_day(text: str, field: str, *, today: date) -> date:
    day = strict_date(text)
    if day is None:
        raise RequestError(f"{field} date {_show(text)} is not a real YYYY-MM-DD date")
    if day > today:
        raise RequestError(f"{field} {day} is after today ({today})")
    return day


def last_complete_quarter(today: date) -> str:
    """`2025-Q3` on any day of 2025's fourth quarter: the newest quarter that has ended by `today`."""
    quarter = (today.month - 1) // 3  # this quarter's index, 0-3: the one before it has ended
    return f"{today.year - 1}-Q4" if quarter == 0 else f"{today.year}-Q{quarter}"


def scope_kinds(today: date) -> tuple[ScopeKind, ...]:
    """SCOPE_KINDS with the quarter's example the last complete quarter as of `today`."""
    quarter = last_complete_quarter(today)
    return tuple(ScopeKind(k.name, quarter, k.description) if k.name == "quarter" else k for k in SCOPE_KINDS)


def _check_years(text: str, years: tuple[int, ...], today: date | None) -> None:
    last = (today or date.today()).year + 1  # a quarter or month may be asked for just ahead
    if not all(FIRST_SCOPE_YEAR <= year <= last for year in years):
        raise RequestError(f"scope {_show(text)}: year must be {FIRST_SCOPE_YEAR}–{last}")


def check_scope(text: str, *, today: date | None = None) -> str:
    """The normalised scope; `today` (default: the system date) bounds the years it may name."""
    if not isinstance(text, str):
        raise RequestError(f"scope {_show(text)} is not text")
    scope = text.strip().upper()
    if scope in _FIXED_SCOPES:
        return scope
    if m := QUARTER_RE.fullmatch(scope):
        if len(m[2]) != 1 or not 1 <= int(m[2]) <= 4:
            raise RequestError(f"scope {_show(text)}: quarter must be 1–4")
        _check_years(text, (int(m[1]),), today)
        return scope
    if m := MONTHS_RE.fullmatch(scope):
        start_y, start_m, end_y, end_m = (int(g) for g in m.groups())
        for month in (start_m, end_m):
            if not 1 <= month <= 12:
                raise RequestError(f"scope {_show(text)}: month must be 01–12")
        _check_years(text, (start_y, end_y), today)
        if (start_y, start_m) > (end_y, end_m):
            raise RequestError(f"scope {_show(text)}: range starts after it ends")
        return scope
    kinds = ", ".join(k.example for k in SCOPE_KINDS)
    raise RequestError(f"scope {_show(text)} is not one of: {kinds}")


class JobParams(TypedDict, total=False):
    """A command's optional arguments, as the engine takes them."""
    start: str | None
    end: str | None
    scope: str | None


class JobRequest(NamedTuple):
    command: str
    slug: str
    args: Mapping[str, str] = MappingProxyType({})  # NamedTuple: one shared default, so one that cannot change

    def argv(self) -> list[str]:
        # Re-checked here, the one way to argv: a request may come from the job store, or
        # have had its args dict changed, since build_request validated it.
        spec = COMMANDS.get(self.command)
        if spec is None:
            raise RequestError(f"unknown command {_show(self.command)} (known: {', '.join(COMMANDS)})")
        if not is_safe_slug(self.slug):
            raise RequestError(f"slug {_show(self.slug)} is not a safe name")
        extra = sorted(set(self.args) - set(spec.params))
        if extra:
            raise RequestError(f"{self.command} does not take --{extra[0]}")
        argv = [self.command, self.slug]
        for name in spec.params:
            value = self.args.get(name)
            if not isinstance(value, str) or not value:
                raise RequestError(f"{self.command} needs --{name}")
            if value.startswith("-"):  # never let a value be read as a flag
                raise RequestError(f"{name} {_show(value)} must not start with '-'")
            if name == "scope":  # no upper year bound here, as for days: the request was checked when made
                value = check_scope(value, today=date.max)
            else:
                value = parse_day(value, name, today=date.max).isoformat()
            argv += [f"--{name}", value]
        return argv


def build_request(
    command: str,
    slug: str,
    *,
    known_slugs: Collection[str],
    today: date | Callable[[], date],
    start: str | None = None,
    end: str | None = None,
    scope: str | None = None,
) -> JobRequest:
    """`today` bounds dates and scopes; given as a function, it is called only when the command
    takes one (the engine's reads the client's config for its time zone)."""
    spec = COMMANDS.get(command) if isinstance(command, str) else None
    if spec is None:
        raise RequestError(f"unknown command {_show(command)} (known: {', '.join(COMMANDS)})")
    given = {"start": start, "end": end, "scope": scope}
    for name, value in given.items():
        if value is not None and name not in spec.params:
            raise RequestError(f"{command} does not take --{name}")
    check_slug(slug, known_slugs)

    args: dict[str, str] = {}
    if command == "repair":
        if start is None or end is None:
            raise RequestError("repair needs --start and --end")
        day = today() if callable(today) else today
        first = parse_day(start, "start", today=day)
        last = parse_day(end, "end", today=day)
        if first > last:
            raise RequestError(f"start {first} is after end {last}")
        args = {"start": first.isoformat(), "end": last.isoformat()}
    elif command == "report":
        args = {"scope": check_scope(DEFAULT_SCOPE if scope is None else scope,
                                     today=today() if callable(today) else today)}
    return JobRequest(command, slug, args)


def cli_prefix(prefix: str) -> list[str]:
    """The command that runs ads_sync, split like a shell would (and never run through one)."""
    try:
        head = shlex.split(prefix) if isinstance(prefix, str) else []
    except ValueError as exc:
        raise RequestError(f"the ads_sync command {_show(prefix)} cannot be split: {exc}") from None
    if not head:
        raise RequestError("the ads_sync command is empty (set ADS_SYNC_CLI_COMMAND)")
    return head


def cli_argv(prefix: str, request: JobRequest) -> list[str]:
    return cli_prefix(prefix) + request.argv()
