"""A misbehaving stand-in for ads_sync, for the engine's edge cases.

argv: COMMAND SLUG [...]; the slug picks the behaviour. Never used by adsdash itself:
tests point ADS_SYNC_CLI_COMMAND at it, exactly as they would at the real CLI.
"""

import os
import signal
import subprocess
import sys
import time

slug = sys.argv[2] if len(sys.argv) > 2 else ""
out = sys.stdout
if os.environ.get("FAKE_STARTS"):  # one line per process started: tests count runs of a job
    with open(os.environ["FAKE_STARTS"], "a") as fh:
        fh.write(f"{os.getpid()} {' '.join(sys.argv[1:])}\n")


def log(level, msg):
    out.write(f"2025-10-13 08:00:01,123 - {level} - ads_sync - {msg}\n")
    out.flush()


if slug == "flood" and os.environ.get("FAKE_FLOOD_SECONDS"):
    # Flat out for a while, whatever the machine: a test needs the flood still going.
    w, end, i = sys.stdout.buffer.write, time.monotonic() + float(os.environ["FAKE_FLOOD_SECONDS"]), 0
    while time.monotonic() < end:
        w(b"".join(b"line %d\n" % n for n in range(i + 1, i + 10_001)))
        i += 10_000
    sys.stdout.buffer.flush()
elif slug == "flood":
    n = int(os.environ.get("FAKE_LINES", "200000"))
    w = sys.stdout.buffer.write
    w(b"".join(b"line %d\n" % i for i in range(1, n + 1)))
    sys.stdout.buffer.flush()
elif slug == "slow":
    for i in range(int(os.environ.get("FAKE_SECONDS", "30")) * 10):
        log("INFO", f"tick {i}")
        time.sleep(0.1)
elif slug == "ignore-term":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    log("INFO", "ignoring SIGINT and SIGTERM")
    while True:
        time.sleep(0.1)
elif slug == "grandchild-tail":
    # A grandchild keeps the pipes open; our last words have no newline.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    out.write("first\nlast words")
    out.flush()
elif slug == "grandchild":
    # A grandchild that keeps our stdout open long after we exit.
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    log("INFO", "started a grandchild; exiting")
elif slug == "setsid":
    # A grandchild that leaves our process group for a session of its own.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    with open(os.environ["FAKE_PIDFILE"], "w") as fh:
        fh.write(str(child.pid))
    log("INFO", f"started a setsid grandchild {child.pid}")
    while True:
        time.sleep(0.1)
elif slug == "segv":
    log("INFO", "about to crash")
    os.kill(os.getpid(), signal.SIGSEGV)
elif slug == "fail":
    log("INFO", "working")
    log("ERROR", "Command failed: something broke")
    out.write("Traceback (most recent call last):\n  File \"x\", line 1\nRuntimeError: something broke\n")
    out.flush()
    sys.exit(1)
elif slug == "stderr-only":
    sys.stderr.write("fatal: disk full\n")
    sys.exit(3)
elif slug == "dirty":
    b = sys.stdout.buffer
    b.write(b"[bold red]markup[/] and [/] and [link=x]y[/link]\n")
    b.write(b"\x1b]0;pwned\x07title \x1b[2Jclear \x1b[31mred\x1b[0m\n")
    b.write(b"nul\x00byte\n")
    b.write(b"bad utf8 \xff\xfe end\n")
    b.write(b"no newline at end")
    b.flush()
    sys.stderr.write("err line\n")
else:
    log("INFO", f"{sys.argv[1]} {slug}")
    log("INFO", f"Validation complete for '{slug}'")
