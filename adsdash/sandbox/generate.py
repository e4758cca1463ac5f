"""A demo ads_sync workspace: N varied clients, written as the real tool would leave them.

Everything is deterministic for a given N and `now`: names, slugs, zones, kinds, data.
Kinds: fresh (watermark = yesterday in the client's zone), late (1-2 days behind),
stale (weeks behind), never initialised (no state), and one each of: a stale lock
whose PID is dead, an append that fails (config `sandbox.fail` plus an error file),
and a state file that is not valid JSON.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from adsdash.sandbox import data
from adsdash.sandbox.locks import pid_alive
from adsdash.sandbox.project import Project, new_state, parse_config, utc_iso, write_error_file, yesterday_in
from adsdash.sandbox.reports import write_report

CHI, NY, DEN, LA = "America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"

# (name, zone, currency, customer id or None): the first 30 cover every zone and punctuation.
CURATED: list[tuple[str, str, str, str | None]] = [
    ("Priority Roofing", CHI, "USD", "413-902-2884"),
    ("Abe Lincoln Movers", CHI, "USD", "988-317-8263"),
    ("Santana & Blanchard Law Firm", CHI, "USD", None),
    ("Smith, Jones & Partners, LLP", NY, "USD", None),
    ("Dr. Maria Chen, DDS", LA, "USD", None),
    ("A-1 Plumbing & Drain", CHI, "USD", None),
    ("Summit Roofing (Denver)", DEN, "USD", None),
    ("Bay Area HVAC: Heating & Cooling", LA, "USD", None),
    ("O'Brien Family Dentistry", NY, "USD", None),
    ("Lone Star Garage Doors", CHI, "USD", None),
    ("Thames Valley Removals Ltd.", "Europe/London", "GBP", None),
    ("Metro Electric, Inc.", CHI, "USD", None),
    ("Windy City Pest Control", CHI, "USD", None),
    ("Rocky Mountain Solar", DEN, "USD", None),
    ("Pacific Coast Auto Glass", LA, "USD", None),
    ("Hudson Valley Orthodontics", NY, "USD", None),
    ("Gulf Coast Pool & Spa", CHI, "USD", None),
    ("Main St. Bakery & Café", NY, "USD", None),
    ("Golden Gate Chiropractic", LA, "USD", None),
    ("Lakeshore Kitchen & Bath", CHI, "USD", None),
    ("Prairie State Insurance Group", CHI, "USD", None),
    ("Desert Sun Air (Phoenix)", "America/Phoenix", "USD", None),
    ("Empire Tree Service", NY, "USD", None),
    ("Great Lakes Water Damage Restoration", CHI, "USD", None),
    ("Front Range Fencing", DEN, "USD", None),
    ("Apex Towing & Recovery 24/7", CHI, "USD", None),
    ("Twin Cities Carpet Cleaning", CHI, "USD", None),
    ("Keystone Personal Injury Lawyers", NY, "USD", None),
    ("Miller & Sons Roofing - Est. 1987", CHI, "USD", None),
    ("Sunrise Senior Living: Oak Park", CHI, "USD", None),
    ("Redwood Family Law, P.C.", LA, "USD", None),
    ("Cascade Window Cleaning", LA, "USD", None),
]
_SURNAMES = ("Garcia", "Patel", "Nguyen", "Kowalski", "Okafor", "Schmidt", "Rossi", "Johnson",
             "Lindqvist", "Haddad", "Murphy", "Tanaka", "Delgado", "Brooks", "Fischer", "Walsh")
_PLACES = ("Lakeside", "Northside", "Riverbend", "Cedar Park", "Oak Hill", "Bluebonnet", "Harbor",
           "Pinecrest", "Maple Grove", "Silver Creek", "Eastgate", "Willow Springs", "Highland")
_TRADES = ("Plumbing", "Roofing", "HVAC", "Dental", "Law Group", "Movers", "Landscaping",
           "Auto Repair", "Electric", "Pest Control", "Med Spa", "Physical Therapy", "Realty")
_SUFFIXES = ("", "", ", Inc.", " LLC", " & Co.", " (Est. 1999)", ": 24/7 Service", " - North")
_ZONES = (CHI, CHI, CHI, NY, NY, DEN, LA, LA)
MCC_ID = "187-720-2760"
_FIELD_HISTORY_DAYS = 730


@dataclass
class ClientPlan:
    slug: str
    name: str
    customer_id: str
    timezone: str
    currency: str
    kind: str  # fresh, late, stale, never, stale_lock, failing, broken_state
    lag: int  # days the watermark is behind yesterday
    readme_format: bool
    sandbox: dict[str, Any] = field(default_factory=dict)


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower().replace("'", "")).strip("-") or "client"


def _name(i: int) -> tuple[str, str, str, str | None]:
    if i < len(CURATED):
        return CURATED[i]
    rng = random.Random(f"adsdash-sandbox-name:{i}")
    pattern = rng.randrange(4)
    if pattern == 0:
        name = f"{rng.choice(_SURNAMES)} & {rng.choice(_SURNAMES)} {rng.choice(_TRADES)}"
    elif pattern == 1:
        name = f"{rng.choice(_PLACES)} {rng.choice(_TRADES)}{rng.choice(_SUFFIXES)}"
    elif pattern == 2:
        name = f"{rng.choice(_SURNAMES)}'s {rng.choice(_TRADES)} ({rng.choice(_PLACES)})"
    else:
        name = f"Dr. {rng.choice(_SURNAMES)}, {rng.choice(_PLACES)} {rng.choice(_TRADES)}"
    return name, rng.choice(_ZONES), "USD", None


def _kinds(n: int) -> list[str]:
    """Kinds for n clients: the first is always fresh, the rest shuffled with a fixed seed."""
    if n < 12:
        order = ["fresh", "late", "stale", "never", "stale_lock", "failing", "broken_state",
                 "fresh", "late", "never", "stale"]
        return order[:n]
    never, late, stale = max(2, round(n * 0.06)), max(2, round(n * 0.15)), max(2, round(n * 0.1))
    kinds = ["stale_lock", "failing", "broken_state"] + ["never"] * never + ["late"] * late + ["stale"] * stale
    kinds += ["fresh"] * (n - 1 - len(kinds))
    random.Random(f"adsdash-sandbox-kinds:{n}").shuffle(kinds)
    return ["fresh", *kinds]


def plan(clients: int) -> list[ClientPlan]:
    """What create_workspace writes, without writing it."""
    result, seen = [], set()
    fresh_seen = 0
    for i, kind in enumerate(_kinds(clients)):
        name, tz, currency, customer = _name(i)
        slug = base = slugify(name)
        k = 2
        while slug in seen:
            slug, k = f"{base}-{k}", k + 1
        seen.add(slug)
        rng = random.Random(f"adsdash-sandbox-client:{slug}")
        customer = customer or f"{rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
        lag = {"fresh": 0, "broken_state": 0, "late": rng.choice((1, 2)), "stale_lock": 1,
               "failing": 3, "stale": rng.randint(7, 42), "never": 0}[kind]
        sandbox: dict[str, Any] = {}
        if kind == "failing":
            sandbox = {"fail": ["append"]}
        elif kind == "fresh":
            fresh_seen += 1
            if fresh_seen == 3:
                sandbox = {"extra_lines": 400}  # a chatty client, for log throughput
            elif fresh_seen == 4:
                sandbox = {"delay_factor": 3}  # a slow account
        result.append(ClientPlan(slug, name, customer, tz, currency, kind, lag,
                                 readme_format=i % 15 == 3, sandbox=sandbox))
    return result


def _scalar(value: str) -> str:
    """The value as YAML: plain when it reads back unchanged, else double-quoted."""
    try:
        if yaml.safe_load(f"k: {value}") == {"k": value}:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


def config_text(p: ClientPlan) -> str:
    if p.readme_format:
        text = (f"customer_id: \"{p.customer_id.replace('-', '')}\"\nslug: {p.slug}\n"
                f"client_name: {_scalar(p.name)}\ntimezone: {p.timezone}\ncurrency_code: {p.currency}\n"
                f"mcc_customer_id: \"{MCC_ID.replace('-', '')}\"\n"
                "data_sources:\n  google_ads: {enabled: true}\n  google_lsa: {enabled: false}\n"
                "  search_terms: {enabled: true}\n"
                "sync:\n  overlap_days: 3\n  max_window_days: 30\n  backfill_chunk_days: 90\n"
                "reporting:\n  default_scope: LAST-30-DAYS\n")
    else:  # the field format: client_id dashed, time_zone
        text = (f"client_id: {p.customer_id}\nclient_name: {_scalar(p.name)}\n"
                f"time_zone: {p.timezone}\ncurrency_code: {p.currency}\n"
                "data_sources:\n  google_ads: {enabled: true, mcc_id: null}\n"
                "  google_lsa: {enabled: false, import_method: csv}\n"
                "reporting:\n  default_template: campaign_report.md.j2\n  default_scope: LAST-30-DAYS\n")
    if p.sandbox:
        text += yaml.safe_dump({"sandbox": p.sandbox}, default_flow_style=None, sort_keys=False)
    return text


def _dead_pid() -> int:
    """The PID of a process that has exited and been reaped: surely not running."""
    for _ in range(5):
        try:
            child = subprocess.Popen(["true"])
        except OSError:
            child = subprocess.Popen([sys.executable, "-c", "pass"])
        child.wait()
        if not pid_alive(child.pid):
            return child.pid
    return 2**22 + 1  # above the usual pid_max


def history_days(clients: int) -> int:
    """Two years of history, shortened for big workspaces so generation stays quick."""
    return _FIELD_HISTORY_DAYS if clients <= 60 else max(60, _FIELD_HISTORY_DAYS * 60 // clients)


def create_workspace(root: Path, clients: int = 30, *, now: datetime | None = None,
                     overwrite: bool = False) -> list[str]:
    """Write a sandbox ads_sync workspace of `clients` clients under `root`; return the slugs.

    Refuses (FileExistsError) a folder that already has client configs unless `overwrite`,
    so a real ads_sync folder is not written over by mistake.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    project = Project(Path(root))
    if not overwrite and project.configs.exists() and any(project.configs.glob("*.yaml")):
        raise FileExistsError(f"{project.configs} already has client configs")
    for sub in ("configs/clients", "state", "locks", "errors", "data", "output", "logs"):
        (project.root / sub).mkdir(parents=True, exist_ok=True)
    days = history_days(clients)
    dead_pid = None
    plans = plan(clients)
    fresh_with_reports = 0
    old_error_written = False
    for p in plans:
        raw_text = config_text(p)
        project.config_path(p.slug).write_text(raw_text, encoding="utf-8")
        if p.kind == "never":
            continue
        cfg = parse_config(p.slug, yaml.safe_load(raw_text))
        watermark = yesterday_in(p.timezone, now) - timedelta(days=p.lag)
        rng = random.Random(f"adsdash-sandbox-state:{p.slug}")
        # The append that set this watermark ran the next morning, client time.
        ran_local = datetime.combine(watermark + timedelta(days=1), time(0, 30), ZoneInfo(p.timezone))
        ran = min(ran_local + timedelta(minutes=rng.randint(0, 480)), now - timedelta(minutes=2))
        rows = data.rows_between(p.slug, watermark - timedelta(days=days - 1), watermark,
                                 p.currency, utc_iso(ran))
        data.write_csv(project.master_csv(p.slug), rows)
        state = new_state(p.slug, now - timedelta(days=min(days, rng.randint(90, 420))))
        state.update(timezone=cfg.state_timezone, currency_code=p.currency)
        state["google_ads"]["watermark_date"] = watermark.isoformat()
        state["data_quality"].update(
            last_validation=utc_iso(ran), last_append=utc_iso(ran), total_rows=len(rows),
            duplicate_rows_removed=rng.randint(40, 2400))
        state["last_updated"] = utc_iso(ran)
        text = json.dumps(state, indent=2)
        if p.kind == "broken_state":
            text = text[: len(text) // 3]  # cut mid-write: not valid JSON
        project.state_path(p.slug).write_text(text, encoding="utf-8")
        if p.kind == "stale_lock":
            dead_pid = dead_pid or _dead_pid()
            project.locks.joinpath(f"{p.slug}.lock").write_text(
                f"pid: {dead_pid}\ntimestamp: {(now - timedelta(hours=5)).timestamp()}\n")
        elif p.kind == "failing":
            failed = now - timedelta(hours=2)
            window = {"start_date": (watermark - timedelta(days=3)).isoformat(),
                      "end_date": yesterday_in(p.timezone, failed).isoformat()}
            write_error_file(project, p.slug, "append", "GoogleAdsException", cfg.fail_message,
                             window, when=failed)
        elif p.kind == "stale" and not old_error_written:
            # An old, transient failure nobody followed up: the client went stale after it.
            old_error_written = True
            failed = ran + timedelta(days=1)
            window = {"start_date": (watermark - timedelta(days=3)).isoformat(),
                      "end_date": (watermark + timedelta(days=1)).isoformat()}
            write_error_file(project, p.slug, "append", "GoogleAdsException",
                             "QuotaError.RESOURCE_EXHAUSTED: Too many requests. Retry in 30 seconds.",
                             window, when=failed)
        elif p.kind == "fresh" and fresh_with_reports < 3:
            fresh_with_reports += 1
            last_q = (watermark.month - 1) // 3 or 4
            year = watermark.year if last_q != 4 else watermark.year - 1
            for hours, scope in ((30, f"{year}-Q{last_q}"), (3, "LAST-30-DAYS")):
                write_report(project, cfg, scope, now=now - timedelta(hours=hours))
    return [p.slug for p in plans]


def env_lines(root: Path, *, home: Path | None = None) -> list[str]:
    """Shell lines that point adsdash at the workspace and at this sandbox CLI (and at a data
    folder, when given)."""
    command = f"{shlex.quote(sys.executable)} -m adsdash.sandbox"
    lines = [
        f"export ADS_SYNC_PROJECT_PATH={shlex.quote(str(Path(root).resolve()))}",
        f"export ADS_SYNC_CLI_COMMAND={shlex.quote(command)}",
    ]
    if home is not None:
        lines.append(f"export ADSDASH_HOME={shlex.quote(str(Path(home).resolve()))}")
    return lines
