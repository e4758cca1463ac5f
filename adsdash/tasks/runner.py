"""One job: spawn the CLI, stream its lines into the store, cancel on request, reap.

Both pipes are read by one selector loop, so stdout and stderr interleave in arrival
order and the loop can also flush, watch for a cancel and escalate signals. The child
gets its own session and process group; signals go to the whole group, and to any
descendant that left it (setsid).

The store is our bookkeeping, the CLI is the operator's data job: when a store write
fails (disk full, I/O error), the CLI runs on; its lines wait in memory (up to a bound,
then they are counted as dropped) and are written when the store takes them again.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import signal
import sqlite3
import subprocess
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

from adsdash.chunks import Chunk, make_chunk, merged
from adsdash.exits import signal_name
from adsdash.processes import descendants, kill_if_same, signal_group
from adsdash.sanitize import one_line
from adsdash.store import CANCELLED, FAILED, FINISHED, Store

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.01  # pending lines wait this long for more before the pipes count as idle
FLUSH_SECONDS = 0.05  # pending lines never wait longer than this for the store
CANCEL_POLL_SECONDS = 0.1
DRAIN_SECONDS = 0.5  # after the CLI exits, how long a grandchild may keep the pipes open
MAX_LINE_BYTES = 1 << 20
READ_BYTES = 1 << 16
BATCH_CHUNKS = 32  # chunks per store transaction at most (a chunk is up to 256 KB)
FLUSH_LINES = 50_000  # pending lines that are flushed at once, whatever the time
TAIL_CHUNKS = 8  # the last reads kept in memory, for the outcome's result or error
TAIL_LINES = 200
STORE_RETRY_SECONDS = 1.0  # after a failed store write, the next try
BACKLOG_BYTES = 256 << 20  # output held in memory while the store refuses it; beyond, lines are dropped
STORE_FAULTS = (sqlite3.Error, OSError)
# `2025-10-13 08:00:01,123 - ERROR - ads_sync - message`
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (\w+) - [^ ]+ - (.*)$")


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int | None
    error: str | None
    result: str | None
    output_note: str | None = None


def describe_exit(code: int) -> str:
    """The stored error's words for an exit (the screens name a signal with exits.exit_text)."""
    if (name := signal_name(code)) is not None:
        return f"killed by {name}"
    if code == 130:
        return "interrupted (exit 130)"
    if code == 2:
        return "ads_sync rejected the arguments (exit 2)"
    return f"exit code {code}"


class JobRun:
    """Runs `argv` in `cwd` for job `job_id`; owned by one worker thread from spawn to reap."""

    def __init__(self, store: Store, job_id: int, argv: Sequence[str], cwd: str, *, grace_seconds: float = 2.0):
        self.store = store
        self.job_id = job_id
        self.argv = list(argv)
        self.cwd = cwd
        self.grace_seconds = grace_seconds
        self._cancel_reason: str | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._pending: list[Chunk] = []
        self._pending_lines = 0
        self._tail: deque[tuple[str, bytes]] = deque(maxlen=TAIL_CHUNKS)  # the last reads, newest last
        self._last_error: str | None = None
        # Store faults: the first one's line and reason, what is held, what was dropped.
        self._fault: tuple[int, str] | None = None
        self._retry_at = 0.0
        self._held_bytes = 0
        self._dropped: list[int] = []  # first and last dropped seq
        self._dropped_count = 0
        self._signalled = False
        self._victims: dict[int, int] = {}  # descendants seen at cancel: pid -> start ticks

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            self._cancel_reason = self._cancel_reason or reason

    # -- output ------------------------------------------------------------

    def _add_lines(self, stream: str, raw: bytes, count: int, now: float) -> None:
        """`count` complete lines of one stream, joined by newlines, as read: one chunk (merged
        with the one before when it continues it). No Python work per line."""
        if self._fault is not None and not self._hold(len(raw), count):
            return
        chunk = make_chunk(self._seq + 1, count, now, stream, raw)
        self._seq += count
        self._pending_lines += count
        pending = self._pending
        if pending and (both := merged(pending[-1], chunk)) is not None:
            pending[-1] = both
        else:
            pending.append(chunk)
        self._tail.append((stream, raw))
        if b" - ERROR - " in raw:
            for line in raw.split(b"\n"):
                match = LOG_RECORD.match(line.decode("utf-8", "replace").rstrip("\r"))
                if match and match.group(1) == "ERROR":
                    self._last_error = match.group(2)

    def _hold(self, size: int, count: int) -> bool:
        """While the store refuses writes: keep lines within the memory bound, else count them dropped."""
        size += 64 * count
        if self._held_bytes + size <= BACKLOG_BYTES:
            self._held_bytes += size
            return True
        first, last = self._seq + 1, self._seq + count
        self._seq = last
        self._dropped = [self._dropped[0] if self._dropped else first, last]
        self._dropped_count += count
        return False

    def _flush(self) -> bool:
        """Write pending lines; False (lines kept) if the store refused them."""
        if not self._pending:
            return True
        if self._fault is not None and time.monotonic() < self._retry_at:
            return False
        while self._pending:  # a held backlog goes in slices: no one huge transaction
            batch = self._pending[:BATCH_CHUNKS]
            try:
                self.store.append_chunks(self.job_id, batch)
            except STORE_FAULTS as exc:
                if self._fault is None:
                    self._fault = (batch[0].first_seq, one_line(str(exc), 120))
                    log.error("job %s: store write failed at line %d (%s); the CLI runs on, its lines wait",
                              self.job_id, batch[0].first_seq, exc)
                self._retry_at = time.monotonic() + STORE_RETRY_SECONDS
                return False
            del self._pending[:BATCH_CHUNKS]
        self._pending_lines = 0
        self._held_bytes = 0
        return True

    def flush_all(self) -> None:
        """After the run: write what is held, or raise the store's error (the worker retries)."""
        self._retry_at = 0.0
        if not self._flush():
            raise sqlite3.OperationalError(self._fault[1] if self._fault else "store write failed")

    def output_note(self) -> str | None:
        """What the store's trouble did to this job's output, in a line; None if nothing."""
        if self._fault is None:
            return None
        line, reason = self._fault
        note = f"store writes failed from line {line:,} ({reason})"
        if self._dropped_count:
            first, last = self._dropped
            return f"{note}; {self._dropped_count:,} lines not kept (lines {first:,}–{last:,}), the rest written late"
        return f"{note}; every line was held and written late"

    # -- the run -----------------------------------------------------------

    def run(self) -> Outcome:
        """Run the CLI to its end. Store faults are held, not raised: see flush_all()."""
        if not os.path.isdir(self.cwd):
            return Outcome(FAILED, None, f"ads_sync folder not found: {self.cwd}", None)
        # The job id lets a CLI (or a wrapper around it) name the job in its own logs.
        env = dict(os.environ, PYTHONUNBUFFERED="1", ADSDASH_JOB_ID=str(self.job_id))
        try:
            proc = subprocess.Popen(
                self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0,
            )
        except OSError as exc:
            error = one_line(f"cannot start ads_sync ({self.argv[0]}): {exc.strerror or exc}")
            return Outcome(FAILED, None, error, None)
        try:
            self.store.set_process(self.job_id, proc.pid)
        except STORE_FAULTS as exc:  # recovery then cannot kill it by mistake: it finds no pid
            log.error("job %s: cannot record pid %s: %s", self.job_id, proc.pid, exc)
        try:
            code = self._pump(proc)
        finally:
            self._flush()
            self._reap_group(proc.pid)
        return self._outcome(code)

    def _pump(self, proc: subprocess.Popen) -> int:
        stdout, stderr = proc.stdout, proc.stderr
        assert stdout is not None and stderr is not None  # both opened as PIPE by run()
        sel = selectors.DefaultSelector()
        buffers: dict[str, bytearray] = {}
        for stream, pipe in (("stdout", stdout), ("stderr", stderr)):
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ, stream)
            buffers[stream] = bytearray()
        first_pending = 0.0
        next_cancel_check = 0.0
        signals = iter((signal.SIGINT, signal.SIGTERM, signal.SIGKILL))
        next_signal_at: float | None = None
        exited_at = 0.0  # when the CLI exited; read only once `code` is set
        code: int | None = None
        try:
            while True:
                now = time.monotonic()
                if self._pending and not first_pending:
                    first_pending = now
                flush_due = self._pending and (self._fault is None or now >= self._retry_at)
                # With lines pending, wait a moment for more (a CLI writing a line at a time would
                # otherwise cost a transaction and a chunk a line), never past the flush deadline.
                timeout = (max(0.0, min(COALESCE_SECONDS, FLUSH_SECONDS - (now - first_pending)))
                           if flush_due else CANCEL_POLL_SECONDS)
                if sel.get_map():
                    events = sel.select(timeout)
                else:  # both pipes at EOF: only the exit (or a cancel) is left to wait for
                    time.sleep(timeout)
                    events = []
                wall = time.time()
                for key, _ in events:
                    stream = key.data
                    try:
                        chunk = os.read(key.fd, READ_BYTES)
                    except BlockingIOError:
                        continue
                    buf = buffers[stream]
                    if not chunk:  # EOF: a last line without newline still counts
                        sel.unregister(key.fileobj)
                        if buf:
                            self._add_lines(stream, bytes(buf), 1, wall)
                            buf.clear()
                        continue
                    buf += chunk
                    if b"\n" in chunk:  # every complete line goes at once; the rest waits for its end
                        cut = buf.rfind(b"\n")
                        complete = bytes(buf[:cut])
                        del buf[:cut + 1]
                        self._add_lines(stream, complete, complete.count(b"\n") + 1, wall)
                    elif len(buf) > MAX_LINE_BYTES:
                        self._add_lines(stream, bytes(buf), 1, wall)
                        buf.clear()
                now = time.monotonic()
                # Flush when the pipes are idle, or COALESCE_SECONDS after the first pending line
                # (well within the FLUSH_SECONDS promise), or when a flood has piled up.
                if self._pending and (not events or now - first_pending >= COALESCE_SECONDS
                                      or self._pending_lines > FLUSH_LINES):
                    self._flush()
                    first_pending = 0.0
                if code is None:
                    code = proc.poll()
                    if code is not None:
                        exited_at = now
                if code is not None and (not sel.get_map() or now - exited_at > DRAIN_SECONDS):
                    for stream, buf in buffers.items():  # a last line a grandchild kept from its end
                        if buf:
                            self._add_lines(stream, bytes(buf), 1, time.time())
                    return code
                if now >= next_cancel_check:
                    next_cancel_check = now + CANCEL_POLL_SECONDS
                    if next_signal_at is None and self._wants_cancel():
                        next_signal_at = now
                if next_signal_at is not None and now >= next_signal_at and code is None:
                    sig = next(signals, None)
                    if sig is not None:
                        log.info("job %s: sending %s to process group %s", self.job_id, sig.name, proc.pid)
                        self._signal_tree(proc.pid, sig)
                        next_signal_at = now + (self.grace_seconds if sig != signal.SIGKILL else 5.0)
        finally:
            for key in list(sel.get_map().values()):
                sel.unregister(key.fileobj)
            sel.close()
            stdout.close()
            stderr.close()
            if code is None:
                proc.kill()
                proc.wait()

    def _wants_cancel(self) -> bool:
        with self._lock:
            if self._cancel_reason:
                return True
        try:
            requested = self.store.cancel_requested(self.job_id)
        except STORE_FAULTS as exc:
            log.warning("job %s: cannot read the cancel flag: %s", self.job_id, exc)
            return False
        if requested:
            self.cancel("cancelled by request")
            return True
        return False

    def _signal_tree(self, pid: int, sig: int) -> None:
        """The CLI's group, and every descendant that left it for a session of its own."""
        self._signalled = True
        self._victims.update(descendants(pid))
        signal_group(pid, sig)
        for child, ticks in self._victims.items():
            kill_if_same(child, ticks, sig)

    def _reap_group(self, pgid: int) -> None:
        """Whatever the CLI left behind in its group (a grandchild on our pipe) goes too, and
        after a cancel, the descendants that left the group."""
        if signal_group(pgid, signal.SIGKILL):
            log.warning("job %s: killed processes left in group %s after the CLI exited", self.job_id, pgid)
        if self._cancel_reason:
            for child, ticks in self._victims.items():
                kill_if_same(child, ticks, signal.SIGKILL)

    def _outcome(self, code: int) -> Outcome:
        if self._cancel_reason and self._signalled:  # not when the CLI had ended by itself first
            return Outcome(CANCELLED, code, self._cancel_reason, None)
        if code == 0:
            return Outcome(FINISHED, 0, None, self._last_info())
        reason = self._last_error or self._last_stderr()
        text = describe_exit(code)
        error = f"{text}: {reason}" if reason and code >= 0 else text
        return Outcome(FAILED, code, one_line(error), None)

    def _tail_lines(self) -> Iterator[tuple[str, str]]:
        """The last TAIL_LINES lines, newest first."""
        lines = ((stream, line) for stream, raw in reversed(self._tail) for line in reversed(raw.split(b"\n")))
        for stream, line in islice(lines, TAIL_LINES):
            yield stream, line.decode("utf-8", "replace")

    def _last_info(self) -> str | None:
        """The old API's `result`: the CLI's last word on stdout (a record's message, or a plain line)."""
        for stream, text in self._tail_lines():
            if stream != "stdout" or not text.strip():
                continue
            match = LOG_RECORD.match(text.rstrip("\r"))
            if match is None:
                return one_line(text)
            if match.group(1) != "DEBUG":
                return one_line(match.group(2))
        return None

    def _last_stderr(self) -> str | None:
        for stream, text in self._tail_lines():
            if stream == "stderr" and text.strip():
                return text.strip()
        return None
