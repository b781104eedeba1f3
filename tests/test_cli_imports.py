"""A CLI that starts like a CLI: which heavy modules each command imports.

Each case runs `monitor` in a real subprocess and lists the heavy modules in
``sys.modules`` when it exits. `monitor --help` needs none of them; `monitor alerts`
needs the configuration and the database, but neither alembic (the schema is current),
nor the topic engine, the web stack, the parser or the HTTP client. No timings: which
modules are loaded is what costs start-up time, and that is what can regress.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from monitor.storage.revision import alembic_head, head_revision
from tests.conftest import REPO

HEAVY = (
    "alembic",
    "sqlalchemy",
    "sqlalchemy.orm",
    "pydantic",
    "yaml",
    "structlog",
    "rich",
    "starlette",
    "uvicorn",
    "jinja2",
    "trafilatura",
    "apprise",
    "feedparser",
    "httpx",
    "ahocorasick",
    "apscheduler",
    "monitor.storage.models",
    "monitor.topics.engine",
    "monitor.web",
    "monitor.service",
)

# The modules are listed at exit (an atexit function): a finished `monitor poll` ends
# its process without Python's teardown, after running those (monitor.teardown).
_PROBE = """
import atexit, json, runpy, sys
sys.argv = ["monitor", *sys.argv[1:]]
atexit.register(lambda: print("\\nMODULES " + json.dumps(sorted(sys.modules)), flush=True))
try:
    runpy.run_module("monitor", run_name="__main__")
except SystemExit:
    pass
sys.stdout.flush()
"""


def probe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``monitor *args`` in a subprocess that prints the modules it imported last."""
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=cwd,
        check=False,
    )


def modules_of(result: subprocess.CompletedProcess[str]) -> set[str]:
    line = result.stdout.rsplit("\nMODULES ", 1)
    assert len(line) == 2, result.stderr[-2000:]
    return set(json.loads(line[1]))


def imported(*args: str, cwd: Path | None = None) -> set[str]:
    return modules_of(probe(*args, cwd=cwd))


def heavy(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if name in modules]


def test_help_imports_none_of_the_heavy_stacks():
    assert heavy(imported("--help")) == []
    assert heavy(imported("alerts", "--help")) == []


def test_alerts_of_a_current_database_read_it_without_sqlalchemy(tmp_path, write_config, cli):
    """A current SQLite file is read with the standard library's sqlite3: SQLAlchemy
    (its engine and ORM, ~250 ms of CPU), alembic and the table models stay unloaded,
    and so does structlog (nothing is logged). Of the configuration only the database,
    feed names and topic ids are read, so pydantic and its models stay unloaded too."""
    config = write_config(feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    assert cli("db", "upgrade", "-c", str(config)).exit_code == 0  # migrated once
    for command in (["alerts", "--limit", "1"], ["alerts", "--json"], ["mutes"]):
        found = heavy(imported(*command, "-c", str(config), cwd=tmp_path))
        # what it does need, to read the file
        assert found == ["yaml"], (command, found)


def test_alerts_of_a_postgresql_database_need_neither_alembic_nor_the_engine_parts(
    tmp_path, write_config, cli
):
    """Only SQLite has the path without SQLAlchemy; elsewhere (here a SQLite URL with a
    query, which the plain path leaves alone) the engine reads, still without alembic,
    the ORM or the rest."""
    config = write_config(
        feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}],
        database=f"sqlite:///{tmp_path / 'q.db'}?timeout=20",
    )
    assert cli("db", "upgrade", "-c", str(config)).exit_code == 0
    found = heavy(imported("alerts", "--limit", "1", "-c", str(config), cwd=tmp_path))
    # the engine itself, and nothing more of the heavy list (no alembic, ORM, models …)
    assert set(found) == {"yaml", "sqlalchemy"}, found


def test_alerts_still_migrate_a_new_database(tmp_path, write_config):
    """The cheap check must not skip a migration: a new file gets the whole schema."""
    config = write_config(feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    modules = imported("alerts", "--limit", "1", "-c", str(config), cwd=tmp_path)
    assert "alembic" in modules  # it had to migrate
    assert (
        heavy(imported("alerts", "--limit", "1", "-c", str(config), cwd=tmp_path)).count("alembic")
        == 0
    )  # and the second start found the schema current


def test_the_cheap_head_is_alembics_head():
    head_revision.cache_clear()
    assert head_revision() == alembic_head()


def test_read_commands_build_no_channels(tmp_path, write_config, cli):
    """Channels are built to deliver (and by `monitor check`): listing alerts of a
    monitor that notifies a webhook and an Apprise service loads neither httpx, nor
    Apprise, nor Jinja2."""
    config = write_config(
        feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}],
        notify=[{"webhook": "http://127.0.0.1:9/hook"}, {"apprise": "json://127.0.0.1:9/x"}],
    )
    assert cli("db", "upgrade", "-c", str(config)).exit_code == 0
    for command in (["alerts", "--limit", "1"], ["mutes"]):
        found = imported(*command, "-c", str(config), cwd=tmp_path)
        assert {"apprise", "httpx", "jinja2"}.isdisjoint(found), (command, sorted(found))
    assert "apprise" in imported("check", "-c", str(config), cwd=tmp_path)


def test_the_polling_process_leaves_parsing_to_the_workers(tmp_path, write_config, httpserver):
    """`monitor poll` fetches, coordinates and stores; its parser workers parse, match and
    extract. So the polling process itself loads no feed parser, lxml, charset detector or
    page extractor (the workers do), and still stores the match the workers found. Its
    lines are JSON (stderr is no terminal here): like `monitor run`, it does not load
    rich, which structlog and httpx bring for a terminal's tracebacks and httpx's
    command-line client. (pygments still comes here with alembic, which migrates the
    new database.) Nor prometheus-client: only `monitor run` serves metrics."""
    from tests.support.feedgen import SUMMIT_EN, rss

    httpserver.expect_request("/wire.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    config = write_config(feeds=[{"name": "wire", "url": httpserver.url_for("/wire.xml")}])
    modules = imported("poll", "-c", str(config), cwd=tmp_path)
    parsers = {"feedparser", "lxml", "lxml.etree", "charset_normalizer", "trafilatura"}
    assert parsers.isdisjoint(modules), sorted(parsers & modules)
    assert {"rich", "prometheus_client"}.isdisjoint(modules)
    assert {"monitor.sifting", "monitor.storage.models"} <= modules  # it did poll and store
    lines = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["title"] for line in lines] == [SUMMIT_EN.title]


def test_an_unchanged_poll_of_plain_urls_loads_no_httpx(tmp_path, write_config, httpserver):
    """The fetcher drives httpcore; httpx (~40 ms of imports with urllib.request and the
    e-mail package) is only its reader of unusual URLs and redirects and its TLS
    defaults. An unchanged re-poll of a plain http URL (a 304) imports none of it, and
    still reports the feed as not modified."""
    from tests.support.feedgen import SUMMIT_EN, rss

    httpserver.expect_request("/wire.xml", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    httpserver.expect_request("/wire.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml", headers={"ETag": '"v1"'}
    )
    config = write_config(feeds=[{"name": "wire", "url": httpserver.url_for("/wire.xml")}])
    imported("poll", "-c", str(config), cwd=tmp_path)  # the first poll stores the ETag
    result = probe("poll", "-c", str(config), cwd=tmp_path)
    assert "wire: not_modified (HTTP 304)" in result.stdout, result.stderr[-2000:]
    modules = modules_of(result)
    assert "monitor.fetching.client" in modules  # it did fetch
    assert {"httpx", "urllib.request"}.isdisjoint(modules), sorted(
        {"httpx", "urllib.request"} & modules
    )


def test_the_daemon_keeps_what_it_never_uses_out_of_memory(tmp_path, write_config, httpserver):
    """`monitor run` lives for months: its polling process holds only what polling needs.
    After it has polled and stored a match and answered /healthz and /metrics, it has
    loaded no feed parser (the workers parse), no alembic (migrations run in a child),
    no ORM (storage runs Core statements), no Apprise (no such channel), neither rich
    nor pygments (its lines are JSON; structlog and httpx load them only for a terminal
    and a command-line client), and none of the console's pages (Jinja2, the views,
    the renderers) until someone opens one."""
    import signal
    import time
    import urllib.request

    from tests.support.feedgen import SUMMIT_EN, rss
    from tests.support.ports import free_port

    httpserver.expect_request("/wire.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    port = free_port()
    config = write_config(
        feeds=[{"name": "wire", "url": httpserver.url_for("/wire.xml"), "interval": "1s"}],
        http={"allow_private_networks": True, "listen": f"127.0.0.1:{port}"},
    )
    daemon = subprocess.Popen(
        [sys.executable, "-c", _PROBE, "run", "-c", str(config), "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=tmp_path,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        ticks = 0.0
        while ticks < 2 and time.monotonic() < deadline and daemon.poll() is None:
            time.sleep(0.2)
            try:
                with urllib.request.urlopen(f"{base}/metrics", timeout=5) as resp:
                    text = resp.read().decode()
            except OSError:
                continue
            found = [line for line in text.splitlines() if line.startswith("monitor_ticks_total ")]
            ticks = float(found[0].split()[1]) if found else 0.0
        assert ticks >= 2, "the daemon did not tick twice within 60 s"
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as resp:
            assert resp.status == 200
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-2000:]
    modules = set(json.loads(out.rsplit("\nMODULES ", 1)[1]))
    lines = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["title"] for line in lines] == [SUMMIT_EN.title]  # it polled
    never = {
        "feedparser",
        "lxml",
        "charset_normalizer",
        "trafilatura",
        "alembic",
        "sqlalchemy.orm",
        "apprise",
        "rich",
        "pygments",
        "attr",
        "jinja2",
        "monitor.web.pages",
        "monitor.web.views",
        "monitor.render",
    }
    assert never.isdisjoint(modules), sorted(never & modules)
    assert {"monitor.service.daemon", "monitor.storage.models", "uvicorn"} <= modules


def test_a_poll_of_unchanged_feeds_loads_nothing_that_judges_or_parses(
    tmp_path, write_config, httpserver
):
    """A re-poll whose feeds all answer 304 or the same bytes again matches nothing and
    decides no story: the process compiles no topic and loads neither the topic engine,
    nor the judges of stories (title fingerprints, names across languages), nor the
    signal rules or their writes, nor multiprocessing (no parser worker starts). It
    still polls and stores every feed's state, as the first poll did. (The first poll,
    which brought a body and a match, loaded them all.)"""
    import sqlite3

    from werkzeug import Request, Response

    from tests.support.feedgen import SUMMIT_EN, rss

    body = rss([SUMMIT_EN])

    def with_etag(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(body, content_type="application/rss+xml", headers={"ETag": '"v1"'})

    httpserver.expect_request("/etag.xml").respond_with_handler(with_etag)
    httpserver.expect_request("/plain.xml").respond_with_data(
        body, content_type="application/rss+xml"
    )
    config = write_config(
        feeds=[
            {"name": "etag", "url": httpserver.url_for("/etag.xml")},
            {"name": "plain", "url": httpserver.url_for("/plain.xml")},
        ]
    )
    judges = {
        "monitor.topics.engine",
        "monitor.alerts.stories",
        "monitor.alerts.crosslang",
        "monitor.signals.rules",
        "monitor.storage.signals",
        "monitor.storage.story_alerts",
        "multiprocessing",
    }
    first = imported("poll", "-c", str(config), cwd=tmp_path)
    assert judges <= first  # a body, parsed and matched
    db = tmp_path / "monitor.db"
    with sqlite3.connect(db) as conn:
        polled = dict(conn.execute("select name, last_poll from feeds"))
    modules = imported("poll", "-c", str(config), cwd=tmp_path)
    assert judges.isdisjoint(modules), sorted(judges & modules)
    assert {"monitor.pipeline", "monitor.storage.direct"} <= modules  # it polled
    assert "sqlalchemy" not in modules  # on sqlite3 alone (monitor.storage.handover)
    with sqlite3.connect(db) as conn:
        rows = {
            n: (s, h, p)
            for n, s, h, p in conn.execute("select name, status, http_status, last_poll from feeds")
        }
    assert {n: r[:2] for n, r in rows.items()} == {
        "etag": ("not_modified", 304),
        "plain": ("unchanged", 200),
    }
    assert all(rows[n][2] > polled[n] for n in rows)  # each feed's state written again
    lines = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == 1  # the first poll's alert, none again
