"""What `monitor check` tells an operator (issue 11): sentences instead of pydantic's
wording, supported languages named, YAML errors at the line to edit, warnings for a
configuration that works but polls nothing, delivery secrets not needed to read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from monitor.config.load import load_config_checked
from tests.conftest import problems


def test_an_unknown_language_names_the_supported_ones(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: a
            url: https://a.example/rss
            language: fr
        """)
    [problem] = problems(path)
    assert problem.startswith(f"{path}:4: feeds[0].language: unknown language 'fr'")
    assert "en, de, ru" in problem


def test_messages_read_as_sentences(write: Callable[[str], Path]) -> None:
    path = write("""\
        workers: 900
        feeds:
          - name: a b
            url: https://a.example/rss
            enabled: maybe
            fulltext: sometimes
        """)
    found = problems(path)
    assert found == [
        f"{path}:1: workers: must be at most 64 (got 900)",
        f"{path}:3: feeds[0].name: must not contain spaces (got 'a b')",
        f"{path}:5: feeds[0].enabled: must be true or false (got 'maybe')",
        f"{path}:6: feeds[0].fulltext: must be 'auto', 'always' or 'never' (got 'sometimes')",
    ]
    assert not any("should" in p or "pattern" in p for p in found)


def test_an_unclosed_bracket_is_reported_where_it_opens(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: b
            url: https://b.example/rss
          - name: a
            url: [https://a.example/rss
        """)
    [problem] = problems(path)
    assert problem.startswith(f"{path}:5: YAML syntax error: a flow sequence opened here")


def test_no_enabled_feed_is_a_warning_not_an_error(write: Callable[[str], Path]) -> None:
    path = write("""\
        feeds:
          - name: a
            url: https://a.example/rss
            enabled: false
        """)
    _, warnings = load_config_checked(path, env={})
    assert [str(w) for w in warnings] == [
        f"{path}:1: warning: no feed is enabled: nothing is polled"
    ]


def test_a_delivery_secret_missing_leaves_out_only_that_channel_when_reading(
    write: Callable[[str], Path],
) -> None:
    path = write("""\
        notify:
          - webhook: ${HOOK_URL}
          - stdout: true
        smtp:
          password: ${SMTP_PASSWORD}
        """)
    config, warnings = load_config_checked(path, env={}, delivers=False)
    assert [n.stdout for n in config.notify] == [True] and config.smtp is None
    assert [w.line for w in warnings if "is not set" in w.message] == [2, 5]
    refused = problems(path)  # a command that delivers refuses, naming both
    assert [p.split(":")[1] for p in refused] == ["2", "5"]
