"""The workspace's parse cache: what each ads_sync file parsed to, keyed on its stat, in
memory (`StatCache`) and kept on disk across starts (`load`, `save`).

A fresh start would otherwise parse every config (YAML, ~0.2 ms each) and state file again:
with a thousand clients that is most of the time to the first screen. The file (in adsdash's
cache folder, `Settings.cache_dir`; 0600, replaced atomically) holds, per kind and per file, its stat key
(mtime_ns, size, inode) and the small JSON form `ads_files.FileKind.read` returned (or the
reason it could not be read). An entry is only used when the key matches exactly, and its
form is built again by the same code that checks the file, so a cache entry is trusted no
more than the file it stands for. A corrupt, foreign or oversized cache file is ignored and
logged; it never stops a read. No Textual here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from adsdash.ads_files import FileKind, Unreadable

log = logging.getLogger(__name__)

FORMAT = "adsdash-parse-cache"
VERSION = 1
MAX_CACHE_BYTES = 64 << 20  # a thousand clients take about 1 MB
# A file changed this recently may change again within the same timestamp tick, unseen by its
# stat key: such a parse is cached in memory but not kept on disk (git's "racy" files). Whole-
# second stamps (a coarse file system) get a wider margin.
_RACY_NS, _RACY_COARSE_NS = 100_000_000, 2_000_000_000
_KEEP_MAX_BYTES = 64 << 10  # bigger files are parsed at every start rather than copied to the cache


class Stored(NamedTuple):
    key: tuple[int, int, int]  # mtime_ns, size, inode
    json_form: Any  # what FileKind.build takes; None when the file was unreadable
    unreadable_reason: str | None  # the file could not be read: why, as shown for it


def _is_int(value: Any) -> bool:
    return type(value) is int and value >= 0


def _entry(raw: Any) -> Stored | None:
    if (isinstance(raw, list) and len(raw) == 5 and all(map(_is_int, raw[:3]))
            and (raw[4] is None or isinstance(raw[4], str))):
        return Stored((raw[0], raw[1], raw[2]), raw[3], raw[4])
    return None


# ---- in memory ----------------------------------------------------------------------

class _Entry(NamedTuple):
    key: tuple[int, int, int]
    value: Any
    rel: str
    stored: Stored | None  # what the disk cache may keep of it (None: nothing)


class StatCache:
    """path -> (stat key, parsed value); a file is parsed again only when its key changes."""

    def __init__(self, kind: FileKind, failed: Callable[[str, str], Any], keep: bool = True) -> None:
        self.kind, self._failed = kind, failed  # failed(path, why) stands in for a broken file
        self._keep = keep  # whether the disk cache keeps this kind
        self._entries: dict[str, _Entry] = {}
        self.disk: dict[str, Stored] = {}  # rel -> entry from the cache file, not checked yet
        self.changed = False  # parsed or forgot something since the cache file was written

    def get(self, found: tuple[str, str, os.stat_result]) -> Any:
        path, rel, st = found  # rel names the file in messages and on disk: "state/acme.json"
        key = (st.st_mtime_ns, st.st_size, st.st_ino)
        if (hit := self._entries.get(path)) is not None and hit.key == key:
            return hit.value
        if (stored := self.disk.pop(rel, None)) is not None and stored.key == key:
            try:
                if stored.unreadable_reason is not None:
                    value = self._failed(path, stored.unreadable_reason)
                else:
                    value = self.kind.build(path, rel, stored.json_form)
            except Exception as exc:  # noqa: BLE001 - any wrong shape of an untrusted form: the file is read below
                log.debug("parse cache: %s not used (%s)", rel, type(exc).__name__)
            else:
                self._entries[path] = _Entry(key, value, rel, stored)
                return value
        why = form = None
        try:
            value, form = self.kind.read(path, rel)
        except OSError as exc:  # not cached: a permission fix does not change the mtime
            return self._failed(path, f"{rel}: cannot read ({exc.strerror or type(exc).__name__})")
        except Unreadable as exc:
            why = str(exc)
        except Exception as exc:  # noqa: BLE001 - last resort: untrusted input must not break the listing
            why = f"{rel}: cannot be read ({type(exc).__name__})"
        if why is not None:
            value = self._failed(path, why)
        age = time.time_ns() - st.st_mtime_ns
        racy = age < (_RACY_COARSE_NS if st.st_mtime_ns % 1_000_000_000 == 0 else _RACY_NS)
        keep = self._keep and not racy and st.st_size <= _KEEP_MAX_BYTES and (why is not None or form is not None)
        self._entries[path] = _Entry(key, value, rel, Stored(key, form, why) if keep else None)
        self.changed = True
        return value

    def keep_only(self, found: Iterable[Any]) -> None:
        """Forget files that are gone, so the cache does not grow without bound."""
        for path in self._entries.keys() - {f.path for f in found if f is not None}:
            del self._entries[path]
            self.changed = True

    def scanned(self, found: Iterable[Any]) -> None:
        """After a full scan: forget files that are gone, in memory and on disk."""
        self.keep_only(found)
        if self.disk:  # entries for files no longer there: the next cache file drops them
            self.disk = {}
            self.changed = True

    def to_keep(self) -> dict[str, Stored]:
        """rel -> entry, for the cache file."""
        return {entry.rel: entry.stored for entry in self._entries.values() if entry.stored is not None}


# ---- on disk ------------------------------------------------------------------------

def load(path: Path, root: str, kinds: tuple[str, ...]) -> dict[str, dict[str, Stored]]:
    """kind -> rel path -> entry, from the cache file; empty when there is no usable file."""
    empty: dict[str, dict[str, Stored]] = {kind: {} for kind in kinds}
    try:  # not through a symlink, and never blocking on a FIFO put in its place
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return empty
    except OSError as exc:
        log.warning("parse cache %s not used: %s", path, exc)
        return empty
    try:
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError("not a regular file")
            data = fh.read(MAX_CACHE_BYTES + 1)
        if len(data) > MAX_CACHE_BYTES:
            raise ValueError(f"larger than {MAX_CACHE_BYTES} bytes")
        doc = json.loads(data)
        if not (isinstance(doc, dict) and doc.get("format") == FORMAT and doc.get("version") == VERSION):
            raise ValueError("not an adsdash parse cache of this version")
        if doc.get("root") != root:
            log.info("parse cache %s not used: written for another ads_sync folder", path)
            return empty
        found = {}
        for kind in kinds:
            entries = doc.get(kind)
            if not isinstance(entries, dict):
                raise ValueError(f"{kind}: not a mapping")
            # A malformed entry is dropped alone: its file is simply parsed again.
            found[kind] = {rel: entry for rel, raw in entries.items() if (entry := _entry(raw)) is not None}
        return found
    except (OSError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        log.warning("parse cache %s ignored: %s", path, exc)
        return empty


def save(path: Path, root: str, entries: dict[str, dict[str, Stored]]) -> None:
    """Replace the cache file atomically (never half-written), readable by this user only."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "root": root}
    for kind, stored in entries.items():
        doc[kind] = {rel: [*entry.key, entry.json_form, entry.unreadable_reason] for rel, entry in stored.items()}
    try:
        text = json.dumps(doc, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. a state file nested very deep
        log.warning("parse cache not written: %s", exc)
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:  # a cache: a full disk or a read-only home only costs speed
        log.warning("parse cache %s not written: %s", path, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):  # best effort: a stray temp file is harmless
                os.unlink(tmp)
