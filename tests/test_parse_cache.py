"""The workspace's parse cache on disk: used only on an exact stat match, never trusted more
than the file it stands for, and a broken cache file costs speed, never correctness."""

import json
import logging
import os
import stat

import pytest
import yaml
from conftest import FILES_NOW, HOUR_AGO_NS, Folder, settle, state

from adsdash import ads_files, parse_cache
from adsdash.freshness import Kind
from adsdash.workspace import Workspace


def workspace(seeded_folder, cache_file, **kw) -> Workspace:
    return Workspace(seeded_folder.root, clock=lambda: FILES_NOW, cache_path=cache_file, **kw)


def no_parsing(monkeypatch) -> list:
    """Records (and refuses) every YAML or JSON parse of an ads_sync file from now on."""
    parsed: list = []

    def refuse(*args, **kwargs):
        parsed.append(args)
        raise AssertionError("parsed a file the cache should have answered for")
    monkeypatch.setattr(ads_files, "load_mapping", refuse)
    monkeypatch.setattr(yaml, "load", refuse)
    return parsed


def without_lock_age(clients):
    return [(c.slug, c.name, c.freshness, c.watermarks, c.state, c.problems, c.newest_error, c.currency)
            for c in clients]


def test_a_fresh_start_answers_from_the_cache_file_with_the_same_clients(seeded_folder, cache_file, monkeypatch):
    first = workspace(seeded_folder, cache_file).clients()
    assert cache_file.exists() and stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    assert [p.name for p in cache_file.parent.iterdir()] == [cache_file.name]  # no temporary file left behind
    parsed = no_parsing(monkeypatch)
    again = workspace(seeded_folder, cache_file).clients()
    assert parsed == []
    assert without_lock_age(again) == without_lock_age(first)
    by_slug = {c.slug: c for c in again}
    assert by_slug["broken"].freshness.kind is Kind.ERROR and "invalid YAML" in by_slug["broken"].problems[0]
    assert "invalid JSON" in by_slug["bad-state"].problems[0]
    assert by_slug["acme"].newest_error.exception_type == "Boom"


def test_a_changed_file_is_parsed_again(seeded_folder, cache_file):
    workspace(seeded_folder, cache_file).clients()
    path = seeded_folder.write("state/acme.json", state("2025-10-01"))
    os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS + 1))  # same age, one nanosecond apart
    acme = workspace(seeded_folder, cache_file).clients()[0]
    assert acme.watermarks["google_ads"].isoformat() == "2025-10-01"


def test_a_file_changed_this_instant_is_not_kept_on_disk(seeded_folder, cache_file):
    seeded_folder.write("configs/clients/fresh.yaml", "client_name: Just Written\n")
    assert "Just Written" in [c.name for c in workspace(seeded_folder, cache_file).clients()]
    kept = json.loads(cache_file.read_text())["configs"]
    assert "configs/clients/acme.yaml" in kept and "configs/clients/fresh.yaml" not in kept


def test_nothing_is_written_when_asked_not_to_or_when_nothing_was_parsed(seeded_folder, cache_file):
    ws = workspace(seeded_folder, cache_file)
    ws.clients(save_cache=False)
    assert not cache_file.exists()
    ws.clients()  # what the first read parsed is written by the next one
    assert cache_file.exists()
    os.utime(cache_file, ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    workspace(seeded_folder, cache_file).clients()  # every answer from the file: nothing to write
    assert cache_file.stat().st_mtime_ns == HOUR_AGO_NS


def test_files_that_are_gone_leave_the_cache_file(seeded_folder, cache_file):
    workspace(seeded_folder, cache_file).clients()
    (seeded_folder.root / "configs/clients/broken.yaml").unlink()
    (seeded_folder.root / "state/broken.json").unlink()
    workspace(seeded_folder, cache_file).clients()
    doc = json.loads(cache_file.read_text())
    assert "configs/clients/broken.yaml" not in doc["configs"] and "state/broken.json" not in doc["states"]


@pytest.mark.parametrize("content", [
    b"", b"\x00\xff garbage", b"[1, 2, 3]", b'{"format": "something else"}',
    b'{"format": "adsdash-parse-cache", "version": 99}',
    b'{"format": "adsdash-parse-cache", "version": 1, "root": "ROOT", "configs": [], "states": {}, "errors": {}}',
    b"[" * 100_000,
])
def test_a_broken_cache_file_is_ignored_and_logged(seeded_folder, cache_file, caplog, content):
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(content.replace(b"ROOT", os.path.realpath(seeded_folder.root).encode()))
    expected = without_lock_age(Workspace(seeded_folder.root, clock=lambda: FILES_NOW).clients())
    with caplog.at_level(logging.WARNING, logger="adsdash.parse_cache"):
        assert without_lock_age(workspace(seeded_folder, cache_file).clients()) == expected
    assert "parse cache" in caplog.text
    assert json.loads(cache_file.read_text())["format"] == parse_cache.FORMAT  # replaced by a good one


def test_a_cache_written_for_another_folder_is_not_used(seeded_folder, cache_file, tmp_path):
    other = Folder(tmp_path / "other")
    other.client("acme", "client_name: Other Acme\n")
    settle(other.root)
    workspace(seeded_folder, cache_file).clients()
    doc = json.loads(cache_file.read_text())
    st = (other.root / "configs/clients/acme.yaml").stat()
    doc["configs"]["configs/clients/acme.yaml"][:3] = [st.st_mtime_ns, st.st_size, st.st_ino]
    cache_file.write_text(json.dumps(doc))  # an entry that matches the other folder's file exactly
    assert [c.name for c in Workspace(other.root, clock=lambda: FILES_NOW, cache_path=cache_file).clients()] == [
        "Other Acme"]
    doc["root"] = os.path.realpath(other.root)
    cache_file.write_text(json.dumps(doc))  # the same entry, now for that folder: used
    assert [c.name for c in Workspace(other.root, clock=lambda: FILES_NOW, cache_path=cache_file).clients()] == [
        "Santana & Blanchard Law Firm"]


def test_malformed_entries_fall_back_to_the_file(seeded_folder, cache_file):
    workspace(seeded_folder, cache_file).clients()
    doc = json.loads(cache_file.read_text())
    doc["configs"]["configs/clients/acme.yaml"][3] = ["not", "a", "mapping"]
    doc["states"]["state/acme.json"][3] = "a string"
    doc["errors"]["errors/acme/error_20251013_080000.json"] = [1, 2]
    cache_file.write_text(json.dumps(doc))
    acme = workspace(seeded_folder, cache_file).clients()[0]
    assert acme.name == "Santana & Blanchard Law Firm" and acme.watermarks["google_ads"].isoformat() == "2025-10-12"
    assert acme.newest_error.exception_type == "Boom"


def test_a_cached_form_goes_through_the_same_checks_as_the_file(seeded_folder, cache_file):
    workspace(seeded_folder, cache_file).clients()
    doc = json.loads(cache_file.read_text())
    doc["configs"]["configs/clients/acme.yaml"][3] = {"client_name": "Acme", "timezone": "../../etc/passwd"}
    doc["states"]["state/acme.json"][3] = {"google_ads": {"watermark_date": "20251012"}}
    cache_file.write_text(json.dumps(doc))
    acme = workspace(seeded_folder, cache_file).clients()[0]
    assert acme.freshness.kind is Kind.ERROR
    assert any("unknown time zone" in p for p in acme.problems)
    assert any("not a YYYY-MM-DD date" in p for p in acme.problems)


def test_an_entry_is_used_only_on_an_exact_stat_match(seeded_folder, cache_file):
    workspace(seeded_folder, cache_file).clients()
    doc = json.loads(cache_file.read_text())
    entry = doc["configs"]["configs/clients/acme.yaml"]
    entry[3] = {"client_name": "From The Cache"}
    entry[2] += 1  # another inode
    cache_file.write_text(json.dumps(doc))
    assert workspace(seeded_folder, cache_file).clients()[0].name == "Santana & Blanchard Law Firm"


def test_a_symlink_or_fifo_in_place_of_the_cache_is_not_read(seeded_folder, cache_file, tmp_path, caplog):
    cache_file.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    cache_file.symlink_to(target)
    with caplog.at_level(logging.WARNING, logger="adsdash.parse_cache"):
        assert len(workspace(seeded_folder, cache_file).clients()) == 3
    assert "not used" in caplog.text
    cache_file.unlink()
    os.mkfifo(cache_file)
    assert len(workspace(seeded_folder, cache_file).clients()) == 3  # did not block on the FIFO


def test_an_unwritable_cache_location_only_costs_speed(seeded_folder, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING, logger="adsdash.parse_cache"):
        assert len(workspace(seeded_folder, blocker / "cache.json").clients()) == 3
    assert "not written" in caplog.text


def test_big_and_unrepresentable_files_are_parsed_at_every_start(seeded_folder, cache_file):
    seeded_folder.write("state/acme.json", state("2025-10-12", padding="x" * 100_000))
    seeded_folder.client("dated", "client_name: Dated\nclient_id: 2025-01-01\n")  # YAML reads a date
    settle(seeded_folder.root)
    assert {c.slug for c in workspace(seeded_folder, cache_file).clients()} == {"acme", "bad-state", "broken", "dated"}
    doc = json.loads(cache_file.read_text())
    assert "state/acme.json" not in doc["states"] and "configs/clients/dated.yaml" not in doc["configs"]
    dated = next(c for c in workspace(seeded_folder, cache_file).clients() if c.slug == "dated")
    assert "client_id is a date" in dated.problems[0]


def test_yaml_is_what_a_cold_start_spends_its_time_on(seeded_folder, cache_file, monkeypatch):
    """The reason for the cache: with it, a fresh start parses no config at all."""
    calls = []
    real = yaml.load
    monkeypatch.setattr(yaml, "load", lambda *a, **k: calls.append(1) or real(*a, **k))
    workspace(seeded_folder, cache_file).clients()
    assert len(calls) == 3
    workspace(seeded_folder, cache_file).clients()
    assert len(calls) == 3
