"""What the clients screen shows, read off the UI thread: the folder's clients, their jobs and
the summary, and the fingerprint that says whether anything changed since the last read."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adsdash import retention
from adsdash.sanitize import one_line
from adsdash.store import Job, WorkerInfo, iso
from adsdash.widgets.clients_table import ClientRow, RowMemo, build_rows
from adsdash.widgets.summary_bar import Summary, summarize

if TYPE_CHECKING:
    from adsdash.app import AdsdashApp
    from adsdash.workspace import Client

FIRST_PAINT_WAIT = 0.5  # seconds the app may wait, as it is made, for the first read of the files
RECENT_FAILED = 20  # failed jobs each refresh reads, to find the ones that failed since the last
FULL_READ_SECONDS = 60.0  # read everything at least this often (a client's day turns at its midnight)


@dataclass
class ClientsData:
    """One read of the files and the store, made off the UI thread."""
    rows: list[ClientRow] = field(default_factory=list)
    clients: dict[str, Client] = field(default_factory=dict)
    summary: Summary = field(default_factory=Summary)
    taken: float = field(default_factory=time.monotonic)
    failed: tuple[Job, ...] | None = None  # the newest failed jobs; None when the store was not read
    latest: dict[str, Job] = field(default_factory=dict)  # kept to redraw the ages without reading
    active: dict[str, Job] = field(default_factory=dict)
    fingerprint: tuple = ()  # of the folder and the jobs: the next read is skipped while it holds
    now: datetime | None = None  # the app's clock when read: the rows' times are as of then
    memo: RowMemo = field(default_factory=dict)  # the rows made, to use again (build_rows); shared by reads
    gaps: Mapping[str, int | str | None] = field(default_factory=dict)  # the gap days counted (coverage.py)


def changes(app: AdsdashApp, since: ClientsData) -> tuple[tuple, list[WorkerInfo]] | None:
    """The folder's and the store's fingerprint, and the live workers, if anything changed since
    that read (or it is old); None: nothing to read again. Costs a scandir and two small queries."""
    engine = app.engine
    live = engine.store.live_workers()
    fingerprint = (engine.workspace.stamp(), engine.store.activity(), tuple(w.id for w in live),
                   app.starting_worker(), engine.coverage.generation)
    if fingerprint == since.fingerprint and time.monotonic() - since.taken < FULL_READ_SECONDS:
        return None
    return fingerprint, live


def read_clients(app: AdsdashApp, *, first: bool = False, fingerprint: tuple = (),
                 live: list[WorkerInfo] | None = None, memo: RowMemo | None = None) -> ClientsData:
    """Everything the screen shows, read once; `live`: the workers, if just read (changes());
    `memo`: the last read's, whose unchanged rows are used again."""
    memo = {} if memo is None else memo
    engine = app.engine
    now = app.clock()
    clients: list[Client] = []
    problem = engine.workspace.clients_folder_problem()
    if problem is None:
        # The first read is what the first frame waits for: the parse cache is written later.
        # The folder as changes() just stamped it (fingerprint[0]): its files are not stated twice.
        clients = engine.workspace.clients(save_cache=not first, as_of=fingerprint[0] if fingerprint else None)
    store = engine.store
    latest, active = store.latest_by_slug(), store.active_by_slug()
    counts = store.counts(since=iso(now - timedelta(hours=24)))
    summary = summarize((c.freshness.kind for c in clients), counts,
                        live=store.live_workers() if live is None else live,
                        read_only=app.read_only, problem=problem, starting=app.starting_worker(),
                        store_bytes=retention.size(store).used, notify_problem=notify_problem(app))
    failed = tuple(store.jobs(status="failed", limit=RECENT_FAILED))
    gaps = engine.coverage.recent  # counted in the background (ClientsScreen.count_gaps): no CSV is read here
    return ClientsData(build_rows(clients, latest, active, now, memo, gaps), {c.slug: c for c in clients}, summary,
                       now=now, failed=failed, latest=latest, active=active, fingerprint=fingerprint, memo=memo,
                       gaps=gaps)


def notify_problem(app: AdsdashApp) -> str | None:
    """An alert URL failing, for the summary line (only with notify_urls set: one small query)."""
    if not app.engine.settings.notify_urls:
        return None
    from adsdash.notify_send import failing_text  # here: the notifications' parts only when configured

    try:
        return failing_text(app.engine)
    except Exception as exc:  # noqa: BLE001 - the screen still shows the clients: only this part is said
        return one_line(f"notify: cannot read the alert URLs' state: {exc}")


def failure_notice(job: Job) -> str:
    """One line for a failed job: its command, client and the first line of its error."""
    first = next((line for line in (job.error or "").splitlines() if line.strip()), "no reason recorded")
    return one_line(f"{job.command} {job.slug}: {first}")


def start_first_read(app: AdsdashApp) -> Future[ClientsData]:
    """Read the files and the store in a thread as the app is made, and wait for it a bounded
    moment (nothing is on screen yet), so the rows are in hand when the screen mounts and the
    first paint shows them. A slow folder does not hold the app back: past the bound Textual
    starts, and the rows arrive when they are read. (Waiting here beats reading alongside
    Textual's startup: both are Python, and the reader, handing the GIL over at every stat,
    is starved until the screen blocks for it; measured 1-5 ms sooner to the first frame.)"""
    future: Future[ClientsData] = Future()

    def run() -> None:
        try:
            future.set_result(read_clients(app, first=True))
        except Exception as exc:  # noqa: BLE001 - handed to whoever waits for it
            future.set_exception(exc)

    threading.Thread(target=run, name="adsdash-first-load", daemon=True).start()
    wait([future], timeout=FIRST_PAINT_WAIT)
    return future
