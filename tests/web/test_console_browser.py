"""The console in a real browser (headless Chromium): what a person sees on each page,
and that nothing a hostile feed sent ran as script. Screenshots land in .test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import dump_dom, require_chromium, screenshot
from tests.web.conftest import Scenario

pytestmark = pytest.mark.slow


def _title(dom: str) -> str:
    found = re.search(r"<title>(.*?)</title>", dom, re.S)
    return found.group(1) if found else ""


def test_the_harness_sees_a_script_that_runs(tmp_path: Path) -> None:
    """The control: a page whose script runs shows it in the dumped DOM."""
    require_chromium()
    page = tmp_path / "runs.html"
    page.write_text("<title>before</title><script>document.title = 'PWNED'</script>", "utf-8")
    assert _title(dump_dom(page.as_uri())) == "PWNED"


def test_pages_as_a_person_sees_them(console_url: str, scenario: Scenario) -> None:
    require_chromium()
    pages = {
        "stories": "/",
        "story": f"/stories/{scenario.story_id}",
        "hostile-story": f"/stories/{scenario.hostile_id}",
        "topic": "/topics/trump-putin-summit?since=2d",
        "feeds": "/feeds",
    }
    doms = {}
    for name, path in pages.items():
        dom = dump_dom(console_url + path)
        doms[name] = dom
        # No injected script ran: the title is still ours on every page.
        assert _title(dom) != "PWNED", name
        assert _title(dom).endswith("· monitor"), name
        shot = screenshot(console_url + path, name)
        assert shot.stat().st_size > 5_000, name

    story = doms["story"]
    outlets = re.findall(r'<span class="outlet">([^<]+)</span>', story)
    assert outlets[:2] == ["wire-a", "paper-b"]  # in the order they carried it
    assert "first reporter" in story
    assert re.search(r"<mark>(Anchorage|Trump|Putin)</mark>", story)

    topic = doms["topic"]
    series = re.findall(r'<g class="series" data-outlet="([^"]+)"', topic)
    assert sorted(series) == ["hostile-c", "paper-b", "wire-a"]
    assert topic.count("<rect") >= 3

    hostile = doms["hostile-story"]
    # No element came from the feed's markup: no script, no image with its onerror.
    assert not re.search(r"<(script|img)\b", hostile, re.IGNORECASE)
    assert "&lt;script&gt;" in hostile  # shown as text, as the feed wrote it

    feeds = doms["feeds"]
    assert all(name in feeds for name in ("wire-a", "paper-b", "hostile-c"))
