"""adsdash's data folder: made private, and checked at every start like ssh checks ~/.ssh.

The folder holds the job store, the queue, wake-up pipes and logs; anyone who can write
there can make the worker run what they like, so it must be the user's own and closed to
group and others. Database files are never opened here once they exist: closing any
descriptor of a SQLite file drops all of this process's locks on it (see store.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path


class DataDirError(Exception):
    """The data folder or one of its files cannot be used; the message is one line for a person."""


def _check_owned(path: Path, st: os.stat_result, what: str) -> None:
    if st.st_uid != os.getuid():
        raise DataDirError(f"{what} {path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}):"
                           " refusing to use it")
    if st.st_mode & 0o022:
        raise DataDirError(f"{what} {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}):"
                           f" run `chmod go-w {path}`")


def prepare_folder(path: Path) -> Path:
    """Create the data folder (0700) if missing; refuse one that is not a private folder of ours."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise DataDirError(f"data folder {path} exists but is not a folder") from None
    except OSError as exc:
        raise DataDirError(f"cannot create data folder {path}: {exc.strerror or exc}") from None
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise DataDirError(f"data folder {path} is not a folder (a symlink or a file)")
    _check_owned(path, st, "data folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(f"data folder {path} is not writable")
    return path


def create_private(path: Path) -> None:
    """Create `path` empty and 0600, in one exclusive step: FileExistsError if anything is there.
    The only place a file of ours is opened and closed outside SQLite, and safe: O_EXCL makes a
    new inode, which no SQLite connection of this process (or any) can hold yet."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    os.close(fd)


def prepare_file(path: Path) -> Path:
    """Create `path` (0600) if it does not exist, then check it by path. Never opens an existing
    file: it may be a database another connection of ours holds."""
    prepare_folder(path.parent)
    try:
        create_private(path)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DataDirError(f"cannot create {path}: {exc.strerror or exc}") from None
    check_file(path)
    for suffix in ("-wal", "-shm", "-journal"):  # SQLite's companions carry the data too
        companion = path.with_name(path.name + suffix)
        with contextlib.suppress(FileNotFoundError):  # not there: nothing to check
            check_file(companion)
    return path


def check_file(path: Path) -> None:
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise  # the caller decides whether a missing file matters
    except OSError as exc:
        raise DataDirError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataDirError(f"{path} is not a regular file")
    _check_owned(path, st, "file")


def open_fifo_for_writing(path: Path) -> int | None:
    """A wake-up pipe's write end, only if `path` is a FIFO (never a symlink or a file someone
    put there); None when nobody reads it. Raises OSError for other failures.
    Looked at before opening too: opening and closing a link to a database file would drop
    this process's locks on it."""
    try:
        if not stat.S_ISFIFO(path.lstat().st_mode):
            raise OSError(errno.EINVAL, "not a FIFO", str(path))
    except FileNotFoundError:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ENXIO, errno.ENOENT):
            return None
        raise
    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a FIFO", str(path))
    return fd
