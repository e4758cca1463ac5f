"""What a person should hear about, observed from the job store and the ads_sync folder, as events.

- `failed`: a job failed: client, command, the first error line, the repair command when the
  client's newest error file (of that command) names a window, and `adsdash logs ID`.
- `escalated`: a client's `notify_escalate_after`-th failed job in a row (no finished job between)
  goes out as one escalation instead of a plain failure; its later failures are recorded but
  not sent (muted) until a job of it finishes: one message per streak.
- `stale`, `unreadable`: a client became stale, or its files cannot be read (freshness `error`):
  once per streak; `fresh`: back to fresh after such a streak (off by default).
- `missed`: a schedule's runs recorded as missed (schedule_ledger.py): one event per schedule and tick.
- `no_worker`: no live worker while a job waits longer than `notify_no_worker_minutes`: once per
  outage. A worker cannot see its own death, so the app's worker check and `adsdash notify
  check` (cron) look; a worker starting says there is one again.

Every observation reads first and writes only what is new; each event's key makes it once
whoever observes it (notify_store.py). No Textual, no Apprise.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adsdash import notify_store
from adsdash.config import NOTIFY_EVENT_KINDS
from adsdash.notify_store import ESCALATED_BEFORE, SNOOZED, Event
from adsdash.notify_url import url_key
from adsdash.records import FAILED, FINISHED, QUEUED, STARTED, Job, iso, this_host
from adsdash.sanitize import one_line

if TYPE_CHECKING:
    from adsdash.engine import Engine
    from adsdash.workspace import Client

FAILED_JOB, ESCALATED, STALE, UNREADABLE, FRESH, MISSED, NO_WORKER = NOTIFY_EVENT_KINDS  # the settings' words
_BAD = {"stale": STALE, "error": UNREADABLE}  # freshness kinds that start a streak
MISSED_LOOKBACK = timedelta(minutes=2)  # ledger rows committed a moment after a newer one are still seen


def first_line(text: str | None, fallback: str = "no reason recorded") -> str:
    return next((one_line(line) for line in (text or "").splitlines() if line.strip()), fallback)


class Observer:
    """Turns what the store and the folder say into recorded events (with their deliveries)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        settings = engine.settings
        self.url_keys = [url_key(url) for url in settings.notify_urls]
        self.wanted = frozenset(settings.notify_events)
        self._missed_top: str | None = None

    @property
    def store(self):
        return self.engine.store

    def record(self, events: Sequence[Event]) -> list[int]:
        return notify_store.record(self.store, events, now=self.engine.clock(), url_keys=self.url_keys,
                                   wanted=self.wanted, due=self._due())

    def _due(self) -> float:
        """When a new event's deliveries may go: at once, or when its digest window closes."""
        return time.time() + self.engine.settings.notify_digest_seconds

    def _changes(self, topic: str, observed: dict[str, str], decide) -> list[int]:
        return notify_store.change_states(self.store, topic, observed, decide, now=self.engine.clock(),
                                          url_keys=self.url_keys, wanted=self.wanted, due=self._due())

    # -- jobs ---------------------------------------------------------------------

    def failed_jobs(self) -> list[int]:
        """Events for the jobs that failed since the last look. The cursor is the oldest job not
        ended when looked (read before the failures, so a job ending meanwhile is seen next time)."""
        store = self.store
        conn = store._conn()
        low = conn.execute("select min(id) from jobs where status in (?, ?)", (QUEUED, STARTED)).fetchone()[0]
        if low is None:
            low = (conn.execute("select max(id) from jobs").fetchone()[0] or 0) + 1
        start = notify_store.cursor(store, "jobs")
        if start is None:  # the first look: only what fails from now on, not the whole history
            notify_store.set_cursor(store, "jobs", str(low), self.engine.clock())
            return []
        rows = conn.execute("select * from jobs where id >= ? and status = ? order by id", (int(start), FAILED))
        jobs = {f"job-failed:{job.id}": job for job in map(Job.from_row, rows)}
        known = notify_store.known_keys(store, jobs)
        made = self.record([self.failed_event(key, job) for key, job in jobs.items() if key not in known])
        if str(low) != start:
            notify_store.set_cursor(store, "jobs", str(low), self.engine.clock())
        return made

    def streak(self, job: Job) -> int:
        """How many of the client's jobs failed in a row up to `job` (cancelled ones do not count)."""
        limit = self.engine.settings.notify_escalate_after + 1
        rows = self.store._conn().execute(
            "select status from jobs where slug = ? and status in (?, ?) and (finished_at < ? or"
            " (finished_at = ? and id <= ?)) order by finished_at desc, id desc limit ?",
            (job.slug, FINISHED, FAILED, job.finished_at or "", job.finished_at or "", job.id, limit)).fetchall()
        count = 0
        for row in rows:
            if row[0] != FAILED:
                break
            count += 1
        return count

    def failed_event(self, key: str, job: Job) -> Event:
        client = self._client(job.slug)
        name = f" ({one_line(client.name, 80)})" if client else ""
        command = " ".join([job.command, job.slug, *(f"--{k} {v}" for k, v in job.args.items())])
        from adsdash.exits import exit_phrase

        lines = [f"Job {job.id} failed: {one_line(command, 200)}{name}.",
                 first_line(job.error, exit_phrase(job.exit_code))]
        error = client.newest_error if client else None
        if error and error.start_date and error.end_date and error.command in (None, job.command):
            lines.append(f"Repair: adsdash run repair {job.slug} --start {error.start_date} --end {error.end_date}")
        lines.append(f"Read more: adsdash logs {job.id}")
        title, kind, muted = f"adsdash: {job.command} {job.slug} failed", FAILED_JOB, None
        after = self.engine.settings.notify_escalate_after
        streak = self.streak(job) if after else 0
        if after and streak == after:
            kind, title = ESCALATED, f"adsdash: {job.slug} failed {streak} times in a row"
            lines.insert(0, f"{job.slug} has failed {streak} jobs in a row, with no success between. Its next"
                            " failures are not sent until one of its jobs finishes.")
        elif after and streak > after:
            muted = ESCALATED_BEFORE
        return Event(key, kind, one_line(title, 200), "\n".join(lines), job.slug, job.id, muted)

    def _client(self, slug: str) -> Client | None:
        try:
            return self.engine.workspace.client(slug)
        except Exception:  # noqa: BLE001 - an odd folder: the message goes out without the client's details
            return None

    # -- the folder -------------------------------------------------------------------

    def freshness(self, clients: Sequence[Client] | None = None) -> list[int]:
        """Streaks of stale or unreadable clients: an event as one starts (or turns from one to the
        other), and `fresh` as it ends. Snoozes until fresh end here too."""
        workspace = self.engine.workspace
        if clients is None:
            if workspace.clients_folder_problem():
                return []
            clients = workspace.clients()
        by_slug = {client.slug: client for client in clients}
        now = self.engine.clock()
        if fresh := [c.slug for c in clients if c.freshness.kind.value == "fresh"]:
            notify_store.end_fresh_snoozes(self.store, fresh)

        def decide(slug: str, old: str | None, seen: str) -> tuple[str, Event | None]:
            if seen in _BAD:
                return seen, None if seen == old else self._freshness_event(by_slug[slug], _BAD[seen], seen, now)
            if seen == "fresh":
                return seen, self._freshness_event(by_slug[slug], FRESH, seen, now) if old in _BAD else None
            return old or "ok", None  # late or never: a streak goes on until fresh

        return self._changes("freshness", {c.slug: c.freshness.kind.value for c in clients}, decide)

    @staticmethod
    def _freshness_event(client: Client, kind: str, state: str, now: datetime) -> Event:
        name, slug = one_line(client.name, 80), client.slug
        watermark = client.watermarks.get("google_ads")
        if kind == STALE:
            title = f"adsdash: {slug} is stale"
            body = (f"{name} ({slug}) is {client.freshness.describe()}: its google_ads watermark is"
                    f" {watermark or 'none'}.\nCatch up: adsdash run append {slug}")
        elif kind == UNREADABLE:
            title = f"adsdash: {slug} cannot be read"
            body = f"{name} ({slug}): {one_line(client.freshness.describe(), 300)}\nSee: adsdash status {slug}"
        else:
            title = f"adsdash: {slug} is fresh again"
            body = f"{name} ({slug}) is fresh again: its google_ads watermark is {watermark}."
        return Event(f"freshness:{slug}:{state}:{iso(now)}", kind, title, body, slug)

    # -- schedules ----------------------------------------------------------------------

    def missed_runs(self) -> list[int]:
        """One event per schedule and tick that recorded missed runs (the clients not snoozed)."""
        store = self.store
        conn = store._conn()
        top = conn.execute("select max(decided_at) from schedule_runs").fetchone()[0] or ""
        if top == self._missed_top:
            return []
        start = notify_store.cursor(store, "missed")
        if start is None:  # the first look: from now on ("" when the ledger is empty: from its first row)
            notify_store.set_cursor(store, "missed", top, self.engine.clock())
            self._missed_top = top
            return []
        since = iso(datetime.fromisoformat(start) - MISSED_LOOKBACK) if start else ""
        groups: dict[str, list] = {}
        for row in conn.execute("select * from schedule_runs where outcome = 'missed' and decided_at > ?"
                                " order by decided_at, slug", (since,)):
            groups.setdefault(f"missed:{row['schedule']}:{row['decided_at']}", []).append(row)
        known = notify_store.known_keys(store, groups)
        snoozed = notify_store.snoozes(store, self.engine.clock()) if len(known) < len(groups) else {}
        events = [self._missed_event(key, rows, snoozed) for key, rows in groups.items() if key not in known]
        made = self.record(events)
        notify_store.set_cursor(store, "missed", top, self.engine.clock())
        self._missed_top = top
        return made

    @staticmethod
    def _missed_event(key: str, rows: list, snoozed: dict) -> Event:
        schedule = rows[0]["schedule"]
        slugs = sorted({row["slug"] for row in rows if row["slug"] not in snoozed})
        shown = ", ".join(slugs[:10]) + (f" and {len(slugs) - 10} more" if len(slugs) > 10 else "")
        body = (f"Schedule {schedule} missed {len(rows)} run(s) for {len(slugs)} client(s): {shown}.\n"
                f"{first_line(rows[-1]['reason'], 'missed')}\nSee: adsdash schedules")
        return Event(key, MISSED, f"adsdash: schedule {schedule} missed runs", body,
                     slugs[0] if len(slugs) == 1 else None, muted=None if slugs else SNOOZED)

    # -- the workers ----------------------------------------------------------------------

    def worker_up(self) -> list[int]:
        """A worker is live (said by the worker as it starts, and by every check that finds one)."""
        return self._changes("worker", {"any": "up"}, lambda _name, _old, seen: (seen, None))

    def no_worker(self) -> list[int]:
        """An outage: no live worker while the oldest queued job waits longer than the setting."""
        store = self.store
        if store.live_workers():
            return self.worker_up()
        row = store._conn().execute("select id, slug, command, queued_at, (select count(*) from jobs where status"
                                    " = ?) from jobs where status = ? order by id limit 1", (QUEUED, QUEUED)).fetchone()
        now = self.engine.clock()
        minutes = self.engine.settings.notify_no_worker_minutes
        if row is None or datetime.fromisoformat(row["queued_at"]) > now - timedelta(minutes=minutes):
            return []
        waited = (now - datetime.fromisoformat(row["queued_at"])).total_seconds() / 60
        body = (f"No live worker on {this_host()} for {self.engine.settings.home}: {row[4]} job(s) waiting, the"
                f" oldest (job {row['id']}, {row['command']} {row['slug']}) for {waited:.0f} min.\n"
                "Start one: adsdash worker (or: systemctl --user start adsdash-worker)")
        event = Event(f"no-worker:{iso(now)}", NO_WORKER, "adsdash: no live worker, jobs are waiting", body)
        return self._changes("worker", {"any": "down"},
                             lambda _name, old, seen: (seen, event if old != "down" else None))
