"""Notifications from the shell: `notify test` per URL, `notify check` for a dead worker (cron),
`snooze`/`snoozes`, and URLs never printed whole (`config`, refusals). Real processes, a real
webhook on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from conftest import closed_port, one_error_line, run_adsdash, sandbox_slug

from adsdash import audit
from adsdash.engine import Engine

SECRET = "s3cr3t-t0ken"


def urls_env(*urls: str) -> dict[str, str]:
    return {"ADSDASH_NOTIFY_URLS": " ".join(urls)}


def test_notify_test_says_per_url_whether_it_went(live_sandbox_settings, receiver):
    refused = f"json://ops:{SECRET}@127.0.0.1:{closed_port()}/{SECRET}"
    proc = run_adsdash(live_sandbox_settings, "--json", "notify", "test", check=1,
                       extra_env=urls_env(receiver.url, refused))
    assert SECRET not in proc.stdout.decode() + proc.stderr.decode()
    results = json.loads(proc.stdout)
    assert [r["sent"] for r in results] == [True, False]
    assert results[0]["url"].startswith(f"json://127.0.0.1:{receiver.url.rsplit(':', 1)[1].split('/')[0]}/****")
    assert results[1]["url"].startswith("json://****@127.0.0.1:") and results[1]["error"]
    assert [post["title"] for post in receiver.posts] == ["adsdash: test notification"]
    text = run_adsdash(live_sandbox_settings, "notify", "test", check=1, extra_env=urls_env(refused)).stdout.decode()
    assert "FAILED" in text and SECRET not in text
    run_adsdash(live_sandbox_settings, "notify", "test", extra_env=urls_env(receiver.url))  # exit 0: it went
    assert len(receiver.posts) == 2


def test_notify_without_urls_is_refused_in_one_line(live_sandbox_settings):
    proc = run_adsdash(live_sandbox_settings, "notify", "test", check=2)
    assert "notify_urls" in one_error_line(proc)


def test_notify_check_alerts_once_when_no_worker_runs_while_jobs_wait(live_sandbox_settings, receiver):
    past = datetime.now(UTC) - timedelta(minutes=10)
    job = Engine(live_sandbox_settings, clock=lambda: past).submit("validate", sandbox_slug("fresh"))
    first = json.loads(run_adsdash(live_sandbox_settings, "--json", "notify", "check",
                                   extra_env=urls_env(receiver.url)).stdout)
    assert first["live_workers"] == 0 and first["queued"] == 1 and len(first["new_events"]) == 1
    post = receiver.wait(1)[0]
    assert post["title"] == "adsdash: no live worker, jobs are waiting"
    assert f"job {job.id}, validate" in post["message"] and "adsdash worker" in post["message"]
    again = run_adsdash(live_sandbox_settings, "notify", "check", extra_env=urls_env(receiver.url))
    assert again.stdout == b""  # quiet for cron: nothing new (once per outage)
    assert len(receiver.posts) == 1


def test_config_and_refusals_never_print_a_url_whole(live_sandbox_settings):
    url = f"slack://{SECRET}/B0000/XXXX"
    proc = run_adsdash(live_sandbox_settings, "--json", "config", extra_env=urls_env(url))
    shown = json.loads(proc.stdout)["notify_urls"]
    assert SECRET not in proc.stdout.decode() and shown["value"].startswith("slack://****/****")
    assert SECRET not in run_adsdash(live_sandbox_settings, "config", extra_env=urls_env(url)).stdout.decode()
    refused = run_adsdash(live_sandbox_settings, "config", check=2, extra_env=urls_env(f"{SECRET}-without-scheme"))
    assert "notify_urls" in one_error_line(refused) and SECRET not in refused.stderr.decode()


def test_snooze_refusals_are_one_line_and_audited(live_sandbox_settings):
    settings = live_sandbox_settings
    fresh, stale = sandbox_slug("fresh"), sandbox_slug("stale")
    for args in (("nobody-here", "--hours", "2"), (fresh, "--until-fresh"), (fresh, "--hours", "0")):
        one_error_line(run_adsdash(settings, "snooze", *args, check=2))
    one_error_line(run_adsdash(settings, "snooze", fresh, check=2))  # hours, until fresh or clear: one is needed
    done = json.loads(run_adsdash(settings, "--json", "snooze", stale, "--until-fresh").stdout)
    assert done["until_fresh"] and done["until"] is None
    assert [(s["slug"], s["until_fresh"]) for s in json.loads(run_adsdash(settings, "--json", "snoozes").stdout)] \
        == [(stale, True)]
    listed = run_adsdash(settings, "snoozes").stdout.decode()
    assert stale in listed and "fresh" in listed
    assert json.loads(run_adsdash(settings, "--json", "snooze", stale, "--clear").stdout)["cleared"] is True
    assert json.loads(run_adsdash(settings, "--json", "snoozes").stdout) == []
    rows = audit.read(Engine(settings).store, action=audit.SNOOZE)
    assert [(r.outcome, r.origin) for r in rows] == [("ok", "shell"), ("ok", "shell")] + [("refused", "shell")] * 3
    assert rows[0].detail == {"until": "cleared"} and rows[1].detail == {"until": "fresh"}
