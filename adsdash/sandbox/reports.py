"""`report SLUG --scope S`: a Markdown report from the master CSV, numbered per client and year.

The real v0.1.0 only reserves the sequence number; the sandbox writes the file that
docs/ads-sync-contract.md describes. Any scope string is accepted: one it cannot read
covers all data.
"""

from __future__ import annotations

import argparse
import calendar
import fcntl
import json
import logging
import os
import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

from adsdash.sandbox import data, pacing
from adsdash.sandbox.project import ClientConfig, Project, load_config, load_state, yesterday_in

log = logging.getLogger("ads_sync")

_LAST_N = re.compile(r"LAST-(\d{1,4})-DAYS")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTHS = re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")


def scope_range(scope: str, yesterday: date) -> tuple[date, date] | None:
    """The dates a scope covers (inclusive), or None for all data (LIFETIME or unreadable)."""
    try:
        if m := _LAST_N.fullmatch(scope):
            return yesterday - timedelta(days=int(m[1]) - 1), yesterday
        if m := _QUARTER.fullmatch(scope):
            year, q = int(m[1]), int(m[2])
            last = 3 * q
            return date(year, last - 2, 1), date(year, last, calendar.monthrange(year, last)[1])
        if m := _MONTHS.fullmatch(scope):
            y2, m2 = int(m[3]), int(m[4])
            return date(int(m[1]), int(m[2]), 1), date(y2, m2, calendar.monthrange(y2, m2)[1])
    except ValueError:  # month 13, year 0 and the like
        return None
    return None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _money(x: float, currency: str) -> str:
    return f"{x:,.2f} {currency}"


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.2f}%" if b else "-"


def _per(a: float, b: float, currency: str) -> str:
    return _money(a / b, currency) if b else "-"


def render(cfg: ClientConfig, scope: str, rows: list[list[str]], span: tuple[date, date] | None,
           generated: datetime) -> str:
    """The report body: header, totals, per-campaign and per-month tables."""
    c = {name: i for i, name in enumerate(data.COLUMNS)}
    cur = cfg.currency_code
    if span is None and scope != "LIFETIME":
        period = "all data (scope not recognised)"
    elif span is None:
        period = "all data"
    else:
        period = f"{span[0]} to {span[1]}"
    lines = [
        f"# Campaign report: {_cell(cfg.client_name)}", "",
        f"- Client: `{cfg.slug}` (customer {cfg.customer_id or 'unknown'})",
        f"- Scope: {_cell(scope)} ({period})",
    ]
    found = data.date_span(rows)
    lines.append(f"- Data: {found[0]} to {found[1]}, {len(rows)} rows" if found else "- Data: none in this period")
    lines += [f"- Generated: {generated:%Y-%m-%d %H:%M:%S} by the ads_sync sandbox", ""]

    def totals(rs: list[list[str]]) -> tuple[int, int, float, float, float]:
        return (sum(int(r[c["impressions"]]) for r in rs), sum(int(r[c["clicks"]]) for r in rs),
                sum(float(r[c["cost"]]) for r in rs), sum(float(r[c["conversions"]]) for r in rs),
                sum(float(r[c["conversions_value"]]) for r in rs))

    imp, clk, cost, conv, value = totals(rows)
    lines += [
        "## Totals", "", "| Metric | Value |", "|---|---:|",
        f"| Impressions | {imp:,} |", f"| Clicks | {clk:,} |", f"| Cost | {_money(cost, cur)} |",
        f"| Conversions | {conv:,.1f} |", f"| Conversion value | {_money(value, cur)} |",
        f"| CTR | {_pct(clk, imp)} |", f"| Avg. CPC | {_per(cost, clk, cur)} |",
        f"| CPA | {_per(cost, conv, cur)} |", f"| Conv. rate | {_pct(conv, clk)} |", "",
    ]
    groups: dict[tuple[str, str], list[list[str]]] = defaultdict(list)
    months: dict[str, list[list[str]]] = defaultdict(list)
    for r in rows:
        groups[(r[c["campaign_name"]], r[c["campaign_status"]])].append(r)
        months[r[c["date"]][:7]].append(r)
    lines += ["## Campaigns", "",
              "| Campaign | Status | Impressions | Clicks | Cost | Conversions | CTR | CPA |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for (name, status), rs in sorted(groups.items(), key=lambda kv: -totals(kv[1])[2]):
        i, k, co, cv, _ = totals(rs)
        lines.append(f"| {_cell(name)} | {status} | {i:,} | {k:,} | {_money(co, cur)} | {cv:,.1f} "
                     f"| {_pct(k, i)} | {_per(co, cv, cur)} |")
    if not groups:
        lines.append("| (no campaigns with data) | | | | | | | |")
    lines += ["", "## By month", "", "| Month | Impressions | Clicks | Cost | Conversions |",
              "|---|---:|---:|---:|---:|"]
    for month in sorted(months):
        i, k, co, cv, _ = totals(months[month])
        lines.append(f"| {month} | {i:,} | {k:,} | {_money(co, cur)} | {cv:,.1f} |")
    return "\n".join(lines) + "\n"


def _safe_scope(scope: str) -> str:
    # The scope goes into a file name: keep it one path component.
    return re.sub(r"[/\\\x00]", "_", scope) or "_"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(project: Project, cfg: ClientConfig, scope: str, now: datetime | None = None) -> Path:
    """Write output/SLUG/YEAR/NNN-SLUG-report-SCOPE-STAMP.md and record it in index.json."""
    local = now.astimezone() if now else datetime.now()
    span = scope_range(scope, yesterday_in(cfg.timezone, now))
    csv_path = project.master_csv(cfg.slug)
    rows = data.read_csv(csv_path) if csv_path.exists() else []
    if span is not None:
        lo, hi = span[0].isoformat(), span[1].isoformat()
        rows = [r for r in rows if lo <= r[2] <= hi]
    body = render(cfg, scope, rows, span, local)
    folder = project.output_dir(cfg.slug, local.year)
    folder.mkdir(parents=True, exist_ok=True)
    # The folder's flock serialises concurrent reports; index.json is replaced atomically.
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(dir_fd, fcntl.LOCK_EX)
        index_path = folder / "index.json"
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            index = {"last_sequence": 0, "reports": []}
        seq = int(index.get("last_sequence") or 0) + 1
        name = f"{seq:03d}-{cfg.slug}-report-{_safe_scope(scope)}-{local:%Y%m%d_%H%M%S}.md"
        _write_atomic(folder / name, body)
        index["last_sequence"] = seq
        index.setdefault("reports", []).append({
            "sequence": seq, "file": name, "scope": scope,
            "start_date": span[0].isoformat() if span else None,
            "end_date": span[1].isoformat() if span else None,
            "rows": len(rows), "generated_at": local.isoformat(timespec="seconds"),
        })
        _write_atomic(index_path, json.dumps(index, indent=2))
    finally:
        os.close(dir_fd)  # closing releases the flock
    return folder / name


def handle_report(project: Project, args: argparse.Namespace) -> None:
    slug, scope = args.slug, args.scope
    log.info(f"Generating report for '{slug}' with scope '{scope}'")
    try:
        cfg = load_config(project, slug)
        pacing.set_client_factor(cfg.sandbox.get("delay_factor", 1))
        load_state(project, slug)  # the real tool reads it too, so a broken state fails here
        pacing.pause(0.4)
        if cfg.fails("report"):
            raise RuntimeError(cfg.fail_message)
        path = write_report(project, cfg, scope)
        pacing.pause(0.3)
        log.info(f"Report written to: {path}")
    except Exception as e:
        log.error(f"Report generation failed: {e}")
        raise
