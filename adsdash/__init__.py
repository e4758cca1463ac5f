"""adsdash: a terminal command center for ads_sync."""

__version__ = "0.1.0"
