"""Import hygiene: the engine side never imports Textual (workers and scripts stay light and
UI-free), and no two adsdash modules import each other, directly or round a longer loop."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "adsdash"

NON_UI = ["adsdash.cli", "adsdash.engine", "adsdash.store", "adsdash.workspace", "adsdash.catalogue",
          "adsdash.freshness", "adsdash.sanitize", "adsdash.config", "adsdash.output", "adsdash.processes",
          "adsdash.look", "adsdash.logfiles", "adsdash.datadir", "adsdash.timefmt", "adsdash.ads_files",
          "adsdash.parse_cache", "adsdash.binding_ids", "adsdash.schedules", "adsdash.schedule_ledger",
          "adsdash.exits", "adsdash.widgets.column_fit",
          "adsdash.schedule_view", "adsdash.cli_schedules", "adsdash.tasks.scheduler",
          "adsdash.sweeps", "adsdash.client_filter", "adsdash.cli_sweep",
          "adsdash.tasks.queue", "adsdash.tasks.runner", "adsdash.tasks.worker", "adsdash.tasks.background",
          "adsdash.audit", "adsdash.retention", "adsdash.cli_upkeep", "adsdash.tasks.pruner",
          "adsdash.metrics", "adsdash.job_tally",
          "adsdash.notify_url", "adsdash.notify_store", "adsdash.notify_events", "adsdash.notify_send",
          "adsdash.cli_notify", "adsdash.tasks.notifier",
          "adsdash.sandbox"]

FIRST_TEXTUAL = """\
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if any(m == "textual" or m.startswith("textual.") for m in sys.modules):
        print(name)
        break
"""


def test_non_ui_modules_do_not_import_textual():
    out = subprocess.run([sys.executable, "-c", FIRST_TEXTUAL, *NON_UI], capture_output=True, text=True, check=True)
    culprit = out.stdout.strip()  # the first module after whose import Textual is loaded
    assert not culprit, f"importing {culprit} (after those listed before it) imports Textual"


# ---- no import cycle ----------------------------------------------------------------------

def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The imports run when the module is imported: not those in functions, nor under
    `if TYPE_CHECKING:` (its else branch runs, so it counts)."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            elif isinstance(node, ast.If):
                if not is_type_checking(node.test):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for part in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                    visit(part)
            elif isinstance(node, (ast.With, ast.ClassDef, ast.For, ast.While)):
                visit(node.body)  # a class body runs at import time too

    visit(tree.body)
    return found


def import_graph() -> dict[str, set[str]]:
    """adsdash module -> the adsdash modules its import runs."""
    files = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    packages = {name for name, path in files.items() if path.name == "__init__.py"}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if name in packages else name.rpartition(".")[0]
        for node in module_level_imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative (ruff bans them; resolved anyway)
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import mod` runs pkg.mod; `from pkg import name` needs pkg itself
                submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in files]
                targets = submodules if len(submodules) == len(node.names) else [base, *submodules]
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_import_graph_is_read():
    graph = import_graph()
    assert {"adsdash.store", "adsdash.client_folder"} <= graph["adsdash.engine"]  # `from adsdash.x import y`
    assert "adsdash.timefmt" in graph["adsdash.output"]  # `from adsdash import timefmt`
    assert "adsdash.screens.clients" in graph["adsdash.app"]
    assert "adsdash.app" not in graph["adsdash.screens.clients"]  # only under `if TYPE_CHECKING:`


def test_find_cycle_reports_the_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_between_adsdash_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
