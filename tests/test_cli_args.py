"""The parser built for one command parses its argv exactly as the whole parser does (a submit
builds only its own command: the whole parser costs ~40 ms, see bench/bench_cli.py)."""

from __future__ import annotations

import argparse

import pytest

from adsdash.cli_args import COMMANDS, build_parser, command_named

ARGVS = [
    ["run", "validate", "acme"],
    ["--json", "run", "repair", "acme", "--start", "2025-01-01", "--end", "2025-01-31"],
    ["--home", "/tmp/h", "--json", "run", "append", "--all"],
    ["--config=/tmp/c.toml", "report", "a", "b", "--scope", "LIFETIME", "--follow"],
    ["--workers", "3", "--read-only", "demo", "--dir", "d", "--clients", "5"],
    ["run", "--json", "append", "x", "--freshness", "late,stale"],
    ["jobs", "--slug", "acme", "--status", "failed", "--limit", "5"],
    ["logs", "7", "--raw"],
    ["schedules", "pause", "morning"],
    ["sandbox", "init", "/tmp/x", "--clients", "3"],
    ["store", "backup", "/tmp/b.db"],
    ["--ads-sync-path", "run", "status", "run"],  # a flag's value that names a command
    ["--cli-command", "python x", "worker", "--stop"],
    ["worker", "--metrics-port", "9464", "--metrics-address", "::1"],
    *[[name] for name in COMMANDS if name not in (
        "run", "coverage", "history", "status", "job", "result", "logs", "cancel", "retry", "sandbox", "store",
        "notify", "snooze")],
    ["notify", "test"],
    ["--json", "notify", "events", "--limit", "5"],
    ["snooze", "acme", "--hours", "2.5", "--reason", "card expired"],
    ["snooze", "acme", "--clear"],
    ["audit", "--since", "24h", "--user", "ana", "--action", "cancel", "--limit", "5"],
    ["--json", "prune", "--dry-run"],
]


def parsed(parser: argparse.ArgumentParser, argv: list[str]) -> tuple[dict, list[str]]:
    args, extra = parser.parse_known_args(argv)
    return vars(args), extra


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_the_parser_for_one_command_parses_as_the_whole(argv):
    assert command_named(argv) is not None  # the short way is taken...
    assert len(build_parser(argv)._subparsers._group_actions[0].choices) == 1  # ...with one command built
    assert parsed(build_parser(argv), argv) == parsed(build_parser(), argv)


@pytest.mark.parametrize("argv", [
    [],
    ["--help"],
    ["-h", "run"],
    ["--hom", "/tmp/h", "run", "validate", "x"],  # an abbreviation: argparse decides
    ["--home"],
    ["rnu", "validate"],
    ["--json"],
    ["--config", "x", "--bogus", "run"],
])
def test_anything_else_gets_the_whole_parser(argv):
    assert command_named(argv) is None


def test_a_flags_value_is_not_taken_for_the_command():
    assert command_named(["--ads-sync-path", "run", "status", "run"]) == "status"


@pytest.mark.parametrize("columns", ["60", "120"])
def test_help_fills_the_width_given_by_columns(monkeypatch, columns):
    """The help formatter finds the width without shutil, by shutil's rule: $COLUMNS first."""
    monkeypatch.setenv("COLUMNS", columns)
    lines = build_parser(["run", "x"]).format_help().splitlines()
    width = int(columns) - 2  # as argparse leaves a margin
    assert max(map(len, lines)) <= width
    assert max(map(len, lines)) > width - 15  # and uses it: the usage line wraps near the edge
