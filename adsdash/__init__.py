"""adsdash: a terminal command center for ads_sync."""

from importlib import metadata

try:  # the one version source is pyproject.toml, read back from the installed package
    __version__ = metadata.version("adsdash")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
