"""How many feeds of one host a pass lets run at once: more while it answers fast."""

from __future__ import annotations

from monitor.pipeline import FeedOutcome
from monitor.service.hostturns import HostPace, HostTurns, next_limit, pace_of
from monitor.types import FeedSpec, FeedState, PollStatus


def feeds(host: str, count: int) -> list[tuple[FeedSpec, FeedState]]:
    return [
        (FeedSpec(name=f"{host}-{i}", url=f"http://{host}/feed/{i}"), FeedState(name=f"{host}-{i}"))
        for i in range(count)
    ]


def test_a_fast_host_gets_more_feeds_at_once_up_to_the_ceiling() -> None:
    turns = HostTurns(per_host=2, ceiling=5)
    for spec, state in feeds("news.example", 40):
        turns.wait(spec, state)
    started = turns.ready()
    assert len(started) == 2  # a host not known yet: two at a time
    widths = []
    for _ in range(6):
        for spec, _ in started:
            turns.done(spec, HostPace.FAST)
        started = turns.ready()
        widths.append(len(started))
    assert widths == [4, 5, 5, 5, 5, 5]  # one more per fast poll, never past the ceiling


def test_a_slow_or_failing_answer_brings_the_host_back_to_two() -> None:
    for pace in (HostPace.SLOW, HostPace.FAILED):
        turns = HostTurns(per_host=2, ceiling=8)
        for spec, state in feeds("news.example", 20):
            turns.wait(spec, state)
        first = turns.ready()
        for spec, _ in first:
            turns.done(spec, HostPace.FAST)
        assert turns.limit("news.example") == 4
        second = turns.ready()
        turns.done(second[0][0], pace)
        assert turns.limit("news.example") == 2
        assert turns.ready() == []  # three still in flight: none more until below two


def test_hosts_adapt_apart() -> None:
    turns = HostTurns(per_host=2, ceiling=8)
    for spec, state in feeds("fast.example", 10) + feeds("slow.example", 10):
        turns.wait(spec, state)
    for spec, _ in turns.ready():
        fast = spec.url.startswith("http://fast.")
        turns.done(spec, HostPace.FAST if fast else HostPace.SLOW)
    assert (turns.limit("fast.example"), turns.limit("slow.example")) == (4, 2)


def test_how_a_poll_counts() -> None:
    def outcome(status: PollStatus, http: int | None, seconds: float) -> FeedOutcome:
        return FeedOutcome(feed="f", status=status, http_status=http, duration=seconds)

    assert pace_of(outcome(PollStatus.OK, 200, 0.05)) is HostPace.FAST
    assert pace_of(outcome(PollStatus.NOT_MODIFIED, 304, 0.01)) is HostPace.FAST
    assert pace_of(outcome(PollStatus.OK, 200, 4.0)) is HostPace.SLOW
    assert pace_of(outcome(PollStatus.ERROR, 429, 0.01)) is HostPace.FAILED
    assert pace_of(outcome(PollStatus.ERROR, None, 0.01)) is HostPace.FAILED
    assert pace_of(None) is HostPace.FAILED
    assert next_limit(8, HostPace.FAST, base=2, ceiling=8) == 8
    assert next_limit(7, HostPace.SLOW, base=2, ceiling=8) == 2


def test_feeds_that_may_start_start_one_host_after_another_in_turn() -> None:
    # Claimed host by host, started in turn: the first workers spread over the hosts.
    turns = HostTurns(per_host=2, ceiling=8)
    for spec, state in feeds("a.example", 3) + feeds("b.example", 3) + feeds("c.example", 1):
        turns.wait(spec, state)
    started = [spec.name for spec, _ in turns.ready()]
    assert started == ["a.example-0", "b.example-0", "c.example-0", "a.example-1", "b.example-1"]
    assert turns.names() == {"a.example-2", "b.example-2"}
    assert sorted(turns.drop()) == ["a.example-2", "b.example-2"] and turns.ready() == []
