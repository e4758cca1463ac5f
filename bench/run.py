"""Every benchmark, one command: `python bench/run.py [--quick]`. Prints the figures."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
quick = ["--quick"] if "--quick" in sys.argv[1:] else []
status = 0
for bench in ("bench_engine.py", "bench_tui.py", "bench_cli.py", "bench_sweep.py", "bench_metrics.py",
              "bench_notify.py", "bench_idle.py"):
    if (HERE / bench).exists():
        status |= subprocess.call([sys.executable, str(HERE / bench), *quick])
sys.exit(status)
