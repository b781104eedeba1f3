"""What the signals across outlets show on the shared streams around 15 August 2025.

Not a test. The items of ``../shared/data/streams/*.jsonl`` published from 8 to 22 August
2025 are matched against the default topics of config/monitor.yaml in publication order,
as a monitor meeting them would; each match joins a story of its topic (same URL, or a
near-identical title in the same language within 48 h) or starts one. An item's outlet
is its stream's source, or for Google News the outlet its headline names after " - ".
Printed: each story carried by two outlets or more (first reporter, time to the second
outlet, whether ``confirm: {outlets: 2, within: 30m}`` would have alerted it), and the
surges ``surge: {factor: 5, window: 1h, min: 4}`` would have raised.

    PYTHONPATH=. python tests/benchmarks/signals_replay.py
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from monitor.alerts.stories import same_story_fingerprints, title_fingerprint, topic_words
from monitor.signals import (
    SURGE_HISTORY,
    Confirmation,
    ConfirmRule,
    SurgeOutcome,
    SurgeRule,
    decide_confirmation,
    decide_surge,
)
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from monitor.types import Document, Sighting, Source
from tests.benchmarks.story_thresholds import STREAMS, WINDOW, parse_time
from tests.conftest import default_topics

START = datetime(2025, 8, 8, tzinfo=UTC)
END = datetime(2025, 8, 23, tzinfo=UTC)
CONFIRM = ConfirmRule(outlets=2, within=timedelta(minutes=30))
SURGE = SurgeRule(factor=5, window=timedelta(hours=1), min=4)


@dataclass
class Story:
    topic: str
    title: str
    language: str | None
    fingerprint: str
    urls: set[str] = field(default_factory=set)
    sightings: list[Sighting] = field(default_factory=list)

    def carry(self, outlet: str, when: datetime) -> None:
        if all(s.source.outlet != outlet for s in self.sightings):
            self.sightings.append(Sighting(Source(outlet), outlet, when))


def outlet_of(item: dict[str, str]) -> str:
    source = item.get("source") or "?"
    if source.startswith("Google News"):
        head, sep, tail = (item.get("title") or "").rpartition(" - ")
        name = tail.strip() if sep and head and len(tail) < 60 else source
        return OUTLET_NAMES.get(name.lower(), name)
    return source.replace(" RSS", "")


OUTLET_NAMES = {"axios.com": "Axios", "apnews.com": "AP News", "reuters.com": "Reuters"}
"""The same outlet under its domain in some Google News headlines."""


def main() -> None:
    topics = compile_topics([TopicConfig.model_validate(t) for t in default_topics()])
    words = {tid: topic_words(topics.terms(tid)) for tid in topics.ids}
    items = []
    for path in sorted(STREAMS.glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            item = json.loads(line)
            when = parse_time(item.get("published") or "")
            if when is not None and START - SURGE_HISTORY <= when < END:
                items.append((when.astimezone(UTC), item))
    items.sort(key=lambda pair: pair[0])
    stories: list[Story] = []
    times: dict[str, list[datetime]] = {}
    surges: dict[str, list[tuple[datetime, int, int]]] = {}
    for when, item in items:
        doc = Document(
            title=item.get("title") or "",
            summary=item.get("summary") or "",
            language=item.get("language"),
            published=when,
        )
        for match in topics.match(doc):
            seen = times.setdefault(match.topic, [])
            seen.append(when)
            if when < START:
                continue
            fp = title_fingerprint(doc.title, doc.language)
            story = next(
                (
                    s
                    for s in reversed(stories)
                    if s.topic == match.topic
                    and s.sightings[0].at is not None
                    and when - s.sightings[0].at <= WINDOW
                    and (
                        item.get("url") in s.urls
                        or (
                            s.language == doc.language
                            and same_story_fingerprints(fp, s.fingerprint, words[match.topic])
                        )
                    )
                ),
                None,
            )
            if story is None:
                story = Story(match.topic, doc.title, doc.language, fp)
                stories.append(story)
            story.urls.add(item.get("url") or "")
            story.carry(outlet_of(item), when)
            count = sum(1 for t in seen if when - SURGE.window < t <= when)
            history = sum(
                1 for t in seen if when - SURGE.window - SURGE_HISTORY < t <= when - SURGE.window
            )
            raised = surges.setdefault(match.topic, [])
            outcome = decide_surge(
                SURGE,
                count=count,
                history=history,
                last_surge=raised[-1][0] if raised else None,
                times=seen[:-1],
                now=when,
            )
            if outcome is SurgeOutcome.STARTS:
                raised.append((when, count, history))
    multi = [s for s in stories if len(s.sightings) > 1]
    print(f"{len(stories)} stories, {START:%d %b} to {END:%d %b %Y}; {len(multi)} with 2+ outlets")
    for day in (14, 15, 16):
        of_day = [s for s in stories if s.sightings[0].at and s.sightings[0].at.day == day]
        if of_day:
            s0 = of_day[0]
            print(
                f"first story of {day} Aug: {s0.sightings[0].at:%H:%M}Z by"
                f" {s0.sightings[0].source.outlet} ({len(of_day)} stories that day): {s0.title}"
            )
    for s in sorted(multi, key=lambda s: s.sightings[0].at or START)[:40]:
        first, second = s.sightings[0], s.sightings[1]
        assert first.at is not None and second.at is not None
        outcome, _ = decide_confirmation(CONFIRM, s.sightings, END)
        print(
            f"{first.at:%m-%d %H:%M} {s.topic:19} first {first.source.outlet!r:24}"
            f" second {second.source.outlet!r:20} after {second.at - first.at}"
            f" outlets={len(s.sightings)} confirm30m={outcome is Confirmation.CONFIRMED}"
            f" | {s.title[:70]}"
        )
    for topic, raised in surges.items():
        for when, count, history in raised:
            if when >= START:
                print(f"surge {topic}: {when:%Y-%m-%d %H:%M}Z, {count} in 1h, {history} in 7 d")


if __name__ == "__main__":
    main()
