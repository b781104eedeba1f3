"""Full text end to end: a headline-only feed on 127.0.0.1 whose article pages are read.

Real HTTP (tests/support/article_site.py), a real SQLite file, real parser workers; the
only addresses contacted are 127.0.0.1's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor.config.load import load_config
from monitor.fetching.client import Fetcher
from monitor.fetching.settings import FetchSettings
from monitor.fulltext import PageReader, PageSettings
from monitor.service.app import build_app
from tests.conftest import run_monitor
from tests.support.article_site import (
    ArticleSite,
    article_page,
    endless_route,
    huge_route,
    page_route,
    redirect_route,
)
from tests.support.hostile_server import HostileServer, respond

SUMMIT_BODY = (
    "Russian President Vladimir Putin and US President Donald Trump will hold a summit in "
    "Budapest next month, Kremlin aide Yuri Ushakov told reporters on Tuesday.",
    "Hungary's prime minister said his government was ready to host the meeting and would "
    "guarantee the Russian delegation's safe passage.",
)


@pytest.fixture
def site() -> Iterator[ArticleSite]:
    s = ArticleSite()
    yield s
    s.close()


def poll(config: Path) -> tuple[int, list[dict[str, Any]]]:
    """`monitor poll` as a real process; its exit code and its JSON log lines."""
    result = run_monitor("poll", "-c", str(config), "--log-format", "json", timeout=120)
    logs = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return result.returncode, logs


def test_an_item_whose_body_alone_names_the_summit_alerts_from_the_article(
    site: ArticleSite, write_config: Callable[..., Path], alert_log: Callable[[], list[Any]]
) -> None:
    site.add(
        "kremlin-talks",
        "Kremlin says Putin is ready for new talks",
        page_route(article_page("Kremlin says Putin is ready for new talks", *SUMMIT_BODY)),
    )
    # no topic term in its headline: its page (which names the summit) is not read
    site.add(
        "weather",
        "Storms expected on the coast",
        page_route(article_page("Storms", "Trump and Putin will meet at a summit in Alaska.")),
    )
    config = write_config(feeds=[{"name": "courier", "url": site.url("/feed.xml")}])

    code, _ = poll(config)

    assert code == 0
    (alert,) = alert_log()
    assert alert["topic"] == "trump-putin-summit"
    assert alert["title"] == "Kremlin says Putin is ready for new talks"
    fields = {e["field"] for e in alert["evidence"]}
    assert "article" in fields
    article = [e for e in alert["evidence"] if e["field"] == "article"]
    assert any(e["term"] == "summit" and "Budapest" in e["snippet"] for e in article)
    # navigation, ads and comments around the text are not evidence
    for e in alert["evidence"]:
        assert not any(w in e["snippet"] for w in ("ADVERTISEMENT", "reader42", "lol", "Cheap"))
    assert site.page_requests("kremlin-talks") == 1
    assert site.page_requests("weather") == 0
    # a replay cannot re-read the page (it is not stored): the match stands
    replayed = run_monitor("replay", "-c", str(config))
    assert replayed.returncode == 0, replayed.stderr
    assert "trump-putin-summit" not in replayed.stdout
    assert "0 would be dropped" in replayed.stdout, replayed.stdout


def test_fulltext_never_matches_on_the_feed_text_alone(
    site: ArticleSite, write_config: Callable[..., Path], alert_log: Callable[[], list[Any]]
) -> None:
    site.add(
        "kremlin-talks",
        "Kremlin says Putin is ready for new talks",
        page_route(article_page("Kremlin says Putin is ready for new talks", *SUMMIT_BODY)),
    )
    config = write_config(
        feeds=[{"name": "courier", "url": site.url("/feed.xml"), "fulltext": "never"}]
    )

    code, _ = poll(config)

    assert code == 0 and alert_log() == []
    assert site.page_requests("kremlin-talks") == 0


def test_pages_that_fail_leave_items_on_feed_text_and_are_never_fetched_again(
    site: ArticleSite, write_config: Callable[..., Path], alert_log: Callable[[], list[Any]]
) -> None:
    site.add("huge", "Putin's speech in full", huge_route())
    site.add("endless", "Putin live: the press conference", endless_route())
    site.add(
        "pdf",
        "Putin decree on the Board of Peace",
        page_route(b"%PDF-1.7\n%" + b"\0" * 5000, "application/pdf"),
    )
    site.add("gone", "Putin's envoy in Miami", redirect_route("/nowhere"))
    site.add("ok", "Kremlin says Putin is ready", page_route(article_page("Ready", *SUMMIT_BODY)))
    config = write_config(feeds=[{"name": "courier", "url": site.url("/feed.xml")}])

    code, logs = poll(config)

    assert code == 0
    failed = {e["url"].rsplit("/", 1)[-1]: e["reason"] for e in logs if e["event"] == "page_failed"}
    assert failed["huge"].startswith("too_large")
    assert failed["endless"].startswith("too_large")
    assert failed["pdf"].startswith("not_html")
    assert failed["gone"].startswith("http_404")
    polled = next(e for e in logs if e["event"] == "feed_polled")
    assert polled["status"] == "ok" and polled["new"] == 5
    # the one page that worked alerts; the others matched on their feed text (the Board
    # of Peace headline on its title, its PDF unread)
    assert sorted(a["topic"] for a in alert_log()) == ["peace-council", "trump-putin-summit"]
    assert polled["matched"] == 2

    code, logs = poll(config)  # the same items again: stored, so no page is read twice

    assert code == 0
    for slug in ("huge", "endless", "pdf", "gone", "ok"):
        assert site.page_requests(slug) == 1, slug
    assert not any(e["event"] == "page_failed" for e in logs)


def test_a_page_redirecting_to_a_refused_address_is_refused_before_connecting(
    site: ArticleSite, write_config: Callable[..., Path], alert_log: Callable[[], list[Any]]
) -> None:
    # The site is let through by its address; the page redirects to the IPv4-mapped form
    # of loopback, which the guard must refuse. Were it not, the connection would land on
    # `elsewhere` (still on this machine), which counts it.
    elsewhere = HostileServer(
        lambda sock, request, server: respond(
            sock, 200, article_page("x", *SUMMIT_BODY), {"Content-Type": "text/html"}
        )
    )
    try:
        target = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/a/summit"
        site.add("moved", "Kremlin says Putin is ready", redirect_route(target))
        config = write_config(feeds=[{"name": "courier", "url": site.url("/feed.xml")}])
        app = build_app(load_config(config))
        guarded = Fetcher(
            FetchSettings(allow_private_networks=False, read_timeout=2.0, total_timeout=5.0),
            allow_addresses=["127.0.0.1"],
        )
        pages = PageReader(guarded)
        pipeline = replace(app.pipeline, fetcher=guarded, pages=pages)
        try:
            app.sync_feeds()
            (outcome,) = app.poll(pipeline=pipeline)
        finally:
            guarded.close()
            app.close()
    finally:
        elsewhere.close()
    assert outcome.status == "ok" and outcome.new == 1
    assert site.page_requests("moved") == 1
    assert elsewhere.connections == 0
    assert alert_log() == []


def test_pages_are_bounded_per_poll_and_per_host(
    site: ArticleSite, write_config: Callable[..., Path]
) -> None:
    for i in range(6):
        site.add(f"p{i}", f"Putin item {i}", page_route(article_page("x", "Nothing here.")))
    config = write_config(
        feeds=[
            {"name": "first", "url": site.url("/feed.xml")},
            {"name": "second", "url": site.url("/feed.xml?again")},
        ]
    )
    app = build_app(load_config(config))
    from monitor.fulltext import PageBudget

    reader = PageReader(
        app.pipeline.fetcher,
        PageSettings(per_poll=4),
        budget=PageBudget(per_minute=100, per_host_per_minute=5),
    )
    try:
        app.sync_feeds()
        outcomes = app.poll(names=["first"], pipeline=replace(app.pipeline, pages=reader))
        after_first = sum(site.page_requests(f"p{i}") for i in range(6))
        app.poll(names=["second"], pipeline=replace(app.pipeline, pages=reader))
        after_second = sum(site.page_requests(f"p{i}") for i in range(6))
    finally:
        app.close()
    assert [o.new for o in outcomes] == [6]
    assert after_first == 4  # one feed's poll reads at most per_poll pages
    assert after_second == 5  # the host's budget for the minute is spent after one more
