"""Which clients' files changed, as the OS tells it (inotify, through watchfiles' Rust side),
so that a refresh of 1,000 clients states none of their files (Workspace.stamp): ~10 ms a
refresh at 1,000 clients, spent while nothing changed.

The watch covers the folders clients() reads, recursively (errors/SLUG/ too). Where it cannot
run (no inotify, its limits reached, a folder the OS cannot watch), `stamp()` says so and the
workspace states the files as it does without a watch. A folder that comes, goes or is
replaced starts the watch again, and then everything counts as changed: a change made while
nothing watched is never missed. No Textual here.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from pathlib import Path

from adsdash.folder_delta import slug_of
from adsdash.lazy_log import get_logger

log = get_logger(__name__)
FOLDERS = ("configs/clients", "state", "locks", "errors")
# The Rust side checks its stop flag, taking the GIL, every step: 250 ms costs ~0.02% of a core
# idle (50 ms: 0.2%). Changes are handed over once quiet for a step, at most a second late.
STEP_MS = 250
DEBOUNCE_MS = 1000
_watches: weakref.WeakSet[FolderWatch] = weakref.WeakSet()
_running: set[threading.Thread] = set()  # waited for at exit: a thread inside Rust as the interpreter ends aborts it


class FolderWatch:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.generation = 0  # counts the batches of changes seen (and each start)
        self.problem: str | None = None  # why it does not watch, when it cannot
        self._lock = threading.Lock()
        self._changed: dict[str, int] = {}  # slug -> the generation of its last change
        self._everything_at = 0  # the generation from which everything counts as changed
        self._watched: tuple | None = None  # the folders' identities when the watch started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _watches.add(self)

    def stamp(self) -> int | None:
        """The generation now, or None when nothing is watched (state the files then). Looks
        at the folders themselves (four stats): a changed set of folders starts the watch again."""
        identities = self._identities()
        if identities != self._watched:
            self._restart(identities)
        elif self._thread is not None and not self._thread.is_alive():  # it failed (logged): state the files
            self._thread = None
        return self.generation if self._thread is not None else None

    def changed_since(self, generation: int) -> set[str] | None:
        """The slugs whose files changed after that generation; None: look at every client."""
        with self._lock:
            if self._everything_at > generation:
                return None
            return {slug for slug, at in self._changed.items() if at > generation}

    def stop(self, *, wait: bool = True) -> None:
        """Stop watching; `wait`: until the thread has left Rust (at most a step). Without
        waiting, the exit waits for it (_stop_all)."""
        self._stop.set()
        if self._thread is not None and wait:
            self._thread.join(timeout=5)
        self._thread = None

    # -- the watch ---------------------------------------------------------------------

    def _identities(self) -> tuple:
        found: list[tuple[int, int] | None] = []
        for folder in FOLDERS:
            try:
                st = os.stat(self.root / folder)
            except OSError:
                found.append(None)
                continue
            found.append((st.st_dev, st.st_ino))
        return tuple(found)

    def _restart(self, identities: tuple) -> None:
        self.stop()
        self._watched = identities
        with self._lock:
            self.generation += 1
            self._everything_at = self.generation
        paths = [str(self.root / folder) for folder, there in zip(FOLDERS, identities, strict=True) if there]
        if not paths:
            self.problem = f"no folder to watch in {self.root}"
            return
        try:
            from watchfiles._rust_notify import RustNotify  # watchfiles' documented low-level API

            notify = RustNotify(paths, False, False, 300, True, True)
        except Exception as exc:  # noqa: BLE001 - any reason means the same: state the files instead
            self.problem = f"cannot watch {self.root}: {type(exc).__name__}: {exc}"
            log.warning("%s; the clients list states the files at each refresh instead", self.problem)
            return
        self.problem = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(notify, self._stop), name="adsdash-folder-watch",
                                        daemon=True)
        _running.add(self._thread)
        self._thread.start()

    def _run(self, notify, stop: threading.Event) -> None:
        try:
            while True:
                changes = notify.watch(DEBOUNCE_MS, STEP_MS, 0, stop)
                if changes == "stop":
                    return
                if isinstance(changes, set):
                    self._note({os.path.relpath(path, self.root) for _, path in changes})
        except Exception as exc:  # noqa: BLE001 - the refresh goes on: a full scan each minute still runs
            log.error("watching %s stopped: %s", self.root, exc)
            with self._lock:
                self.generation += 1
                self._everything_at = self.generation
        finally:
            notify.close()
            _running.discard(threading.current_thread())

    def _note(self, paths: set[str]) -> None:
        slugs = set()
        for rel in paths:
            parts = rel.split(os.sep)
            if parts[0] == "errors" and len(parts) > 2:  # errors/SLUG/error_....json
                slugs.add(parts[1])
            elif (slug := slug_of("/".join(parts))) is not None:
                slugs.add(slug)
        if slugs:
            with self._lock:
                self.generation += 1
                for slug in slugs:
                    self._changed[slug] = self.generation


@atexit.register
def _stop_all() -> None:
    for watch in list(_watches):
        watch.stop(wait=False)
    for thread in list(_running):
        thread.join(timeout=5)
