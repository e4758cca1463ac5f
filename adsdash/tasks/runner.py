"""One job: spawn the CLI, stream its lines into the store, cancel on request, reap.

Both pipes are read by one selector loop, so stdout and stderr interleave in arrival
order and the loop can also flush, watch for a cancel and escalate signals. The child
gets its own session and process group; signals go to the whole group.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass

from adsdash.processes import signal_group
from adsdash.sanitize import one_line
from adsdash.store import CANCELLED, FAILED, FINISHED, Job, Store

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.05  # pending lines never wait longer than this for the store
CANCEL_POLL_SECONDS = 0.1
DRAIN_SECONDS = 0.5  # after the CLI exits, how long a grandchild may keep the pipes open
MAX_LINE_BYTES = 1 << 20
READ_BYTES = 1 << 16
# `2025-10-13 08:00:01,123 - ERROR - ads_sync - message`
LOG_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (\w+) - [^ ]+ - (.*)$")


@dataclass(frozen=True)
class Outcome:
    status: str
    exit_code: int | None
    error: str | None
    result: str | None


def _decode(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return bytes(raw)  # kept exactly; shown with replacement characters


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == 130:
        return "interrupted (exit 130)"
    if code == 2:
        return "ads_sync rejected the arguments (exit 2)"
    return f"exit code {code}"


class JobRun:
    """Runs `job.argv` in `job.cwd`; owned by one worker thread from spawn to reap."""

    def __init__(self, store: Store, job: Job, *, grace_seconds: float = 2.0):
        self.store = store
        self.job = job
        self.grace_seconds = grace_seconds
        self._cancel_reason: str | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._pending: list[tuple[int, float, str, str | bytes]] = []
        self._tail: deque[tuple[str, str]] = deque(maxlen=200)
        self._last_error: str | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            self._cancel_reason = self._cancel_reason or reason

    # -- output ------------------------------------------------------------

    def _add_lines(self, stream: str, parts: list[bytes], now: float) -> None:
        pending, tail = self._pending, self._tail
        for raw in parts:
            self._seq += 1
            text = _decode(raw)
            pending.append((self._seq, now, stream, text))
        for raw in parts[-tail.maxlen:]:
            tail.append((stream, raw.decode("utf-8", "replace")))
        if any(b" - ERROR - " in raw for raw in parts):
            for raw in parts:
                match = LOG_RECORD.match(raw.decode("utf-8", "replace").rstrip("\r"))
                if match and match.group(1) == "ERROR":
                    self._last_error = match.group(2)

    def _flush(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.store.append_lines(self.job.id, batch)

    # -- the run -----------------------------------------------------------

    def run(self) -> Outcome:
        job = self.job
        if not os.path.isdir(job.cwd):
            return Outcome(FAILED, None, f"ads_sync folder not found: {job.cwd}", None)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        try:
            proc = subprocess.Popen(
                job.argv, cwd=job.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0,
            )
        except OSError as exc:
            return Outcome(FAILED, None, one_line(f"cannot start ads_sync ({job.argv[0]}): {exc.strerror or exc}"), None)
        self.store.set_process(job.id, proc.pid, proc.pid)
        try:
            code = self._pump(proc)
        finally:
            self._flush()
            self._reap_group(proc.pid)
        return self._outcome(code)

    def _pump(self, proc: subprocess.Popen) -> int:
        sel = selectors.DefaultSelector()
        buffers: dict[str, bytearray] = {}
        for stream, pipe in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            os.set_blocking(pipe.fileno(), False)
            sel.register(pipe, selectors.EVENT_READ, stream)
            buffers[stream] = bytearray()
        first_pending = 0.0
        next_cancel_check = 0.0
        signals = iter((signal.SIGINT, signal.SIGTERM, signal.SIGKILL))
        next_signal_at: float | None = None
        exited_at: float | None = None
        code: int | None = None
        try:
            while True:
                now = time.monotonic()
                if self._pending and not first_pending:
                    first_pending = now
                timeout = 0.0 if self._pending else CANCEL_POLL_SECONDS
                events = sel.select(timeout) if sel.get_map() else (time.sleep(timeout) or [])
                wall = time.time()
                for key, _ in events:
                    stream = key.data
                    try:
                        chunk = os.read(key.fileobj.fileno(), READ_BYTES)
                    except BlockingIOError:
                        continue
                    buf = buffers[stream]
                    if not chunk:  # EOF: a last line without newline still counts
                        sel.unregister(key.fileobj)
                        if buf:
                            self._add_lines(stream, [bytes(buf)], wall)
                            buf.clear()
                        continue
                    buf += chunk
                    if b"\n" in chunk:
                        parts = buf.split(b"\n")
                        buffers[stream] = bytearray(parts.pop())
                        self._add_lines(stream, parts, wall)
                    elif len(buf) > MAX_LINE_BYTES:
                        self._add_lines(stream, [bytes(buf)], wall)
                        buf.clear()
                now = time.monotonic()
                # Flush when the pipes are idle, or at the latest FLUSH_SECONDS after the first pending line.
                if self._pending and (not events or now - first_pending >= FLUSH_SECONDS or len(self._pending) > 50_000):
                    self._flush()
                    first_pending = 0.0
                if code is None:
                    code = proc.poll()
                    if code is not None:
                        exited_at = now
                if code is not None and (not sel.get_map() or now - exited_at > DRAIN_SECONDS):
                    return code
                if now >= next_cancel_check:
                    next_cancel_check = now + CANCEL_POLL_SECONDS
                    if next_signal_at is None and self._wants_cancel():
                        next_signal_at = now
                if next_signal_at is not None and now >= next_signal_at and code is None:
                    sig = next(signals, None)
                    if sig is not None:
                        log.info("job %s: sending %s to process group %s", self.job.id, sig.name, proc.pid)
                        signal_group(proc.pid, sig)
                        next_signal_at = now + (self.grace_seconds if sig != signal.SIGKILL else 5.0)
        finally:
            for key in list(sel.get_map().values()):
                sel.unregister(key.fileobj)
            sel.close()
            proc.stdout.close()
            proc.stderr.close()
            if code is None:
                proc.kill()
                proc.wait()

    def _wants_cancel(self) -> bool:
        with self._lock:
            if self._cancel_reason:
                return True
        if self.store.cancel_requested(self.job.id):
            self.cancel("cancelled by request")
            return True
        return False

    def _reap_group(self, pgid: int) -> None:
        """Whatever the CLI left behind in its group (a grandchild on our pipe) goes too."""
        if signal_group(pgid, signal.SIGKILL):
            log.warning("job %s: killed processes left in group %s after the CLI exited", self.job.id, pgid)

    def _outcome(self, code: int) -> Outcome:
        if self._cancel_reason:
            return Outcome(CANCELLED, code, self._cancel_reason, None)
        if code == 0:
            return Outcome(FINISHED, 0, None, self._last_info())
        reason = self._last_error or self._last_stderr()
        text = describe_exit(code)
        error = f"{text}: {reason}" if reason and code >= 0 else text
        return Outcome(FAILED, code, one_line(error), None)

    def _last_info(self) -> str | None:
        """The old API's `result`: the CLI's last word on stdout (a record's message, or a plain line)."""
        for stream, text in reversed(self._tail):
            if stream != "stdout" or not text.strip():
                continue
            match = LOG_RECORD.match(text.rstrip("\r"))
            if match is None:
                return one_line(text)
            if match.group(1) != "DEBUG":
                return one_line(match.group(2))
        return None

    def _last_stderr(self) -> str | None:
        for stream, text in reversed(self._tail):
            if stream == "stderr" and text.strip():
                return text.strip()
        return None
