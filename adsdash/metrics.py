"""Prometheus metrics: what `adsdash metrics` prints and a worker's `/metrics` serves (--metrics-port).

Every scrape reads afresh from the ads_sync folder (the Workspace, which re-parses only the files
that changed) and the job store (job_tally.py: a few aggregate queries), so the command and the
endpoint give the same facts, and a restart loses nothing: the counters are counts of the store's
job rows, not counts kept in this process. A part that cannot be read is reported as
`adsdash_metrics_source_up{source=...} 0`, and the other part is still served.

The families are prometheus_client's (a custom collector in a registry of its own); the text is
written here, in the text format 0.0.4, since prometheus_client's writer costs ~10 µs a sample:
some 40 ms for the 4,000 per-client samples of 1,000 clients, most of a scrape's budget (50 ms).

Imported only by the metrics command and a worker's --metrics-port: `adsdash run` never loads
prometheus_client (tests/test_cli_imports.py).
"""

from __future__ import annotations

import contextlib
import logging
import operator
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from adsdash.catalogue import COMMANDS
from adsdash.freshness import Kind
from adsdash.job_tally import DURATION_BUCKETS, EMPTY_HISTOGRAM, SUCCESS_COMMANDS, JobTally
from adsdash.records import ENDED, QUEUED, STARTED, StoreError

if TYPE_CHECKING:
    from adsdash.engine import Engine

log = logging.getLogger(__name__)
SECONDS_PER_DAY = 86400
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
READ_FAULTS = (StoreError, sqlite3.Error, OSError)


def notifications_sent_and_failed(engine: Engine) -> tuple[int, int]:
    """Notifications sent (deliveries that went, one per event and URL) and failed (send attempts
    that did not) so far, as counted in the store's notify_deliveries (adsdash/notify_store.py)."""
    from adsdash import notify_store  # here: light, and only a scrape needs it

    return notify_store.counts(engine.store)


# -- reading -----------------------------------------------------------------

class Kept:
    """What a worker's collector keeps between scrapes, all of it derived from the store and the
    folder, so a restart loses nothing: the ended jobs counted so far (job_tally.py), and the samples
    of each client as they were, handed out again while its figures stay the same (so that the
    writer, TextWriter, writes them by taking the lines it wrote for them)."""

    def __init__(self) -> None:
        self.tally = JobTally()
        self.clients: dict[str, tuple[tuple, list[Sample], list[Sample]]] = {}  # slug -> its freshness, samples
        self.successes: dict[tuple[str, str], tuple[str, Sample]] = {}  # (slug, command) -> finished_at, sample


def client_families(engine: Engine, kept: Kept) -> list[Metric]:
    """Per client: the watermark's lag and the freshness state; and the clients in each state."""
    workspace = engine.workspace
    if problem := workspace.clients_folder_problem():
        raise OSError(problem)
    lag = GaugeMetricFamily(
        "adsdash_client_watermark_lag_seconds",
        "How far the client's google_ads watermark is behind yesterday in the client's time zone: whole days,"
        " in seconds (days x 86400; 0 or less is fresh). No sample for a client never synced or unreadable.",
        labels=["client"])
    state = GaugeMetricFamily(
        "adsdash_client_freshness",
        "The client's freshness, one series per client: its state (fresh, late, stale, never, error) in the"
        " state label, value 1.", labels=["client", "state"])
    per_state = dict.fromkeys(Kind, 0)
    before, kept.clients = kept.clients, {}
    for client in workspace.clients(as_of=workspace.stamp()):  # only the changed files are read again
        freshness = client.freshness
        per_state[freshness.kind] += 1
        made = before.get(client.slug)
        if made is None or made[0] != (freshness.kind, freshness.lag_days):
            lags = [] if freshness.lag_days is None else [
                Sample(lag.name, {"client": client.slug}, freshness.lag_days * SECONDS_PER_DAY)]
            made = ((freshness.kind, freshness.lag_days), lags,
                    [Sample(state.name, {"client": client.slug, "state": freshness.kind.value}, 1)])
        kept.clients[client.slug] = made
        lag.samples += made[1]
        state.samples += made[2]
    clients = GaugeMetricFamily("adsdash_clients", "Clients in the ads_sync folder, by freshness state.",
                                labels=["state"])
    for kind, count in per_state.items():
        clients.add_metric([kind.value], count)
    return [lag, state, clients]


def _unix(text: str | None) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp() if text else None
    except (ValueError, TypeError):  # a row is data: a mangled time is left out, not a failed scrape
        return None


def store_families(engine: Engine, kept: Kept) -> list[Metric]:
    """Jobs by command and status, their durations, the clients' last successes, workers, the file."""
    store = engine.store
    facts = kept.tally.facts(store._conn())
    ended = CounterMetricFamily("adsdash_jobs_ended", "Jobs ended, by command and final status (the store's rows).",
                                labels=["command", "status"])
    durations = HistogramMetricFamily("adsdash_job_duration_seconds",
                                      "How long ended jobs ran, from start to end, by command.", labels=["command"])
    queued = GaugeMetricFamily("adsdash_jobs_queued", "Jobs waiting to run, by command.", labels=["command"])
    running = GaugeMetricFamily("adsdash_jobs_running", "Jobs running now, by command.", labels=["command"])
    bounds = [floatToGoString(bound) for bound in DURATION_BUCKETS]
    for command in dict.fromkeys([*COMMANDS, *sorted({c for c, _ in facts.jobs})]):  # every command, always
        for status in ENDED:
            ended.add_metric([command, status], facts.jobs.get((command, status), 0))
        queued.add_metric([command], facts.jobs.get((command, QUEUED), 0))
        running.add_metric([command], facts.jobs.get((command, STARTED), 0))
        histogram = facts.durations.get(command, EMPTY_HISTOGRAM)
        durations.add_metric([command], [*zip(bounds, histogram.buckets, strict=True), ("+Inf", histogram.jobs)],
                             histogram.total_seconds)
    oldest = GaugeMetricFamily("adsdash_jobs_oldest_queued_timestamp_seconds",
                               "When the job waiting longest was queued (unix time); no sample when none waits.")
    if (first := _unix(facts.oldest_queued)) is not None:
        oldest.add_metric([], first)
    success = GaugeMetricFamily(
        "adsdash_client_last_success_timestamp_seconds",
        f"When the client's last successful job of a command ({', '.join(SUCCESS_COMMANDS)}) finished (unix time).",
        labels=["client", "command"])
    before, kept.successes = kept.successes, {}
    for key, finished in facts.last_success.items():  # in the same order from one scrape to the next
        made = before.get(key)
        if made is None or made[0] != finished:
            if (when := _unix(finished)) is None:
                continue
            made = (finished, Sample(success.name, {"client": key[0], "command": key[1]}, when))
        kept.successes[key] = made
        success.samples.append(made[1])

    live = store.live_workers()
    now = time.time()
    workers = GaugeMetricFamily("adsdash_workers_live", "Workers alive now for this data folder.", value=len(live))
    age = GaugeMetricFamily("adsdash_worker_heartbeat_age_seconds", "Seconds since each live worker's last heartbeat.",
                            labels=["worker", "kind"])
    for worker in live:
        age.add_metric([worker.id, worker.kind], max(0.0, now - worker.heartbeat))
    sent, failed = notifications_sent_and_failed(engine)
    return [ended, durations, queued, running, oldest, success, workers, age,
            GaugeMetricFamily("adsdash_store_lines", "Lines of output recorded for the jobs in the job store.",
                              value=facts.lines),
            GaugeMetricFamily("adsdash_store_size_bytes", "The job store's size on disk (its file and WAL).",
                              value=store_size(engine)),
            CounterMetricFamily("adsdash_notifications_sent", "Notifications delivered.", value=sent),
            CounterMetricFamily("adsdash_notifications_failed", "Notifications that could not be delivered.",
                                value=failed)]


def store_size(engine: Engine) -> int:
    path = str(engine.settings.store_path)
    total = 0
    for name in (path, path + "-wal"):
        with contextlib.suppress(FileNotFoundError):  # no WAL: none written since the last checkpoint
            total += os.stat(name).st_size  # a stat opens nothing: the store's locks are safe
    return total


def read_all(engine: Engine, kept: Kept | None = None) -> tuple[list[Metric], list[str]]:
    """Every family, and one line for each source that could not be read (its families left out).
    `kept`: what earlier reads of a worker's collector left; None reads everything now."""
    kept = kept or Kept()
    sources: tuple[tuple[str, Callable[[], list[Metric]]], ...] = (
        ("workspace", lambda: client_families(engine, kept)), ("store", lambda: store_families(engine, kept)))
    families: list[Metric] = []
    problems: list[str] = []
    up = GaugeMetricFamily("adsdash_metrics_source_up", "1 when the source was read for this scrape, else 0.",
                           labels=["source"])
    for source, read in sources:
        try:
            families += read()
            up.add_metric([source], 1)
        except READ_FAULTS as exc:
            problems.append(f"metrics: cannot read the {source}: {exc}")
            up.add_metric([source], 0)
    return [*families, up], problems


class AdsdashCollector:
    """prometheus_client's custom collector: each collect() reads everything afresh."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.kept = Kept()  # ended jobs counted so far: each scrape reads only what ended since
        self._lock = threading.Lock()  # scrapes at once take turns (Kept is one scrape's)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            families, problems = read_all(self.engine, self.kept)
        for problem in problems:
            log.warning("%s", problem)
        yield from families


# -- writing -----------------------------------------------------------------

_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "gaugehistogram": "histogram",
          "stateset": "gauge", "info": "gauge", "summary": "summary"}  # as prometheus_client's writer says them
_SUFFIX = {"counter": "_total", "info": "_info"}


_LABEL_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", '"': '\\"'})


def _number(value: float) -> str:
    if type(value) is int:
        return str(value)
    return repr(float(value)) if value - value == 0 else floatToGoString(value)  # NaN, +Inf, -Inf as Go says them


class TextWriter:
    """Writes families in the text exposition format (version 0.0.4), as Prometheus scrapes it and
    node_exporter's textfile collector reads it: what prometheus_client's generate_latest writes
    (tests compare them). It keeps what it wrote last time: a family handed the same samples again
    (an unchanged client's are: see Kept) is written as then, and any sample it wrote before by
    taking its line."""

    def __init__(self) -> None:
        # family name -> its help, its samples (held, so their ids stay theirs), its text, each sample's line by id
        self._kept: dict[str, tuple[str, list[Sample], str, dict[int, tuple[Sample, str]]]] = {}
        self._lock = threading.Lock()

    def write(self, families: Iterable[Metric]) -> bytes:
        with self._lock:
            before, self._kept = self._kept, {}
            for family in families:
                samples = family.samples
                kept = before.get(family.name)
                if kept is None or kept[0] != family.documentation or len(kept[1]) != len(samples) \
                        or not all(map(operator.is_, kept[1], samples)):  # else: the same samples as last time
                    kept = self._written(family, kept[3] if kept is not None else {})
                self._kept[family.name] = kept
            return "".join(kept[2] for kept in self._kept.values()).encode("utf-8")

    @staticmethod
    def _written(family: Metric, lines_before: dict[int, tuple[Sample, str]]) -> tuple:
        name = family.name + _SUFFIX.get(family.type, "")
        help_text = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        out = [f"# HELP {name} {help_text}\n# TYPE {name} {_TYPES.get(family.type, 'untyped')}\n"]
        lines: dict[int, tuple[Sample, str]] = {}
        escapes = _LABEL_ESCAPES
        for sample in family.samples:
            if (known := lines_before.get(id(sample))) is not None and known[0] is sample:
                line = known[1]
            else:
                value = sample.value
                number = str(value) if type(value) is int else _number(value)
                if sample.labels:
                    labels = ",".join([f'{key}="{text.translate(escapes)}"' for key, text in sample.labels.items()])
                    line = f"{sample.name}{{{labels}}} {number}\n"
                else:
                    line = f"{sample.name} {number}\n"
            lines[id(sample)] = (sample, line)
            out.append(line)
        return family.documentation, family.samples, "".join(out), lines


def exposition(families: Iterable[Metric]) -> bytes:
    """The families once, in the text exposition format (see TextWriter)."""
    return TextWriter().write(families)


def samples(families: Iterable[Metric]) -> list[dict[str, Any]]:
    """Each sample as a dict, for --json."""
    return [{"name": s.name, "labels": s.labels, "value": s.value} for f in families for s in f.samples]


# -- serving -----------------------------------------------------------------

def registry_for(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)  # no describe(): registering reads nothing
    registry.register(AdsdashCollector(engine))  # a Collector by its collect()
    return registry


def wsgi_app(registry: CollectorRegistry) -> Callable:
    """/metrics: the registry's families as text; anything else 404."""
    writer = TextWriter()

    def app(environ: dict, start_response: Callable) -> list[bytes]:
        if environ.get("PATH_INFO") not in ("/metrics", "/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: try /metrics\n"]
        body = writer.write(registry.collect())
        start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    return app


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """A scrape every 15 s is not news for the worker's log."""


def serve(engine: Engine, address: str, port: int) -> WSGIServer:
    """Serve /metrics on address:port from a daemon thread; returns the server (shutdown() stops it).
    One thread answers scrapes one at a time, so they share one store connection and never crowd
    the worker. OSError when the address cannot be listened on."""
    try:
        family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)[0][0]

        class Server(WSGIServer):
            address_family = family

        server = make_server(address, port, wsgi_app(registry_for(engine)), Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise OSError(f"metrics: cannot listen on {_host_port(address, port)}: {exc.strerror or exc}") from None
    threading.Thread(target=server.serve_forever, name="adsdash-metrics", daemon=True).start()
    log.info("metrics served on http://%s/metrics", _host_port(address, server.server_port))
    return server


def _host_port(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
