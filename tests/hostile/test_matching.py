"""Hostile text for the matcher: dates no calendar holds, names spelled with look-alike
letters of another script, markup escaped twice, through `monitor match` and a poll.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.parsing.html_text import html_to_text
from tests.support.feedgen import Item, rss

pytestmark = pytest.mark.hostile

SUMMIT = "Trump meets Putin at summit in Anchorage"


@pytest.mark.parametrize(
    "published",
    [
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "Fri, 31 Dec 9999 23:59:59 -0100",
        "9999-12-31T23:59:59Z",
    ],
)
def test_match_takes_dates_at_the_ends_of_the_calendar(
    cli: Callable[..., Any], write_config: Callable[..., Path], published: str
) -> None:
    config = write_config()
    line = json.dumps({"id": "x", "title": SUMMIT, "published": published})
    result = cli("match", "-c", str(config), "--json", "-", input=line + "\n")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["id"] == "x" and [t["id"] for t in out["topics"]] == ["trump-putin-summit"]


@pytest.mark.parametrize(
    "text",
    [
        "\u0422rump meets Putin at summit",  # Cyrillic Т
        "Trump meets \u0420utin at summit",  # Cyrillic Р
        "\u03a4rump meets Put\u0456n at summit",  # Greek Τ, Cyrillic і
        "Путин и \u0054рамп на саммите",  # Latin T in Трамп
    ],
    ids=["cyrillic-T", "cyrillic-P", "greek-and-cyrillic", "latin-in-cyrillic"],
)
def test_look_alike_letters_of_another_script_still_match(
    cli: Callable[..., Any], write_config: Callable[..., Path], text: str
) -> None:
    config = write_config()
    result = cli("match", "-c", str(config), "--json", "-", input=json.dumps({"title": text}))
    assert result.exit_code == 0, result.output
    assert [t["id"] for t in json.loads(result.stdout)["topics"]] == ["trump-putin-summit"]


def test_words_in_one_script_stay_as_they_are(
    cli: Callable[..., Any], write_config: Callable[..., Path]
) -> None:
    config = write_config()
    # "Тгитр" is Cyrillic through and through: not a disguised Trump.
    text = "\u0422\u0433\u0438\u0442\u0440 meets Putin at summit"
    result = cli("match", "-c", str(config), "--json", "-", input=json.dumps({"title": text}))
    assert json.loads(result.stdout)["topics"] == []


def test_a_disguised_name_in_a_feed_raises_the_alert(
    httpserver: HTTPServer,
    write_config: Callable[..., Path],
    cli: Callable[..., Any],
    alert_log: Any,
) -> None:
    item = Item("\u0422rump and \u0420utin meet for summit in Anchorage", "https://e.org/1")
    httpserver.expect_request("/f.xml").respond_with_data(
        rss([item]), content_type="application/rss+xml"
    )
    config = write_config(feeds=[{"name": "f", "url": httpserver.url_for("/f.xml")}])
    assert cli("poll", "-c", str(config)).exit_code == 0
    assert [a["topic"] for a in alert_log()] == ["trump-putin-summit"]
    # The alert shows the title as the feed wrote it.
    assert alert_log()[0]["title"] == item.title


def test_markup_escaped_twice_is_markup_not_words() -> None:
    text = html_to_text(
        "&lt;a href=&quot;https://e.org/trump-putin&quot;&gt;Summit&lt;/a&gt; "
        "&amp;lt;b&amp;gt;news&amp;lt;/b&amp;gt;"
    )
    assert text == "Summit news"
