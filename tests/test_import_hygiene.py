"""The engine side never imports Textual: workers and scripts stay light and UI-free."""

import subprocess
import sys

NON_UI = ["adsdash.cli", "adsdash.engine", "adsdash.store", "adsdash.workspace", "adsdash.catalogue",
          "adsdash.freshness", "adsdash.sanitize", "adsdash.config", "adsdash.output", "adsdash.processes",
          "adsdash.tasks.queue", "adsdash.tasks.runner", "adsdash.tasks.worker", "adsdash.sandbox"]


def test_non_ui_modules_do_not_import_textual():
    code = ("import sys\n" + "".join(f"import {m}\n" for m in NON_UI)
            + "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
              "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
