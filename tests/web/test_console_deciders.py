"""The console's pure parts: highlighting, the rule that fired, outlet order, the chart,
the query parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.storage.console import OutletArticle, TimelineCount
from monitor.topics.spec import TopicConfig
from monitor.types import Alert
from monitor.web.chart import build_chart
from monitor.web.highlight import highlight_segments
from monitor.web.params import ParamError, read_stories_query, read_timeline_query
from monitor.web.stories import fired_rule, story_outlets

T0 = datetime(2026, 1, 22, 12, 0, tzinfo=UTC)


def hits(snippet: str, terms: list[str]) -> list[str]:
    return [text for text, hit in highlight_segments(snippet, terms) if hit]


def test_highlight_marks_inflections_case_and_diacritics() -> None:
    assert hits("Встреча Путина и Трампа", ["Путин", "Трамп"]) == ["Путина", "Трампа"]
    assert hits("Der GIPFELS in Anchorage", ["Gipfel*", "anchorage"]) == ["GIPFELS", "Anchorage"]
    assert hits("ZELENSKY met Zelénsky", ["Zelensky"]) == ["ZELENSKY", "Zelénsky"]
    assert hits("the White House summit today", ["White House summit"]) == ["White House summit"]
    assert hits("Putinism is not Putin", ["Putin"]) == ["Putin"]  # not an inflection
    snippet = "<script>Trump</script>"
    assert "".join(t for t, _ in highlight_segments(snippet, ["Trump"])) == snippet


def test_fired_rule_is_the_first_block_the_evidence_satisfies() -> None:
    topic = TopicConfig.model_validate(
        {
            "id": "t",
            "rules": [
                {"all": [["Trump"], ["Putin"], ["summit"]]},
                {"all": [["Alaska", "Anchorage"], ["Kremlin"]]},
            ],
        }
    )
    fired = fired_rule(topic, ["Anchorage", "kremlin"])
    assert fired is not None and (fired.number, fired.of) == (2, 2)
    first = fired_rule(topic, ["Trump", "Putin", "Summit", "Anchorage"])
    assert first is not None and first.number == 1
    assert fired_rule(topic, ["Xi"]) is None


def test_fired_rule_reads_aliases_and_near_blocks_as_the_engine_does() -> None:
    """An alias's hit counts as its term; a ``near`` block fires only when its terms hit
    (an empty ``all`` is not a free pass)."""
    topic = TopicConfig.model_validate(
        {
            "id": "t",
            "aliases": {"Trump": ["US president"], "Putin": {"terms": ["Kremlin leader"]}},
            "rules": [
                {"near": [{"terms": ["Trump", "Putin", ["meet", "summit"]], "within": 8}]},
                {"all": [["Trump"], ["Putin"], ["Anchorage"]]},
                {"any": ['"Board of Peace"']},
            ],
        }
    )
    board = fired_rule(topic, ['"Board of Peace"'])
    assert board is not None and board.number == 3, "not the near block"
    alias = fired_rule(topic, ["US president", "Kremlin leader", "Anchorage"])
    assert alias is not None and alias.number == 2
    near = fired_rule(topic, ["Trump", "Putin", "summit"])
    assert near is not None and near.number == 1


def _article(feed: str, minutes: int, published: int | None = None) -> OutletArticle:
    return OutletArticle(
        feed=feed,
        article_id=minutes,
        title="t",
        url=None,
        published=None if published is None else T0 + timedelta(minutes=published),
        first_seen=T0 + timedelta(minutes=minutes),
        evidence=(),
    )


def test_outlets_of_an_alert_without_times_in_the_alerts_order() -> None:
    alert = Alert(
        id="a",
        topic="t",
        title="t",
        url=None,
        feed="late",
        published=None,
        detected_at=T0,
        evidence=(),
        feeds=("late", "early", "gone"),
    )
    # An alert of an older version, which recorded no times: "late" raised it, "early"
    # dated its article 30 minutes before. The alert names "late" first reporter (its
    # detection time, the others' unknown), and so does the console, "early"'s article
    # date shown beside it but not reordering it (they would contradict each other).
    outlets = story_outlets(alert, [_article("late", 5, published=0), _article("early", 10, -30)])
    assert alert.first_reported_by == "late"
    assert [(o.feed, o.first, o.carried_at) for o in outlets] == [
        ("late", True, T0),
        ("early", False, T0 - timedelta(minutes=30)),
        ("gone", False, None),
    ]


def test_a_feed_that_never_joined_follows_the_alerts_outlets() -> None:
    # "blog" carried the story's URL two hours before "wire" without joining the story
    # (not a match of its topic): shown after the alert's outlets, never first reporter
    alert = Alert(
        id="a",
        topic="t",
        title="t",
        url=None,
        feed="wire",
        published=None,
        detected_at=T0,
        evidence=(),
        feeds=("wire",),
        outlets=(("wire", T0),),
    )
    outlets = story_outlets(alert, [_article("wire", 0), _article("blog", 1, published=-120)])
    assert [(o.feed, o.first) for o in outlets] == [("wire", True), ("blog", False)]
    assert outlets[1].carried_at == T0 - timedelta(minutes=120)
    assert outlets[0].feed == alert.first_reported_by


def test_outlets_by_the_times_the_alert_recorded_over_their_articles_dates() -> None:
    # "dw" dated its article in 2000; the alert recorded it no earlier than its last
    # poll (T0): the console names the same time and first reporter as the alert
    alert = Alert(
        id="a",
        topic="t",
        title="t",
        url=None,
        feed="reuters",
        published=None,
        detected_at=T0 + timedelta(minutes=5),
        evidence=(),
        feeds=("reuters", "dw", "meduza"),
        outlets=(("reuters", T0 + timedelta(minutes=5)), ("dw", T0)),
    )
    ancient = T0 - datetime(2000, 1, 1, tzinfo=UTC)
    outlets = story_outlets(
        alert,
        [
            _article("reuters", 5, published=5),
            _article("dw", 7, published=-int(ancient.total_seconds() // 60)),
            _article("meduza", 10, published=9),
        ],
    )
    assert [(o.feed, o.carried_at) for o in outlets] == [
        ("dw", T0),
        ("reuters", T0 + timedelta(minutes=5)),
        ("meduza", T0 + timedelta(minutes=9)),
    ]
    assert outlets[0].first


def test_chart_has_one_series_per_outlet_stacked_within_the_plot() -> None:
    counts = [
        TimelineCount(T0, "a", 3),
        TimelineCount(T0, "b", 1),
        TimelineCount(T0 + timedelta(hours=2), "b", 2),
        TimelineCount(T0 - timedelta(days=9), "old", 5),  # outside the range
    ]
    chart = build_chart(
        counts, since=T0 - timedelta(hours=1), until=T0 + timedelta(hours=5), unit="hour"
    )
    assert [s.outlet for s in chart.series] == ["a", "b"]
    assert chart.peak == 4
    a_bar, b_bar = chart.series[0].bars[0], chart.series[1].bars[0]
    assert b_bar.y + b_bar.height == pytest.approx(a_bar.y)  # b stacks on a
    assert all(
        bar.y >= 0 and bar.y + bar.height <= chart.height for s in chart.series for bar in s.bars
    )


def test_parameters_are_bounded() -> None:
    query = read_stories_query({"since": "2h", "limit": "10", "topic": "monitor:feed-down"}, T0)
    assert query.since == T0 - timedelta(hours=2) and query.limit == 10
    with pytest.raises(ParamError, match="since must lie before until"):
        read_stories_query({"since": "1h", "until": "2h"}, T0)
    timeline = read_timeline_query({"since": "2d"}, T0)
    assert timeline.unit == "hour"
    assert read_timeline_query({"since": "10d"}, T0).unit == "day"
    with pytest.raises(ParamError, match="unit=hour"):
        read_timeline_query({"since": "60d", "unit": "hour"}, T0)
