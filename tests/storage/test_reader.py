"""The read path without SQLAlchemy gives what the engine gives, on SQLite and PostgreSQL.

`monitor alerts` and `monitor mutes` read through :func:`storage.open_reader` (sqlite3 on a
current SQLite file, the engine's DB-API connection elsewhere); the daemon and the console
call the same functions with an Engine. Both must list the same alerts with the same
filters, times aware and in UTC, JSON decoded.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from monitor import storage
from monitor.storage.models import AlertRow, DeliveryRow, MuteRow

NOW = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _alert(n: int, topic: str, feeds: list[str], at: datetime) -> dict[str, object]:
    return {
        "id": f"alert-{n:02d}",
        "seq": int(at.timestamp() * 1_000_000),
        "kind": "topic",
        "topic": topic,
        "topic_name": topic.title(),
        "story_key": f"story-{n}",
        "title": f"Title {n} «ünïcode»",
        "url": f"https://example.org/{n}",
        "feed": feeds[0],
        "feeds": feeds,
        "published": at - timedelta(minutes=5),
        "detected_at": at,
        "evidence": [{"term": "putin", "field": "title", "offset": 3, "snippet": "… putin …"}],
        "outlets": [{"feed": f, "at": at.isoformat(), "outlet": f.upper()} for f in feeds],
        "state": "unconfirmed" if n == 4 else None,
    }


def _fill(engine) -> None:
    rows = [
        _alert(1, "summit", ["a_b"], NOW - timedelta(days=3)),
        _alert(2, "summit", ["axb", "c"], NOW - timedelta(days=2)),
        _alert(3, "council", ["c", "a_b"], NOW - timedelta(hours=1)),
        _alert(4, "council", ["a_b"], NOW - timedelta(minutes=30)),  # held: not listed
        _alert(5, "monitor:blind", ["100%"], NOW - timedelta(minutes=10)),
    ]
    with engine.begin() as conn:
        conn.execute(insert(AlertRow), rows)
        conn.execute(
            insert(DeliveryRow),
            [
                {
                    "alert_id": r["id"],
                    "channel": "webhook:x",
                    "status": "muted" if r["id"] == "alert-02" else "delivered",
                    "next_attempt": NOW,
                    "created_at": NOW,
                }
                for r in rows
            ],
        )
        conn.execute(
            insert(MuteRow),
            [
                {"kind": "topic", "target": "summit", "label": "Summit", "reason": "noisy",
                 "created_at": NOW - timedelta(hours=2), "until": NOW + timedelta(hours=5)},
                {"kind": "topic", "target": "council", "label": "Council", "reason": "",
                 "created_at": NOW - timedelta(hours=2), "until": NOW + timedelta(hours=1)},
                {"kind": "topic", "target": "old", "label": "Old", "reason": "",
                 "created_at": NOW - timedelta(days=2), "until": NOW - timedelta(hours=1)},
            ],
        )  # fmt: skip


def _listing(source) -> dict[str, object]:
    def ids(**filters: object) -> list[str]:
        return [a.id for _, a in storage.list_alerts(source, **filters)]

    return {
        "all": ids(),
        "topic": ids(topic="council"),
        "feed a_b": ids(feed="a_b"),  # `_` is no wildcard: axb is not a_b
        "feed 100%": ids(feed="100%"),
        "since": ids(since=NOW - timedelta(days=2, minutes=1)),
        "limit": ids(limit=2),
        "feed limit": ids(feed="a_b", limit=1),
        "after": ids(after_seq=int((NOW - timedelta(days=1)).timestamp() * 1_000_000)),
        "sight": storage.last_sight_topic(source),
        "mutes": [(m.target, m.until) for m in storage.active_mutes(source, NOW)],
        "muted": storage.muted_alerts(source, [f"alert-{n:02d}" for n in range(1, 6)]),
    }


def test_the_reader_lists_what_the_engine_lists(engine):
    _fill(engine)
    expected = {
        "all": ["alert-01", "alert-02", "alert-03", "alert-05"],
        "topic": ["alert-03"],
        "feed a_b": ["alert-01", "alert-03"],
        "feed 100%": ["alert-05"],
        "since": ["alert-02", "alert-03", "alert-05"],
        "limit": ["alert-03", "alert-05"],
        "feed limit": ["alert-03"],
        "after": ["alert-03", "alert-05"],
        "sight": "monitor:blind",
        "mutes": [("council", NOW + timedelta(hours=1)), ("summit", NOW + timedelta(hours=5))],
        "muted": {"alert-02"},
    }
    assert _listing(engine) == expected
    with storage.open_reader(engine.url.render_as_string(hide_password=False)) as reader:
        assert reader.dialect == engine.dialect.name
        assert _listing(reader) == expected
        [(seq, alert)] = storage.list_alerts(reader, topic="council")
        assert seq == int((NOW - timedelta(hours=1)).timestamp() * 1_000_000)
        assert alert.detected_at == NOW - timedelta(hours=1)
        assert alert.detected_at.tzinfo is not None
        assert alert.title == "Title 3 «ünïcode»"
        assert alert.feeds == ("c", "a_b")
        assert [o for o, _ in alert.outlets] == ["c", "a_b"]
        assert alert.evidence[0].term == "putin"


def test_a_new_sqlite_file_is_made_and_migrated_by_the_reader(tmp_path):
    path = tmp_path / "sub" / "new.db"
    with storage.open_reader(f"sqlite:///{path}") as reader:
        assert storage.list_alerts(reader) == []
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"alerts", "mutes", "alembic_version"} <= tables
