"""The command line as an operator meets it: exit codes, messages, help."""

from __future__ import annotations

from tests.conftest import REPO, run_monitor


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
        "    any: ['${MISSING_TOKEN_FOR_TEST}']\n", "utf-8")

    result = run_monitor("check", "-c", str(bad), env={"MISSING_TOKEN_FOR_TEST": ""})

    assert result.returncode == 2
    lines = result.stderr.splitlines()
    expected = {2: "colour", 6: "soon", 7: "duplicate", 9: "url"}
    for line_no, word in expected.items():
        assert any(line.startswith(f"{bad}:{line_no}:") and word in line for line in lines), (
            line_no, result.stderr)


def test_missing_environment_variable_is_named(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("notify:\n  - webhook: ${NO_SUCH_HOOK_URL_X}\n", "utf-8")

    result = run_monitor("check", "-c", str(cfg))

    assert result.returncode == 2
    assert f"{cfg}:2:" in result.stderr and "NO_SUCH_HOOK_URL_X" in result.stderr


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
        '{"title": "Weather in Berlin"}\n', "utf-8")

    result = run_monitor("match", "--json", str(docs), "-c", str(REPO / "config/monitor.yaml"))

    assert result.returncode == 0, result.stderr
    import json

    first, second = map(json.loads, result.stdout.splitlines())
    assert first["id"] == "a" and first["topics"][0]["id"] == "trump-putin-summit"
    assert {"id", "score", "evidence"} <= set(first["topics"][0])
    assert second == {"id": 2, "topics": []}
