"""Parsers for the files of the ads_sync folder: config, state, lock, error file.

Every file is untrusted: a file that cannot be turned into data raises Unreadable with a
reason that names it (`rel`). Each kind (`FileKind`) is read in two steps: the file into a
small JSON-able form, then the frozen value from that form, so `parse_cache` can keep the
form across starts and build the value again, with the same checks, without parsing the
file again. Used by `workspace`, through `parse_cache.StatCache`.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from adsdash.catalogue import strict_date

DEFAULT_TIMEZONE = "America/Chicago"
DEFAULT_CURRENCY = "USD"
SOURCES = ("google_ads", "google_lsa", "search_terms")
MAX_FILE_BYTES = 1 << 20  # configs, state, locks and error files are tiny; refuse giants

_DATE_PREFIX_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ].*)?", re.DOTALL | re.ASCII)
_LOCK_LINE_RE = re.compile(r"^\s*(pid|timestamp)\s*:\s*(\S+)\s*$", re.MULTILINE)
_RECOVERY_START_RE = re.compile(r"--(?:from|start)(?:=|\s+)(\d{4}-\d{2}-\d{2})\b", re.ASCII)
_RECOVERY_END_RE = re.compile(r"--(?:to|end)(?:=|\s+)(\d{4}-\d{2}-\d{2})\b", re.ASCII)


@dataclass(frozen=True)
class ErrorInfo:
    path: Path
    timestamp: str | None = None
    command: str | None = None
    exception_type: str | None = None
    message: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    recovery_command: str | None = None
    problem: str | None = None  # the file could not be read: why


@dataclass(frozen=True)
class ParsedConfig:
    name: str | None = None
    customer_id: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    currency: str = DEFAULT_CURRENCY
    problems: tuple[str, ...] = ()
    fatal: str | None = None  # makes the client ERROR


@dataclass(frozen=True)
class ParsedState:
    watermarks: Mapping[str, date | None] = field(default_factory=lambda: MappingProxyType(dict.fromkeys(SOURCES)))
    data_quality: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    raw: Mapping[str, Any] | None = None
    last_updated: str | None = None
    last_append: str | None = None
    problems: tuple[str, ...] = ()
    fatal: str | None = None


NO_STATE = ParsedState()  # before the first init: no state file, every watermark None


@dataclass(frozen=True)
class ParsedLock:
    pid: int | None
    timestamp: float | None
    empty: bool
    problem: str | None


class Unreadable(Exception):
    """A file that cannot be turned into data; the message names the file and why."""


def read_text(path: str, rel: str) -> str:
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"{rel}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{rel}: not UTF-8 text (byte {exc.start})") from None


def load_mapping(path: str, rel: str, fmt: str) -> dict:
    """The file's top-level mapping; fmt is "JSON" or "YAML" (safe loader only)."""
    text = read_text(path, rel)
    data = _load_json(text, rel) if fmt == "JSON" else _load_yaml(text, rel)
    if not isinstance(data, dict):
        found = "nothing" if data is None else f"a {type(data).__name__}"
        raise Unreadable(f"{rel}: expected a mapping of keys at the top, found {found}")
    return data


def _load_json(text: str, rel: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{rel}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # e.g. huge integers, deep nesting
        raise Unreadable(f"{rel}: invalid JSON ({type(exc).__name__})") from None


def _load_yaml(text: str, rel: str) -> Any:
    import yaml  # here, not at the top: only reading a config file needs it (~20 ms to import)

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise Unreadable(f"{rel}: invalid YAML at line {line}: {exc.problem or exc.context}") from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:  # e.g. huge integers, deep nesting
        raise Unreadable(f"{rel}: invalid YAML ({type(exc).__name__})") from None


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


def config_from(data: Mapping, rel: str) -> ParsedConfig:
    problems: list[str] = []
    name = _text(data, ("client_name",), rel, problems)
    customer_id = _text(data, ("customer_id", "client_id"), rel, problems)
    currency = _text(data, ("currency_code",), rel, problems) or DEFAULT_CURRENCY
    before = len(problems)
    zone = _text(data, ("timezone", "time_zone"), rel, problems)
    if zone is not None and zone_named(zone) is None:
        problems.append(f"{rel}: unknown time zone {zone!r}")
    fatal = problems[before] if len(problems) > before else None
    return ParsedConfig(name, customer_id, zone or DEFAULT_TIMEZONE, currency, tuple(problems), fatal)


def state_from(data: dict, rel: str) -> ParsedState:
    problems: list[str] = []
    fatal: str | None = None
    watermarks: dict[str, date | None] = {}
    for source in SOURCES:
        section, why = data.get(source), None
        raw = section.get("watermark_date") if isinstance(section, dict) else None
        if section is not None and not isinstance(section, dict):
            why = f"{rel}: {source} is a {type(section).__name__}, not an object"
        elif raw is not None and strict_date(raw) is None:
            why = f"{rel}: {source}.watermark_date {raw!r} is not a YYYY-MM-DD date"
        watermarks[source] = None if why else strict_date(raw)
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
    return ParsedState(
        MappingProxyType(watermarks), MappingProxyType(quality), MappingProxyType(data),
        _text(data, ("last_updated",), rel, problems), _text(quality, ("last_append",), rel, problems),
        tuple(problems), fatal,
    )


def lock_from(text: str, rel: str) -> ParsedLock:
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
    return ParsedLock(pid, stamp, not text.strip(), f"{rel}: {', '.join(problems)}" if problems else None)


def _error_date(context: Any, key: str, recovery: str | None, pattern: re.Pattern) -> date | None:
    value = context.get(key) if isinstance(context, dict) else None
    if isinstance(value, str) and (m := _DATE_PREFIX_RE.fullmatch(value)) and (day := strict_date(m[1])):
        return day
    if recovery and (m := pattern.search(recovery)):  # the text says --from/--to: take the dates only
        return strict_date(m[1])
    return None


def error_from(data: dict, path: str, rel: str) -> ErrorInfo:
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


# ---- the kinds, as a persistent cache keeps them --------------------------------------

_CONFIG_KEYS = ("client_name", "customer_id", "client_id", "currency_code", "timezone", "time_zone")
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class FileKind:
    """read: (path, rel) -> (value, form); form is JSON-able, or None when it cannot be kept.
    build: (path, rel, form) -> value, the same value read gave; form comes from a cache file,
    so it is as untrusted as the file was (build raises on a form of the wrong shape)."""
    name: str
    read: Callable[[str, str], tuple[Any, Any]]
    build: Callable[[str, str, Any], Any]


def _read_config(path: str, rel: str) -> tuple[ParsedConfig, dict | None]:
    data = load_mapping(path, rel, "YAML")
    # Only the keys config_from looks at; YAML values that JSON cannot hold (dates, lists) are
    # rare and broken anyway: that config is then not kept, and parsed at every start.
    form = {key: data[key] for key in _CONFIG_KEYS if key in data}
    return config_from(data, rel), form if all(type(v) in _SCALARS for v in form.values()) else None


def _read_json(interpret: Callable[[dict, str, str], Any]) -> Callable[[str, str], tuple[Any, dict]]:
    def read(path: str, rel: str) -> tuple[Any, dict]:
        data = load_mapping(path, rel, "JSON")
        return interpret(data, path, rel), data
    return read


def _mapping(form: Any) -> dict:
    if not isinstance(form, dict):
        raise TypeError(f"a cached form must be a mapping, not {type(form).__name__}")
    return form


def _read_lock(path: str, rel: str) -> tuple[ParsedLock, str]:
    text = read_text(path, rel)
    return lock_from(text, rel), text


def _build_lock(path: str, rel: str, form: Any) -> ParsedLock:
    if not isinstance(form, str):
        raise TypeError(f"a cached lock must be text, not {type(form).__name__}")
    return lock_from(form, rel)


CONFIG = FileKind("configs", _read_config, lambda path, rel, form: config_from(_mapping(form), rel))
STATE = FileKind("states", _read_json(lambda data, path, rel: state_from(data, rel)),
                 lambda path, rel, form: state_from(_mapping(form), rel))
LOCK = FileKind("locks", _read_lock, _build_lock)
ERROR = FileKind("errors", _read_json(error_from), lambda path, rel, form: error_from(_mapping(form), path, rel))


@functools.lru_cache(maxsize=512)
def zone_named(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # not found, unsafe key ('../x'), odd characters: all "unknown"
        return None




