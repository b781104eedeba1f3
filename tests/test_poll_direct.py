"""`monitor poll` on a current SQLite file without SQLAlchemy while nothing changed
(:mod:`monitor.storage.handover`): the same rows, output and log lines as the engine's
path, a hand-over when a feed changed (fetched once), and a clear failure when the
database is locked. Real HTTP server on 127.0.0.1, real SQLite files."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.storage import direct, handover
from tests.conftest import REPO, run_cli, write_config_file
from tests.support.feedgen import OTHER_EN, PEACE_EN, rss

T0 = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
UNCHANGED = rss([OTHER_EN])


class _Clock(datetime):
    """``datetime`` whose ``now`` is the test's (the app's clock)."""

    at = T0

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return cls.at


class _Still(random.Random):
    """Jitter that is the same whichever thread asks first."""

    def random(self) -> float:
        return 0.5


class Feeds:
    """A server of one feed per behaviour, counting the requests of each."""

    def __init__(self, server: HTTPServer, changed: bool, pending: bool = False) -> None:
        self.server = server
        self.hits: Counter[str] = Counter()
        self.changed = changed
        self.pending = pending
        """The news feed matches a topic at the first poll, whose webhook then fails:
        the re-poll finds a delivery pending (and the webhook answering)."""
        self.polls = 0
        self.news = rss([OTHER_EN, PEACE_EN])  # once: an item without a date is dated now
        for name in ("etag", "same", "broken", "moved", "target", "held", "news", "hook"):
            server.expect_request(f"/{name}.xml").respond_with_handler(self._handler(name))

    def url(self, name: str) -> str:
        return self.server.url_for(f"/{name}.xml")

    def _handler(self, name: str) -> Any:
        def handle(request: Request) -> Response:
            self.hits[name] += 1
            kind = "application/rss+xml"
            if name == "etag":
                if request.headers.get("If-None-Match") == '"v1"':
                    return Response(status=304)
                return Response(UNCHANGED, headers={"ETag": '"v1"'}, content_type=kind)
            if name == "broken":
                return Response(b"down", status=500)
            if name == "moved":
                return Response(status=301, headers={"Location": self.url("target")})
            if name == "hook":
                return Response(b"", status=500 if self.polls == 1 else 204)
            if name == "news" and (self.pending or (self.polls > 1 and self.changed)):
                return Response(self.news, content_type=kind)
            return Response(UNCHANGED, content_type=kind)

        return handle


def _config(folder: Path, feeds: Feeds) -> Path:
    folder.mkdir(exist_ok=True)
    names = ("etag", "same", "broken", "moved", "held", "news")
    extra: dict[str, Any] = {"notify": [{"webhook": feeds.url("hook")}]} if feeds.pending else {}
    return write_config_file(
        folder,
        feeds=[{"name": n, "url": feeds.url(n), "language": "en"} for n in names],
        **extra,
    )


def _poll(config: Path, monkeypatch: pytest.MonkeyPatch, at: datetime, full: bool) -> Any:
    _Clock.at = at
    with monkeypatch.context() as m:
        m.setattr("monitor.service.app.datetime", _Clock)
        m.setattr("monitor.pipeline._JITTER", _Still())
        if full:
            m.setenv(handover.FULL_PATH_ENV, "1")
        else:
            m.delenv(handover.FULL_PATH_ENV, raising=False)
        return run_cli("poll", "-c", str(config), "--log-level", "info", "--log-format", "json")


def _tables(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        names = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not r[0].startswith("sqlite_")
        ]
        return {n: conn.execute(f"SELECT * FROM {n} ORDER BY rowid").fetchall() for n in names}
    finally:
        conn.close()


def _log(stderr: str) -> list[dict[str, Any]]:
    lines = []
    for line in stderr.splitlines():
        entry = json.loads(line)
        if entry.get("logger") == "werkzeug":  # the test's own server, in this process
            continue
        for key in ("timestamp", "duration"):
            entry.pop(key, None)
        lines.append(entry)
    return sorted(lines, key=lambda e: json.dumps(e, sort_keys=True))


def _seeded(
    tmp_path: Path, feeds: Feeds, monkeypatch: pytest.MonkeyPatch, *, held: bool = True
) -> Path:
    """A first poll (the engine's: a new file), one feed leased by another worker."""
    seed = tmp_path / "seed"
    config = _config(seed, feeds)
    feeds.polls = 1
    first = _poll(config, monkeypatch, T0, full=True)
    assert first.exit_code == 0, first.stdout + first.stderr
    if not held:
        return seed
    conn = sqlite3.connect(seed / "monitor.db")
    with conn:
        conn.execute(
            "UPDATE feeds SET lease_owner = 'elsewhere:1:x', lease_until = ?, next_poll = ?"
            " WHERE name = 'held'",
            ("2026-12-08 03:00:00.000000", "2026-12-08 01:00:00.000000"),
        )
    conn.close()
    return seed


def _copy(seed: Path, to: Path, feeds: Feeds) -> Path:
    shutil.copytree(seed, to)
    return _config(to, feeds)


@pytest.mark.parametrize(
    ("changed", "pending", "held"),
    [(False, False, False), (False, False, True), (True, False, True), (False, True, True)],
    ids=["unchanged-all-direct", "unchanged", "one-feed-changed", "delivery-pending"],
)
def test_the_direct_path_stores_and_says_what_the_engine_path_does(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    changed: bool,
    pending: bool,
    held: bool,
) -> None:
    """``held``: a feed leased by another worker (whom a delivery round would look at:
    the direct path hands over); without, the whole poll runs on the direct path."""
    feeds = Feeds(httpserver, changed, pending)
    seed = _seeded(tmp_path, feeds, monkeypatch, held=held)
    later = T0 + timedelta(hours=1)
    runs = {}
    for path, full in (("direct", False), ("engine", True)):
        config = _copy(seed, tmp_path / path, feeds)
        feeds.polls = 2
        feeds.hits.clear()
        result = _poll(config, monkeypatch, later, full=full)
        assert result.exit_code == 0, result.stdout + result.stderr
        # every feed fetched once (the changed one too: stored from its one response)
        assert feeds.hits == {
            "etag": 1,
            "same": 1,
            "broken": 1,
            "moved": 1,
            "target": 1,
            "news": 1,
            **({"held": 1} if not held else {}),
            **({"hook": 1} if pending else {}),  # the delivery sent once
        }
        runs[path] = (result.stdout, _log(result.stderr), _tables(tmp_path / path / "monitor.db"))
    direct_out, direct_log, direct_rows = runs["direct"]
    engine_out, engine_log, engine_rows = runs["engine"]
    assert direct_out == engine_out
    assert "held: skipped" in direct_out or "held" in direct_out
    assert direct_log == engine_log
    assert direct_rows.keys() == engine_rows.keys()
    for table, rows in engine_rows.items():
        if table != "alerts":
            assert direct_rows[table] == rows, table
    _same_alerts(direct_rows["alerts"], engine_rows["alerts"])
    if changed:
        assert "news: ok" in direct_out and "1 new" in direct_out
    if pending:
        assert any("pending" in r for r in _tables(seed / "monitor.db")["deliveries"])
        assert any("delivered" in r for r in direct_rows["deliveries"])


def _same_alerts(direct_rows: list[Any], engine_rows: list[Any]) -> None:
    assert len(direct_rows) == len(engine_rows)
    for a, b in zip(direct_rows, engine_rows, strict=True):
        # but ``seq``: the clock-based sequence of the process, which in this one test
        # process goes on from the first run's
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        assert differ in ([], [1]), [(a[i], b[i]) for i in differ]


def _modules_after_poll(config: Path, out: Path) -> set[str]:
    """The modules a subprocess `monitor poll` loaded (sqlalchemy or not)."""
    code = (
        "import sys, pathlib\n"
        "from monitor.cli import main\n"
        "import monitor.teardown as t\n"
        "finished = t.mark_finished\n"
        "def marked():\n"
        f"    pathlib.Path({str(out)!r}).write_text(' '.join(sys.modules))\n"
        "    finished()\n"
        "t.mark_finished = marked\n"
        f"sys.argv = ['monitor', 'poll', '-c', {str(config)!r}, '--log-level', 'warning']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return set(out.read_text().split())


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "one-feed-changed"])
def test_an_unchanged_poll_never_imports_sqlalchemy(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, changed: bool
) -> None:
    feeds = Feeds(httpserver, changed)
    seed = _seeded(tmp_path, feeds, monkeypatch, held=False)
    config = _copy(seed, tmp_path / "again", feeds)
    feeds.polls = 2
    loaded = _modules_after_poll(config, tmp_path / "modules.txt")
    assert "monitor.cli" in loaded  # the probe ran
    assert ("sqlalchemy" in loaded) is changed


def test_a_database_locked_during_the_direct_pass_fails_clearly_and_loses_nothing(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds = Feeds(httpserver, changed=False)
    seed = _seeded(tmp_path, feeds, monkeypatch)
    config = _copy(seed, tmp_path / "locked", feeds)
    db = tmp_path / "locked" / "monitor.db"
    before = _tables(db)["feeds"]
    pragmas = tuple(
        "PRAGMA busy_timeout=200" if p.startswith("PRAGMA busy_timeout") else p
        for p in direct.SQLITE_PRAGMAS
    )
    monkeypatch.setattr(direct, "SQLITE_PRAGMAS", pragmas)
    holder = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
    original = feeds._handler("same")

    locked: list[bool] = []

    def lock_then_answer(request: Request) -> Response:
        if not locked:  # another process writing, for longer than we wait
            locked.append(True)
            holder.execute("BEGIN EXCLUSIVE")
        return original(request)

    httpserver.clear()
    for name in ("etag", "broken", "moved", "target", "held", "news"):
        httpserver.expect_request(f"/{name}.xml").respond_with_handler(feeds._handler(name))
    httpserver.expect_request("/same.xml").respond_with_handler(lock_then_answer)
    feeds.polls = 2
    failed = _poll(config, monkeypatch, T0 + timedelta(hours=1), full=False)
    holder.execute("ROLLBACK")
    holder.close()
    assert failed.exit_code == 1
    assert "database error in" in failed.stdout + failed.stderr
    assert "database is locked" in failed.stdout + failed.stderr
    # Nothing half-stored: a feed's state is the seed's or that of a poll that finished.
    # (its lease stays ours until the next pass, which gives it back first)
    after = {r[1]: r for r in _tables(db)["feeds"]}
    assert after["same"][:16] == {r[1]: r for r in before}["same"][:16]
    again = _poll(config, monkeypatch, T0 + timedelta(hours=2), full=False)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert "same: unchanged" in again.stdout
