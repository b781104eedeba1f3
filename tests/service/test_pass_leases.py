"""A feed that waits in a pass for its host keeps its lease, or is left to the worker
that took it: no feed is fetched by two workers at once (tests/service/test_workers.py
once saw one, fetched by two workers 8 ms apart, after it had waited past its lease)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from monitor import storage
from monitor.pipeline import FeedOutcome
from monitor.service.passes import run_pass
from monitor.storage.models import FeedRow
from monitor.types import FeedSpec, FeedState, PollStatus

LEASE = timedelta(seconds=0.6)
# Three feeds of one host, one at a time: b and c wait in the pass while a is fetched.
SPECS = [FeedSpec(name=n, url=f"http://news.example/{n}.xml") for n in ("a", "b", "c")]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = storage.open_database(f"sqlite:///{tmp_path / 'monitor.db'}")
    storage.sync_feeds(engine, SPECS, datetime.now(UTC))
    yield engine
    engine.dispose()


def lease_of(engine: Engine, name: str) -> tuple[str | None, datetime | None]:
    with engine.connect() as conn:
        row = conn.execute(
            select(FeedRow.lease_owner, FeedRow.lease_until).where(FeedRow.name == name)
        ).one()
    return row.lease_owner, row.lease_until


def one_pass(engine: Engine, during_a: Callable[[], None]) -> dict[str, tuple[str | None, bool]]:
    """A pass over the three feeds, one fetch of the host at a time; the first fetch
    (of a) lasts past the lease and calls ``during_a`` meanwhile. Each feed fetched →
    its lease's owner at that moment, and whether the lease still ran."""
    fetched: dict[str, tuple[str | None, bool]] = {}

    def poll(spec: FeedSpec, state: FeedState) -> FeedOutcome:
        owner, until = lease_of(engine, spec.name)
        running = until is not None and until.replace(tzinfo=UTC) > datetime.now(UTC)
        fetched[spec.name] = (owner, running)
        if spec.name == "a":
            time.sleep(LEASE.total_seconds() * 1.5)
            during_a()
        return FeedOutcome(feed=spec.name, status=PollStatus.NOT_MODIFIED)

    run_pass(
        engine,
        poll,
        owner="worker-1",
        now=lambda: datetime.now(UTC),
        lease=LEASE,
        workers=2,
        per_host=1,
    )
    return fetched


def test_a_feed_another_worker_took_while_it_waited_for_its_host_is_not_fetched(
    engine: Engine,
) -> None:
    taken: list[str] = []

    def other_worker_claims() -> None:
        # b's lease ran out while it waited behind a: another worker takes it.
        claimed = storage.claim_feeds(
            engine,
            owner="worker-2",
            now=datetime.now(UTC),
            lease=timedelta(minutes=5),
            limit=10,
            names=["b"],
            due_only=False,
        )
        taken.extend(spec.name for spec, _ in claimed)

    fetched = one_pass(engine, other_worker_claims)

    assert taken == ["b"]
    assert list(fetched) == ["a", "c"]  # b is worker-2's now: fetched once, by it
    assert lease_of(engine, "b")[0] == "worker-2"


def test_a_feed_that_waited_past_its_lease_has_it_renewed_before_its_fetch(
    engine: Engine,
) -> None:
    fetched = one_pass(engine, lambda: None)

    # b and c were claimed with a and waited behind it past their lease: each is
    # fetched under a lease of ours that runs (renewed), not one that ran out.
    assert fetched == {
        "a": ("worker-1", True),
        "b": ("worker-1", True),
        "c": ("worker-1", True),
    }
    assert lease_of(engine, "b") == (None, None)  # the pass over: given back
