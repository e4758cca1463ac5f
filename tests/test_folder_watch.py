"""The OS tells which clients' files changed (folder_watch): a watched workspace lists the
same clients as a full scan, looks again only at the clients told of, and sees what a stamp
of stated files could not (a new error file inside errors/SLUG/)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import date

from conftest import FILES_NOW, PRODUCTION_CONFIG, state

from adsdash.folder_watch import FolderWatch
from adsdash.workspace import Workspace

TOLD_WITHIN = 10.0  # seconds: the watch hands changes over once quiet for a step (250 ms)


def told(watch: FolderWatch, since: int, slugs: set[str]) -> set[str] | None:
    """Wait until the watch has told of at least these slugs' changes since `since`; what it told."""
    deadline = time.monotonic() + TOLD_WITHIN
    while time.monotonic() < deadline:
        watch.stamp()
        found = watch.changed_since(since)
        if found is None or found >= slugs:
            return found
        time.sleep(0.05)
    return watch.changed_since(since)


def replace_json(path, data) -> None:
    """As ads_sync writes a state file: a temporary file, then a rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def watch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "adsdash-folder-watch"]


def test_each_kind_of_change_is_told_by_slug(folder):
    for slug in ("a", "b", "c", "d", "quiet"):
        folder.client(slug, PRODUCTION_CONFIG, state("2025-10-12"))
    for sub in ("locks", "errors/a"):
        (folder.root / sub).mkdir(parents=True)
    watch = FolderWatch(folder.root)
    try:
        start = watch.stamp()
        assert start is not None, watch.problem
        assert watch.changed_since(start) == set()
        replace_json(folder.root / "state" / "b.json", state("2025-10-01"))  # renamed into place
        with open(folder.root / "configs" / "clients" / "d.yaml", "a") as fh:  # edited in place
            fh.write("currency_code: EUR\n")
        folder.write("errors/a/error_20251013_110000.json", {"error": "boom"})  # inside errors/SLUG/
        folder.write("locks/c.lock", "pid: 1\n")
        folder.write("state/notes.txt", "not a client file")
        assert told(watch, start, {"a", "b", "c", "d"}) == {"a", "b", "c", "d"}
    finally:
        watch.stop()
    assert not watch_threads()


def test_a_folder_that_appears_makes_everything_count_as_changed(folder):
    folder.client("a", PRODUCTION_CONFIG, state("2025-10-12"))
    watch = FolderWatch(folder.root)
    try:
        start = watch.stamp()
        assert start is not None
        (folder.root / "locks").mkdir()  # not watched until now: what happened in it was not seen
        assert watch.stamp() != start and watch.changed_since(start) is None
    finally:
        watch.stop()


def test_nothing_to_watch_means_stating_the_files(tmp_path):
    watch = FolderWatch(tmp_path)
    assert watch.stamp() is None and "no folder" in (watch.problem or "")


def test_a_watched_workspace_reads_only_the_clients_told_of_and_reads_them_right(folder):
    for slug in ("a", "b", "c", "d"):
        folder.client(slug, PRODUCTION_CONFIG, state("2025-10-12"))
    (folder.root / "errors" / "a").mkdir(parents=True)
    ws = Workspace(folder.root, clock=lambda: FILES_NOW)
    ws.watch()
    try:
        first = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
        first = {c.slug: c for c in ws.clients(as_of=ws.stamp())}  # now as of a watched stamp
        assert first["a"].newest_error is None
        generation = ws.stamp()[1]
        replace_json(folder.root / "state" / "b.json", state("2025-10-01"))
        folder.write("errors/a/error_20251013_110000.json", {"error": "boom"})
        (folder.root / "configs" / "clients" / "d.yaml").unlink()
        folder.client("e", PRODUCTION_CONFIG, state("2025-10-12"))
        assert ws._watch is not None and told(ws._watch, generation, {"a", "b", "d", "e"}) is not None
        got = {c.slug: c for c in ws.clients(as_of=ws.stamp())}
        assert ws.looked_at == {"a", "b", "d", "e"}  # c was not looked at
        assert got["c"] is first["c"]
        assert got["b"].watermarks["google_ads"] == date(2025, 10, 1)
        assert got["a"].newest_error is not None  # a stamp of stated files saw this only at the minute's full scan
        assert list(got) == ["a", "b", "c", "e"]
        assert got == {c.slug: c for c in ws.clients()}  # as a full scan finds them
    finally:
        ws.stop_watching()
    deadline = time.monotonic() + 5
    while watch_threads() and time.monotonic() < deadline:  # stopped without waiting: gone within a step
        time.sleep(0.05)
    assert not watch_threads()
