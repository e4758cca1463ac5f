"""The job store on a real SQLite file: settings, privacy, and the per-client turn rules."""

from __future__ import annotations

import signal
import stat

from adsdash.store import CANCELLED, FAILED, FINISHED, STARTED, Claim, NewJob, Store
from adsdash.tasks.worker import Worker


def new_job(store: Store, slug: str = "acme"):
    return store.create_job(slug=slug, command="validate", args={}, argv=["x", "validate", slug], cwd="/")


def test_file_settings_and_privacy(tmp_path):
    store = Store(tmp_path / "home" / "jobs.db")
    new_job(store)
    conn = store.db.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("pragma busy_timeout").fetchone()[0] == 10000
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
    for name in ("jobs.db", "jobs.db-wal"):
        assert stat.S_IMODE((tmp_path / "home" / name).stat().st_mode) == 0o600
    indexes = {tuple(i.columns) for i in store.db["jobs"].indexes}
    assert ("slug", "id") in indexes and ("status", "id") in indexes


def test_one_client_one_turn_in_queue_order(tmp_path):
    store = Store(tmp_path / "jobs.db")
    a, b, c = new_job(store), new_job(store), new_job(store)
    other = new_job(store, "other")
    assert store.claim(c.id, "w") is Claim.PARKED  # an older job of the client waits
    assert store.claim(a.id, "w") is Claim.CLAIMED
    assert store.claim(b.id, "w") is Claim.PARKED  # parked behind a
    assert store.claim(other.id, "w") is Claim.CLAIMED  # other clients are free
    # the oldest parked job is handed back first, one at a time
    assert store.finish(a.id, FINISHED, worker="w", exit_code=0) == [b.id]
    assert store.finish(other.id, FINISHED, worker="w", exit_code=0) == []
    assert store.claim(b.id, "w") is Claim.CLAIMED
    assert store.claim(c.id, "w") is Claim.PARKED
    assert store.finish(b.id, FINISHED, worker="w", exit_code=0) == [c.id]
    assert store.claim(c.id, "w") is Claim.CLAIMED


def test_a_clients_active_job_is_its_running_one_else_the_next_to_run(tmp_path):
    """The table (active_by_slug) and the log pane (active_job) show the same job: the running
    one, else the oldest queued, the one that runs next."""
    store = Store(tmp_path / "jobs.db")
    a, b = new_job(store), new_job(store)
    new_job(store, "other")
    assert store.active_by_slug()["acme"].id == store.active_job("acme").id == a.id
    store.claim(a.id, "w")
    store.finish(a.id, FINISHED, worker="w", exit_code=0)
    c = new_job(store)
    store.claim(b.id, "w")
    assert store.active_by_slug()["acme"].id == store.active_job("acme").id == b.id  # running, before c
    store.finish(b.id, FINISHED, worker="w", exit_code=0)
    assert store.active_by_slug()["acme"].id == store.active_job("acme").id == c.id
    assert store.active_job("nobody") is None


def test_a_job_is_claimed_once_and_ended_once(tmp_path):
    store = Store(tmp_path / "jobs.db")
    job = new_job(store)
    assert store.claim(job.id, "w1") is Claim.CLAIMED
    assert store.claim(job.id, "w1") is Claim.ALREADY_RUNNING  # a duplicate delivery, same worker
    assert store.claim(job.id, "w2") is Claim.ALREADY_RUNNING  # ... or another one
    store.finish(job.id, FINISHED, worker="w2", exit_code=0)  # not w2's run: no effect
    store.finish(job.id, CANCELLED)  # not queued: no effect
    assert store.job(job.id).status == STARTED
    store.finish(job.id, FINISHED, worker="w1", exit_code=0)
    store.finish(job.id, FAILED, worker="w1", error="late")  # ended already: no effect
    done = store.job(job.id)
    assert (done.status, done.exit_code, done.error) == (FINISHED, 0, None)
    assert store.claim(job.id, "w3") is Claim.GONE
    assert store.claim(12345, "w3") is Claim.GONE


def test_cancelling_a_waiting_job_frees_the_next(tmp_path):
    store = Store(tmp_path / "jobs.db")
    a, b = new_job(store), new_job(store)
    assert store.claim(b.id, "w") is Claim.PARKED  # parked: a is older
    job, due = store.request_cancel(a.id)
    assert job.status == CANCELLED and due == [b.id]
    assert store.claim(a.id, "w") is Claim.GONE
    assert store.claim(b.id, "w") is Claim.CLAIMED
    job, due = store.request_cancel(b.id)
    assert job.status == STARTED and job.cancel_requested and due == []


def test_embedded_worker_leaves_signal_handlers_alone(fake_settings):
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    w = Worker(fake_settings, kind="embedded")
    w.start()
    try:
        assert {s: signal.getsignal(s) for s in before} == before
    finally:
        w.stop()
    assert {s: signal.getsignal(s) for s in before} == before


def test_chunks_read_back_from_any_line_are_the_lines(tmp_path):
    """store.chunks (what `logs` and `result` print) holds exactly the lines store.lines gives,
    from any starting line, cut inside a chunk, text or bytes, and of one stream."""
    from adsdash.chunks import make_chunk, texts_of

    store = Store(tmp_path / "jobs.db")
    job = new_job(store)
    store.append_chunks(job.id, [make_chunk(1, 3, 1.0, "stdout", b"one\ntwo\nthree"),
                                 make_chunk(4, 2, 2.0, "stderr", b"bad \xff\nworse"),
                                 make_chunk(6, 2, 3.0, "stdout", b"six\nseven")])
    every = ["one", "two", "three", "bad \ufffd", "worse", "six", "seven"]
    for after in range(8):
        assert [(line.seq, line.as_text) for line in store.lines(job.id, after=after)] == \
            list(zip(range(after + 1, 8), every[after:], strict=True)), after
        for stream in (None, "stdout", "stderr"):
            lines = [line.as_text for line in store.lines(job.id, after=after, stream=stream)]
            pieces = list(store.chunks(job.id, after=after, stream=stream))
            assert [text for piece in pieces for text in texts_of(piece.data)] == lines, (after, stream)
            assert [piece.first_seq for piece in pieces][:1] == [line.seq for line in
                                                                 store.lines(job.id, after=after, stream=stream)][:1]


def test_a_line_is_found_in_a_chunk_of_bytes_too(tmp_path):
    """A chunk with invalid UTF-8 is stored as bytes, which SQL's LIKE does not look into: its
    lines are still found (the job detail's search)."""
    from adsdash.chunks import make_chunk

    store = Store(tmp_path / "jobs.db")
    job = new_job(store)
    store.append_chunks(job.id, [make_chunk(1, 3, 1.0, "stdout", b"bad \xff\nthe Needle\nafter"),
                                 make_chunk(4, 2, 2.0, "stdout", b"plain\nneedle again")])
    assert store.find_line(job.id, "needle") == 2
    assert store.find_line(job.id, "needle", after=2) == 5
    assert store.find_line(job.id, "needle", before=5) == 2
    assert store.find_line(job.id, "absent") is None


def test_latest_by_slug_read_since_the_last_call_misses_nothing(tmp_path):
    store = Store(tmp_path / "jobs.db")
    a1, b1 = new_job(store, "a"), new_job(store, "b")
    assert store.claim(b1.id, "w") is Claim.CLAIMED
    first = {slug: (job.id, job.status) for slug, job in store.latest_by_slug().items()}
    assert first == {"a": (a1.id, "queued"), "b": (b1.id, STARTED)}
    a2 = new_job(store, "a")  # newer than the one shown
    store.finish(b1.id, FINISHED, worker="w", exit_code=0)  # the one shown ends
    store.finish(a1.id, CANCELLED)  # an older job ends: a2 stays the newest
    got = store.latest_by_slug()
    assert {slug: (job.id, job.status) for slug, job in got.items()} == {"a": (a2.id, "queued"), "b": (b1.id, FINISHED)}
    c1 = new_job(store, "c")
    again = store.latest_by_slug()
    assert again["b"] is got["b"] and again["c"].id == c1.id
    assert again == Store(tmp_path / "jobs.db").latest_by_slug()  # as a first, full read finds them


def test_latest_by_slug_after_the_first_read_does_not_walk_every_job(tmp_path):
    """The clients screen calls it at every refresh: its cost follows the jobs added or running
    since the last call, not the store's size (an OR of id > ? and id in (...) made SQLite scan
    the whole table). Counted in SQLite's own virtual machine steps."""
    store = Store(tmp_path / "jobs.db")
    old = [NewJob(f"c{i % 500}", "validate", {}, ["x"], "/", None, None, None) for i in range(2000)]
    for job, _ in store.create_jobs_unless_active(old, unless_active=False):
        store.finish(job.id, CANCELLED)
    running = new_job(store, "c1")
    store.claim(running.id, "w")
    store.latest_by_slug()  # the first read: every client's newest
    new_job(store, "c2")
    steps = []
    store._conn().set_progress_handler(lambda: steps.append(1), 100)  # called every 100 steps
    try:
        latest = store.latest_by_slug()
    finally:
        store._conn().set_progress_handler(None, 0)
    assert latest["c1"].id == running.id and len(latest) == 500
    assert len(steps) < 20, f"{len(steps) * 100} steps for two jobs among 2,002"
