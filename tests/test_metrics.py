"""The Prometheus series `monitor run` exports, read back as a scraper would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import Metrics


def scrape(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample as {(name, labels): value}."""
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_figures_after_a_tick() -> None:
    metrics = Metrics()
    metrics.record_poll("tass-en", "ok", 0.12)
    metrics.record_poll("tass-en", "ok", 0.30)
    metrics.record_poll("dw-de", "http_503", 2.0)
    metrics.record_articles("tass-en", 7)
    metrics.record_match("peace-council", 3)
    metrics.record_alert("peace-council")
    metrics.record_delivery("webhook:ab12", "ok")
    metrics.record_delivery("webhook:ab12", "retry")
    metrics.set_backlog(4)
    metrics.set_failing(1)
    finished = datetime(2026, 1, 22, 10, 0, 5, tzinfo=UTC)
    metrics.record_tick(finished, duration=1.5)

    s = scrape(metrics)
    assert value(s, "monitor_polls_total", feed="tass-en", result="ok") == 2
    assert value(s, "monitor_polls_total", feed="dw-de", result="http_503") == 1
    assert value(s, "monitor_fetch_duration_seconds_count") == 3
    assert value(s, "monitor_fetch_duration_seconds_sum") == pytest.approx(2.42)
    assert value(s, "monitor_fetch_duration_seconds_bucket", le="0.25") == 1
    assert value(s, "monitor_articles_stored_total", feed="tass-en") == 7
    assert value(s, "monitor_matches_total", topic="peace-council") == 3
    assert value(s, "monitor_alerts_total", topic="peace-council") == 1
    assert value(s, "monitor_deliveries_total", channel="webhook:ab12", result="retry") == 1
    assert value(s, "monitor_outbox_backlog") == 4
    assert value(s, "monitor_feeds_failing") == 1
    assert value(s, "monitor_last_tick_timestamp_seconds") == finished.timestamp()
    assert value(s, "monitor_ticks_total") == 1
    assert value(s, "monitor_tick_duration_seconds_count") == 1


def test_last_tick_is_unix_time_whatever_the_zone() -> None:
    metrics = Metrics()
    plus3 = timezone(timedelta(hours=3))
    metrics.record_tick(datetime(2026, 1, 22, 13, 0, tzinfo=plus3))
    s = scrape(metrics)
    assert value(s, "monitor_last_tick_timestamp_seconds") == 1769076000.0


def test_naive_tick_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Metrics().record_tick(datetime(2026, 1, 22, 10, 0))


def test_two_instances_do_not_share_series() -> None:
    first, second = Metrics(), Metrics()
    first.record_alert("peace-council")
    assert value(scrape(second), "monitor_alerts_total", topic="peace-council") is None
    assert value(scrape(first), "monitor_alerts_total", topic="peace-council") == 1


def test_series_of_removed_feeds_are_dropped() -> None:
    metrics = Metrics()
    metrics.record_poll("kept", "ok", 0.1)
    metrics.record_poll("removed", "ok", 0.1)
    metrics.record_poll("removed", "timeout", 0.1)
    metrics.record_articles("removed", 2)
    metrics.retain_feeds(["kept"])
    s = scrape(metrics)
    assert value(s, "monitor_polls_total", feed="kept", result="ok") == 1
    assert not [key for key in s if ("feed", "removed") in key[1]]


def test_label_values_cannot_break_the_exposition() -> None:
    metrics = Metrics()
    metrics.record_poll('evil"\n# TYPE fake counter', "x" * 500, None)
    families = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    assert "fake" not in families
    (result,) = [dict(k[1])["result"] for k in scrape(metrics) if k[0] == "monitor_polls_total"]
    assert len(result) == 100


def test_gauges_never_go_negative() -> None:
    metrics = Metrics()
    metrics.set_backlog(-3)
    assert value(scrape(metrics), "monitor_outbox_backlog") == 0
