"""Digest periods and rate windows: what `digest:` and `rate:` mean in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.alerts.cadence import parse_digest, parse_rate


def test_daily_digest_runs_from_local_time_to_local_time_across_dst():
    daily = parse_digest("daily 08:00 Europe/Berlin")
    start, end = daily.period(datetime(2026, 12, 7, 6, 59, tzinfo=UTC))  # 07:59 in Berlin
    assert (start, end) == (
        datetime(2026, 12, 6, 7, 0, tzinfo=UTC),
        datetime(2026, 12, 7, 7, 0, tzinfo=UTC),
    )
    # The night clocks go forward (29 March 2026): a 23-hour period.
    start, end = daily.period(datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert start == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    start, end = daily.period(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert end - start == timedelta(hours=23)


def test_duration_digest_and_rate_windows_are_epoch_aligned():
    hourly = parse_digest("1h")
    assert hourly.period(datetime(2026, 12, 7, 10, 59, 59, tzinfo=UTC))[0] == datetime(
        2026, 12, 7, 10, 0, tzinfo=UTC
    )
    rate = parse_rate("10/m")
    assert rate.count == 10 and rate.per == timedelta(minutes=1)
    assert parse_rate("5/30s").per == timedelta(seconds=30)


@pytest.mark.parametrize("bad", ["hourly", "daily 25:00", "daily 08:00 Mars/Base", "10s"])
def test_bad_digests_are_refused(bad):
    with pytest.raises(ValueError):
        parse_digest(bad)


@pytest.mark.parametrize("bad", ["0/m", "ten/m", "10", "10/0s"])
def test_bad_rates_are_refused(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_check_reports_bad_delivery_options_at_their_line(write_config, cli):
    config = write_config(notify=[{"stdout": True, "digest": "hourly", "rate": "lots"}])
    result = cli("check", "-c", str(config))
    assert result.exit_code == 2
    assert "digest must be" in result.output and "rate must look like" in result.output
    assert f"{config}:" in result.output
