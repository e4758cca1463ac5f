"""A CLI for the benches: `ticker.py COMMAND SLUG` prints per the slug.

flood-N: N lines as fast as it can; tick: 300 lines stamped with time.time(), 10 ms apart;
anything else: one line and exit 0.
"""

import sys
import time

slug = sys.argv[2]
if slug.startswith("flood"):
    n = int(slug.split("-")[1])
    out = sys.stdout.buffer
    step = 10_000
    for start in range(0, n, step):
        # 80 bytes a line, newline included, as the ingest target is stated
        out.write(b"".join(b"2025-10-13 08:00:01,123 - INFO - ads_sync - progress line %011d .........\n" % i
                           for i in range(start, min(n, start + step))))
    out.flush()
elif slug == "tick":
    for i in range(300):
        print(f"{time.time():.6f} tick {i}", flush=True)
        time.sleep(0.01)
else:
    print("2025-10-13 08:00:01,123 - INFO - ads_sync - Validation complete", flush=True)
