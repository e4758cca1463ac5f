"""adsdash's own log files (the app's, the background worker's): private and rotating.

Each lives in `Settings.log_dir` (0700, checked like the data folder), is 0600, and rotates
at LOG_BYTES, keeping LOG_KEEP old files (`adsdash.log.1` ...). No Textual here.
"""

from __future__ import annotations

import errno
import io
import logging
import logging.handlers
import os
import stat
from pathlib import Path

from adsdash.datadir import prepare_folder

LOG_BYTES, LOG_KEEP = 5 << 20, 3
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600 (whatever the umask), never through a
    symlink, and made 0600 if an older version left them readable by others."""

    def _open(self) -> io.TextIOWrapper:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.baseFilename, flags, 0o600)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", self.baseFilename)
            if stat.S_IMODE(st.st_mode) != 0o600:
                os.fchmod(fd, 0o600)
            return open(fd, "a", encoding=self.encoding, errors=self.errors)  # appends, as FileHandler does
        except BaseException:
            os.close(fd)
            raise


def log_handler(folder: Path, name: str) -> logging.Handler:
    """A private, rotating handler for `folder/name`; the folder is created 0700 if missing
    (DataDirError if it is not a private folder of ours)."""
    prepare_folder(folder)
    handler = PrivateRotatingFileHandler(folder / name, maxBytes=LOG_BYTES, backupCount=LOG_KEEP, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    return handler
