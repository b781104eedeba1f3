"""monitor.config.load: what `monitor check` tells an operator about a configuration file."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

import monitor.topics
from monitor.config.load import (
    default_config_path,
    load_config,
    load_config_checked,
    redact_url,
    summarize_config,
)
from monitor.config.schema import Config
from monitor.topics.spec import TopicConfig
from tests.conftest import problems

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
database: sqlite:///data/test.db
alert_log: data/test-alerts.jsonl
max_age: 36h
smtp: {host: 127.0.0.1, port: 2525, from: monitor@example.org}
feeds:
  - name: local
    url: http://127.0.0.1:8080/feed.xml
    language: de
    interval: 90s
  - {name: archive, url: "https://example.org/rss", enabled: false}
topics:
  - id: summit
    name: Summit
    all:
      - [Trump, Трамп]
      - [Gipfel*, summit]
    none: [World Peace Council]
  - id: council
    rules:
      - any: ["Board of Peace"]
      - all: [[Friedensrat*]]
notify:
  - webhook: https://hooks.example.org/services/T000/B000/XXXX
    secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
    topics: [council]
  - email: ops@example.org
"""


# --- valid files -----------------------------------------------------------------------


def test_good_file_loads_with_parsed_values(write: Callable[[str], Path]) -> None:
    config = load_config(write(GOOD), env={})
    assert config.database == "sqlite:///data/test.db"
    assert config.max_age == timedelta(hours=36)
    assert [f.name for f in config.feeds] == ["local", "archive"]
    assert config.feeds[0].interval == timedelta(seconds=90)
    assert config.feeds[0].language == "de"
    assert config.feeds[1].enabled is False
    assert config.feeds[1].interval == timedelta(minutes=10)
    assert [t.id for t in config.topics] == ["summit", "council"]
    assert config.topics[0].all == [["Trump", "Трамп"], ["Gipfel*", "summit"]]
    assert [c.kind for c in config.notify] == ["webhook", "email"]
    assert config.notify[0].topics == ["council"]


def test_relative_paths_stay_as_written(write: Callable[[str], Path]) -> None:
    config = load_config(write(GOOD), env={})
    assert config.alert_log == "data/test-alerts.jsonl"


def test_shipped_config_loads() -> None:
    config = load_config(REPO / "config" / "monitor.yaml", env={})
    names = {f.name for f in config.feeds}
    assert {"tass-en", "tass-ru", "meduza-en", "meduza-ru", "dw-de", "tagesschau"} <= names
    assert {t.id for t in config.topics} == {"trump-putin-summit", "peace-council"}
    assert {f.language for f in config.feeds} == {"en", "de", "ru"}


def test_sections_left_empty_mean_none(write: Callable[[str], Path]) -> None:
    path = write("""\
        http:
        feeds:
          - {name: a, url: "https://a.example/rss"}
        topics:
        notify:
          # - webhook: ${ALERT_WEBHOOK_URL}
        """)
    config = load_config(path, env={})
    assert (len(config.feeds), config.topics, config.notify) == (1, [], [])
    assert config.http.listen == "127.0.0.1:9464"


def test_yaml_anchors_and_merge_keys_work(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - &base {name: a, url: "https://a.example/rss", interval: 5m}
          - <<: *base
            name: b
        """)
    config = load_config(path, env={})
    assert [(f.name, f.interval) for f in config.feeds] == [
        ("a", timedelta(minutes=5)),
        ("b", timedelta(minutes=5)),
    ]


# --- one test per kind of problem ------------------------------------------------------


def test_yaml_syntax_error_names_its_line(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: a
            url: "https://a.example/rss
          - name: b
        """)
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:3: YAML syntax error: a quoted scalar opened here")


def test_bad_indentation_names_its_line(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: a
            url: "https://a.example/rss"
           interval: 5m
        """)
    assert problems(path)[0].startswith(f"{path}:4: YAML syntax error")


def test_unsafe_tags_are_refused(write: Callable[[str], Path]) -> None:
    path = write("database: !!python/object/apply:os.system [echo hi]\n")
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:1: YAML error: could not determine a constructor")


def test_alias_bomb_is_refused_quickly(write: Callable[[str], Path]) -> None:
    rows = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = write("\n".join(rows) + "\n")
    started = time.monotonic()
    assert problems(path) == [f"{path}: the file expands to more than 100000 values"]
    assert time.monotonic() - started < 20  # refused before expanding (minutes otherwise)


def test_file_that_is_not_a_mapping(write: Callable[[str], Path]) -> None:
    path = write("- tass\n- reuters\n")
    assert problems(path) == [f"{path}:1: the file must be a mapping (key: value), not a list"]


def test_empty_file(write: Callable[[str], Path]) -> None:
    path = write("# nothing yet\n")
    assert problems(path)[0].startswith(f"{path}:1: the file is empty")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    found = problems(path)
    assert found == [f"{path}: cannot read the file: No such file or directory"]


def test_unknown_key_says_where_keys_are_allowed(write: Callable[[str], Path]) -> None:
    path = write("""\
        database: sqlite:///x.db
        interval: 5m
        feeds:
          - name: a
            url: https://a.example/rss
            lang: en
        """)
    assert problems(path) == [
        f"{path}:2: top level: unknown key 'interval' (allowed here: database, alert_log, "
        "max_age, retention, tick, workers, lease, http, smtp, delivery, feeds, topics, notify, "
        "health, feed_down_after, parse_timeout); "
        "'interval' belongs in a feed (feeds:)",
        f"{path}:6: feeds[0]: unknown key 'lang' "
        "(allowed here: name, url, language, interval, enabled, respect_cache_hints, "
        "fulltext, source)",
    ]


def test_missing_url_points_at_its_feed(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: a
            url: https://a.example/rss
          - name: b
            language: en
          - {name: c}
        """)
    assert problems(path) == [
        f"{path}:4: feeds[1]: missing required key 'url'",
        f"{path}:6: feeds[2]: missing required key 'url'",
    ]


def test_wrong_type(write: Callable[[str], Path]) -> None:
    path = write("""\
        workers: many
        feeds:
          - {name: a, url: "https://a.example/rss", enabled: maybe}
        http: [1, 2]
        """)
    found = problems(path)
    assert len(found) == 3
    assert found[0].startswith(f"{path}:1: workers: must be a whole number")
    assert "(got 'many')" in found[0]
    assert found[1].startswith(f"{path}:3: feeds[0].enabled: must be true or false")
    assert found[2].startswith(f"{path}:4: http: must be a mapping (key: value)")


def test_yaml_boolean_words_get_a_hint(write: Callable[[str], Path]) -> None:
    path = write("feeds:\n  - {name: off, url: 'https://a.example/rss'}\n")
    assert problems(path) == [
        f"{path}:2: feeds[0].name: must be text (got False); write 'off' in quotes to mean the text"
    ]


def test_union_type_errors_become_one_problem(write: Callable[[str], Path]) -> None:
    path = write("smtp: {}\nnotify:\n  - email: 5\n")
    assert problems(path) == [
        f"{path}:3: notify[0].email: must be text (got 5) "
        "or must be a list (- item, or [a, b]) (got 5)"
    ]


def test_bad_duration(write: Callable[[str], Path]) -> None:
    path = write("""\
        max_age: 2 days
        feeds:
          - name: a
            url: https://a.example/rss
            interval: 0s
        """)
    assert problems(path) == [
        f"{path}:1: max_age: not a duration: '2 days' (write e.g. 90s, 10m, 2h, 2d)",
        f"{path}:5: feeds[0].interval: duration must be positive: '0s'",
    ]


def test_bad_url_and_listen_values(write: Callable[[str], Path]) -> None:
    path = write("""\
        http:
          listen: everywhere
        feeds:
          - {name: a, url: "ftp://a.example/rss"}
        """)
    assert problems(path) == [
        f"{path}:2: http.listen: listen must be HOST:PORT or false, not 'everywhere'",
        f"{path}:4: feeds[0].url: url must be an http(s) URL, not 'ftp://a.example/rss'",
    ]


def test_duplicate_feed_name(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - {name: tass, url: "https://tass.com/rss/v2.xml"}
          - {name: other, url: "https://other.example/rss"}
          - {name: tass, url: "https://tass.ru/rss/v2.xml"}
        """)
    assert problems(path) == [
        f"{path}:4: feeds[2].name: duplicate feed name 'tass' (first at line 2)"
    ]


def test_duplicate_topic_id(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - id: summit
            any: [summit]
          - id: summit
            any: [Gipfel]
        """)
    assert problems(path) == [
        f"{path}:4: topics[1].id: duplicate topic id 'summit' (first at line 2)"
    ]


def test_duplicate_mapping_key(write: Callable[[str], Path]) -> None:
    path = write("""\
        database: sqlite:///a.db
        alert_log: a.jsonl
        database: sqlite:///b.db
        """)
    assert problems(path) == [f"{path}:3: duplicate key 'database' in top level (first at line 1)"]


def test_topic_without_terms(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - id: only-none
            none: [noise]
          - id: empty-rule
            rules:
              - none: [noise]
        """)
    assert problems(path) == [
        f"{path}:2: topics[0]: topic has no terms (give all, any, near or rules)",
        f"{path}:6: topics[1].rules[0]: rule has no terms (give all, any or near)",
    ]


def test_empty_group(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - id: summit
            all:
              - [Trump]
              - []
        """)
    assert problems(path) == [f"{path}:5: topics[0].all[1]: empty group"]


def test_engine_term_problems_are_mapped_to_lines(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_check(topic: TopicConfig) -> list[tuple[tuple[str | int, ...], str]]:
        return [(("all", 1, 0), "bad wildcard"), (("none", 0), "only punctuation")]

    monkeypatch.setattr(monitor.topics, "check_topic", fake_check)
    path = write("""\
        topics:
          - id: summit
            all:
              - [Trump]
              - ["*mit"]
            none:
              - "!!"
        """)
    assert problems(path) == [
        f"{path}:5: topics[0].all[1][0]: bad wildcard",
        f"{path}:7: topics[0].none[0]: only punctuation",
    ]


def test_empty_term_is_reported_by_the_engine(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - id: council
            any:
              - Friedensrat
              - "  "
        """)
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:5: topics[0].any[1]")


def test_notify_entry_needs_exactly_one_kind(write: Callable[[str], Path]) -> None:
    path = write("""\
        smtp: {host: 127.0.0.1}
        notify:
          - webhook: https://hooks.example.org/x
            email: ops@example.org
          - topics: [x]
        topics:
          - {id: x, any: [x]}
        """)
    assert problems(path) == [
        f"{path}:3: notify[0]: a notify entry needs exactly one of webhook, email, apprise, "
        "stdout (got webhook, email)",
        f"{path}:5: notify[1]: a notify entry needs exactly one of webhook, email, apprise, "
        "stdout (got none)",
    ]


def test_notify_target_must_be_usable(write: Callable[[str], Path]) -> None:
    path = write("""\
        smtp: {host: 127.0.0.1}
        notify:
          - webhook: ${HOOK}
          - webhook: hooks.example.org/x
          - email: ""
        """)
    assert problems(path, {"HOOK": ""}) == [
        f"{path}:3: notify[0].webhook: empty webhook target",
        f"{path}:4: notify[1].webhook: webhook must be an http(s) URL, not 'hooks.example.org/x'",
        f"{path}:5: notify[2].email: empty email target",
    ]


def test_notify_topics_must_exist(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - {id: summit, any: [summit]}
        notify:
          - webhook: https://hooks.example.org/x
            topics:
              - summit
              - peace-counsil
        """)
    assert problems(path) == [
        f"{path}:7: notify[0].topics[1]: unknown topic id 'peace-counsil' (topics: summit)"
    ]


def test_bad_date_names_its_line(write: Callable[[str], Path]) -> None:
    path = write("""\
        topics:
          - id: summit
            any: [summit]
            window: {from: 2025-08-15, to: 2025-13-01}
        """)
    found = problems(path)
    assert len(found) == 1
    assert found[0].startswith(f"{path}:4: topics[0].window.to: not a date: '2025-13-01'")


def test_every_problem_is_reported_together_in_file_order(
    write: Callable[[str], Path],
) -> None:
    path = write("""\
        colour: blue
        feeds:
          - {name: a, url: "https://a.example/rss", interval: soon}
          - {name: a}
        topics:
          - id: t
            none: [x]
        notify:
          - {apprise: "json://127.0.0.1/x", topics: [nope]}
          - webhook: ${HOOK}
        """)
    found = problems(path)
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == [1, 3, 4, 4, 6, 9, 10]
    assert "unknown key 'colour'" in found[0]
    assert "not a duration: 'soon'" in found[1]
    assert {found[2].split(": ", 1)[1], found[3].split(": ", 1)[1]} == {
        "feeds[1].name: duplicate feed name 'a' (first at line 3)",
        "feeds[1]: missing required key 'url'",
    }
    assert "topic has no terms" in found[4]
    assert "unknown topic id 'nope'" in found[5]
    assert "environment variable HOOK is not set" in found[6]


# --- ${NAME} substitution --------------------------------------------------------------


def test_env_variable_is_substituted(write: Callable[[str], Path]) -> None:
    path = write("""\
        database: postgresql+psycopg://monitor:${DB_PASSWORD}@db/monitor
        notify:
          - webhook: ${HOOK_URL}
            secret: ${HOOK_SECRET}
        """)
    env = {
        "DB_PASSWORD": "s3cr3t",
        "HOOK_URL": "https://h.example/x",
        "HOOK_SECRET": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    }
    config = load_config(path, env=env)
    assert config.database == "postgresql+psycopg://monitor:s3cr3t@db/monitor"
    assert config.notify[0].webhook == "https://h.example/x"
    assert config.notify[0].secret == "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def test_env_defaults_to_the_process_environment(
    write: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_TEST_LOG", "/var/log/alerts.jsonl")
    path = write("alert_log: ${MONITOR_TEST_LOG}\n")
    assert load_config(path).alert_log == "/var/log/alerts.jsonl"


def test_substituted_numbers_are_validated_as_numbers(write: Callable[[str], Path]) -> None:
    path = write("smtp:\n  port: ${SMTP_PORT}\n")
    assert load_config(path, env={"SMTP_PORT": "2525"}).smtp is not None
    assert problems(path, {"SMTP_PORT": "lots"})[0].startswith(f"{path}:2: smtp.port:")


def test_missing_env_variable_is_named_with_its_line(write: Callable[[str], Path]) -> None:
    path = write("""\
        database: sqlite:///x.db
        notify:
          - webhook: ${ALERT_WEBHOOK_URL}
          - apprise: tgram://${TG_TOKEN}/${TG_CHAT}
        """)
    assert problems(path, {"TG_CHAT": "1"}) == [
        f"{path}:3: notify[0].webhook: environment variable ALERT_WEBHOOK_URL is not set",
        f"{path}:4: notify[1].apprise: environment variable TG_TOKEN is not set",
    ]


def test_missing_env_variable_in_a_block_scalar(write: Callable[[str], Path]) -> None:
    path = write("""\
        alert_log: |
          first line
          ${NOPE}
        """)
    assert problems(path) == [f"{path}:3: alert_log: environment variable NOPE is not set"]


def test_escaped_variable_stays_literal(write: Callable[[str], Path]) -> None:
    path = write('alert_log: "$${HOME}/alerts-${SUFFIX}.jsonl"\n')
    config = load_config(path, env={"SUFFIX": "x"})
    assert config.alert_log == "${HOME}/alerts-x.jsonl"


def test_invalid_variable_reference(write: Callable[[str], Path]) -> None:
    path = write('alert_log: "${1ST}"\n')
    found = problems(path)
    assert found[0].startswith(f"{path}:1: alert_log: invalid variable reference '${{1ST}}'")


def test_keys_and_non_strings_are_not_substituted(write: Callable[[str], Path]) -> None:
    path = write("workers: 4\nalert_log: a$b.jsonl\n")
    config = load_config(path, env={})
    assert (config.workers, config.alert_log) == (4, "a$b.jsonl")


# --- default path, redaction, summary ---------------------------------------------------


def test_default_config_path() -> None:
    assert default_config_path({}) == Path("config/monitor.yaml")
    assert default_config_path({"MONITOR_CONFIG": ""}) == Path("config/monitor.yaml")
    assert default_config_path({"MONITOR_CONFIG": "/etc/monitor.yaml"}) == Path("/etc/monitor.yaml")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://user:pw@host/db", "postgresql+psycopg://user:***@host/db"),
        ("postgresql://user@host:5433/db?sslmode=require", "postgresql://user@host:5433/db?…"),
        ("sqlite:///data/monitor.db", "sqlite:///data/monitor.db"),
        ("https://hooks.example.org/services/T0/B1/secret", "https://hooks.example.org/…"),
        ("https://hooks.example.org/?token=abc", "https://hooks.example.org/…"),
        ("https://u:p@[::1]:8443/x", "https://u:***@[::1]:8443/…"),
        ("https://hooks.example.org", "https://hooks.example.org"),
        ("tgram://123456:ABCDEF/987", "tgram://…"),
        ("ops@example.org", "ops@example.org"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_summary_lists_counts_and_hides_secrets(write: Callable[[str], Path]) -> None:
    text = GOOD.replace("sqlite:///data/test.db", "postgresql+psycopg://mon:hunter2@db/monitor")
    text += "  - apprise: tgram://123456:TOKEN/42\n"
    path = write(text)
    summary = summarize_config(load_config(path, env={}), path)
    assert summary.startswith(f"{path}: database postgresql+psycopg://mon:***@db/monitor")
    assert "alert log data/test-alerts.jsonl" in summary
    assert "2 feeds (1 enabled)" in summary
    assert "2 topics (summit, council)" in summary
    assert "3 notify channels" in summary
    assert "webhook https://hooks.example.org/… signed for council" in summary
    assert "email ops@example.org" in summary
    assert "apprise tgram://…" in summary
    for secret in ("hunter2", "T000", "whsec_", "MDEyMzQ1", "TOKEN", "123456"):
        assert secret not in summary
    assert "\n" not in summary


def test_summary_of_a_bare_config() -> None:
    summary = summarize_config(Config(), "x.yaml")
    assert "0 feeds (0 enabled)" in summary
    assert "0 topics (none)" in summary
    assert "no notify channels" in summary


def test_parse_timeout_is_read_and_bounded(write: Callable[[str], Path]) -> None:
    assert load_config(write("parse_timeout: 2m\n"), env={}).parse_timeout == timedelta(minutes=2)
    assert load_config(write("feeds: []\n"), env={}).parse_timeout == timedelta(seconds=30)
    for value, problem in [
        ("0s", "duration must be positive: '0s'"),
        ("0.5s", "at least 1s"),
        ("2h", "at most 10m"),
        ("forever", "not a duration: 'forever'"),
    ]:
        path = write(f"feeds: []\nparse_timeout: {value}\n")
        [found] = problems(path)
        assert found.startswith(f"{path}:2: parse_timeout: {problem}"), found


def test_a_feed_lease_no_longer_than_a_poll_may_take_is_a_warning(
    write: Callable[[str], Path],
) -> None:
    # parse_timeout may be 10m, the feeds' lease is 5m: a poll that long is taken over by
    # another worker and polled twice at once (LeaseConfig: feeds must exceed it).
    path = write("feeds: []\nparse_timeout: 6m\n")
    _, warnings = load_config_checked(path, env={})
    assert [str(w) for w in warnings if "lease.feeds" in w.message] == [
        f"{path}:2: warning: lease.feeds (5m) is not longer than the slowest poll of a feed, "
        "http.timeout + parse_timeout (6m30s): a feed polled that long is taken over by "
        "another worker and polled twice"
    ]
    path = write("feeds: []\nlease:\n  feeds: 40s\n")
    _, warnings = load_config_checked(path, env={})
    assert [w.line for w in warnings if "lease.feeds" in w.message] == [3]
    _, warnings = load_config_checked(write("feeds: []\nparse_timeout: 2m\n"), env={})
    assert not [w for w in warnings if "lease.feeds" in w.message]
