"""monitor.config.load: the checks that keep a file `monitor check` passed from failing later.

The database URL (parsed, never connected to), e-mail without an ``smtp:`` section,
and topics whose term and field problems show in the same run as their shape problems.
"""

from __future__ import annotations

import json
import pickle
import socket
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.config.load import load_config, summarize_config
from monitor.errors import TermError
from monitor.service.app import App, build_app
from monitor.sifting import compile_in_worker
from monitor.topics import compile_topics
from monitor.topics.spec import TopicConfig
from tests.conftest import default_topics, problems
from tests.support.feedgen import SUMMIT_EN, rss

URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"


# --- database URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", f"not a database URL (write {URL_FORMS})"),
        ("", f"not a database URL (write {URL_FORMS})"),
        (
            "postgresql+nosuchdriver://x",
            "unsupported postgresql driver 'nosuchdriver' (write postgresql+psycopg://…)",
        ),
        (
            "postgresql+psycopg2://monitor@db/monitor",
            "unsupported postgresql driver 'psycopg2' (write postgresql+psycopg://…)",
        ),
        (
            "sqlite+aiosqlite:///x.db",
            "unsupported sqlite driver 'aiosqlite' (write sqlite:///PATH)",
        ),
        (
            "mysql://monitor@db/monitor",
            "unsupported database 'mysql' (monitor runs on sqlite or postgresql: "
            f"write {URL_FORMS})",
        ),
        (
            "postgres://monitor@db/monitor",
            f"unsupported database scheme 'postgres://' (write {URL_FORMS})",
        ),
    ],
)
def test_database_url_monitor_cannot_open_is_refused_at_its_line(
    write: Callable[[str], Path], url: str, message: str
) -> None:
    path = write(f"""\
        alert_log: data/alerts.jsonl
        database: "{url}"
        """)
    assert problems(path) == [f"{path}:2: database: {message}"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+nosuchdriver://monitor:hunter2@db/monitor",
        "mysql://monitor:hunter2@db/monitor",
        "postgresql//monitor:hunter2@db/monitor",
        "postgresql://monitor:hunter2@db:port/monitor",
    ],
)
def test_refused_database_url_does_not_show_its_password(
    write: Callable[[str], Path], url: str
) -> None:
    path = write("database: ${DATABASE_URL}\n")
    [found] = problems(path, {"DATABASE_URL": url})
    assert found.startswith(f"{path}:1: database: ")
    assert "hunter2" not in found


@pytest.mark.parametrize(
    ("url", "loaded"),
    [
        ("sqlite:///data/monitor.db", "sqlite:///data/monitor.db"),
        ("sqlite://", "sqlite://"),
        (
            "sqlite+pysqlite:////var/lib/monitor/monitor.db",
            "sqlite+pysqlite:////var/lib/monitor/monitor.db",
        ),
        (
            "postgresql+psycopg://monitor:p%40ss@db:5432/monitor?sslmode=require",
            "postgresql+psycopg://monitor:p%40ss@db:5432/monitor?sslmode=require",
        ),
        # SQLAlchemy would pick psycopg2, which monitor does not install.
        ("postgresql://monitor:pw@db/monitor", "postgresql+psycopg://monitor:pw@db/monitor"),
    ],
)
def test_database_urls_monitor_opens_are_accepted(
    write: Callable[[str], Path], url: str, loaded: str
) -> None:
    path = write(f'database: "{url}"\n')
    assert load_config(path, env={}).database == loaded


def test_loading_never_touches_the_database(
    write: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        connects.append(address)
        raise OSError("no connection expected while loading a configuration")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    pg = write("database: postgresql+psycopg://monitor:pw@127.0.0.1:1/monitor\n")
    assert load_config(pg, env={}).database.startswith("postgresql+psycopg://")
    db = tmp_path / "not-yet" / "monitor.db"
    lite = write(f"database: sqlite:///{db}\n")
    assert load_config(lite, env={}).database == f"sqlite:///{db}"
    assert connects == []
    assert not db.parent.exists()


# --- e-mail and smtp: ------------------------------------------------------------------


def test_email_channel_without_smtp_section_loads_and_check_says_where_mail_goes(
    write: Callable[[str], Path],
) -> None:
    """SPEC.md's own example has `- email: ops@example.org` and no smtp: section: it loads,
    and `monitor check` names the server mail will go to."""
    path = write("""\
        notify:
          - email: ops@example.org
        """)
    config = load_config(path, env={})
    assert config.smtp is None and config.notify[0].kind == "email"
    assert "email ops@example.org via localhost:587 (no smtp: section)" in summarize_config(
        config, path
    )


def test_check_refuses_channels_the_daemon_could_not_build(
    write: Callable[[str], Path], cli: Callable[..., Result]
) -> None:
    """What `monitor run` would refuse at start (a traceback, exit 1, before this) is a
    FILE:LINE problem of `monitor check`, exit 2."""
    path = write("""\
        notify:
          - email: notanemail
          - apprise: "nonsense://"
          - stdout: true
        """)

    result = cli("check", "-c", str(path))

    assert result.exit_code == 2
    assert f"{path}:2: notify[0]: not an e-mail address: 'notanemail'" in result.stderr
    assert f"{path}:3: notify[1]:" in result.stderr and "Apprise" in result.stderr
    assert "Traceback" not in result.stderr
    assert cli("run", "-c", str(path)).exit_code == 2


def test_email_channel_with_smtp_section_loads(write: Callable[[str], Path]) -> None:
    path = write("""\
        smtp: {host: mail.example.org, port: 465, security: tls, from: monitor@example.org}
        notify:
          - email: ops@example.org
        """)
    config = load_config(path, env={})
    assert config.smtp is not None and config.smtp.host == "mail.example.org"
    assert config.notify[0].kind == "email"


# --- every topic problem in one run ----------------------------------------------------


def test_topic_field_and_term_problems_show_beside_its_shape_problems(
    write: Callable[[str], Path],
) -> None:
    path = write("""\
        topics:
          - id: summit
            colour: red
            any: [summit, 7, "!!"]
            fields: [title, body]
        """)
    assert problems(path) == [
        f"{path}:3: topics[0]: unknown key 'colour' (allowed here: id, name, all, any, none, "
        "near, rules, aliases, fields, languages, window, confirm, notify_confirmation, surge, "
        "hot)",
        f"{path}:4: topics[0].any[1]: must be text (got 7)",
        f"{path}:4: topics[0].any[2]: term '!!' has no letters",
        f"{path}:5: topics[0].fields[1]: unknown field 'body' "
        "(one of title, summary, content, article)",
    ]


def test_topic_problems_after_a_refused_item_keep_their_own_index(
    write: Callable[[str], Path],
) -> None:
    path = write("""\
        topics:
          - id: Summit Talks
            all:
              - [Trump]
              - 5
              - ["  "]
            near:
              - terms: [Putin, 5]
            rules:
              - {any: [x], colour: 1}
              - all: [["!!"]]
        """)
    assert problems(path) == [
        f"{path}:2: topics[0].id: must be lower-case letters, digits, '.', '_' or '-', "
        "starting with a letter or a digit (got 'Summit Talks')",
        f"{path}:5: topics[0].all[1]: must be a list (- item, or [a, b]) (got 5)",
        f"{path}:6: topics[0].all[2][0]: empty term",
        f"{path}:8: topics[0].near[0].terms[1]: must be text (got 5) "
        "or must be a list (- item, or [a, b]) (got 5)",
        f"{path}:10: topics[0].rules[0]: unknown key 'colour' (allowed here: all, any, none, "
        "near, window)",
        f"{path}:11: topics[0].rules[1].all[0][0]: term '!!' has no letters",
    ]


def test_a_refused_value_does_not_leave_a_made_up_problem(write: Callable[[str], Path]) -> None:
    # Without the 5 the group is empty and the window has no dates: neither is so in the file.
    path = write("""\
        topics:
          - id: t
            all: [[5]]
            window: {from: 2025-13-01}
        """)
    assert problems(path) == [
        f"{path}:3: topics[0].all[0][0]: must be text (got 5)",
        f"{path}:4: topics[0].window.from: not a date: '2025-13-01' (month must be in 1..12)",
    ]


def test_term_problems_of_a_file_that_is_otherwise_valid_are_each_listed(
    write: Callable[[str], Path],
) -> None:
    path = write("""\
        topics:
          - id: a
            any: [summit, "!!"]
          - id: b
            rules:
              - all: [[Trump], ["?"]]
            window: {from: 2026-02-01, to: 2026-01-01}
        """)
    assert problems(path) == [
        f"{path}:3: topics[0].any[1]: term '!!' has no letters",
        f"{path}:6: topics[1].rules[0].all[1][0]: term '?' has no letters",
        f"{path}:7: topics[1].window: window 'from' is after 'to'",
    ]


# --- each topic checked once -----------------------------------------------------------


def _counting_checks(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times the engine's check ran, per topic id."""
    from monitor.topics import rules

    calls: Counter[str] = Counter()
    check = rules.check_topic

    def counted(topic: TopicConfig) -> list[rules.Problem]:
        calls[topic.id] += 1
        return check(topic)

    monkeypatch.setattr(rules, "check_topic", counted)
    return calls


def test_each_topic_is_checked_once_from_the_file_to_the_matching(
    monkeypatch: pytest.MonkeyPatch,
    write_config: Callable[..., Path],
    cli: Callable[..., Result],
    httpserver: HTTPServer,
) -> None:
    # The loader checks every topic (terms, windows, fields); compiling the topics it
    # checked, in this process or in a parser worker, does not check them again.
    calls = _counting_checks(monkeypatch)
    httpserver.expect_request("/summit.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    path = write_config(feeds=[{"name": "wire", "url": httpserver.url_for("/summit.xml")}])
    ids = [t["id"] for t in default_topics()]
    doc = json.dumps({"title": SUMMIT_EN.title, "published": "2025-08-15T12:00:00Z"})

    matched = cli("match", "--json", "-c", str(path), "-", input=doc + "\n")

    assert matched.exit_code == 0, matched.output
    assert [t["id"] for t in json.loads(matched.stdout)["topics"]] == ["trump-putin-summit"]
    assert calls == dict.fromkeys(ids, 1)

    calls.clear()
    polled = cli("poll", "-c", str(path))  # the topics compiled for the alert's story

    assert polled.exit_code == 0, polled.output
    assert "1 alert" in polled.stdout
    assert calls == dict.fromkeys(ids, 1)

    # what a parser worker compiles: the configuration the loader checked
    calls.clear()
    config = load_config(path)
    app = build_app(config)
    try:
        source = app.pipeline.topic_source
        compile_in_worker(pickle.loads(pickle.dumps(source.context().payload)))
    finally:
        app.close()
    assert calls == dict.fromkeys(ids, 1)  # the loader's

    # topics built in code, not loaded, are still checked when compiled
    calls.clear()
    with pytest.raises(TermError, match=r"topic t: any\.0: term '!!' has no letters"):
        compile_topics([TopicConfig(id="t", any=["!!"])])
    assert calls == {"t": 1}


# --- the notify channels built once ------------------------------------------------------


def _counting_webhooks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every webhook channel built (each opens its own HTTP client)."""
    from monitor.alerts import webhook

    built: list[object] = []
    original = webhook.WebhookChannel.__init__

    def counted(self: webhook.WebhookChannel, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(webhook.WebhookChannel, "__init__", counted)
    return built


def _hook(app: App) -> object:
    (channel,) = (c for c in app.channels.values() if c.name == "hook")
    return channel


def test_the_notify_channels_are_built_once_from_the_file_to_the_app(
    monkeypatch: pytest.MonkeyPatch, write_config: Callable[..., Path]
) -> None:
    # The loader builds the channels to refuse a bad one at its line; the app that runs
    # the configuration takes those (they used to be closed and built again).
    built = _counting_webhooks(monkeypatch)
    hook = {"webhook": "http://127.0.0.1:9/hook", "name": "hook"}
    config = load_config(write_config(notify=[hook]))
    assert len(built) == 1
    app = build_app(config)
    try:
        assert _hook(app) is built[0]
    finally:
        app.close()
    assert len(built) == 1

    # taken once: a second app of the same configuration builds its own (the first
    # closed its channels)
    again = build_app(config)
    try:
        assert len(built) == 2 and _hook(again) is built[1]
    finally:
        again.close()

    # a configuration changed after loading gets channels of what it says now
    loaded = load_config(write_config(notify=[hook]))
    moved = hook | {"webhook": "http://127.0.0.1:9/moved"}
    changed = loaded.model_copy(update={"notify": [type(loaded.notify[0]).model_validate(moved)]})
    app = build_app(changed)
    try:
        assert len(built) == 4 and _hook(app) is built[3]
        assert getattr(built[3], "_url", "").endswith("/moved")
    finally:
        app.close()


# --- through the command line ----------------------------------------------------------

BROKEN = """\
database: "postgresql+nosuchdriver://monitor:hunter2@db/monitor"
colour: blue
feeds:
  - {name: wire, url: "https://wire.example/rss", interval: soon}
topics:
  - id: summit
    colour: red
    any: [summit]
    fields: [body]
notify:
  - email: ops@example.org
    topics: [nosuch]
"""


def test_check_lists_every_problem_in_one_run_and_exits_2(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN, encoding="utf-8")

    result = cli("check", "-c", str(path))

    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert [line.split(": ", 2)[0:2] for line in lines] == [
        [f"{path}:1", "database"],
        [f"{path}:2", "top level"],
        [f"{path}:4", "feeds[0].interval"],
        [f"{path}:7", "topics[0]"],
        [f"{path}:9", "topics[0].fields[0]"],
        [f"{path}:12", "notify[0].topics[0]"],
    ]
    assert "unsupported postgresql driver 'nosuchdriver'" in lines[0]
    assert "unknown field 'body'" in lines[4]
    assert "unknown topic id" in lines[5]
    assert "hunter2" not in result.output + result.stderr


def test_poll_refuses_a_database_url_it_cannot_use_as_a_configuration_error(
    tmp_path: Path, cli: Callable[..., Result]
) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text('database: "nonsense"\nalert_log: alerts.jsonl\n', encoding="utf-8")

    result = cli("poll", "-c", str(path))

    assert result.exit_code == 2
    assert f"{path}:1: database: not a database URL" in result.stderr
