"""A stand-in for the ads_sync CLI, faithful to docs/ads-sync-contract.md.

Run it as ``python -m adsdash.sandbox SUBCOMMAND ...`` with the ads_sync project
folder as the working directory: same argv, exit codes (0, 1, 2, 130), log lines on
stdout and in ``logs/YYYY-MM-DD.log``, and the same files (configs, state, locks,
errors, data CSVs, reports) as the real tool, with synthetic, deterministic data in
place of the Google Ads API. ``generate.create_workspace`` writes a demo workspace.

Where the real tool (v0.1.0) is a stub, the sandbox does the work: ``report`` writes
a real Markdown report (logging ``Report written to: PATH``), ``repair`` re-pulls and
merges the range, ``discover`` lists the workspace's configs. Where it is
inconsistent, the sandbox keeps the inconsistency: error files' recovery commands say
``--from/--to``; ``state.timezone`` is written from the ``timezone`` key only (so
field configs, which say ``time_zone``, get ``America/Chicago``), while "yesterday"
is computed in the client's real zone. Deliberate differences, invisible to a
well-behaved caller: no error file for a slug without a config; a one-day remainder
chunk is pulled (the real chunking drops it); a lock is released only by its holder.

Environment:
  ADS_SYNC_SANDBOX_SPEED  time scale, a float: 1 = realistic durations (default),
                          0 = no sleeps. Scales every pause, the 300 s lock wait and
                          its 2 s poll.

Keys under ``sandbox:`` in ``configs/clients/SLUG.yaml`` (the real tool ignores them):
  fail:          list of sub-commands that fail with exit 1 for this client, e.g.
                 ``[append]``; init fails half-way through its chunks, append and
                 repair after the fetch starts, validate/report during their checks.
                 init, append and repair write ``errors/SLUG/error_*.json``.
  fail_message:  the exception text of those failures (default: a revoked OAuth
                 token, raised as a GoogleAdsException).
  extra_lines:   log this many extra progress lines per fetch, i.e. per init chunk
                 (throughput demos).
  delay_factor:  multiplies this client's pauses (a slow account), default 1.
"""
