"""What an operator tripped over on the command line (issue 11): `match` on bad lines
and undated text, `alerts` filters and output, `--follow` starting at the end."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime

from tests.conftest import REPO
from tests.support.feedgen import Item, rss

WINDOW_TOPIC = {
    "id": "summit",
    "name": "Summit",
    "rules": [
        {"all": [["Trump"], ["Putin"], ["summit"]]},
        {"window": {"from": "2025-08-07", "to": "2025-08-20"}, "all": [["Anchorage"]]},
    ],
}
RU_ITEM = Item(
    title="Трамп и Путин провели саммит на Аляске",
    link="https://news.example.org/ru/summit",
    description="Президенты России и США провели саммит в Анкоридже.",
)


def test_match_reports_a_bad_json_line_and_goes_on_with_the_next(write_config, cli):
    config = write_config(topics=[WINDOW_TOPIC])
    lines = "\n".join(
        [
            json.dumps({"id": "a", "title": "Trump and Putin hold summit"}),
            "{not json",
            json.dumps({"id": "c", "title": 5}),
            json.dumps({"id": "d", "title": "Trump, Putin: the summit is over"}),
        ]
    )

    result = cli("match", "-c", str(config), "--json", "-", input=lines + "\n")

    assert result.exit_code == 1
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == ["a", "d"]
    assert "monitor: <stdin>:2: not valid JSON" in result.stderr
    assert "monitor: <stdin>:3: 'title' must be a string" in result.stderr
    assert "2 lines skipped" in result.stderr


def test_match_says_when_window_rules_were_skipped_and_date_applies_them(write_config, cli):
    config = write_config(topics=[WINDOW_TOPIC])
    text = "Talks in Anchorage begin on Friday\n"

    undated = cli("match", "-c", str(config), "--json", "-", input=text)
    dated = cli("match", "-c", str(config), "--json", "--date", "2025-08-15", "-", input=text)
    outside = cli("match", "-c", str(config), "--json", "--date", "2025-10-01", "-", input=text)

    assert undated.exit_code == 0 and json.loads(undated.stdout)["topics"] == []
    assert "has no date" in undated.stderr and "summit" in undated.stderr
    assert dated.exit_code == 0 and [t["id"] for t in json.loads(dated.stdout)["topics"]] == [
        "summit"
    ]
    assert "has no date" not in dated.stderr
    assert json.loads(outside.stdout)["topics"] == []
    bad = cli("match", "-c", str(config), "--date", "someday", "-", input=text)
    assert bad.exit_code == 2 and "--date" in bad.stderr


def test_a_document_with_its_own_date_keeps_it_over_date(write_config, cli):
    config = write_config(topics=[WINDOW_TOPIC])
    doc = json.dumps({"title": "Talks in Anchorage", "published": "2025-12-01T00:00:00Z"})

    result = cli("match", "-c", str(config), "--json", "--date", "2025-08-15", "-", input=doc)

    assert json.loads(result.stdout)["topics"] == []


def test_operator_topics_are_no_typo(write_config, cli):
    config = write_config()

    result = cli("alerts", "-c", str(config), "--topic", "monitor:feed-down")

    assert result.exit_code == 0 and "note:" not in result.stderr


def serve(httpserver, path: str, body: bytes) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    return httpserver.url_for(path)


def test_alerts_json_is_utf8_whatever_the_locale(httpserver, write_config, cli):
    url = serve(httpserver, "/ru.xml", rss([RU_ITEM], language="ru"))
    config = write_config(feeds=[{"name": "ru", "url": url, "language": "ru"}])
    assert cli("poll", "-c", str(config)).exit_code == 0

    result = subprocess.run(
        [sys.executable, "-m", "monitor", "alerts", "-c", str(config), "--json"],
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "PYTHONIOENCODING": "latin-1"},
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    [line] = result.stdout.decode("utf-8").splitlines()
    assert json.loads(line)["title"] == RU_ITEM.title


def test_follow_starts_at_the_end_unless_history_is_asked_for(httpserver, write_config, cli):
    old = Item(title="Trump and Putin agree to a summit", link="https://news.example.org/old")
    new = Item(title="Trump and Putin summit ends in Alaska", link="https://news.example.org/new")
    url = serve(httpserver, "/f.xml", rss([old]))
    config = write_config(feeds=[{"name": "wire", "url": url, "interval": "30s"}])
    assert cli("poll", "-c", str(config)).exit_code == 0
    follow = subprocess.Popen(
        [sys.executable, "-m", "monitor", "alerts", "-c", str(config), "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )
    try:
        for _ in range(100):  # the history is read once this line is out: ready
            if "following new alerts" in follow.stderr.readline():
                break
        httpserver.clear()
        serve(httpserver, "/f.xml", rss([old, new]))
        # A second poll, once the feed is due again, raises the new alert.
        with_history = cli("alerts", "-c", str(config), "--json", "--since", "1d")
        assert old.title in with_history.stdout
        _make_due(config)
        assert cli("poll", "-c", str(config)).exit_code == 0
        first = _read_line_within(follow, 60)
    finally:
        follow.terminate()
        follow.wait(timeout=30)
    assert first is not None and json.loads(first)["title"] == new.title


def _make_due(config) -> None:
    import yaml
    from sqlalchemy import create_engine, text

    url = yaml.safe_load(config.read_text("utf-8"))["database"]
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE feeds SET next_poll = :t"), {"t": datetime(2000, 1, 1, tzinfo=UTC)}
        )
    engine.dispose()


def _read_line_within(proc: subprocess.Popen[str], seconds: float) -> str | None:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(seconds)
    return got[0] if got else None
