"""Sifting in a parser worker: known items stay there, topics are compiled once per worker
and a reload or a replaced worker still matches with the current topics."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import sifting
from monitor.alerts.stories import title_key
from monitor.errors import ParseError
from monitor.parsing.pool import ParserPool, WorkerContext
from monitor.parsing.prepare import prepare_here
from monitor.sifting import SiftedFeed, TopicSource, compile_in_worker, sift_feed
from monitor.topics.spec import TopicConfig
from tests.support.feedgen import OTHER_EN, PEACE_EN, SUMMIT_EN, Item, rss

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
URL = "http://127.0.0.1/f.xml"
HEADERS = {"content-type": "application/rss+xml"}
SUMMIT = TopicSource.of([TopicConfig(id="summit", all=[["Trump"], ["Putin"], ["summit"]])])
PEACE = TopicSource.of([TopicConfig(id="peace", all=[["Board of Peace"]])])


@pytest.fixture
def pool() -> Iterator[ParserPool]:
    workers = ParserPool(size=1)
    yield workers
    workers.shutdown()


def sift(
    pool: ParserPool,
    items: list[Item],
    *,
    known: Mapping[str, str | None] | None = None,
    topics: TopicSource = SUMMIT,
    page_mode: str = "never",
) -> SiftedFeed:
    return sift_feed(
        rss(items),
        url=URL,
        headers=HEADERS,
        feed="wire",
        language=None,
        now=NOW,
        max_entries=500,
        known=known or {},
        topics=topics,
        deadline=30,
        pool=pool,
        page_mode=page_mode,
        short_text=400,
    )


def keys_here(items: list[Item]) -> dict[str, str]:
    """title → (article key, content hash) as normalizing in this process gives them."""
    prepared = prepare_here(
        rss(items), url=URL, headers=HEADERS, feed="wire", language=None, now=NOW, max_entries=500
    )
    return {a.title: f"{a.article_key} {a.content_hash}" for a in prepared.articles}


def test_only_new_and_changed_items_come_back_matched_and_fingerprinted(
    pool: ParserPool,
) -> None:
    stamp = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    summit = Item(SUMMIT_EN.title, SUMMIT_EN.link, SUMMIT_EN.description, published=stamp)
    other = Item(OTHER_EN.title, OTHER_EN.link, OTHER_EN.description, published=stamp)
    peace = Item(PEACE_EN.title, PEACE_EN.link, PEACE_EN.description, published=stamp)
    here = keys_here([summit, other, peace])
    other_key, other_hash = here[other.title].split()
    peace_key, _ = here[peace.title].split()
    summit_key, _ = here[summit.title].split()
    # other: stored with this very text; peace: stored with another text; pruned: only
    # the key of an item outlived pruning (never news again)
    known = {other_key: other_hash, peace_key: "0" * 64, "pruned": None}

    sifted = sift(pool, [summit, other, peace], known=known)

    assert sifted.entries == 3
    back = {f.item.article.title: f for f in sifted.fresh}
    assert set(back) == {summit.title, peace.title}
    assert back[summit.title].known is False and back[peace.title].known is True
    assert back[summit.title].item.article.article_key == summit_key
    assert [m.topic for m in back[summit.title].item.matches] == ["summit"]
    assert back[peace.title].item.matches == ()
    fresh_summit = back[summit.title].item
    assert fresh_summit.title_key == title_key(fresh_summit.article) != ""
    # only a match is joined to a story by its title: an item that matched nothing
    # comes back without a fingerprint (the polling process would compute one if needed)
    assert back[peace.title].item.title_key == ""


def test_an_item_whose_key_outlived_pruning_is_not_sent_back(pool: ParserPool) -> None:
    key, _ = keys_here([OTHER_EN])[OTHER_EN.title].split()

    sifted = sift(pool, [OTHER_EN], known={key: None})

    assert sifted.fresh == () and sifted.entries == 1


def test_new_topics_reach_a_worker_that_compiled_the_old_ones(pool: ParserPool) -> None:
    """A reload gives the same workers another configuration: they match with it."""
    before = sift(pool, [SUMMIT_EN, PEACE_EN])
    after = sift(pool, [SUMMIT_EN, PEACE_EN], topics=PEACE)
    again = sift(pool, [SUMMIT_EN, PEACE_EN])

    def topics(sifted: SiftedFeed) -> dict[str, list[str]]:
        return {f.item.article.title: [m.topic for m in f.item.matches] for f in sifted.fresh}

    assert topics(before) == {SUMMIT_EN.title: ["summit"], PEACE_EN.title: []}
    assert topics(after) == {SUMMIT_EN.title: [], PEACE_EN.title: ["peace"]}
    assert topics(again) == topics(before)


def die(content: bytes, *, url: str, headers: Mapping[str, str]) -> None:
    """A worker target that kills its worker mid-job (imported by the worker by name)."""
    os._exit(3)


def test_a_worker_killed_mid_job_is_replaced_and_the_next_job_still_matches(
    pool: ParserPool,
) -> None:
    assert [m.topic for f in sift(pool, [SUMMIT_EN]).fresh for m in f.item.matches] == ["summit"]

    with pytest.raises(ParseError) as caught:
        pool.run("tests.test_sifting:die", b"", url=URL, headers={}, deadline=30)
    assert "died" in str(caught.value)

    # the new worker never got the topics: the job brings them
    assert [m.topic for f in sift(pool, [SUMMIT_EN]).fresh for m in f.item.matches] == ["summit"]


def test_a_worker_past_its_deadline_is_replaced_and_the_next_job_still_matches(
    pool: ParserPool,
) -> None:
    sift(pool, [SUMMIT_EN])
    with pytest.raises(ParseError):
        pool.run(
            "tests.parsing.test_prepare:slow", b"", url=URL, headers={}, deadline=0.5, seconds=30
        )

    assert [m.topic for f in sift(pool, [SUMMIT_EN]).fresh for m in f.item.matches] == ["summit"]


def count_build(payload: str) -> str:
    """A context builder that leaves a line in a file each time it runs."""
    with Path(payload).open("a") as out:
        out.write(f"{os.getpid()}\n")
    return "built"


def with_context(content: bytes, *, url: str, headers: Mapping[str, str], context: str) -> str:
    return context


def test_a_context_is_built_once_per_worker_not_per_job(tmp_path: Path) -> None:
    builds = tmp_path / "builds"
    pool = ParserPool(size=2)
    try:
        context = WorkerContext("tests.test_sifting:count_build", "v1", str(builds))
        results = [
            pool.run(
                "tests.test_sifting:with_context",
                b"",
                url=URL,
                headers={},
                deadline=30,
                context=context,
            )
            for _ in range(6)
        ]
    finally:
        pool.shutdown()

    assert results == ["built"] * 6
    pids = builds.read_text().split()
    assert len(pids) == len(set(pids))  # never twice in one worker (one or two workers)


def slow_compile(source: TopicSource) -> object:
    """The topics compiled as a worker compiles them, after a slow start (10,000 topics
    take seconds): imported by the worker by name."""
    time.sleep(3)
    return compile_in_worker(source)


def test_a_slow_compile_of_the_topics_does_not_count_against_the_first_feed_deadline(
    pool: ParserPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker's first job brings the topics; their compile (3 s here) is the worker's
    # start, not the feed's parse: the feed, well within its 2 s, is sifted and matched
    monkeypatch.setattr(sifting, "BUILDER", "tests.test_sifting:slow_compile")
    first = sift_feed(
        rss([SUMMIT_EN, OTHER_EN]),
        url=URL,
        headers=HEADERS,
        feed="wire",
        language=None,
        now=NOW,
        max_entries=500,
        known={},
        topics=SUMMIT,
        deadline=2,
        pool=pool,
    )

    assert [m.topic for f in first.fresh for m in f.item.matches] == ["summit"]


def sleepy_build(seconds: float) -> str:
    """A context builder that takes ``seconds`` (imported by the worker by name)."""
    time.sleep(seconds)
    return f"built in {seconds}s"


def slow_with_context(
    content: bytes, *, url: str, headers: Mapping[str, str], context: str, seconds: float
) -> str:
    time.sleep(seconds)
    return context


def test_a_build_past_the_pools_build_deadline_fails_that_job_and_the_next_builds_anew() -> None:
    # 5 s: room for a new worker's start on a loaded machine, far below the build's 60 s
    pool = ParserPool(size=1, build_deadline=5)
    try:
        with pytest.raises(ParseError) as caught:
            pool.run(
                "tests.test_sifting:with_context",
                b"",
                url=URL,
                headers={},
                deadline=30,
                context=WorkerContext("tests.test_sifting:sleepy_build", "v1", 60),
            )
        assert caught.value.kind == "parse_error"
        assert str(caught.value) == (
            "building tests.test_sifting:sleepy_build took longer than 5s; the parser was stopped"
        )

        # the job's own deadline still holds once the context is built
        with pytest.raises(ParseError) as late:
            pool.run(
                "tests.test_sifting:slow_with_context",
                b"",
                url=URL,
                headers={},
                deadline=0.5,
                context=WorkerContext("tests.test_sifting:sleepy_build", "v2", 0),
                seconds=60,
            )
        assert late.value.kind == "parse_timeout"

        built = pool.run(
            "tests.test_sifting:with_context",
            b"",
            url=URL,
            headers={},
            deadline=30,
            context=WorkerContext("tests.test_sifting:sleepy_build", "v2", 0),
        )
        assert built == "built in 0s"
    finally:
        pool.shutdown()


def frozen_objects(content: bytes, *, url: str, headers: Mapping[str, str], context: str) -> int:
    return gc.get_freeze_count()


def test_what_a_worker_builds_is_left_out_of_its_collections(tmp_path: Path) -> None:
    # the compiled topics of a worker are walked by no collection of its jobs
    pool = ParserPool(size=1)
    try:
        frozen = [
            pool.run(
                "tests.test_sifting:frozen_objects",
                b"",
                url=URL,
                headers={},
                deadline=30,
                context=WorkerContext(
                    "tests.test_sifting:count_build", version, str(tmp_path / "b")
                ),
            )
            for version in ("v1", "v1", "v2")
        ]
    finally:
        pool.shutdown()

    assert all(count > 0 for count in frozen), frozen


def test_the_page_of_a_short_new_item_naming_a_topic_term_is_chosen(pool: ParserPool) -> None:
    short = Item("Putin arrives in Anchorage", "https://news.test-site.org/world/anchorage")
    long_text = Item(
        "Putin speaks", "https://news.test-site.org/world/speech", "Putin said " + "x " * 300
    )
    no_term = Item("Storms on the coast", "https://news.test-site.org/weather")
    known_key, _ = keys_here([short])[short.title].split()

    auto = {
        f.item.article.title: f.read_page
        for f in sift(pool, [short, long_text, no_term], page_mode="auto").fresh
    }
    never = sift(pool, [short], page_mode="never")
    changed = sift(pool, [short], page_mode="always", known={known_key: "0" * 64})

    assert auto == {short.title: True, long_text.title: False, no_term.title: False}
    assert [f.read_page for f in never.fresh] == [False]
    assert [f.read_page for f in changed.fresh] == [False]  # never the page of a known item
