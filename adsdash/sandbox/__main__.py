"""python -m adsdash.sandbox SUBCOMMAND ...  (the sandbox ads_sync CLI)."""

from adsdash.sandbox.cli import main

raise SystemExit(main())
