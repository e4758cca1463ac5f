"""The sub-commands that touch data: init, append, validate, repair, force-unlock, discover.

Log lines, their order and the end messages follow the real ads_sync CLI (v0.1.0);
pauses stand in for API time (see pacing).
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import random
from datetime import date, timedelta

import yaml

from adsdash.sandbox import data, pacing
from adsdash.sandbox.locks import client_lock, force_unlock
from adsdash.sandbox.project import (
    ClientConfig,
    GoogleAdsException,
    Project,
    load_config,
    load_state,
    parse_config,
    save_error,
    save_state,
    utc_iso,
    yesterday_in,
)

log = logging.getLogger("ads_sync")


def chunk_date_ranges(start: date, end: date, chunk_days: int) -> list[tuple[date, date]]:
    """The real tool's chunking (windows of chunk_days + 1 days, the last one shorter),
    except that a one-day remainder is kept: the real `while current < end` drops it."""
    chunks = []
    current = start
    while current <= end:
        chunk_end = min(current + timedelta(days=chunk_days), end)
        chunks.append((current, chunk_end))
        current = chunk_end + timedelta(days=1)
    return chunks


def _use_client(cfg: ClientConfig) -> None:
    pacing.set_client_factor(cfg.sandbox.get("delay_factor", 1))


def _demanded_failure(cfg: ClientConfig) -> GoogleAdsException:
    log.error("Google Ads API error:")
    log.error(f"  {cfg.fail_message}")
    return GoogleAdsException(cfg.fail_message)


def _fetch(cfg: ClientConfig, start: date, end: date, seconds: float,
           pulled: str, yesterday: date) -> list[list[str]]:
    """A stand-in for one GAQL query: pause, optional progress lines, rows up to yesterday."""
    log.info(f"Fetching campaign data for {cfg.customer_id} from {start} to {end}")
    extra = cfg.extra_lines
    for i in range(1, extra + 1):
        log.info(f"  Streamed page {i}/{extra} for {start} to {end}")
    pacing.pause(seconds)
    rows = data.rows_between(cfg.slug, start, min(end, yesterday), cfg.currency_code, pulled)
    log.info(f"Fetched {len(rows)} rows for date range {start} to {end}")
    return rows


def _write_master(project: Project, slug: str, rows: list[list[str]]) -> None:
    data.write_csv(project.master_csv(slug), rows)
    log.info(f"Wrote master CSV: {project.master_csv(slug)}")


def handle_init(project: Project, args: argparse.Namespace) -> None:
    slug = args.slug
    with client_lock(project.locks, slug):
        log.info(f"Starting initial historical sync for '{slug}'")
        try:
            cfg = load_config(project, slug)
            _use_client(cfg)
            state = load_state(project, slug)
            end = yesterday_in(cfg.timezone)
            start = cfg.backfill_start or end - timedelta(days=730)
            log.info(f"Backfill period: {start} to {end}")
            chunks = chunk_date_ranges(start, end, cfg.chunk_days)
            log.info(f"Split into {len(chunks)} chunks ({cfg.chunk_days}-day max per API limit)")
            fail_at = (len(chunks) + 1) // 2 if cfg.fails("init") else None
            pulled = utc_iso()
            rows: list[list[str]] = []
            for i, (a, b) in enumerate(chunks, 1):
                log.info(f"Processing chunk {i}/{len(chunks)}: {a} to {b}")
                if i == fail_at:
                    pacing.pause(0.8)
                    raise _demanded_failure(cfg)
                rows.extend(_fetch(cfg, a, b, 1.5, pulled, end))
            if rows:
                log.info(f"Combined {len(rows)} total rows from {len(chunks)} chunks")
                rows, _ = data.merge([], rows)
                log.info(f"After deduplication: {len(rows)} rows")
                log.info("Enriched data with calculated metrics (CTR, CPC, CPA, etc.)")
                log.info(f"Schema validation passed ({min(100, len(rows))} rows checked)")
                _write_master(project, slug, rows)
            else:
                log.warning(f"No data fetched for {slug}")
            state["google_ads"]["watermark_date"] = end.isoformat()
            state["timezone"] = cfg.state_timezone
            state["currency_code"] = cfg.currency_code
            state.setdefault("data_quality", {})["total_rows"] = len(rows)
            save_state(project, slug, state)
            log.info(f"Completed initial sync for '{slug}'")
        except Exception as e:
            save_error(project, slug, "init", e, {"phase": "initial_backfill"})
            raise


def append_window(watermark: str | None, overlap: int, max_window: int,
                  yesterday: date) -> tuple[date, date, bool]:
    """watermark - overlap .. yesterday, capped at max_window days (True when capped)."""
    if watermark:
        start = date.fromisoformat(watermark) - timedelta(days=overlap)
    else:
        start = yesterday - timedelta(days=max_window)
    capped = (yesterday - start).days > max_window
    if capped:
        start = yesterday - timedelta(days=max_window)
    return start, yesterday, capped


def handle_append(project: Project, args: argparse.Namespace) -> None:
    slug = args.slug
    with client_lock(project.locks, slug):
        log.info(f"Starting incremental append for '{slug}'")
        context: dict[str, str | None] = {"start_date": None, "end_date": None}
        try:
            cfg = load_config(project, slug)
            _use_client(cfg)
            state = load_state(project, slug)
            yesterday = yesterday_in(cfg.timezone)
            watermark = state["google_ads"]["watermark_date"]
            start, end, capped = append_window(watermark, cfg.overlap_days, cfg.max_window_days, yesterday)
            context = {"start_date": start.isoformat(), "end_date": end.isoformat()}
            log.info(f"Append window: {start} to {end}")
            log.info(f"Overlap: {cfg.overlap_days} days (healing late data)")
            if capped and watermark:
                log.warning(f"Window capped at {cfg.max_window_days} days: "
                            f"dates after {watermark} and before {start} are not pulled")
            # A deterministic, client-specific API latency: 2-5 s at speed 1.
            latency = random.Random(f"{slug}:latency").uniform(2.0, 5.0)
            pacing.pause(0.5)
            if cfg.fails("append"):
                log.info(f"Fetching campaign data for {cfg.customer_id} from {start} to {end}")
                pacing.pause(latency / 2)
                raise _demanded_failure(cfg)
            new_rows = _fetch(cfg, start, end, latency, utc_iso(), yesterday)
            log.info(f"Fetched {len(new_rows)} new rows from API")
            path = project.master_csv(slug)
            if not path.exists():
                log.error(f"Master CSV not found: {path}")
                log.error("Run 'init' command first to create initial data")
                raise FileNotFoundError(f"Master CSV not found for {slug}")
            existing = data.read_csv(path)
            log.info(f"Loaded {len(existing)} existing rows from master CSV")
            pacing.pause(0.4)
            log.info(f"Combined: {len(existing) + len(new_rows)} total rows")
            merged, removed = data.merge(existing, new_rows)
            if removed:
                log.info(f"Removed {removed} duplicate campaign rows")
            log.info(f"After deduplication: {len(merged)} rows")
            log.info("Enriched data with calculated metrics")
            log.info(f"Schema validation passed ({min(100, len(merged))} rows checked)")
            pacing.pause(0.3)
            _write_master(project, slug, merged)
            log.info(f"Net change: +{len(merged) - len(existing)} rows (after dedup)")
            now = utc_iso()
            quality = state.setdefault("data_quality", {})
            state["google_ads"]["watermark_date"] = end.isoformat()
            quality["last_validation"] = now
            quality["last_append"] = now
            quality["total_rows"] = len(merged)
            quality["duplicate_rows_removed"] = int(quality.get("duplicate_rows_removed") or 0) + removed
            save_state(project, slug, state)
            log.info(f"Completed incremental append for '{slug}'")
        except Exception as e:
            save_error(project, slug, "append", e, context)
            raise


def handle_validate(project: Project, args: argparse.Namespace) -> None:
    slug = args.slug
    log.info(f"Validating setup for '{slug}'")
    try:
        cfg = load_config(project, slug)
        _use_client(cfg)
        pacing.pause(0.3)
        if cfg.fails("validate"):
            raise ValueError(cfg.fail_message)
        log.info("[OK] Config file valid")
        had_state = project.state_path(slug).exists()
        state = load_state(project, slug)
        watermark = state["google_ads"]["watermark_date"]
        log.info(f"[OK] State file loaded (watermark: {watermark})")
        pacing.pause(0.4)
        path = project.master_csv(slug)
        if path.exists():
            rows = data.read_csv(path)
            log.info(f"[OK] Master CSV exists ({min(10, len(rows))} sample rows)")
            span = data.date_span(rows)
            if span:
                log.info(f"[OK] {len(rows)} rows from {span[0]} to {span[1]}")
                if watermark and span[1] != watermark:
                    log.warning(f"Watermark {watermark} differs from the last date in the CSV ({span[1]})")
        else:
            log.warning(f"[MISSING] Master CSV not found: {path}")
        pacing.pause(0.4)
        if had_state:
            # Re-read just before writing, so a concurrent append's watermark is not lost.
            fresh = load_state(project, slug)
            fresh.setdefault("data_quality", {})["last_validation"] = utc_iso()
            save_state(project, slug, fresh)
        log.info(f"Validation complete for '{slug}'")
    except Exception as e:
        log.error(f"Validation failed: {e}")
        raise


def handle_repair(project: Project, args: argparse.Namespace) -> None:
    slug = args.slug
    with client_lock(project.locks, slug):
        log.info(f"Repairing data for '{slug}' from {args.start} to {args.end}")
        context = {"start_date": args.start, "end_date": args.end}
        try:
            cfg = load_config(project, slug)
            _use_client(cfg)
            try:
                start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
            except ValueError:
                raise ValueError(f"Invalid date range: {args.start} to {args.end} (expected YYYY-MM-DD)") from None
            if start > end:
                raise ValueError(f"Invalid date range: start {start} is after end {end}")
            yesterday = yesterday_in(cfg.timezone)
            pulled = utc_iso()
            pacing.pause(0.5)
            rows: list[list[str]] = []
            for i, (a, b) in enumerate(chunk_date_ranges(start, end, cfg.chunk_days), 1):
                if cfg.fails("repair") and i == 1:
                    pacing.pause(1.0)
                    raise _demanded_failure(cfg)
                rows.extend(_fetch(cfg, a, b, 1.0, pulled, yesterday))
            path = project.master_csv(slug)
            existing = data.read_csv(path) if path.exists() else []
            if not path.exists():
                log.warning(f"Master CSV not found: {path} (it will be created)")
            merged, removed = data.merge(existing, rows)
            log.info(f"Re-pulled {len(rows)} rows; replaced {removed}, added {len(merged) - len(existing)}")
            pacing.pause(0.5)
            _write_master(project, slug, merged)
            _record_total(project, slug, len(merged), removed)
            log.info(f"Repair complete for '{slug}'")
        except Exception as e:
            save_error(project, slug, "repair", e, context)
            raise


def _record_total(project: Project, slug: str, total: int, removed: int) -> None:
    """Keep state's row counters true after a repair; a missing or broken state is left alone."""
    if not project.state_path(slug).exists():
        return
    try:
        state = load_state(project, slug)
    except ValueError:
        return
    quality = state.setdefault("data_quality", {})
    quality["total_rows"] = total
    quality["duplicate_rows_removed"] = int(quality.get("duplicate_rows_removed") or 0) + removed
    save_state(project, slug, state)


def handle_force_unlock(project: Project, args: argparse.Namespace) -> None:
    slug = args.slug
    # Like the real tool this needs no config; a path-like slug has no lock file.
    removed = "/" not in slug and "\\" not in slug and force_unlock(project.locks, slug)
    print(f"[SUCCESS] Lock removed for '{slug}'" if removed else f"[INFO] No lock found for '{slug}'",
          flush=True)


def handle_discover(project: Project, args: argparse.Namespace) -> None:
    """List the workspace's clients as the accounts under the manager account."""
    log.info("Discovering clients from MCC...")
    pacing.pause(1.0)
    header = ["customer_id", "name", "status", "time_zone", "currency_code", "suggested_slug", "config_exists"]
    accounts = []
    for path in sorted(project.configs.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a mapping")
            cfg = parse_config(path.stem, raw)
        except Exception as e:  # noqa: BLE001 - one bad config must not hide the others
            log.warning(f"Skipping unreadable config {path.name}: {e}")
            continue
        accounts.append([cfg.customer_id.replace("-", ""), cfg.client_name, "ENABLED",
                         cfg.timezone, cfg.currency_code, cfg.slug, "true"])
    log.info(f"Found {len(accounts)} accounts under MCC {args.mcc_id}")
    table = io.StringIO()
    csv.writer(table, lineterminator="\n").writerows([header, *accounts])
    print(table.getvalue(), end="", flush=True)
    if args.export:
        path = project.root / "discovered_clients.csv"
        path.write_text(table.getvalue(), encoding="utf-8")
        log.info(f"Exported {len(accounts)} accounts to: {path}")
