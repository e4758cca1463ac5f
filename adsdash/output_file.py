"""A job's output as bytes, as `adsdash logs` prints it, and saved to a file from the app.

`chunk_bytes` is the one definition of what `adsdash logs ID` (cleaned) and `--raw` (the exact
bytes) write for a stored chunk; the command line and the job detail's save both use it, so a
saved file is byte for byte what the command prints to a file or a pipe.

`save_output` streams the store chunk by chunk (constant memory, a million lines is fine)
into a temporary file in the target folder, then renames it: a reader never sees half a
file, and a failed save leaves nothing behind. Imports only what the command line has anyway.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from adsdash import sanitize
from adsdash.chunks import texts_of

if TYPE_CHECKING:
    from adsdash.store import Job, Store

_PRINTABLE_ASCII_OR_NEWLINE = bytes(range(0x20, 0x7F)) + b"\n"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def chunk_bytes(data: str | bytes, *, raw: bool, clean: Callable[[str], str] = sanitize.plain) -> bytes:
    """A chunk's lines as written out, each ended by a newline. `raw`: the exact bytes stored.
    Else each line cleaned by `clean`; a chunk of printable ASCII, what nearly all output is,
    has nothing to clean: sanitize changes only control characters (C0 and DEL) there, which
    one pass over the chunk's bytes in C rules out."""
    if raw:
        return (data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data) + b"\n"
    if isinstance(data, str) and data.isascii() and \
            not data.encode("ascii").translate(None, _PRINTABLE_ASCII_OR_NEWLINE):
        return data.encode("ascii") + b"\n"
    return "".join(clean(text) + "\n" for text in texts_of(data)).encode("utf-8", "replace")


def default_path(job: Job) -> str:
    """`~/adsdash-job-ID-SLUG-COMMAND.log`, the slug and command reduced to safe file-name characters."""
    name = "-".join(_UNSAFE_IN_NAME.sub("_", part).strip("._") or "x" for part in (job.slug, job.command))
    return f"~/adsdash-job-{job.id}-{name}.log"


class Saved(NamedTuple):
    path: Path
    lines: int
    size: int  # bytes written


class SaveError(Exception):
    """Why a save failed, in one line for the operator."""


class Cancelled(Exception):
    """The save was called off (its dialog closed); nothing was left behind."""


def target(text: str) -> Path:
    """The typed path, `~` expanded and made absolute; refused in one line if it cannot be a file."""
    if not text.strip():
        raise SaveError("type a file name")
    if "\x00" in text:
        raise SaveError("a file name cannot hold a NUL character")
    try:
        path = Path(text.strip()).expanduser().absolute()
    except RuntimeError as exc:  # ~nosuchuser
        raise SaveError(sanitize.one_line(str(exc))) from exc
    if path.is_dir():
        raise SaveError(sanitize.one_line(f"{path} is a folder: add a file name"))
    if not path.parent.is_dir():
        raise SaveError(sanitize.one_line(f"no folder {path.parent}"))
    return path


def save_output(store: Store, job_id: int, path: Path, *, raw: bool, overwrite: bool = False,
                cancelled: Callable[[], bool] = lambda: False) -> Saved:
    """Write the job's output to `path`. FileExistsError when it exists and not `overwrite`;
    SaveError (one line) for anything else that goes wrong; Cancelled when `cancelled()` turns
    true between chunks. Either way no temporary file stays."""
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.part")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # job output may hold secrets
    except OSError as exc:
        raise SaveError(_reason(exc, path)) from exc
    lines = size = 0
    try:
        with open(fd, "wb") as out:
            for piece in store.chunks(job_id):
                if cancelled():
                    raise Cancelled
                data = chunk_bytes(piece.data, raw=raw)
                out.write(data)
                lines += piece.last_seq - piece.first_seq + 1
                size += len(data)
            out.flush()
            os.fsync(out.fileno())  # the rename must not publish a file whose data is still in flight
        if not overwrite and os.path.lexists(path):  # appeared while writing: ask again
            raise FileExistsError(path)
        os.replace(temp, path)
    except FileExistsError:
        _remove(temp)
        raise
    except OSError as exc:  # the disk filled up, the folder went away
        _remove(temp)
        raise SaveError(_reason(exc, path)) from exc
    except sqlite3.Error as exc:
        _remove(temp)
        raise SaveError(sanitize.one_line(f"cannot read the output from the store: {exc}")) from exc
    except BaseException:  # Cancelled, or a bug: still no half file left
        _remove(temp)
        raise
    return Saved(path, lines, size)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _reason(exc: OSError, path: Path) -> str:
    return sanitize.one_line(_why(exc, path))


def _why(exc: OSError, path: Path) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write in {path.parent}: {exc.strerror.lower() if exc.strerror else 'permission denied'}"
    if exc.errno == errno.ENOENT:
        return f"no folder {path.parent}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write {path}: no space left on the disk"
    if exc.errno == errno.EISDIR:
        return f"{path} is a folder: add a file name"
    return f"cannot write {path}: {exc.strerror or exc}"
