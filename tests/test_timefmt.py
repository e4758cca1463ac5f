from datetime import UTC, datetime, timedelta, timezone

from adsdash import timefmt


def test_durations_read_short():
    assert [timefmt.duration(s) for s in (None, 0, 0.34, 9.96, 12, 125, 3720, 2 * 86400 + 3600 * 4)] == [
        "—", "0s", "0.3s", "10.0s", "12s", "2m05s", "1h02m", "2d04h"]


def test_ago_and_local():
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert timefmt.ago((now - timedelta(minutes=5, seconds=12)).isoformat(), now) == "5m ago"
    assert timefmt.ago(None, now) == "—" and timefmt.ago("garbage", now) == "—"
    assert timefmt.local("2026-11-28T12:00:00+00:00", timezone(timedelta(hours=-6))) == "2026-11-28 06:00:00"


def test_ages_change_by_the_minute():
    from adsdash.timefmt import ago

    now = datetime(2025, 10, 13, 12, 0, tzinfo=UTC)
    assert [ago(now - timedelta(seconds=s), now) for s in (0, 59, 60, 3599, 3600, 86399, 86400 * 3)] == [
        "just now", "just now", "1m ago", "59m ago", "1h ago", "23h ago", "3d ago"]
    assert ago(None, now) == "—"
