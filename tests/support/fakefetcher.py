"""A fake fetcher with a builder, for testing ``poll_feed`` directly and fast.

Like reader's tests/fakeparser.py: a test says what each URL answers, in order
(``FakeFetcher().feed(url, [items]).not_modified(url).error(url, ErrorKind.GONE)``),
and the fetcher hands those answers out, one per fetch, repeating the last one. It
records what was asked (URL and validators). Only for what the pipeline does with a
fetch result: the real HTTP client is tested against real servers in tests/fetching/.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from monitor.types import ErrorKind, FetchResult
from tests.support.feedgen import Item, rss


@dataclass(frozen=True)
class Asked:
    url: str
    etag: str | None
    last_modified: str | None


@dataclass
class FakeFetcher:
    answers: dict[str, list[FetchResult]] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, url: str, result: FetchResult) -> FakeFetcher:
        self.answers.setdefault(url, []).append(result)
        return self

    def feed(
        self,
        url: str,
        items: list[Item],
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        retry_after: datetime | None = None,
        ttl: int | None = None,
    ) -> FakeFetcher:
        """200 with an RSS body of ``items``."""
        return self.answer(
            url,
            FetchResult(
                status="ok",
                url=url,
                http_status=200,
                content=rss(items, ttl=ttl),
                headers={"content-type": "application/rss+xml"},
                etag=etag,
                last_modified=last_modified,
                retry_after=retry_after,
            ),
        )

    def not_modified(self, url: str) -> FakeFetcher:
        return self.answer(url, FetchResult(status="not_modified", url=url, http_status=304))

    def error(
        self,
        url: str,
        kind: ErrorKind,
        message: str = "failed",
        *,
        http_status: int | None = None,
        retry_after: datetime | None = None,
    ) -> FakeFetcher:
        return self.answer(
            url,
            FetchResult(
                status="error",
                url=url,
                http_status=http_status,
                error_kind=kind,
                error=message,
                retry_after=retry_after,
            ),
        )

    def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        now: datetime,
    ) -> FetchResult:
        with self._lock:
            self.asked.append(Asked(url, etag, last_modified))
            queue = self.answers.get(url)
            if not queue:
                raise AssertionError(f"the test gave no answer for {url}")
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def close(self) -> None:
        pass
