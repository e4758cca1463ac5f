from datetime import date

import pytest

from adsdash.catalogue import (
    COMMANDS,
    DEFAULT_SCOPE,
    SCOPE_KINDS,
    SLUG_RE,
    JobRequest,
    RequestError,
    build_request,
    check_scope,
    check_slug,
    cli_argv,
    parse_day,
)

TODAY = date(2026, 11, 28)
KNOWN = {"acme", "priority-roofing", "ok-2"}


def build(command, slug="acme", **kw):
    return build_request(command, slug, known_slugs=KNOWN, today=TODAY, **kw)


def refused(command, slug="acme", **kw) -> str:
    with pytest.raises(RequestError) as info:
        build(command, slug, **kw)
    return str(info.value)


# ---- the catalogue itself ----------------------------------------------------------

def test_commands_and_their_shape():
    assert list(COMMANDS) == ["init", "append", "validate", "repair", "force-unlock", "report"]
    assert COMMANDS["init"].confirm and COMMANDS["force-unlock"].confirm
    assert not COMMANDS["append"].confirm
    assert "one-time historical backfill" in COMMANDS["init"].description
    assert COMMANDS["repair"].params == ("start", "end")
    assert COMMANDS["report"].params == ("scope",)
    assert all(c.name == name and c.description and c.typical for name, c in COMMANDS.items())


def test_scope_kinds_examples_are_valid_scopes():
    assert DEFAULT_SCOPE == "LAST-30-DAYS"
    assert [k.name for k in SCOPE_KINDS][:3] == ["LIFETIME", "LAST-7-DAYS", "LAST-30-DAYS"]
    for kind in SCOPE_KINDS:
        assert check_scope(kind.example) == kind.example


# ---- argv ------------------------------------------------------------------------

def test_plain_commands_become_command_and_slug():
    for name in ("init", "append", "validate", "force-unlock"):
        assert build(name).argv() == [name, "acme"]


def test_repair_argv_uses_start_and_end():
    request = build("repair", start="2025-09-01", end="2025-09-30")
    assert request.args == {"start": "2025-09-01", "end": "2025-09-30"}
    assert request.argv() == ["repair", "acme", "--start", "2025-09-01", "--end", "2025-09-30"]


def test_repair_may_end_today_and_be_one_day():
    assert build("repair", start="2026-11-28", end="2026-11-28").argv()[-1] == "2026-11-28"


def test_report_scope_defaults_and_is_normalised():
    assert build("report").argv() == ["report", "acme", "--scope", "LAST-30-DAYS"]
    assert build("report", scope="  2025-q3 ").argv() == ["report", "acme", "--scope", "2025-Q3"]
    assert build("report", scope="2025-01..2025-03").args == {"scope": "2025-01..2025-03"}
    assert build("report", scope="lifetime").args["scope"] == "LIFETIME"


def test_cli_argv_splits_the_prefix_like_a_shell():
    request = build("report", "priority-roofing", scope="2024-12..2025-02")
    assert cli_argv("poetry run python 'ads sync cli.py'", request) == [
        "poetry", "run", "python", "ads sync cli.py", "report", "priority-roofing", "--scope", "2024-12..2025-02"]


@pytest.mark.parametrize("prefix", ["", "   ", "python 'unclosed"])
def test_cli_argv_refuses_empty_or_unsplittable_prefix(prefix):
    with pytest.raises(RequestError, match="ads_sync command"):
        cli_argv(prefix, build("append"))


def test_args_changed_after_validation_are_checked_again():
    request = build("repair", start="2025-09-01", end="2025-09-30")
    request.args["start"] = "--help"  # type: ignore[index]
    with pytest.raises(RequestError, match="must not start with '-'"):
        request.argv()
    request.args["start"] = "2025-09-01 --evil"  # type: ignore[index]
    with pytest.raises(RequestError, match="is not a real YYYY-MM-DD date"):
        request.argv()


def test_requests_serialise_plainly():
    import json
    request = build("report", scope="2025-Q3")
    expected = {"command": "report", "slug": "acme", "args": {"scope": "2025-Q3"}}
    assert json.loads(json.dumps(request._asdict())) == expected


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (JobRequest("repair", "acme", {"start": "--help", "end": "2025-01-01"}), "must not start with '-'"),
        (JobRequest("report", "acme", {"scope": "-x"}), "must not start with '-'"),
        (JobRequest("report", "-rf", {"scope": "LIFETIME"}), "is not a safe name"),
        (JobRequest("rm", "acme", {}), "unknown command 'rm'"),
        (JobRequest("append", "acme", {"scope": "LIFETIME"}), "append does not take --scope"),
        (JobRequest("repair", "acme", {"start": "2025-01-01"}), "repair needs --end"),
        (JobRequest("report", "acme", {"scope": "2025-Q9"}), "quarter must be 1–4"),
        (JobRequest("report", "acme", {"scope": "lifetime; rm"}), "is not one of"),
    ],
)
def test_hand_made_requests_are_checked_again_by_argv(request_, message):
    with pytest.raises(RequestError, match=message):
        request_.argv()


# ---- refusals ------------------------------------------------------------------

def test_unknown_command_lists_the_known_ones():
    assert refused("x") == "unknown command 'x' (known: init, append, validate, repair, force-unlock, report)"
    assert "unknown command 'discover'" in refused("discover")


def test_unknown_and_unsafe_slugs():
    assert refused("append", "nobody") == "unknown client 'nobody'"
    assert refused("append", "../x") == "slug '../x' is not a safe name"
    for bad in ("-rf", "", "a/b", "a b", "Acme", "a..b", ".hidden", "x\n", "a\x1b[2J", "a" * 65):
        assert "is not a safe name" in refused("append", bad), bad


def test_slug_pattern():
    assert check_slug("priority-roofing", KNOWN) == "priority-roofing"
    assert SLUG_RE.match("a.b_c-9") and not SLUG_RE.match("a..b") and not SLUG_RE.match("-a")


def test_repair_needs_both_dates():
    assert refused("repair") == "repair needs --start and --end"
    assert refused("repair", start="2025-09-01") == "repair needs --start and --end"
    assert refused("repair", end="2025-09-01") == "repair needs --start and --end"


@pytest.mark.parametrize("text", ["2025-02-30", "2025-9-01", "25-09-01", "2025/09/01", "20250901",
                                  "2025-09-01T00:00", " 2025-09-01", "-2025-09-01", "--help", "", "2025-13-01"])
def test_start_must_be_a_real_strict_date(text):
    assert refused("repair", start=text, end="2025-10-01") == f"start date {text!r} is not a real YYYY-MM-DD date"


def test_date_order_and_future():
    assert refused("repair", start="2025-10-05", end="2025-10-01") == "start 2025-10-05 is after end 2025-10-01"
    assert refused("repair", start="2025-10-05", end="2026-12-01") == "end 2026-12-01 is after today (2026-11-28)"
    assert refused("repair", start="2026-11-29", end="2026-11-29") == "start 2026-11-29 is after today (2026-11-28)"


def test_parse_day_directly():
    assert parse_day("2024-02-29", "start", today=TODAY) == date(2024, 2, 29)
    with pytest.raises(RequestError, match="'2023-02-29' is not a real"):
        parse_day("2023-02-29", "start", today=TODAY)


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        ("2025-Q5", "scope '2025-Q5': quarter must be 1–4"),
        ("2025-Q0", "scope '2025-Q0': quarter must be 1–4"),
        ("2025-Q01", "scope '2025-Q01': quarter must be 1–4"),
        ("2025-13..2025-14", "scope '2025-13..2025-14': month must be 01–12"),
        ("2025-00..2025-03", "month must be 01–12"),
        ("2025-05..2025-03", "scope '2025-05..2025-03': range starts after it ends"),
        ("2025-01..2024-12", "range starts after it ends"),
        ("LAST-90-DAYS", "scope 'LAST-90-DAYS' is not one of"),
        ("--scope", "is not one of"),
        ("2025-1..2025-3", "is not one of"),
        ("", "is not one of"),
    ],
)
def test_bad_scopes(scope, message):
    assert message in refused("report", scope=scope)


# TODAY is in 2026: a scope may name 2000 up to 2027, the year ahead.
@pytest.mark.parametrize("scope", ["0000-Q1", "9999-Q4", "1999-Q4", "2028-Q1", "0000-01..0001-02",
                                   "1999-12..2000-01", "2027-12..2028-01", "2000-01..9999-12"])
def test_scope_years_outside_2000_to_next_year_are_refused(scope):
    assert refused("report", scope=scope) == f"scope {scope!r}: year must be 2000–2027"


@pytest.mark.parametrize("scope", ["2000-Q1", "2027-Q4", "2000-01..2027-12"])
def test_scope_years_at_the_bounds_are_taken(scope):
    assert build("report", scope=scope).args == {"scope": scope}


def test_build_request_bounds_scope_years_by_its_today():
    later = build_request("report", "acme", known_slugs=KNOWN, today=date(2040, 6, 1), scope="2041-Q1")
    assert later.argv() == ["report", "acme", "--scope", "2041-Q1"]


def test_check_scope_bounds_years_by_the_today_it_is_given():
    assert check_scope("2031-Q1", today=date(2030, 1, 1)) == "2031-Q1"
    with pytest.raises(RequestError, match="year must be 2000–2030"):
        check_scope("2031-Q1", today=date(2029, 12, 31))
    next_year = date.today().year + 1  # without one, the system date's
    assert check_scope(f"{next_year}-Q1") == f"{next_year}-Q1"
    with pytest.raises(RequestError, match=f"year must be 2000–{next_year}$"):
        check_scope(f"{next_year + 1}-Q1")


@pytest.mark.parametrize(
    ("command", "kw", "message"),
    [
        ("report", {"start": "2025-01-01"}, "report does not take --start"),
        ("report", {"end": "2025-01-01"}, "report does not take --end"),
        ("append", {"scope": "LIFETIME"}, "append does not take --scope"),
        ("repair", {"start": "2025-01-01", "end": "2025-01-02", "scope": "LIFETIME"}, "repair does not take --scope"),
        ("init", {"start": "2025-01-01"}, "init does not take --start"),
    ],
)
def test_arguments_a_command_does_not_take_are_refused(command, kw, message):
    assert refused(command, **kw) == message


def test_control_characters_in_refusals_are_escaped():
    message = refused("append", "a\x1b]0;pwned\x07")
    assert "\x1b" not in message and "\x07" not in message and "\\x1b" in message


def test_only_ascii_digits_count():
    assert "is not a real YYYY-MM-DD date" in refused("repair", start="２０２５-０９-０１", end="2025-09-02")
    assert "is not one of" in refused("report", scope="٢٠٢٥-Q1")
