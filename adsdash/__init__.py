"""adsdash: a terminal command center for ads_sync."""

from __future__ import annotations

import os
import sys

_DIST = "adsdash"


def _installed_version() -> str:
    """The version in the installed package's metadata: the one version source is pyproject.toml.

    Found as importlib.metadata finds it (the first sys.path folder holding an `adsdash`
    .dist-info or .egg-info), without importing importlib.metadata, which alone costs
    `adsdash --version` about 40 ms (email, zipfile, csv ...). A metadata folder without a
    Version line, or none found, goes to importlib.metadata (zip files on sys.path are not
    searched here: nobody installs adsdash into one).
    """
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as it:
                names = [e.name for e in it if e.name.lower().endswith((".dist-info", ".egg-info"))]
        except OSError:  # missing, or not a folder
            continue
        for name in names:
            base = name.lower().rpartition(".")[0].partition("-")[0]  # as importlib.metadata reads it
            if base.replace("-", "_").replace(".", "_") != _DIST:
                continue
            for meta in ("METADATA", "PKG-INFO"):
                try:
                    with open(os.path.join(entry or ".", name, meta), encoding="utf-8") as fh:
                        for line in fh:
                            if not line.strip():
                                break  # the end of the headers
                            if line.startswith("Version:"):
                                return line[len("Version:"):].strip()
                except OSError:
                    continue
            return _metadata_version()
    return _metadata_version()


def _metadata_version() -> str:
    from importlib import metadata

    try:
        return metadata.version(_DIST)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> str:
    # `__version__` is read on demand: most commands never need it.
    if name == "__version__":
        version = globals()["__version__"] = _installed_version()
        return version
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
