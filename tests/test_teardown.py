"""A finished `monitor poll` or `monitor match` ends its process without Python's teardown
(:mod:`monitor.teardown`): nothing it wrote may be lost on the way out, and a command
that fails keeps its exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import user_environment
from tests.support.feedgen import OTHER_EN, SUMMIT_EN, rss


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,  # pipes: stdout and stderr are block-buffered
        text=True,
        env=user_environment(),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_a_finished_poll_ends_with_its_report_log_lines_and_alerts_written(
    tmp_path, write_config, httpserver
):
    httpserver.expect_request("/summit.xml").respond_with_data(
        rss([SUMMIT_EN]), content_type="application/rss+xml"
    )
    httpserver.expect_request("/other.xml").respond_with_data(
        rss([OTHER_EN]), content_type="application/rss+xml"
    )
    feeds = [{"name": "summit", "url": httpserver.url_for("/summit.xml")}]
    feeds += [
        {"name": f"other-{i:03}", "url": httpserver.url_for("/other.xml")} for i in range(150)
    ]
    config = write_config(feeds=feeds)

    result = run("poll", "-c", str(config), "--log-format", "json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 152  # a line per feed and the summary, every byte flushed
    assert lines[-1].startswith("polled 151 feeds: ")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert sorted(e["feed"] for e in events if e["event"] == "feed_polled") == sorted(
        f["name"] for f in feeds
    )
    alerts = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
    assert [json.loads(line)["title"] for line in alerts] == [SUMMIT_EN.title]

    again = run("poll", "-c", str(config), "--log-format", "json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.splitlines()[-1] == "polled 151 feeds: 0 new articles, 0 alerts, 0 failed"


def test_a_poll_that_fails_keeps_its_exit_status(tmp_path, write_config):
    config = write_config(feeds=[{"name": "a", "url": "http://127.0.0.1:9/a.xml"}])
    result = run("poll", "-c", str(config), "--feed", "nosuch", cwd=tmp_path)
    assert result.returncode == 2
    assert "no feed named 'nosuch'" in result.stderr


# A module's object that says so when the interpreter's teardown frees it.
_TORN_PROBE = """
import json, os, runpy, sys
class Torn:
    def __del__(self):
        os.write(2, b"TORN DOWN\\n")
json.torn_probe = Torn()
sys.argv = ["monitor", *sys.argv[1:]]
runpy.run_module("monitor", run_name="__main__")
"""


def run_probed(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _TORN_PROBE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=user_environment(),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_a_finished_match_ends_without_teardown_and_with_every_line_written(tmp_path, write_config):
    config = write_config()
    docs = [
        {"id": f"d{n}", "title": SUMMIT_EN.title if n % 7 == 0 else OTHER_EN.title}
        for n in range(3000)
    ]
    source = tmp_path / "docs.jsonl"
    source.write_text("".join(json.dumps(d) + "\n" for d in docs), "utf-8")

    for args, stdin in (([str(source)], None), (["-"], source.read_text("utf-8"))):
        done = run_probed("match", "--json", "-c", str(config), *args, cwd=tmp_path, stdin=stdin)
        assert done.returncode == 0, done.stderr[-2000:]
        out = [json.loads(line) for line in done.stdout.splitlines()]
        assert [o["id"] for o in out] == [d["id"] for d in docs]  # every byte flushed
        assert sum(bool(o["topics"]) for o in out) == len(range(0, 3000, 7))
        assert "TORN DOWN" not in done.stderr  # the words it learned were not freed one by one

    # a match that skipped a line fails, and exits as usual with its status
    source.write_text("".join(json.dumps(d) + "\n" for d in docs[:10]) + "{oops\n", "utf-8")
    failed = run_probed("match", "--json", "-c", str(config), str(source), cwd=tmp_path)
    assert failed.returncode == 1
    assert len(failed.stdout.splitlines()) == 10
    assert "1 line skipped" in failed.stderr
    assert "TORN DOWN" in failed.stderr


def test_output_lost_on_the_way_out_is_not_an_exit_status_of_0(tmp_path):
    # what a finished command printed is still in stdout's buffer when the process ends;
    # if the reader has closed its pipe, the last flush fails: the process must not end
    # with 0 as if everything had been written
    script = (
        "import sys\n"
        "from monitor.teardown import end_process, mark_finished\n"
        "sys.stdout.write('a line the reader never gets\\n')\n"
        "mark_finished()\n"
        "end_process(0)\n"
        "raise SystemExit(0)\n"
    )
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-c", script],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=user_environment(),
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 120, result.stderr
    assert "BrokenPipeError" in result.stderr
