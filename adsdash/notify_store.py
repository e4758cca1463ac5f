"""The notifications' tables in the job store: events, their deliveries, the URLs' health, snoozes,
streaks and cursors (schema 7, made by store.py's migration from SCHEMA).

Exactly once, with any number of workers observing the same things:
- an event has a unique `key` (`job-failed:42`, `freshness:acme:stale:<since>`): whoever inserts it
  (INSERT OR IGNORE) made it, and only then are its deliveries added, one per URL configured then;
- a streak (a client stale, no worker) changes state inside one write transaction, so of two
  observers only the first sees the change and records its event;
- a sender claims deliveries in one BEGIN IMMEDIATE transaction, with a lease, so two workers
  never send the same one; a sender killed mid-send leaves a lease that runs out.

URLs are named by a hash (notify_url.url_key), shown masked: no secret is ever stored here.
No Textual, no Apprise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from adsdash.records import iso

if TYPE_CHECKING:
    from adsdash.store import Store

SCHEMA = (
    # muted: why the event goes nowhere (snoozed, not in notify_events, a streak already escalated, no URL)
    "create table if not exists notify_events (id integer primary key, key text not null unique,"
    " at text not null, kind text not null, slug text, job_id integer, title text not null, body text not null,"
    " muted text)",
    "create index if not exists notify_events_at on notify_events (at)",
    "create index if not exists notify_events_job on notify_events (job_id) where job_id is not null",
    # due: when it may go (real time, epoch seconds); failures: failed attempts, for the metrics
    "create table if not exists notify_deliveries (event_id integer not null, url_key text not null,"
    " due real not null, sent_at text, attempts integer not null default 0, failures integer not null default 0,"
    " claimed_by text, claimed_until real, last_error text, gave_up integer not null default 0,"
    " primary key (event_id, url_key)) without rowid",
    "create index if not exists notify_deliveries_pending on notify_deliveries (due)"
    " where sent_at is null and gave_up = 0",
    "create table if not exists notify_urls (url_key text primary key, masked text not null, last_ok text,"
    " last_error text, last_error_at text, failing_since text)",
    # until: UTC ISO; until_fresh: ends when the client is seen fresh
    "create table if not exists notify_snoozes (slug text primary key, until text, until_fresh integer not null"
    " default 0, by_user text, at text not null, reason text)",
    # streaks (topic freshness, worker) and cursors (topic cursor): one row per (topic, name)
    "create table if not exists notify_state (topic text not null, name text not null, state text not null,"
    " since text not null, primary key (topic, name)) without rowid",
)
DIGEST_MAX = 50  # events in one digest message at most; the rest go in the next
MAX_ATTEMPTS = 20  # with the backoff below: about 13 hours of trying, then the delivery is given up
RETRY_FIRST_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
SNOOZED, NOT_WANTED, ESCALATED_BEFORE, NO_URL = ("snoozed", "not in notify_events",
                                                 "its client's failures were escalated already", "no URL configured")


class Event(NamedTuple):
    key: str  # unique: the same happening observed twice is one event
    kind: str
    title: str
    body: str
    slug: str | None = None
    job_id: int | None = None
    muted: str | None = None  # set by the observer (a streak already escalated); others are added on record


class Stored(NamedTuple):
    """An event as stored, with its delivery to one URL (when read for sending)."""
    id: int
    key: str
    at: str
    kind: str
    slug: str | None
    job_id: int | None
    title: str
    body: str
    muted: str | None


class Snooze(NamedTuple):
    slug: str
    until: str | None  # UTC ISO, or None with until_fresh
    until_fresh: bool
    by_user: str | None
    at: str
    reason: str | None

    def describe(self) -> str:
        from adsdash import timefmt

        return "until it is fresh" if self.until_fresh else f"until {timefmt.local(self.until)}"


class UrlStatus(NamedTuple):
    url_key: str
    masked: str
    last_ok: str | None
    last_error: str | None
    last_error_at: str | None
    failing_since: str | None


def backoff(attempts: int) -> float:
    return min(RETRY_FIRST_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)


# -- events ---------------------------------------------------------------------

def _active_snoozes(conn: sqlite3.Connection, now: datetime) -> dict[str, Snooze]:
    rows = conn.execute("select * from notify_snoozes where until_fresh = 1 or until > ?", (iso(now),))
    return {r["slug"]: Snooze(r["slug"], r["until"], bool(r["until_fresh"]), r["by_user"], r["at"], r["reason"])
            for r in rows}


def _insert(conn: sqlite3.Connection, events: Iterable[Event], *, now: datetime, url_keys: Sequence[str],
            wanted: Collection[str], due: float) -> list[int]:
    """Insert within the caller's transaction; the ids of the events new here."""
    snoozed = _active_snoozes(conn, now)
    made = []
    for event in events:
        muted = event.muted or (SNOOZED if event.slug in snoozed else None) or \
            (None if event.kind in wanted else NOT_WANTED) or (None if url_keys else NO_URL)
        cur = conn.execute(
            "insert or ignore into notify_events (key, at, kind, slug, job_id, title, body, muted)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            (event.key, iso(now), event.kind, event.slug, event.job_id, event.title, event.body, muted))
        if cur.rowcount != 1:
            continue  # another observer made it first
        event_id = int(cur.lastrowid or 0)
        made.append(event_id)
        if muted is None:
            conn.executemany("insert into notify_deliveries (event_id, url_key, due) values (?, ?, ?)",
                             [(event_id, key, due) for key in url_keys])
    return made


def record(store: Store, events: Sequence[Event], *, now: datetime, url_keys: Sequence[str],
           wanted: Collection[str], due: float) -> list[int]:
    """Record events (each once, whoever observed it), with a delivery per URL due at `due`
    (epoch seconds) unless muted. Returns the ids of those new."""
    if not events:
        return []
    with store._write() as conn:
        return _insert(conn, events, now=now, url_keys=url_keys, wanted=wanted, due=due)


def known_keys(store: Store, keys: Collection[str]) -> set[str]:
    """Of `keys`, those recorded already (read, no write: most observations find nothing new)."""
    if not keys:
        return set()
    rows = store._conn().execute("select key from notify_events where key in (select value from json_each(?))",
                                 (_json(list(keys)),))
    return {r[0] for r in rows}


def recent(store: Store, limit: int = 50) -> list[tuple[Stored, int, int, int, str | None]]:
    """Newest events first, each with its deliveries: (event, sent, pending, given up, last error)."""
    rows = store._conn().execute(
        "select e.*, count(d.sent_at), sum(d.sent_at is null and d.gave_up = 0), sum(d.gave_up),"
        " max(d.last_error) from notify_events e left join notify_deliveries d on d.event_id = e.id"
        " group by e.id order by e.id desc limit ?", (limit,)).fetchall()
    return [(_stored(r), r[9] or 0, r[10] or 0, r[11] or 0, r[12]) for r in rows]


def _stored(row: sqlite3.Row) -> Stored:
    return Stored(row["id"], row["key"], row["at"], row["kind"], row["slug"], row["job_id"], row["title"],
                  row["body"], row["muted"])


def _json(value: object) -> str:
    import json

    return json.dumps(value)


# -- streaks and cursors --------------------------------------------------------------

def states(store: Store, topic: str) -> dict[str, str]:
    return dict(store._conn().execute("select name, state from notify_state where topic = ?", (topic,)).fetchall())


def change_states(store: Store, topic: str, observed: dict[str, str],
                  decide: Callable[[str, str | None, str], tuple[str, Event | None]], *, now: datetime,
                  url_keys: Sequence[str], wanted: Collection[str], due: float) -> list[int]:
    """A streak moves: for each name, `decide(name, state stored, observed)` gives the state to
    store and the event it makes, if any. Read first; only a change takes a write transaction,
    inside which the states are read again (another observer may have moved them)."""
    before = states(store, topic)
    if all(decide(name, before.get(name), seen)[0] == before.get(name) for name, seen in observed.items()):
        return []
    with store._write() as conn:
        current = dict(conn.execute("select name, state from notify_state where topic = ?", (topic,)).fetchall())
        events = []
        for name, seen in observed.items():
            new, event = decide(name, current.get(name), seen)
            if new == current.get(name):
                continue
            conn.execute("insert into notify_state (topic, name, state, since) values (?, ?, ?, ?) on conflict"
                         " (topic, name) do update set state = excluded.state, since = excluded.since",
                         (topic, name, new, iso(now)))
            if event is not None:
                events.append(event)
        return _insert(conn, events, now=now, url_keys=url_keys, wanted=wanted, due=due)


def cursor(store: Store, name: str) -> str | None:
    row = store._conn().execute("select state from notify_state where topic = 'cursor' and name = ?",
                                (name,)).fetchone()
    return row[0] if row else None


def set_cursor(store: Store, name: str, value: str, now: datetime) -> None:
    store._conn().execute("insert into notify_state (topic, name, state, since) values ('cursor', ?, ?, ?)"
                          " on conflict (topic, name) do update set state = excluded.state, since = excluded.since",
                          (name, value, iso(now)))


# -- deliveries -------------------------------------------------------------------

def next_due(store: Store, url_keys: Collection[str]) -> float | None:
    """When the next delivery to one of these URLs may go (epoch seconds), or None."""
    if not url_keys:
        return None
    row = store._conn().execute(
        "select min(due) from notify_deliveries where sent_at is null and gave_up = 0 and url_key in"
        " (select value from json_each(?))", (_json(list(url_keys)),)).fetchone()
    return row[0]


def due_urls(store: Store, url_keys: Collection[str], now_ts: float) -> set[str]:
    """Of these URLs, those with a delivery due now and not claimed by a sender (a read: an idle
    look writes nothing)."""
    if not url_keys:
        return set()
    rows = store._conn().execute(
        "select distinct url_key from notify_deliveries where sent_at is null and gave_up = 0 and due <= ?"
        " and coalesce(claimed_until, 0) < ? and url_key in (select value from json_each(?))",
        (now_ts, now_ts, _json(list(url_keys))))
    return {r[0] for r in rows}


def claim(store: Store, url_key: str, *, worker: str, now_ts: float, lease_each: float, all_pending: bool,
          now: datetime) -> list[Stored]:
    """The events to send to one URL now, claimed for `worker` for lease_each seconds a message
    (one transaction: of senders at once, each delivery goes to one). Nothing unless one is due;
    then every pending one (`all_pending`: a digest) or only those due. A snoozed client's
    deliveries are dropped here too (snoozed after its event was made)."""
    with store._write() as conn:
        rows = conn.execute(
            "select d.due, e.* from notify_deliveries d join notify_events e on e.id = d.event_id"
            " where d.url_key = ? and d.sent_at is null and d.gave_up = 0 and coalesce(d.claimed_until, 0) < ?"
            " order by e.id", (url_key, now_ts)).fetchall()
        if not any(r["due"] <= now_ts for r in rows):
            return []
        snoozed = _active_snoozes(conn, now)
        dropped = [r["id"] for r in rows if r["slug"] in snoozed]
        conn.executemany("update notify_deliveries set gave_up = 1, last_error = ? where event_id = ? and url_key = ?",
                         [(f"{SNOOZED} before it was sent", event_id, url_key) for event_id in dropped])
        taken = [r for r in rows if r["slug"] not in snoozed and (all_pending or r["due"] <= now_ts)]
        until = now_ts + lease_each * (-(-len(taken) // DIGEST_MAX) if all_pending else len(taken))
        conn.executemany("update notify_deliveries set claimed_by = ?, claimed_until = ?, attempts = attempts + 1"
                         " where event_id = ? and url_key = ?", [(worker, until, r["id"], url_key) for r in taken])
        return [_stored(r) for r in taken]


def settle(store: Store, url_key: str, masked: str, event_ids: Sequence[int], *, error: str | None,
           now_ts: float, now: datetime) -> None:
    """The outcome of one send of these events to one URL, and the URL's health with it."""
    with store._write() as conn:
        if error is None:
            conn.executemany("update notify_deliveries set sent_at = ?, claimed_until = null, last_error = null"
                             " where event_id = ? and url_key = ?", [(iso(now), i, url_key) for i in event_ids])
        else:
            for event_id in event_ids:
                row = conn.execute("select attempts from notify_deliveries where event_id = ? and url_key = ?",
                                   (event_id, url_key)).fetchone()
                attempts = row[0] if row else MAX_ATTEMPTS
                conn.execute("update notify_deliveries set failures = failures + 1, last_error = ?,"
                             " claimed_until = null, due = ?, gave_up = ? where event_id = ? and url_key = ?",
                             (error, now_ts + backoff(attempts), int(attempts >= MAX_ATTEMPTS), event_id, url_key))
        mark_url(conn, url_key, masked, error, now)


def release(store: Store, url_key: str, event_ids: Sequence[int], *, due: float) -> None:
    """Claimed deliveries not tried after all (the URL failed on an earlier one): uncounted, due
    again with the one that failed."""
    if event_ids:
        with store._write() as conn:
            conn.executemany("update notify_deliveries set claimed_until = null, attempts = attempts - 1, due = ?"
                             " where event_id = ? and url_key = ?", [(due, i, url_key) for i in event_ids])


def mark_url(conn: sqlite3.Connection, url_key: str, masked: str, error: str | None, now: datetime) -> None:
    """A URL's health after a send (a test message's too)."""
    if error is None:
        conn.execute("insert into notify_urls (url_key, masked, last_ok) values (?, ?, ?) on conflict (url_key)"
                     " do update set masked = excluded.masked, last_ok = excluded.last_ok, failing_since = null",
                     (url_key, masked, iso(now)))
    else:
        conn.execute("insert into notify_urls (url_key, masked, last_error, last_error_at, failing_since)"
                     " values (?, ?, ?, ?, ?) on conflict (url_key) do update set masked = excluded.masked,"
                     " last_error = excluded.last_error, last_error_at = excluded.last_error_at,"
                     " failing_since = coalesce(notify_urls.failing_since, excluded.failing_since)",
                     (url_key, masked, error, iso(now), iso(now)))


def url_statuses(store: Store, url_keys: Collection[str]) -> list[UrlStatus]:
    if not url_keys:
        return []
    rows = store._conn().execute("select * from notify_urls where url_key in (select value from json_each(?))",
                                 (_json(list(url_keys)),))
    return [UrlStatus(*tuple(r)) for r in rows]


def failing(store: Store, url_keys: Collection[str]) -> list[UrlStatus]:
    """The configured URLs whose last send failed."""
    return [s for s in url_statuses(store, url_keys) if s.failing_since]


def counts(store: Store) -> tuple[int, int]:
    """Deliveries sent, and failed attempts, so far (the metrics' counters)."""
    row = store._conn().execute("select count(sent_at), coalesce(sum(failures), 0) from notify_deliveries").fetchone()
    return int(row[0]), int(row[1])


def prune(store: Store, before: datetime) -> int:
    """Forget events (and their deliveries) older than `before`; how many."""
    with store._write() as conn:
        conn.execute("delete from notify_deliveries where event_id in (select id from notify_events where at < ?)",
                     (iso(before),))
        return conn.execute("delete from notify_events where at < ?", (iso(before),)).rowcount


# -- snoozes -----------------------------------------------------------------------

def snooze(store: Store, slug: str, *, until: datetime | None, until_fresh: bool, by_user: str | None,
           reason: str | None, now: datetime) -> Snooze:
    """Snooze a client's alerts (replacing its snooze, if any)."""
    row = Snooze(slug, iso(until) if until else None, until_fresh, by_user, iso(now), reason)
    store._conn().execute(
        "insert or replace into notify_snoozes (slug, until, until_fresh, by_user, at, reason)"
        " values (?, ?, ?, ?, ?, ?)",
        (row.slug, row.until, int(row.until_fresh), row.by_user, row.at, row.reason))
    return row


def clear_snooze(store: Store, slug: str) -> bool:
    return store._conn().execute("delete from notify_snoozes where slug = ?", (slug,)).rowcount > 0


def snoozes(store: Store, now: datetime) -> dict[str, Snooze]:
    """The snoozes in force, by slug."""
    return _active_snoozes(store._conn(), now)


def end_fresh_snoozes(store: Store, fresh: Collection[str]) -> list[str]:
    """Clients snoozed until fresh that are fresh now: their snoozes end."""
    if not fresh:
        return []
    rows = store._conn().execute("delete from notify_snoozes where until_fresh = 1 and slug in"
                                 " (select value from json_each(?)) returning slug", (_json(list(fresh)),))
    return [r[0] for r in rows]
