import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from conftest import FILES_NOW, PRODUCTION_CONFIG, Folder, state

from adsdash.freshness import Freshness, Kind
from adsdash.workspace import Workspace

README_CONFIG = """\
customer_id: "1234567890"
slug: readme-style
client_name: Readme Style
timezone: Pacific/Auckland
currency_code: NZD
"""


# ---- configs ---------------------------------------------------------------------

def test_exists_needs_the_clients_folder(tmp_path):
    assert not Workspace(tmp_path / "nowhere").exists()
    assert Workspace(tmp_path / "nowhere").clients() == []
    Folder(tmp_path / "here")
    assert Workspace(tmp_path / "here").exists()


def test_both_config_spellings_are_read(folder, ws):
    folder.client("production", PRODUCTION_CONFIG, state("2025-10-12"))
    folder.client("readme-style", README_CONFIG, state("2025-10-12"))
    prod, readme = ws.clients()
    assert (prod.slug, prod.name, prod.customer_id, prod.timezone, prod.currency) == (
        "production", "Santana & Blanchard Law Firm", "413-902-2884", "America/Los_Angeles", "USD")
    assert (readme.slug, readme.name, readme.customer_id, readme.timezone, readme.currency) == (
        "readme-style", "Readme Style", "1234567890", "Pacific/Auckland", "NZD")
    # Same watermark, same instant: the client's own zone decides.
    assert prod.freshness == Freshness(Kind.FRESH, 0)
    assert readme.freshness == Freshness(Kind.LATE, 1)
    assert prod.problems == () and readme.problems == ()
    assert str(readme.zone) == "Pacific/Auckland"


def test_defaults_when_keys_are_absent(folder, ws):
    folder.client("bare", "client_id: 4139022884\n", state("2025-10-10"))
    bare = ws.client("bare")
    assert (bare.name, bare.customer_id, bare.timezone, bare.currency) == (
        "bare", "4139022884", "America/Chicago", "USD")
    # Chicago's yesterday at NOW is the 12th: lag 2.
    assert bare.freshness == Freshness(Kind.LATE, 2)


@pytest.mark.parametrize(
    ("watermark", "kind", "lag"),
    [("2025-10-13", Kind.FRESH, -1), ("2025-10-12", Kind.FRESH, 0), ("2025-10-11", Kind.LATE, 1),
     ("2025-10-10", Kind.LATE, 2), ("2025-10-09", Kind.STALE, 3), (None, Kind.NEVER, None)],
)
def test_every_kind_from_files(folder, ws, watermark, kind, lag):
    folder.client("c", PRODUCTION_CONFIG, state(watermark))  # Los Angeles: yesterday 2025-10-12
    assert ws.client("c").freshness == Freshness(kind, lag)


def test_thresholds_come_from_the_workspace(folder):
    folder.client("c", PRODUCTION_CONFIG, state("2025-10-09"))
    relaxed = Workspace(folder.root, late_after_days=2, stale_after_days=5, clock=lambda: FILES_NOW)
    assert relaxed.client("c").freshness == Freshness(Kind.LATE, 3)


def test_no_state_file_is_never(folder, ws):
    folder.client("new")
    new = ws.client("new")
    assert new.freshness == Freshness(Kind.NEVER, None)
    assert new.state is None and new.watermarks == {"google_ads": None, "google_lsa": None, "search_terms": None}
    assert new.data_status() == {"slug": "new", "last_append_timestamp": None, "last_sync": None,
                                 "watermark_date": None}


def _make_odd_state(folder, kind, outside):
    path = folder.root / "state/c.json"
    path.parent.mkdir(exist_ok=True)
    if kind == "directory":
        path.mkdir()
        (path / "inner.json").write_text(json.dumps(state()))
    elif kind == "named pipe":
        os.mkfifo(path)  # reading one would block: it must not be opened
    elif kind == "broken symlink":
        path.symlink_to(folder.root / "state/gone.json")
    else:  # a symlink out of the folder: not read, and not "never synced" either
        outside.write_text(json.dumps(state()))
        path.symlink_to(outside)


@pytest.mark.parametrize(("kind", "reason"), [
    ("directory", "state/c.json is a directory, not a regular file"),
    ("named pipe", "state/c.json is a named pipe, not a regular file"),
    ("broken symlink", "state/c.json is a broken symlink"),
    ("escaping symlink", "state/c.json is a symlink that leaves the ads_sync folder"),
])
def test_a_state_path_that_is_not_a_file_is_error_not_never(folder, ws, tmp_path, kind, reason):
    # "never" would invite an init over whatever is there.
    folder.client("c")
    folder.client("healthy", PRODUCTION_CONFIG, state("2025-10-12"))
    _make_odd_state(folder, kind, tmp_path / "outside.json")
    broken, healthy = ws.clients()
    assert broken.freshness == Freshness(Kind.ERROR, None, reason)
    assert broken.problems == (reason,)
    assert ws.client("c").freshness == Freshness(Kind.ERROR, None, reason)
    assert healthy.freshness == Freshness(Kind.FRESH, 0)


def test_data_status_prefers_data_quality_last_append(folder, ws):
    folder.client("a", PRODUCTION_CONFIG, state("2025-10-12"))
    no_quality = state("2025-10-12")
    del no_quality["data_quality"]
    folder.client("b", PRODUCTION_CONFIG, no_quality)
    a, b = ws.clients()
    assert a.data_status() == {"slug": "a", "last_append_timestamp": "2025-10-13T08:00:00+00:00",
                               "last_sync": "2025-10-13T08:05:00+00:00", "watermark_date": "2025-10-12"}
    assert b.data_status()["last_append_timestamp"] == "2025-10-13T08:05:00+00:00"
    assert a.data_quality["total_rows"] == 4213 and a.state["slug"] == "x"


# ---- broken files: ERROR with a reason, never an exception -----------------------------

@pytest.mark.parametrize(
    ("config", "state_", "reason"),
    [
        ("client_name: [oops\n", None, "configs/clients/c.yaml: invalid YAML at line 2"),
        ("- a\n- b\n", None, "configs/clients/c.yaml: expected a mapping of keys at the top, found a list"),
        ("", None, "configs/clients/c.yaml: expected a mapping of keys at the top, found nothing"),
        ("time_zone: Mars/Olympus\n", None, "configs/clients/c.yaml: unknown time zone 'Mars/Olympus'"),
        ("timezone: ../../../etc/passwd\n", None, "unknown time zone '../../../etc/passwd'"),
        ("timezone: America\n", None, "unknown time zone 'America'"),  # a directory of zones
        (f"timezone: {'a' * 300}\n", None, "unknown time zone 'aaaa"),  # OSError: name too long
        ("timezone: [a]\n", None, "configs/clients/c.yaml: timezone is a list, not text"),
        (b"client_name: \xff\xfe\n", None, "configs/clients/c.yaml: not UTF-8 text"),
        (PRODUCTION_CONFIG, "{not json", "state/c.json: invalid JSON at line 1"),
        (PRODUCTION_CONFIG, ["a", "list"], "state/c.json: expected a mapping of keys at the top, found a list"),
        (PRODUCTION_CONFIG, state("2025/10/12"),
         "state/c.json: google_ads.watermark_date '2025/10/12' is not a YYYY-MM-DD date"),
        (PRODUCTION_CONFIG, state("2025-02-30"), "google_ads.watermark_date '2025-02-30' is not a YYYY-MM-DD date"),
        (PRODUCTION_CONFIG, state(20251012), "google_ads.watermark_date 20251012 is not a YYYY-MM-DD date"),
        (PRODUCTION_CONFIG, {"google_ads": "2025-10-12"}, "state/c.json: google_ads is a str, not an object"),
        (PRODUCTION_CONFIG, "[" * 100_000, "state/c.json: invalid JSON"),
    ],
)
def test_broken_client_is_error_with_reason(folder, ws, config, state_, reason):
    folder.client("c", config, state_)
    folder.client("healthy", PRODUCTION_CONFIG, state("2025-10-12"))
    broken, healthy = ws.clients()
    assert broken.slug == "c"
    assert broken.freshness.kind is Kind.ERROR
    assert broken.freshness.reason.startswith(reason) or reason in broken.freshness.reason
    assert broken.freshness.reason in broken.problems
    if "time zone" in reason:
        assert broken.zone is None  # callers can ask without try/except
    assert healthy.freshness == Freshness(Kind.FRESH, 0)


def test_a_huge_file_is_refused_not_read(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, "{" + " " * (2 << 20) + "}")
    assert "state/c.json: larger than" in ws.client("c").freshness.reason


def test_other_sources_problems_are_reported_but_not_fatal(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state("2025-10-12", google_lsa={"watermark_date": "soon"},
                                               data_quality=[1], last_updated=5))
    c = ws.client("c")
    assert c.freshness == Freshness(Kind.FRESH, 0)
    assert c.watermarks["google_lsa"] is None
    assert "state/c.json: google_lsa.watermark_date 'soon' is not a YYYY-MM-DD date" in c.problems
    assert "state/c.json: data_quality is a list, not an object" in c.problems
    assert c.last_sync == "5"  # numbers are shown as text rather than dropped


# ---- locks -------------------------------------------------------------------------

def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lock_alive_dead_and_garbage(folder, ws):
    for slug in ("alive", "dead", "garbage", "none"):
        folder.client(slug, PRODUCTION_CONFIG, state())
    folder.write("locks/alive.lock", f"pid: {os.getpid()}\ntimestamp: {FILES_NOW.timestamp() - 42.5}\n")
    folder.write("locks/dead.lock", f"pid: {dead_pid()}\ntimestamp: {FILES_NOW.timestamp() - 600}\n")
    garbage = folder.write("locks/garbage.lock", "hello\npid: -1\ntimestamp: soon\n")
    os.utime(garbage, (FILES_NOW.timestamp() - 90, FILES_NOW.timestamp() - 90))
    clients = {c.slug: c for c in ws.clients()}
    alive, dead, junk = clients["alive"].lock, clients["dead"].lock, clients["garbage"].lock
    assert (alive.pid, alive.alive, alive.age_seconds, alive.problem) == (os.getpid(), True, 42.5, None)
    assert dead.alive is False and dead.age_seconds == 600 and dead.problem is None
    assert junk.pid is None and junk.alive is False
    assert junk.age_seconds == pytest.approx(90, abs=1)  # from the file's mtime
    assert junk.problem == "locks/garbage.lock: bad pid '-1', bad timestamp 'soon'"
    assert junk.problem in clients["garbage"].problems
    assert clients["none"].lock is None


def test_lock_liveness_is_rechecked_while_the_file_stays(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder.write("locks/c.lock", f"pid: {child.pid}\ntimestamp: {FILES_NOW.timestamp()}\n")
        assert ws.client("c").lock.alive is True
        assert ws.clients()[0].lock.alive is True
    finally:
        child.kill()
        child.wait()
    assert ws.client("c").lock.alive is False
    assert ws.clients()[0].lock.alive is False


def test_empty_lock_just_created_counts_as_held(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state())
    lock = folder.write("locks/c.lock", "")
    os.utime(lock, (FILES_NOW.timestamp() - 1, FILES_NOW.timestamp() - 1))
    assert ws.client("c").lock.alive is True
    os.utime(lock, (FILES_NOW.timestamp() - 3600, FILES_NOW.timestamp() - 3600))
    assert ws.client("c").lock.alive is False


# ---- errors ----------------------------------------------------------------------

def test_newest_error_by_name_with_context_dates(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state())
    newer = folder.write("errors/c/error_20251013_080001.json", {
        "timestamp": "2025-10-13T08:00:01", "command": "append", "slug": "c",
        "exception_type": "FileNotFoundError", "exception_message": "Google Ads credentials not found",
        "context": {"start_date": "2025-10-09", "end_date": "2025-10-12"},
        "recovery_command": "python ads_sync_cli.py repair c --from 2025-01-01 --to 2025-01-02"})
    older = folder.write("errors/c/error_20250901_000000.json", {"command": "init"})
    folder.write("errors/c/notes.txt", "not an error file")
    os.utime(newer, (1, 1))  # the name's stamp decides, not the mtime
    error = ws.client("c").newest_error
    assert error.path == newer and older.exists()
    assert (error.command, error.exception_type, error.message) == (
        "append", "FileNotFoundError", "Google Ads credentials not found")
    assert (error.start_date, error.end_date) == (date(2025, 10, 9), date(2025, 10, 12))


@pytest.mark.parametrize(
    "recovery",
    ["python ads_sync_cli.py repair c --from 2025-09-01 --to 2025-09-30",
     "python ads_sync_cli.py repair c --start 2025-09-01 --end 2025-09-30",
     "python ads_sync_cli.py repair c --start=2025-09-01 --end=2025-09-30"],
)
def test_error_dates_from_the_recovery_command(folder, ws, recovery):
    folder.client("c", PRODUCTION_CONFIG, state())
    folder.write("errors/c/error_20251013_080001.json", {"command": "append", "recovery_command": recovery,
                                                         "context": {"start_date": 7}})
    error = ws.clients()[0].newest_error
    assert (error.start_date, error.end_date) == (date(2025, 9, 1), date(2025, 9, 30))
    assert error.recovery_command == recovery


def test_broken_error_file_is_a_problem_not_a_crash(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state())
    folder.write("errors/c/error_20251013_080001.json", "{")
    c = ws.client("c")
    assert c.newest_error.command is None
    assert c.newest_error.problem.startswith("errors/c/error_20251013_080001.json: invalid JSON at line 1")
    assert c.freshness.kind is Kind.FRESH  # the data itself is fine


# ---- reports ---------------------------------------------------------------------

def test_reports_newest_first_and_only_matching_files(folder, ws):
    folder.client("acme")
    names = [
        "2024/007-acme-report-LIFETIME-20241230_090000.md",
        "2025/001-acme-report-2025-01..2025-03-20250401_101010.md",
        "2025/010-acme-report-LAST-30-DAYS-20251001_080000.md",
        "2025/002-acme-report-2025-Q3-20251002_080000.md",
    ]
    for name in names:
        folder.write(f"output/acme/{name}", "# report\n")
    for junk in ("2025/index.json", "2025/003-acmex-report-LIFETIME-20251001_080000.md",
                 "2025/004-acme-report-LIFETIME-2025.md", "notayear/005-acme-report-LIFETIME-20251001_080000.md",
                 "2025/006-other-report-LIFETIME-20251001_080000.md"):
        folder.write(f"output/acme/{junk}", "x")
    reports = ws.reports("acme")
    assert [(r.year, r.sequence, r.scope) for r in reports] == [
        (2025, 10, "LAST-30-DAYS"), (2025, 2, "2025-Q3"), (2025, 1, "2025-01..2025-03"), (2024, 7, "LIFETIME")]
    first = reports[0]
    assert first.slug == "acme" and first.size == len("# report\n")
    assert first.created.replace(tzinfo=None) == datetime(2025, 10, 1, 8, 0, 0)
    assert first.path == folder.root / "output/acme/2025/010-acme-report-LAST-30-DAYS-20251001_080000.md"
    assert ws.reports("nobody") == []
    assert ws.reports("../acme") == []


# ---- names and paths -------------------------------------------------------------

def test_unsafe_names_and_escaping_symlinks_are_ignored(folder, ws, tmp_path):
    folder.client("good", PRODUCTION_CONFIG, state())
    for bad in ("Bad Name", "-rf", ".hidden", "UPPER", "a..b"):
        folder.client(bad, PRODUCTION_CONFIG)
    outside = tmp_path / "outside.yaml"
    outside.write_text(PRODUCTION_CONFIG)
    (folder.root / "configs/clients/escape.yaml").symlink_to(outside)
    (folder.root / "configs/clients/inside.yaml").symlink_to(folder.root / "configs/clients/good.yaml")
    (folder.root / "state/inside.json").symlink_to(tmp_path / "outside.yaml")  # state leaves the folder
    assert [c.slug for c in ws.clients()] == ["good", "inside"]
    assert ws.slugs() == frozenset({"good", "inside"})
    assert ws.client("escape") is None
    assert ws.client("../ads_sync/configs/clients/good") is None
    # Escaping state is not read, nor called "never synced".
    assert ws.client("inside").freshness.reason == "state/inside.json is a symlink that leaves the ads_sync folder"


def test_client_matches_clients_and_unknown_is_none(folder, ws):
    folder.client("b", README_CONFIG, state("2025-10-12"))
    folder.client("a", PRODUCTION_CONFIG, state("2025-10-01"))
    assert [c.slug for c in ws.clients()] == ["a", "b"]
    assert ws.client("a") == ws.clients()[0]
    assert ws.client("zzz") is None


# ---- the stat cache --------------------------------------------------------------

def test_cache_rereads_only_files_whose_stat_changed(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state("2025-10-12"))
    path = folder.root / "state/c.json"
    assert ws.client("c").watermarks["google_ads"] == date(2025, 10, 12)
    before = path.stat()
    # Same size, same inode, mtime put back: the cache must not notice (proof it is used).
    path.write_text(path.read_text().replace("2025-10-12", "2025-10-11"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_ino == before.st_ino
    assert ws.clients()[0].watermarks["google_ads"] == date(2025, 10, 12)
    # Touched: re-read.
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert ws.clients()[0].watermarks["google_ads"] == date(2025, 10, 11)
    assert ws.clients()[0].freshness == Freshness(Kind.LATE, 1)


def test_atomic_replace_and_removal_are_seen(folder, ws):
    folder.client("c", PRODUCTION_CONFIG, state("2025-10-12"))
    path = folder.root / "state/c.json"
    before = path.stat()
    tmp = folder.write("state/c.json.tmp", state("2025-10-05"))
    os.utime(tmp, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ws.client("c").watermarks["google_ads"] == date(2025, 10, 12)
    os.replace(tmp, path)  # how the CLI writes: same mtime here, but a new inode
    assert ws.client("c").watermarks["google_ads"] == date(2025, 10, 5)
    path.unlink()
    assert ws.clients()[0].freshness == Freshness(Kind.NEVER, None)


def test_freshness_follows_the_clock_without_rereading(folder):
    folder.client("c", PRODUCTION_CONFIG, state("2025-10-12"))
    now = [FILES_NOW]
    ws = Workspace(folder.root, clock=lambda: now[0])
    assert ws.client("c").freshness == Freshness(Kind.FRESH, 0)
    now[0] = datetime(2025, 10, 17, 12, 0, tzinfo=UTC)
    assert ws.clients()[0].freshness == Freshness(Kind.STALE, 4)


def test_a_pid_we_may_not_signal_is_alive(folder, ws, monkeypatch):
    folder.client("c", PRODUCTION_CONFIG, state())
    folder.write("locks/c.lock", f"pid: 4242\ntimestamp: {FILES_NOW.timestamp()}\n")

    def kill(pid, sig):
        assert (pid, sig) == (4242, 0)
        raise PermissionError

    monkeypatch.setattr(os, "kill", kill)
    assert ws.client("c").lock.alive is True


def test_clients_as_of_a_stamp_makes_again_only_the_clients_that_changed(folder):
    for slug in ("a", "b", "c", "d"):
        folder.client(slug, PRODUCTION_CONFIG, state("2025-10-12"))
    now = [FILES_NOW]
    ws = Workspace(folder.root, clock=lambda: now[0])
    first = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
    assert ws.looked_at == {"a", "b", "c", "d"}  # the first read: every one
    folder.write("state/b.json", state("2025-10-01", note="rewritten"))
    folder.client("e", PRODUCTION_CONFIG, state("2025-10-12"))
    (folder.root / "configs" / "clients" / "d.yaml").unlink()
    folder.write("locks/c.lock", f"pid: 4242\ntimestamp: {FILES_NOW.timestamp()}\n")
    got = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
    assert ws.looked_at == {"b", "c", "d", "e"}
    assert list(got) == ["a", "b", "c", "e"]
    assert got["a"] is first["a"]
    assert got["b"].watermarks["google_ads"] == date(2025, 10, 1) and got["c"].lock is not None
    assert {c.slug: c for c in ws.clients()} == got  # as a full scan finds them
    ws.clients(as_of=ws.stamp())
    again = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
    assert ws.looked_at == {"c"}  # a lock's age and liveness change with time: made at every read
    assert again["a"] is first["a"]
    now[0] = datetime(2025, 10, 14, 12, 0, tzinfo=UTC)  # the clients' day turned: all made again
    turned = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
    assert ws.looked_at == {"a", "b", "c", "e"}
    assert (first["a"].freshness.lag_days, turned["a"].freshness.lag_days) == (0, 1)


def test_each_client_is_made_again_when_its_own_day_turns_and_not_before(folder):
    """A refresh does not look at every client's zone while no zone's midnight has passed; when
    one passes, that zone's clients (and only they) are made again; a zone first seen at a
    refresh is counted; a clock set back is not mistaken for a day that holds."""
    folder.client("auckland", PRODUCTION_CONFIG.replace("America/Los_Angeles", "Pacific/Auckland"), state("2025-10-12"))
    folder.client("la", PRODUCTION_CONFIG, state("2025-10-12"))
    now = [datetime(2025, 10, 14, 10, 30, tzinfo=UTC)]  # Auckland 23:30 (NZDT, +13), LA 03:30
    ws = Workspace(folder.root, clock=lambda: now[0])
    ws.clients(as_of=ws.stamp())

    def made_again() -> set[str]:
        ws.clients(as_of=ws.stamp())
        return set(ws.looked_at)

    assert made_again() == set()
    now[0] = datetime(2025, 10, 14, 11, 1, tzinfo=UTC)  # Auckland 00:01: its day turned, LA's not
    assert made_again() == {"auckland"}
    assert made_again() == set()
    folder.client("tokyo", PRODUCTION_CONFIG.replace("America/Los_Angeles", "Asia/Tokyo"), state("2025-10-12"))
    assert made_again() == {"tokyo"}  # new: and its zone's midnight (15:00 UTC) is now counted
    now[0] = datetime(2025, 10, 14, 15, 1, tzinfo=UTC)
    assert made_again() == {"tokyo"}
    now[0] = datetime(2025, 10, 14, 10, 0, tzinfo=UTC)  # set back: Auckland's and Tokyo's day is yesterday again
    assert made_again() == {"auckland", "tokyo"}
    now[0] = datetime(2025, 10, 15, 7, 1, tzinfo=UTC)  # past LA's midnight (07:00 UTC, PDT), and the others'
    assert made_again() == {"auckland", "la", "tokyo"}


def test_a_client_read_alone_after_its_day_turned_is_what_the_next_refresh_shows(folder):
    """Another screen reads one client (workspace.client) just after its midnight: the next
    refresh must not hand back the client as it was the day before."""
    folder.client("la", PRODUCTION_CONFIG, state("2025-10-12"))
    now = [datetime(2025, 10, 14, 6, 59, tzinfo=UTC)]  # 23:59 in Los Angeles (PDT)
    ws = Workspace(folder.root, clock=lambda: now[0])
    assert ws.clients(as_of=ws.stamp())[0].freshness.lag_days == 0
    now[0] = datetime(2025, 10, 14, 7, 1, tzinfo=UTC)  # 00:01: a day later
    assert ws.client("la").freshness.lag_days == 1
    assert ws.clients(as_of=ws.stamp())[0].freshness.lag_days == 1
