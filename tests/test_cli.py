"""The command line as an operator meets it: exit codes, messages, help."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading

from tests.conftest import REPO, run_monitor, user_environment


def test_check_accepts_the_shipped_configuration():
    result = run_monitor("check", "-c", str(REPO / "config" / "monitor.yaml"))

    assert result.returncode == 0, result.stderr
    assert "12 feeds" in result.stdout and "trump-putin-summit" in result.stdout


def test_check_lists_every_problem_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "database: sqlite:///x.db\n"
        "colour: blue\n"
        "feeds:\n"
        "  - name: a\n"
        "    url: https://example.org/a.xml\n"
        "    interval: soon\n"
        "  - name: a\n"
        "    url: https://example.org/b.xml\n"
        "  - name: c\n"
        "topics:\n"
        "  - id: t\n"
        "    any: ['${MISSING_TOKEN_FOR_TEST}']\n",
        "utf-8",
    )

    result = run_monitor("check", "-c", str(bad), env={"MISSING_TOKEN_FOR_TEST": ""})

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    expected = {2: "colour", 6: "soon", 7: "duplicate", 9: "url"}
    for line_no, word in expected.items():
        assert any(line.startswith(f"{bad}:{line_no}:") and word in line for line in lines), (
            line_no,
            result.stderr,
        )


def test_a_missing_delivery_secret_is_named_and_only_delivering_commands_refuse(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"database: sqlite:///{tmp_path / 'm.db'}\nalert_log: {tmp_path / 'a.jsonl'}\n"
        "feeds:\n  - name: f\n    url: http://127.0.0.1:9/f.xml\n"
        "notify:\n  - webhook: ${NO_SUCH_HOOK_URL_X}\n",
        "utf-8",
    )

    check = run_monitor("check", "-c", str(cfg))
    poll = run_monitor("poll", "-c", str(cfg))

    # check, alerts, feeds and match send nothing: a warning, not a refusal.
    assert check.returncode == 0, check.stderr
    assert f"{cfg}:7: warning:" in check.stderr and "NO_SUCH_HOOK_URL_X" in check.stderr
    for command in (["alerts"], ["feeds", "--json"]):
        assert run_monitor(*command, "-c", str(cfg)).returncode == 0
    assert poll.returncode == 2
    assert f"{cfg}:7:" in poll.stderr and "NO_SUCH_HOOK_URL_X" in poll.stderr


def test_a_missing_variable_outside_delivery_is_an_error_everywhere(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("database: ${NO_SUCH_DB_URL_X}\n", "utf-8")

    result = run_monitor("check", "-c", str(cfg))

    assert result.returncode == 2
    assert f"{cfg}:1:" in result.stderr and "NO_SUCH_DB_URL_X" in result.stderr


def test_bad_usage_exits_2_and_missing_file_is_a_config_error(tmp_path):
    assert run_monitor("poll", "--no-such-flag").returncode == 2
    missing = run_monitor("check", "-c", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_config_from_environment_variable(tmp_path, write_config):
    config = write_config(feeds=[{"name": "x", "url": "http://127.0.0.1:9/x.xml"}])

    result = run_monitor("check", env={"MONITOR_CONFIG": str(config)})

    assert result.returncode == 0 and "1 feed (1 enabled)" in result.stdout
    assert "health/metrics off" in result.stdout


def test_match_reads_json_lines_and_prints_the_spec_schema(tmp_path):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        '{"id": "a", "title": "Putin und Trump beim Gipfel in Anchorage", "language": "de"}\n'
        '{"title": "Weather in Berlin"}\n',
        "utf-8",
    )

    result = run_monitor("match", "--json", str(docs), "-c", str(REPO / "config/monitor.yaml"))

    assert result.returncode == 0, result.stderr
    import json

    first, second = map(json.loads, result.stdout.splitlines())
    assert first["id"] == "a" and first["topics"][0]["id"] == "trump-putin-summit"
    assert {"id", "score", "evidence"} <= set(first["topics"][0])
    assert second == {"id": 2, "topics": []}


def test_match_of_a_file_prints_what_it_prints_for_the_same_lines_piped(tmp_path):
    """A file is matched many documents at a time, a pipe one at a time: the same lines
    on stdout, and the same skipped lines and undated notes, in input order, on stderr."""
    lines = []
    for n in range(700):  # more than one batch
        title = "Putin und Trump beim Gipfel in Anchorage" if n % 3 else "Weather in Berlin"
        doc = {"id": f"d{n}", "title": f"{title} {n}", "language": "de"}
        if n % 5:
            doc["published"] = "Fri, 15 Aug 2025 20:02:00 +0200"
        lines.append(json.dumps(doc))
        if n % 97 == 0:
            lines.append('{"id": "bad", "title": 3}')
    lines.append("[]")
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(lines) + "\n", "utf-8")
    config = str(REPO / "config/monitor.yaml")

    from_file = run_monitor("match", "--json", str(docs), "-c", config)
    piped = run_monitor("match", "--json", "-", "-c", config, input=docs.read_text("utf-8"))

    assert from_file.returncode == piped.returncode == 1
    assert from_file.stdout == piped.stdout
    assert from_file.stderr.replace(str(docs), "<stdin>") == piped.stderr
    out = [json.loads(line) for line in from_file.stdout.splitlines()]
    assert len(out) == 700 and sum(bool(o["topics"]) for o in out) > 300
    notes = [line for line in from_file.stderr.splitlines() if "string" in line or "note" in line]
    assert notes[:3] == [
        "note: document d0 has no date: the event-window rules of trump-putin-summit, "
        "peace-council were not applied (--date sets one)",
        f"monitor: {docs}:2: 'title' must be a string",
        "note: document d5 has no date: the event-window rules of peace-council were not "
        "applied (--date sets one)",  # d5 matches the summit topic
    ]


def test_match_with_stdout_and_stderr_in_one_file_keeps_their_order(tmp_path):
    """``monitor match docs.jsonl > out 2>&1``: a skipped line's message and a note
    stand between the lines of the documents before and after them, in both the
    batched path (a file) and the streamed one (stdin)."""
    dated = '"published": "2026-01-01T00:00:00Z"'
    lines = [f'{{"id": "a{i}", "title": "Weather in Berlin", {dated}}}' for i in range(300)]
    lines.append("not json")
    lines.append('{"id": "undated", "title": "Weather in Berlin"}')
    lines += [f'{{"id": "b{i}", "title": "Weather in Berlin", {dated}}}' for i in range(300)]
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(lines) + "\n", "utf-8")
    config = str(REPO / "config/monitor.yaml")

    for source in (str(docs), "-"):
        out = tmp_path / "out.txt"
        with out.open("wb") as both, docs.open("rb") as stdin:
            code = subprocess.run(
                [sys.executable, "-m", "monitor", "match", "--json", "-c", config, source],
                stdin=stdin,
                stdout=both,
                stderr=both,
                env=user_environment(),
                timeout=120,
                check=False,
            ).returncode

        shown = out.read_text("utf-8").splitlines()
        assert code == 1, shown[-5:]
        ids = [json.loads(line)["id"] if line.startswith("{") else line for line in shown]
        bad = next(i for i, line in enumerate(ids) if "not valid JSON" in str(line))
        note = next(i for i, line in enumerate(ids) if str(line).startswith("note: "))
        assert ids[bad - 1] == "a299" and bad == 300, (source, ids[bad - 2 : bad + 2])
        assert "undated" in str(ids[note]) and ids[note + 1] == "undated"
        assert ids[-2] == "b299" and "1 line skipped" in str(ids[-1])


def test_match_on_a_pipe_answers_each_document_as_it_comes(tmp_path):
    """A live pipe into ``monitor match -`` (a feed of documents that stays open): the
    answer to each line comes out before the next line is sent, not at the end."""
    config = str(REPO / "config/monitor.yaml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "match", "--json", "-c", config, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=user_environment(),
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    answers: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [answers.put(line) for line in proc.stdout], daemon=True
    ).start()
    try:
        for i, title in enumerate(["Trump and Putin meet for a summit in Anchorage", "Weather"]):
            proc.stdin.write(
                json.dumps({"id": i, "title": title, "published": "2025-08-15T12:00:00Z"}) + "\n"
            )
            proc.stdin.flush()
            # a deadline, not a latency: without the flush the line never comes while
            # the pipe stays open
            answer = json.loads(answers.get(timeout=60))
            assert answer["id"] == i
            assert bool(answer["topics"]) is (i == 0)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


# -- what an operator meets at the prompt (CliRunner: fast, in-process) ------------------

import json  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import pytest  # noqa: E402

from monitor import storage  # noqa: E402
from tests.support.feedgen import SUMMIT_EN, rss  # noqa: E402


def serve_rss(httpserver, path: str, body: bytes) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type="application/rss+xml")
    return httpserver.url_for(path)


@pytest.mark.parametrize("command", ["alerts", "replay"])
@pytest.mark.parametrize(
    "since", ["0s", "0.0h", "99999999999d", "5x", "-2h", "2026-13-01", "0001-01-01T00:00+01:00"]
)
def test_every_bad_since_is_a_usage_error_not_a_traceback(write_config, cli, command, since):
    config = write_config()

    result = cli(command, "-c", str(config), "--since", since)

    assert result.exit_code == 2, result.output
    assert "Invalid value for --since" in result.stderr and repr(since) in result.stderr


def test_good_since_values_still_work(write_config, cli):
    config = write_config()
    for since in ("2h", "90s", "2026-01-22T00:00Z", "2026-01-22"):
        assert cli("alerts", "-c", str(config), "--since", since).exit_code == 0, since


def test_alerts_of_an_unknown_topic_or_feed_say_so(write_config, cli):
    config = write_config(feeds=[{"name": "wire", "url": "http://127.0.0.1:9/wire.xml"}])

    typo = cli("alerts", "-c", str(config), "--topic", "trump-putin-sumit", "--feed", "wrie")
    known = cli("alerts", "-c", str(config), "--topic", "trump-putin-summit", "--feed", "wire")

    assert typo.exit_code == 0 and typo.stdout == ""
    assert f"note: {config} has no topic 'trump-putin-sumit'" in typo.stderr
    assert f"note: {config} has no feed 'wrie'" in typo.stderr
    assert known.exit_code == 0 and "note:" not in known.stderr


def feed_rows(cli, config) -> dict[str, dict]:
    result = cli("feeds", "-c", str(config), "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in map(json.loads, result.stdout.splitlines())}


def test_feeds_lists_disabled_feeds_but_not_removed_ones(write_config, cli):
    url = "http://127.0.0.1:9/feed.xml"
    write_config(feeds=[{"name": "on", "url": url}, {"name": "removed", "url": url}])
    assert set(
        feed_rows(
            cli, write_config(feeds=[{"name": "on", "url": url}, {"name": "removed", "url": url}])
        )
    ) == {"on", "removed"}
    config = write_config(
        feeds=[{"name": "on", "url": url}, {"name": "paused", "url": url, "enabled": False}]
    )

    rows = feed_rows(cli, config)

    assert set(rows) == {"on", "paused"}  # "removed" left the file: not listed any more
    assert rows["paused"]["status"] == "disabled" and rows["paused"]["enabled"] is False
    assert rows["paused"]["next_poll"] is None  # no poll is coming
    assert rows["on"]["status"] == "new" and rows["on"]["next_poll"]
    for row in rows.values():
        assert {"name", "url", "status", "articles", "errors", "last_error", "next_poll"} <= set(
            row
        )
    lines = cli("feeds", "-c", str(config)).stdout.splitlines()
    assert any(line.split("\t")[:2] == ["paused", "disabled"] for line in lines), lines


def test_feeds_in_a_pipe_prints_a_header_and_one_whole_line_per_feed(write_config, cli):
    long_name = "a-rather-long-feed-name-that-a-narrow-table-would-break-apart"
    url = "http://127.0.0.1:9/a/very/long/path/that/would/not/fit/in/a/column/feed.xml"
    config = write_config(feeds=[{"name": long_name, "url": url}, {"name": "short", "url": url}])

    result = cli("feeds", "-c", str(config))  # CliRunner's stdout is not a terminal

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split("\t") == [
        "feed",
        "status",
        "http",
        "last_poll",
        "next_poll",
        "errors",
        "articles",
        "last_error",
        "url",
        "why",
        "moved_to",
    ]
    assert [row.split("\t")[0] for row in rows] == [long_name, "short"]
    for row in rows:
        fields = row.split("\t")
        assert len(fields) == 11 and fields[8] == url and fields[1] == "new"
        assert fields[9:] == ["interval", "-"]
        assert fields[4].endswith("Z")  # next poll, ISO 8601 UTC
    assert "┃" not in result.stdout and "│" not in result.stdout


def test_poll_of_a_disabled_feed_says_so_and_exits_2(write_config, cli):
    config = write_config(
        feeds=[{"name": "paused", "url": "http://127.0.0.1:9/x.xml", "enabled": False}]
    )

    result = cli("poll", "-c", str(config), "--feed", "paused")

    assert result.exit_code == 2
    assert "'paused' is disabled" in result.stderr and "polled" not in result.stdout


def test_poll_says_when_another_worker_is_polling_the_feed(
    httpserver, write_config, cli, database_url
):
    url = serve_rss(httpserver, "/a.xml", rss([SUMMIT_EN]))
    config = write_config(feeds=[{"name": "a", "url": url}])
    assert cli("feeds", "-c", str(config)).exit_code == 0  # the feed row exists now
    engine = storage.open_database(database_url)
    try:  # what a running daemon holds while it polls the feed
        claimed = storage.claim_feeds(
            engine,
            owner="elsewhere:4242:daemon",
            now=datetime.now(UTC),
            lease=timedelta(minutes=5),
            limit=1,
            names=["a"],
            due_only=False,
        )
    finally:
        engine.dispose()
    assert [spec.name for spec, _ in claimed] == ["a"]

    result = cli("poll", "-c", str(config), "--feed", "a")

    assert result.exit_code == 0, result.output
    assert "skipped a: being polled by another worker" in result.stdout
    assert "polled 0 feeds" in result.stdout and "1 skipped" in result.stdout
    assert httpserver.log == []  # it really was left alone


def test_db_upgrade_says_whether_it_created_or_found_the_schema(write_config, cli):
    config = write_config()

    created = cli("db", "upgrade", "-c", str(config))
    again = cli("db", "upgrade", "-c", str(config))

    assert created.exit_code == 0 and ": created, schema " in created.stdout
    assert again.exit_code == 0 and "already at the newest schema" in again.stdout
    # Alembic's start-up chatter is gone; the migration that ran is still logged.
    assert "Running upgrade" in created.stderr
    assert "Context impl" not in created.stderr + again.stderr
    assert "non-transactional DDL" not in created.stderr + again.stderr
    assert again.stderr == ""


def test_debug_log_level_still_shows_alembic(write_config, cli):
    config = write_config()

    result = cli("db", "upgrade", "-c", str(config), "--log-level", "debug")

    assert "Context impl" in result.stderr and "Running upgrade" in result.stderr


def test_an_item_without_a_title_alerts_with_the_start_of_its_text(
    httpserver, write_config, cli, alert_log
):
    text = (
        "US President Donald Trump and Russian President Vladimir Putin held a summit in "
        "Anchorage, Alaska, on Friday, their first meeting in years, talking for hours."
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<link>http://127.0.0.1/</link><description>d</description>"
        f"<item><link>https://news.example.org/untitled</link><description>{text}"
        "</description></item></channel></rss>"
    ).encode()
    config = write_config(feeds=[{"name": "wire", "url": serve_rss(httpserver, "/u.xml", body)}])

    assert cli("poll", "-c", str(config)).exit_code == 0

    [alert] = [a for a in alert_log() if a["topic"] == "trump-putin-summit"]
    assert alert["title"].endswith("…") and len(alert["title"]) <= 101
    head = alert["title"][:-1]
    assert text.startswith(head) and len(head) > 60
    assert not text[len(head)].isalnum()  # cut between words, not inside one
    stored = json.loads(
        cli("alerts", "-c", str(config), "--json", "--topic", "trump-putin-summit").stdout
    )
    assert stored["title"] == alert["title"]


def test_poll_says_why_a_gone_feed_is_no_longer_polled(httpserver, write_config, cli):
    httpserver.expect_request("/old.xml").respond_with_data("removed", status=410)
    config = write_config(feeds=[{"name": "old", "url": httpserver.url_for("/old.xml")}])
    first = cli("poll", "-c", str(config))
    assert first.exit_code == 0 and "old: gone" in first.stdout, first.stdout

    again = cli("poll", "-c", str(config), "--feed", "old")

    assert again.exit_code == 0, again.output
    assert "skipped old: gone" in again.stdout and "polling stopped" in again.stdout
    assert len(httpserver.log) == 1


def test_the_collector_is_on_again_after_a_command_read_its_configuration(cli, tmp_path):
    """A command reads its configuration with Python's cyclic garbage collector paused
    (start-up): it is on again after, the file good or refused, and `monitor match`
    leaves nothing frozen in the process it ran in (a daemon must not run without it)."""
    import gc

    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"title": "Putin und Trump beim Gipfel in Anchorage"}\n', "utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("topics: [{id: Bad Id, any: [Putin]}]\n", "utf-8")
    assert gc.isenabled()

    good = cli("match", "--json", str(docs), "-c", str(REPO / "config/monitor.yaml"))
    assert good.exit_code == 0, good.output
    assert '"trump-putin-summit"' in good.stdout
    assert gc.isenabled() and gc.get_freeze_count() == 0

    refused = cli("match", "--json", str(docs), "-c", str(bad))
    assert refused.exit_code == 2
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_a_poll_leaves_the_collector_on_and_nothing_frozen(httpserver, write_config, cli):
    """`monitor poll` starts with the collector paused and freezes what the start made
    (the pass's collections do not walk it): a caller in the same process gets the
    collector back on and nothing frozen, after a pass and after a refused feed name."""
    import gc

    url = serve_rss(httpserver, "/a.xml", rss([SUMMIT_EN]))
    config = write_config(feeds=[{"name": "a", "url": url}])
    frozen: list[int] = []
    original = gc.unfreeze

    def unfreeze() -> None:  # what the pass ran with, seen as it ends
        frozen.append(gc.get_freeze_count())
        original()

    gc.unfreeze = unfreeze  # type: ignore[assignment]
    try:
        done = cli("poll", "-c", str(config))
    finally:
        gc.unfreeze = original  # type: ignore[assignment]
    assert done.exit_code == 0 and "a: ok" in done.stdout, done.output
    assert frozen and frozen[0] > 0  # the start's objects were out of the collector's way
    assert gc.isenabled() and gc.get_freeze_count() == 0

    refused = cli("poll", "-c", str(config), "--feed", "nope")
    assert refused.exit_code == 2 and "no feed named 'nope'" in refused.stderr
    assert gc.isenabled() and gc.get_freeze_count() == 0
