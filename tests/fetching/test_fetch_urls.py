"""The fetcher's URLs read as httpx reads them, whether httpx reads them or not."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import httpx
import pytest

from monitor.fetching.urls import InvalidUrlError, Target, _of_httpx, _plain, parse
from tests.conftest import REPO

PLAIN = [
    "http://127.0.0.1:8080/feed/0.xml",
    "https://example.org/rss",
    "http://news.example.com/a/b;c=d/feed.xml?x=1&y=two,three",
    "https://example.org/?",
    "http://a.b-c.example/~u/feed@2:x!$'()*+?q=a/b?c",
]
# Each is either left to httpx by the plain path or read by it as httpx does.
OTHERS = [
    "HTTP://Example.ORG/Feed",
    "http://example.org:80/x",
    "https://example.org:443/x",
    "http://example.org",
    "http://example.org/a/./b/../c",
    "http://example.org/a b",
    "http://example.org/%7Euser/%zz",
    "http://example.org/x#frag",
    "http://xn--fiqs8s.icom.museum/",
    "http://中国.icom.museum/x",
    "http://user:pw@example.org/",
    "http://[::1]:8080/x",
    "http://999.1.1.1/x",
    "http://1.2.3/x",
    "http://example.org:99999/x",
    "http://example.org:0080/x",
    "http://example.org/x?a=<b>",
    "ftp://example.org/x",
    "http://example.org/" + "a" * 3000,
]


def _httpx(text: str) -> Target | str:
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        return f"refused: {exc}"
    return _of_httpx(url)  # httpx's own reading, field by field


def _ours(text: str) -> Target | str:
    try:
        return parse(text)
    except InvalidUrlError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("text", PLAIN)
def test_plain_urls_are_read_without_httpx_as_httpx_reads_them(text):
    assert _plain(text) is not None
    assert _ours(text) == _httpx(text)
    assert parse(text).raw_scheme == httpx.URL(text).raw_scheme


@pytest.mark.parametrize("text", OTHERS)
def test_other_urls_are_read_as_httpx_reads_them(text):
    assert _ours(text) == _httpx(text)


def test_generated_urls_read_alike():
    """Plain URLs with one character typed, deleted or replaced anywhere."""
    rng = random.Random(7)
    alphabet = "aZ09-._~!$&'()*+,;=:@/?#%[] \t\u00e9\u4e2d."
    for _ in range(3000):
        text = list(rng.choice(PLAIN))
        at = rng.randrange(len(text))
        edit = rng.randrange(3)
        if edit == 0:
            text.insert(at, rng.choice(alphabet))
        elif edit == 1:
            del text[at]
        else:
            text[at] = rng.choice(alphabet)
        joined = "".join(text)
        assert _ours(joined) == _httpx(joined), joined


def test_redirects_join_as_httpx_joins():
    base = parse("http://127.0.0.1:8080/feeds/a.xml?x=1")
    for location in ("/b.xml", "c.xml", "../d.xml", "https://Other.example:443/e", "?y=2"):
        expected = httpx.URL(str(base)).join(location)
        assert str(base.join(location)) == str(expected)
        assert base.join(location).netloc == expected.netloc


def test_httpx_imported_on_first_need_leaves_rich_out():
    """An https feed or a redirect imports httpx in the middle of a poll: without rich
    and pygments (its command-line client's), which stay importable for anyone else."""
    script = (
        "import sys\n"
        "from monitor.fetching.urls import parse\n"
        "assert 'httpx' not in sys.modules\n"
        "target = parse('http://Example.org/a b')\n"
        "assert 'httpx' in sys.modules and str(target) == 'http://example.org/a%20b'\n"
        "assert {'rich', 'pygments'}.isdisjoint(sys.modules), sorted(sys.modules)\n"
        "import rich\n"
    )
    _python(script)


def _python(script: str) -> str:
    """Run ``script`` in a fresh Python with the repository on its path; its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


_RACE = """
import threading
from monitor.fetching import lazy_httpx
barrier = threading.Barrier(8)
seen = []
def first_use():
    barrier.wait()
    try:
        seen.append(lazy_httpx.httpx().InvalidURL.__name__)
    except Exception as exc:
        seen.append(repr(exc))
threads = [threading.Thread(target=first_use) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("\\n".join(seen))
"""


def test_polling_threads_that_first_need_httpx_together_all_get_it_whole():
    """httpx is imported by the first fetch of an unusual URL ([::1], say), on a polling
    thread; the others may ask while it is still being imported, half made in
    sys.modules (those feeds failed with "partially initialized module 'httpx' has no
    attribute 'InvalidURL'"). Each waits for the whole module instead."""
    for _ in range(3):
        seen = _python(_RACE)
        assert seen.split() == ["InvalidURL"] * 8, seen
