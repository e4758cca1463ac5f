"""The ads_sync folder's files as adsdash may read them: which clients there are, and each
file found without leaving the folder (no symlink out of it, nothing of adsdash's own data
folder, nothing but regular files).

Light on purpose: a submit checks the slug against this and never imports the parsers of
workspace.py (see bench/bench_cli.py).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from adsdash.catalogue import is_safe_slug

_safe_slug = lru_cache(maxsize=8192)(is_safe_slug)  # the same thousand names at every read


class FileWithStat(NamedTuple):
    path: str
    rel: str  # for messages: "state/acme.json"
    stat: os.stat_result


class ClientFolder:
    def __init__(self, root: Path | str, *, private: Path | None = None) -> None:
        """`private`: adsdash's data folder. Nothing in it is ever read, even when a file of the
        ads_sync folder links to it: opening and closing a database file of ours would drop this
        process's locks on it (see store.py)."""
        self.root = Path(root)
        self.private = Path(os.path.realpath(private)) if private is not None else None
        self._ours: set[tuple[int, int]] = set()
        self._ours_at = float("-inf")

    @property
    def clients_folder(self) -> Path:
        return self.root / "configs" / "clients"

    def exists(self) -> bool:
        return self.clients_folder.is_dir()

    def clients_folder_problem(self) -> str | None:
        """The one line to show when the clients folder is missing; None when it is there."""
        return None if self.exists() else f"no ads_sync clients folder at {self.clients_folder}"

    def slugs(self) -> frozenset[str]:
        return frozenset(self._scan("configs/clients", ".yaml"))

    def _entries(self, rel_dir: str) -> list[os.DirEntry]:
        try:
            with os.scandir(self.root / rel_dir) as it:
                return list(it)
        except OSError:  # missing, not a directory, no permission: nothing there
            return []

    def _scan(self, rel_dir: str, suffix: str, odd: dict[str, str] | None = None,
              entries: list[os.DirEntry] | None = None) -> dict[str, FileWithStat]:
        """slug -> file for every SLUG+suffix in rel_dir whose slug is safe; with `odd`, also
        slug -> reason for those names that are there but are not files we read. `entries`: the
        folder's, if just scanned."""
        found: dict[str, FileWithStat] = {}
        for entry in self._entries(rel_dir) if entries is None else entries:
            slug = entry.name[: -len(suffix)] if entry.name.endswith(suffix) else None
            if slug is None or not _safe_slug(slug):
                continue
            if self._is_plain_file(entry):
                try:
                    st = entry.stat()
                    if not self._is_ours(st):
                        found[slug] = FileWithStat(entry.path, f"{rel_dir}/{entry.name}", st)
                except OSError:
                    continue
            elif odd is not None and (why := self._why_not_plain(entry.path, f"{rel_dir}/{entry.name}")):
                odd[slug] = why
        return found

    def _scan_dirs(self, rel_dir: str) -> set[str]:
        return {e.name for e in self._entries(rel_dir) if no_raise(e.is_dir, follow_symlinks=False)}

    def file(self, rel: str) -> FileWithStat | None:
        """The regular file at `rel` (relative to the folder) with its stat, if adsdash may read
        it; None when there is none, or it leads out of the folder or into adsdash's own."""
        return self._find(rel)

    def _find(self, rel: str) -> FileWithStat | None:
        path = os.path.join(self.root, rel)
        try:
            if os.path.islink(path) and not self._inside(path):
                return None
            st = os.stat(path)
        except OSError:
            return None
        return FileWithStat(path, rel, st) if stat.S_ISREG(st.st_mode) and not self._is_ours(st) else None

    def _why_not_plain(self, path: str, rel: str) -> str | None:
        """Why something at `path` is not a file we read; None when nothing is there or it is one."""
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):  # as clients() sees it: no such entry
            return None
        except OSError as exc:
            return f"{rel} cannot be read ({type(exc).__name__})"
        if stat.S_ISLNK(st.st_mode):
            if not self._inside(path):
                return f"{rel} is a symlink that leaves the ads_sync folder"
            try:
                st = os.stat(path)
            except OSError:
                return f"{rel} is a broken symlink"
        if stat.S_ISREG(st.st_mode):
            return None
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else "a named pipe" if stat.S_ISFIFO(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device")
        return f"{rel} is {kind}, not a regular file"

    def _is_plain_file(self, entry: os.DirEntry) -> bool:
        """A regular file; a symlink only if it stays inside the ads_sync folder."""
        return (not no_raise(entry.is_symlink) or self._inside(entry.path)) and no_raise(entry.is_file)

    def _inside(self, path: str) -> bool:
        real = os.path.realpath(path)
        if self.private is not None and (real + os.sep).startswith(str(self.private) + os.sep):
            return False
        return real.startswith(os.path.realpath(self.root) + os.sep)

    def _is_ours(self, st: os.stat_result) -> bool:
        """Whether a file is one of adsdash's own in the data folder (a hard link to it, say)."""
        if self.private is None:
            return False
        now = time.monotonic()
        if now - self._ours_at > 5.0:  # the data folder's files rarely change: looked at every 5 s
            self._ours_at, self._ours = now, set()
            try:
                with os.scandir(self.private) as entries:
                    for entry in entries:
                        found = entry.stat(follow_symlinks=False)
                        self._ours.add((found.st_dev, found.st_ino))
            except OSError:
                pass  # no data folder yet: nothing of ours to avoid
        return (st.st_dev, st.st_ino) in self._ours


def no_raise(check: Callable[..., bool], **kwargs: Any) -> bool:
    try:
        return check(**kwargs)
    except OSError:
        return False
