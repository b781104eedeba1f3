"""The pure parts of full text: which pages to read, the budget, and what extraction keeps."""

from __future__ import annotations

import pytest

from monitor.errors import ParseError
from monitor.fulltext import PageBudget, PageDecision, decide_page
from monitor.parsing.article import extract_here, is_html
from monitor.types import Article
from tests.support.article_site import article_page


def item(url: str | None = "https://news.site/a/1", summary: str = "") -> Article:
    return Article(feed="f", article_key="k", content_hash="h", url=url, title="t", summary=summary)


@pytest.mark.parametrize(
    ("mode", "article", "hits", "expected"),
    [
        ("auto", item(), True, PageDecision.READ),
        ("auto", item(), False, PageDecision.NO_TERM),
        ("auto", item(summary="x" * 400), True, PageDecision.LONG_ENOUGH),
        ("auto", item(summary="x" * 399), True, PageDecision.READ),
        ("always", item(summary="x" * 5000), False, PageDecision.READ),
        ("never", item(), True, PageDecision.OFF),
        ("auto", item(url=None), True, PageDecision.NO_LINK),
        # documentation and test names are never fetched, whatever the mode
        ("always", item(url="https://news.example.org/a"), True, PageDecision.RESERVED),
        ("always", item(url="http://feeds.example.invalid/a"), True, PageDecision.RESERVED),
        ("always", item(url="http://host.test/a"), True, PageDecision.RESERVED),
        ("always", item(url="https://example.organic.news/a"), True, PageDecision.READ),
    ],
)
def test_which_pages_are_read(
    mode: str, article: Article, hits: bool, expected: PageDecision
) -> None:
    assert decide_page(mode, article, hits_a_term=hits) is expected


def test_budget_limits_pages_per_minute_and_per_host() -> None:
    now = [0.0]
    budget = PageBudget(per_minute=5, per_host_per_minute=2, clock=lambda: now[0])
    assert [budget.take("a.org") for _ in range(3)] == [True, True, False]
    assert budget.take("B.org") and budget.take("b.org") and not budget.take("b.org")
    assert budget.take("c.org") and not budget.take("d.org")  # five in all this minute
    now[0] = 60.0
    assert budget.take("a.org") and budget.take("d.org")  # a minute later: room again


def test_extraction_keeps_the_article_and_drops_the_site_around_it() -> None:
    page = article_page(
        "Talks in Budapest",
        "Putin and Trump will hold a summit in Budapest next month, officials said.",
        "The Kremlin declined to comment on the timing of the meeting.",
    )
    text = extract_here(page, url="https://news.site/a/1", headers={"content-type": "text/html"})
    assert "summit in Budapest next month" in text
    assert "declined to comment" in text
    for boilerplate in ("ADVERTISEMENT", "Accept all", "reader42", "Imprint", "Weather: storms"):
        assert boilerplate not in text


def test_extraction_refuses_what_is_not_html() -> None:
    with pytest.raises(ParseError) as info:
        extract_here(
            b"%PDF-1.7", url="https://x.site/a.pdf", headers={"content-type": "application/pdf"}
        )
    assert info.value.kind == "not_html"
    assert is_html(b"<!doctype html><html></html>", {})
    assert not is_html(b'{"json": true}', {})


def test_a_page_without_article_text_is_a_reason_not_a_crash() -> None:
    with pytest.raises(ParseError) as info:
        extract_here(b"<html><body><div></div></body></html>", url="https://x.site/", headers={})
    assert info.value.kind == "no_text"


def test_a_term_counts_for_reading_only_while_a_rule_of_it_applies() -> None:
    from datetime import UTC, datetime

    from monitor.topics import compile_topics
    from monitor.topics.spec import TopicConfig
    from monitor.types import Document

    topics = compile_topics(
        [
            TopicConfig.model_validate(
                {
                    "id": "t",
                    "aliases": {"Putin": ["Kremlin leader"]},
                    "rules": [
                        {"all": [["Putin"], ["summit"]]},
                        {"any": ["Alaska"], "window": {"from": "2025-08-01", "to": "2025-08-31"}},
                    ],
                }
            )
        ]
    )
    in_window = datetime(2025, 8, 10, tzinfo=UTC)
    later = datetime(2026, 3, 1, tzinfo=UTC)
    assert topics.hits_a_term(Document(title="Alaska news", published=in_window))
    assert not topics.hits_a_term(Document(title="Alaska news", published=later))
    assert topics.hits_a_term(Document(title="The Kremlin leader speaks", published=later))
    assert not topics.hits_a_term(Document(title="Weather report", published=in_window))
