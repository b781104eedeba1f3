"""Alert text: Markdown escapes everything a feed supplies, HTML too, links only http(s)."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from markdown_it import MarkdownIt

from monitor.alerts.message import render_html, render_markdown, render_text, subject
from monitor.types import Evidence

NASTY = [
    "*bold* _em_ **strong** __u__ ~~strike~~",
    "[click](javascript:alert(1)) ![img](https://evil.example/x.png)",
    "<b>raw</b> <script>alert(1)</script> &amp; &#60;",
    "# heading",
    "- item",
    "1. item",
    "> quote",
    "`code` ```fence```",
    "https://evil.example/autolink www.evil.example",
    "a | table | row",
    "back\\slash \\*",
    "line\nbreak\r\n=====",
]


def commonmark_html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)


@pytest.mark.parametrize("nasty", NASTY)
def test_markdown_renders_feed_text_literally(alert_factory, nasty):
    alert = alert_factory(
        title=nasty,
        feeds=(nasty,),
        topic_name=nasty,
        evidence=(Evidence(nasty, "title", 0, nasty),),
    )
    html = commonmark_html(render_markdown(alert))
    # The only markup is ours: one bold title, one emphasized term, one link.
    assert html.count("<strong>") == 1 and html.count("<em>") == 1
    assert len(re.findall(r"<a ", html)) == 1
    assert re.findall(r"<(\w+)", html) and not set(re.findall(r"<(\w+)", html)) - {
        "p",
        "strong",
        "em",
        "a",
        "br",
    }
    flat = " ".join(nasty.split())
    visible = re.sub(r"<[^>]+>", "", html)
    assert html_lib.unescape(visible).count(flat) >= 3  # title, topic, feed, snippet …


def test_markdown_link_is_an_autolink_only_for_http(alert_factory):
    assert "<https://example.org/a>" in render_markdown(alert_factory(url="https://example.org/a"))
    md = render_markdown(alert_factory(url="javascript:alert(1)"))
    assert "<javascript" not in md and "javascript\\:alert\\(1\\)" in md
    html = commonmark_html(render_markdown(alert_factory(url="https://x.example/a b)")))
    assert "<a " not in html  # a URL with a space is shown, not linked


def test_html_escapes_every_feed_string_and_links_only_http(alert_factory):
    alert = alert_factory(
        title="<img src=x onerror=alert(1)>",
        topic_name='"><script>',
        feeds=("<feed>",),
        url="data:text/html,<script>alert(1)</script>",
        evidence=(Evidence("<t>", "title", 0, "<snip & pet>"),),
    )
    html = render_html(alert)
    assert "<img" not in html and "<script" not in html and "<feed>" not in html
    assert "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;snip &amp; pet&gt;" in html
    linked = render_html(alert_factory(url="HTTPS://example.org/?q=<x>"))
    assert '<a href="HTTPS://example.org/?q=&lt;x&gt;"' in linked


def test_text_has_the_facts_an_operator_needs(alert_factory):
    text = render_text(alert_factory())
    for fact in (
        "Trump–Putin summit",
        "Trump and Putin meet in Anchorage",
        "tass-en, dw-en",
        "2025-08-15T18:02:00Z",
        "https://example.org/news/1",
        "Anchorage (title): …meet in Anchorage…",
    ):
        assert fact in text
    assert "Published: unknown" in render_text(alert_factory(published=None))


def test_subject_is_one_line_and_bounded(alert_factory):
    line = subject(alert_factory(title="a\r\nBcc: x@example.org\u202e" + "x" * 500))
    assert "\n" not in line and "\r" not in line and "\u202e" not in line
    assert len(line) <= 200 and line.startswith("[Trump–Putin summit] a Bcc")


def test_operator_alert_reads_as_operator_alert(alert_factory):
    alert = alert_factory(
        kind="operator",
        topic="",
        title="Feed tass-en is down",
        summary="5 failures since 10:00: http_503",
        evidence=(),
    )
    assert subject(alert) == "[monitor] Feed tass-en is down"
    assert "http_503" in render_text(alert) and "http\\_503" in render_markdown(alert)
    assert "http_503" in render_html(alert)
