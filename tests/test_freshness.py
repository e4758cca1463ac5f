import unicodedata
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rich.cells import cell_len

from adsdash.freshness import SEVERITY, SYMBOL, Freshness, Kind, assess, client_yesterday, next_day_turn

CHICAGO = ZoneInfo("America/Chicago")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
# 12:00 UTC on 13 Oct 2025 is 01:00 on the 14th in Auckland (NZDT, +13) and 05:00 on
# the 13th in Los Angeles (PDT, -7): the two zones' "yesterday" differ by a day.
SPLIT_INSTANT = datetime(2025, 10, 13, 12, 0, tzinfo=UTC)


def test_yesterday_depends_on_the_client_zone():
    assert client_yesterday(AUCKLAND, SPLIT_INSTANT) == date(2025, 10, 13)
    assert client_yesterday(LOS_ANGELES, SPLIT_INSTANT) == date(2025, 10, 12)
    assert client_yesterday(ZoneInfo("UTC"), SPLIT_INSTANT) == date(2025, 10, 12)


def test_same_watermark_same_instant_different_verdicts():
    watermark = date(2025, 10, 12)
    assert assess(watermark, LOS_ANGELES, SPLIT_INSTANT) == Freshness(Kind.FRESH, 0)
    assert assess(watermark, AUCKLAND, SPLIT_INSTANT) == Freshness(Kind.LATE, 1)


def test_yesterday_across_the_dst_change_in_chicago():
    # 2 Nov 2025 Chicago falls back to CST (-6); 05:30Z is still 23:30 on the 2nd.
    assert client_yesterday(CHICAGO, datetime(2025, 11, 3, 5, 30, tzinfo=UTC)) == date(2025, 11, 1)
    assert client_yesterday(CHICAGO, datetime(2025, 11, 3, 6, 30, tzinfo=UTC)) == date(2025, 11, 2)


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        client_yesterday(CHICAGO, datetime(2025, 10, 13, 12, 0))


@pytest.mark.parametrize(
    ("watermark", "kind", "lag"),
    [
        (date(2025, 10, 15), Kind.FRESH, -2),  # in the future: fresh, negative lag kept
        (date(2025, 10, 13), Kind.FRESH, 0),
        (date(2025, 10, 12), Kind.LATE, 1),
        (date(2025, 10, 11), Kind.LATE, 2),
        (date(2025, 10, 10), Kind.STALE, 3),
        (date(2024, 10, 13), Kind.STALE, 365),
    ],
)
def test_default_boundaries(watermark, kind, lag):
    # Auckland's yesterday at SPLIT_INSTANT is 2025-10-13.
    assert assess(watermark, AUCKLAND, SPLIT_INSTANT) == Freshness(kind, lag)


def test_never_synced():
    assert assess(None, CHICAGO, SPLIT_INSTANT) == Freshness(Kind.NEVER, None)


@pytest.mark.parametrize(("lag", "kind"), [(1, Kind.FRESH), (2, Kind.LATE), (4, Kind.LATE), (5, Kind.STALE)])
def test_custom_thresholds(lag, kind):
    yesterday = client_yesterday(CHICAGO, SPLIT_INSTANT)
    watermark = date.fromordinal(yesterday.toordinal() - lag)
    result = assess(watermark, CHICAGO, SPLIT_INSTANT, late_after_days=2, stale_after_days=5)
    assert (result.kind, result.lag_days) == (kind, lag)


def test_severity_sorts_worst_first():
    assert sorted(Kind, key=SEVERITY.__getitem__) == [Kind.ERROR, Kind.NEVER, Kind.STALE, Kind.LATE, Kind.FRESH]


def test_symbols_are_distinct_single_cells():
    assert set(SYMBOL) == set(Kind)
    assert len(set(SYMBOL.values())) == len(Kind)
    for symbol in SYMBOL.values():
        assert len(symbol) == 1 and cell_len(symbol) == 1
        assert unicodedata.east_asian_width(symbol) in ("N", "Na")  # not "ambiguous"


def test_kind_is_a_plain_string_and_describe_reads_well():
    assert Kind.STALE == "stale" and f"{Kind.LATE}" == "late"
    assert Freshness(Kind.LATE, 1).describe() == "late (1 day behind)"
    assert Freshness(Kind.STALE, 9).describe() == "stale (9 days behind)"
    assert Freshness(Kind.FRESH, -1).describe() == "fresh"
    assert Freshness(Kind.ERROR, None, "bad zone").describe() == "error: bad zone"
    assert Freshness(Kind.NEVER, None).describe() == "never synced"


@pytest.mark.parametrize(("zone_name", "local_now"), [
    ("Pacific/Auckland", "2025-10-14 23:30"),
    ("America/Los_Angeles", "2025-03-08 23:59"),  # the night before spring-forward (at 02:00)
    ("America/Los_Angeles", "2025-11-02 00:30"),  # fall-back day: 01:00-02:00 twice
    ("America/Havana", "2025-03-08 22:00"),  # its clocks skip 00:00-01:00: no local midnight that day
    ("Asia/Kolkata", "2025-06-01 00:00"),  # at midnight: the next one, a day on
])
def test_the_next_day_turn_is_the_first_instant_of_the_next_client_day(zone_name, local_now):
    zone = ZoneInfo(zone_name)
    now = datetime.fromisoformat(local_now).replace(tzinfo=zone).astimezone(UTC)
    turn = next_day_turn(zone, now)
    tick = timedelta(microseconds=1)
    assert turn > now
    assert client_yesterday(zone, turn - tick) == client_yesterday(zone, now)
    assert client_yesterday(zone, turn) == client_yesterday(zone, now) + timedelta(days=1)
