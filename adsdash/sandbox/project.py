"""The ads_sync project folder: paths, client configs, state files and error files."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

log = logging.getLogger("ads_sync")

SCHEMA_VERSION = 1
DEFAULT_TZ = "America/Chicago"
DEFAULT_FAIL_MESSAGE = (
    "AuthenticationError.OAUTH_TOKEN_REVOKED: The refresh token was revoked or expired; "
    "re-authorise the Google Ads account."
)


class GoogleAdsException(Exception):
    """What the Google Ads library raises; named like it so tracebacks and error files match."""


GoogleAdsException.__module__ = "google.ads.googleads.errors"


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def configs(self) -> Path:
        return self.root / "configs" / "clients"

    def config_path(self, slug: str) -> Path:
        return self.configs / f"{slug}.yaml"

    def state_path(self, slug: str) -> Path:
        return self.root / "state" / f"{slug}.json"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def errors_dir(self, slug: str) -> Path:
        return self.root / "errors" / slug

    def data_dir(self, slug: str) -> Path:
        return self.root / "data" / slug

    def master_csv(self, slug: str) -> Path:
        return self.data_dir(slug) / f"{slug}-master-campaign_data.csv"

    def output_dir(self, slug: str, year: int) -> Path:
        return self.root / "output" / slug / str(year)


@dataclass(frozen=True)
class ClientConfig:
    """A client's config, read in both spellings (README and field)."""

    slug: str
    customer_id: str
    client_name: str
    timezone: str
    currency_code: str
    overlap_days: int
    max_window_days: int
    chunk_days: int
    backfill_start: date | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def state_timezone(self) -> str:
        # The real tool reads only `timezone`, so field configs end up as Chicago in state.
        return str(self.raw.get("timezone") or DEFAULT_TZ)

    @property
    def sandbox(self) -> dict[str, Any]:
        value = self.raw.get("sandbox")
        return value if isinstance(value, dict) else {}

    def fails(self, command: str) -> bool:
        fail = self.sandbox.get("fail") or []
        return command in ([fail] if isinstance(fail, str) else list(fail))

    @property
    def fail_message(self) -> str:
        return str(self.sandbox.get("fail_message") or DEFAULT_FAIL_MESSAGE)

    @property
    def extra_lines(self) -> int:
        try:
            return max(0, int(self.sandbox.get("extra_lines") or 0))
        except (TypeError, ValueError):
            return 0


def parse_config(slug: str, raw: dict[str, Any]) -> ClientConfig:
    sync = raw.get("sync")
    if not isinstance(sync, dict):
        sync = {}
    customer = raw.get("customer_id") or raw.get("client_id") or ""
    start = sync.get("backfill_start")
    if isinstance(start, str):
        start = date.fromisoformat(start)
    return ClientConfig(
        slug=slug,
        customer_id=str(customer),
        client_name=str(raw.get("client_name") or slug),
        timezone=str(raw.get("timezone") or raw.get("time_zone") or DEFAULT_TZ),
        currency_code=str(raw.get("currency_code") or "USD"),
        overlap_days=int(sync.get("overlap_days", 3)),
        max_window_days=int(sync.get("max_window_days", 30)),
        chunk_days=max(1, int(sync.get("backfill_chunk_days", 90))),
        backfill_start=start if isinstance(start, date) else None,
        raw=raw,
    )


def load_config(project: Project, slug: str) -> ClientConfig:
    path = project.config_path(slug)
    # A slug is a file name; anything path-like is simply not a client.
    if not slug or "/" in slug or "\\" in slug or slug.startswith(".") or not path.exists():
        raise FileNotFoundError(f"Client config not found: {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"Client config is not a mapping: {path}")
    log.info(f"Loaded config for {slug}")
    return parse_config(slug, raw)


def utc_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat()


def yesterday_in(tz_name: str, now: datetime | None = None) -> date:
    """Yesterday as a date in the client's zone: the newest day the API has complete."""
    now = now or datetime.now(UTC)
    return now.astimezone(ZoneInfo(tz_name)).date() - timedelta(days=1)


def new_state(slug: str, now: datetime | None = None) -> dict[str, Any]:
    return {
        "slug": slug,
        "created_at": utc_iso(now),
        "timezone": None,
        "currency_code": None,
        "google_ads": {"watermark_date": None},
        "google_lsa": {"watermark_date": None},
        "search_terms": {"watermark_date": None},
        "schema_version": SCHEMA_VERSION,
        "data_quality": {
            "last_validation": None,
            "last_append": None,
            "total_rows": 0,
            "duplicate_rows_removed": 0,
            "date_gaps": [],
        },
    }


def load_state(project: Project, slug: str) -> dict[str, Any]:
    """The saved state, or a fresh one (not saved) like the real tool; bad JSON raises."""
    path = project.state_path(slug)
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    log.info(f"Initialized new state for {slug}")
    return new_state(slug)


def save_state(project: Project, slug: str, state: dict[str, Any], now: datetime | None = None) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path = project.state_path(slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    state["last_updated"] = utc_iso(now)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the old state stays whole; leave no litter
        raise


def recovery_command(slug: str, command: str, context: dict[str, Any]) -> str:
    # Verbatim from the real tool, including `--from/--to` that repair does not accept.
    if command == "append":
        return (f"python ads_sync_cli.py repair {slug} "
                f"--from {context.get('start_date')} --to {context.get('end_date')}")
    if command == "init":
        return f"python ads_sync_cli.py init {slug}"
    return f"python ads_sync_cli.py {command} {slug}"


def write_error_file(project: Project, slug: str, command: str, exception_type: str,
                     message: str, context: dict[str, Any], when: datetime | None = None) -> Path:
    """errors/SLUG/error_YYYYmmdd_HHMMSS.json (local time, like the real tool)."""
    stamp = (when.astimezone() if when else datetime.now()).strftime("%Y%m%d_%H%M%S")
    path = project.errors_dir(slug) / f"error_{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "timestamp": stamp,
        "command": command,
        "slug": slug,
        "exception_type": exception_type,
        "exception_message": message,
        "context": context,
        "recovery_command": recovery_command(slug, command, context),
    }
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


def save_error(project: Project, slug: str, command: str, exc: BaseException,
               context: dict[str, Any]) -> None:
    """Record a failure and log where, as the real tool does before re-raising."""
    if not project.config_path(slug).exists():
        return  # not a client (unknown slug): no errors/ folder for it
    path = write_error_file(project, slug, command, type(exc).__name__, str(exc), context)
    log.error(f"Error details saved to: {path}")
    log.info(f"Recovery command: {recovery_command(slug, command, context)}")
