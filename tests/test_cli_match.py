"""`monitor match` and its stdout: what an operator sees when the output cannot be
written (a full disk, a closed descriptor, a reader that went away) or cannot be
encoded (a title stdout's encoding has no letters for)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, user_environment

CONFIG = str(REPO / "config" / "monitor.yaml")
SUMMIT = "Putin und Trump beim Gipfel in Anchorage"
DATED = "2026-01-01T00:00:00Z"  # no "no date" notes on stderr


def write_docs(path: Path, count: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"d{n}", "title": f"{SUMMIT} {n}", "published": DATED}) + "\n"
            for n in range(count)
        ),
        "utf-8",
    )
    return path


def match(
    args: list[str], docs: Path, *, stdout: int, wrap: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`monitor match ARGS -c CONFIG` with ``docs`` as its stdin as well (for ``-``)."""
    command = [sys.executable, "-m", "monitor", "match", *args, "-c", CONFIG]
    with docs.open("rb") as stdin:
        return subprocess.run(
            [*(wrap or []), *command],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=user_environment(),
            timeout=120,
            check=False,
        )


# a few lines fit the output's buffer and fail at the end; thousands fail mid-run
SIZES = [3, 3000]
MODES = [["--json"], [], ["--explain"]]


@pytest.mark.parametrize("count", SIZES, ids=["at-the-end", "mid-run"])
@pytest.mark.parametrize("mode", MODES, ids=["json", "text", "explain"])
def test_match_onto_a_full_disk_says_so_in_one_line(tmp_path, count, mode):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full on this system")
    docs = write_docs(tmp_path / "docs.jsonl", count)
    for source in (str(docs), "-"):  # batched from a file, streamed from stdin
        with open("/dev/full", "wb") as full:
            result = match([*mode, source], docs, stdout=full.fileno())

        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr == "monitor: cannot write output: No space left on device\n"


@pytest.mark.parametrize("count", SIZES, ids=["at-the-end", "mid-run"])
@pytest.mark.parametrize("mode", MODES, ids=["json", "text", "explain"])
def test_match_into_a_pipe_its_reader_closed_ends_quietly_and_not_with_0(tmp_path, count, mode):
    # `monitor match … | head -1`: the reader has what it wanted; like other Unix tools,
    # nothing said, and the status is not 0 (`set -o pipefail` sees the output was cut)
    docs = write_docs(tmp_path / "docs.jsonl", count)
    for source in (str(docs), "-"):
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            result = match([*mode, source], docs, stdout=write_end)
        finally:
            os.close(write_end)

        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr == ""


def test_match_with_stdout_closed_says_so_in_one_line(tmp_path):
    docs = write_docs(tmp_path / "docs.jsonl", 3)
    # `monitor match docs.jsonl >&-`
    closed = ["sh", "-c", 'exec "$@" >&-', "sh"]
    for source in (str(docs), "-"):
        result = match(["--json", source], docs, stdout=subprocess.DEVNULL, wrap=closed)

        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr == "monitor: cannot write output: stdout is closed\n"


def run_match(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
    return subprocess.run(
        [sys.executable, "-m", "monitor", "match", *args, "-c", CONFIG],
        input=stdin,
        capture_output=True,
        text=True,
        env=user_environment(**(env or {})),
        timeout=120,
        check=False,
    )


def test_a_lone_surrogate_is_printed_as_the_escape_it_came_as(tmp_path):
    """A JSON ``\\ud800`` escape makes a lone surrogate, which no encoding takes: that
    document is reported with the others, the surrogate written as ``\\ud800`` again,
    so that each ``--json`` line is still valid JSON and gives back the input's id."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        f'{{"id": "a", "title": "{SUMMIT}", "published": "{DATED}"}}\n'
        f'{{"id": "b\\ud800", "title": "{SUMMIT} \\udfff", "published": "{DATED}"}}\n'
        f'{{"id": "c", "title": "Weather in Berlin", "published": "{DATED}"}}\n',
        "utf-8",
    )
    for source, stdin in ((str(docs), None), ("-", docs.read_text("utf-8"))):
        as_json = run_match("--json", source, stdin=stdin)

        assert as_json.returncode == 0, as_json.stderr[-2000:]
        assert as_json.stderr == ""
        out = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert [o["id"] for o in out] == ["a", "b\ud800", "c"]
        assert [bool(o["topics"]) for o in out] == [True, True, False]
        snippets = {e["snippet"] for e in out[1]["topics"][0]["evidence"]}
        assert snippets == {f"{SUMMIT} \udfff"}

        for mode in ([], ["--explain"]):
            text = run_match(*mode, source, stdin=stdin)

            assert text.returncode == 0, text.stderr[-2000:]
            assert text.stderr == ""
            assert f"b\\ud800: {SUMMIT} \\udfff" in text.stdout.splitlines()
            assert "c: Weather in Berlin" in text.stdout.splitlines()


def test_a_title_an_ascii_stdout_cannot_take_is_printed_escaped(tmp_path):
    """A terminal set to ASCII (``PYTHONIOENCODING=ascii``): a Cyrillic title is printed
    with Python's escapes, as Python prints it on stderr, and the run goes on; `--json`
    is UTF-8 whatever the locale (RFC 8259)."""
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        f'{{"id": "a", "title": "{SUMMIT}", "published": "{DATED}"}}\n'
        f'{{"id": "b", "title": "Путин и Трамп на саммите", "published": "{DATED}"}}\n'
        f'{{"id": "c", "title": "Weather", "published": "{DATED}"}}\n',
        "utf-8",
    )
    ascii_env = {"PYTHONIOENCODING": "ascii"}
    for source, stdin in ((str(docs), None), ("-", docs.read_text("utf-8"))):
        for mode in ([], ["--explain"]):
            text = run_match(*mode, source, env=ascii_env, stdin=stdin)

            assert text.returncode == 0, text.stderr[-2000:]
            assert text.stderr == ""
            lines = text.stdout.splitlines()
            assert lines[0] == f"a: {SUMMIT}"
            assert (
                "b: \\u041f\\u0443\\u0442\\u0438\\u043d \\u0438 \\u0422\\u0440\\u0430\\u043c"
                "\\u043f \\u043d\\u0430 \\u0441\\u0430\\u043c\\u043c\\u0438\\u0442\\u0435"
            ) in lines
            assert "c: Weather" in lines

        as_json = run_match("--json", source, env=ascii_env, stdin=stdin)
        assert as_json.returncode == 0, as_json.stderr[-2000:]
        ids = [json.loads(line)["id"] for line in as_json.stdout.splitlines()]
        assert ids == ["a", "b", "c"]
        assert "Путин" in as_json.stdout


_BAD_LINES = [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes)"),
    ("[1, 2]", "expected a JSON object"),
    ('{"id": "no-text", "language": "de"}', "needs a title, summary or content"),
    ('{"id": "n", "title": 5}', "'title' must be a string"),
    (
        '{"id": "p", "title": "t", "published": "yesterday"}',
        "'published' is neither ISO 8601 nor RFC 822: 'yesterday'",
    ),
    ('{"id": "latin-1", "title": "caf\xe9"}', "not valid UTF-8 (byte 0xe9 at column 32)"),
]


def _match_file(
    docs: Path, source: str, output: list[str]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """``monitor match`` over ``docs`` given by name (``file``) or on stdin (``pipe``):
    the finished process, and the name its messages give the input."""
    command = [sys.executable, "-m", "monitor", "match", *output, "-c", CONFIG]
    with docs.open("rb") as stdin:
        result = subprocess.run(
            [*command, str(docs) if source == "file" else "-"],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=user_environment(),
            timeout=120,
            check=False,
        )
    return result, str(docs) if source == "file" else "<stdin>"


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("source", ["file", "pipe"])
def test_every_good_line_is_matched_and_every_bad_one_named_by_file_and_line(
    tmp_path, output, source
):
    """A pipeline's stream with bad lines among good ones: every good document printed,
    each bad line on stderr as ``monitor: FILE:LINE: reason`` (what grep -n and compilers
    print), then exit 1."""
    lines, expected = [], []
    for n, (bad, reason) in enumerate(_BAD_LINES):
        lines.append(json.dumps({"id": f"good{n}", "title": SUMMIT, "published": DATED}))
        lines.append(bad)
        expected.append((len(lines), reason))
    lines.append(json.dumps({"id": "last", "title": "Weather in Berlin", "published": DATED}))
    docs = tmp_path / "docs.jsonl"
    # the last bad line in Latin-1, the rest UTF-8
    docs.write_bytes(
        b"".join(line.encode("latin-1" if "caf" in line else "utf-8") + b"\n" for line in lines)
    )

    result, name = _match_file(docs, source, output)

    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.splitlines() == [
        *(f"monitor: {name}:{line}: {reason}" for line, reason in expected),
        f"monitor: {name}: {len(_BAD_LINES)} lines skipped",
    ]
    good = [f"good{n}" for n in range(len(_BAD_LINES))] + ["last"]
    if output:
        printed = [json.loads(line) for line in result.stdout.splitlines()]
        assert [doc["id"] for doc in printed] == good
        assert all(doc["topics"] for doc in printed[:-1]) and not printed[-1]["topics"]
    else:
        heads = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
        assert [line.split(":")[0] for line in heads] == good


_DAMAGED_FIRST = [
    ('{"id": 1, "title": "Trump', "not valid JSON (Invalid control character at)"),
    ('{"id": "latin-1", "title": "caf\xe9"}', "not valid UTF-8 (byte 0xe9 at column 32)"),
]


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["text", "json"])
@pytest.mark.parametrize("source", ["file", "pipe"])
@pytest.mark.parametrize(("damaged", "reason"), _DAMAGED_FIRST, ids=["cut-short", "latin-1"])
def test_a_damaged_first_line_is_a_bad_line_of_json_lines_not_plain_text(
    tmp_path, output, source, damaged, reason
):
    """A JSON Lines stream whose first line is damaged (cut short, not UTF-8) is still
    JSON Lines (its first non-blank line starts with ``{``): that line is reported as
    ``monitor: FILE:LINE: reason``, the rest matched, exit 1; it was read as one
    plain-text document and the run exited 0, hiding the damage."""
    good = [json.dumps({"id": f"g{n}", "title": SUMMIT, "published": DATED}) for n in range(2)]
    docs = tmp_path / "docs.jsonl"
    encoding = "latin-1" if "caf" in damaged else "utf-8"
    docs.write_bytes(b"\n" + damaged.encode(encoding) + b"\n" + "\n".join(good).encode() + b"\n")

    result, name = _match_file(docs, source, output)

    assert result.returncode == 1, result.stderr[-2000:]
    first, summary = result.stderr.splitlines()
    assert first == f"monitor: {name}:2: {reason}"
    assert summary == f"monitor: {name}: 1 line skipped"
    if output:
        assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["g0", "g1"]
    else:
        heads = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
        assert [line.split(":")[0] for line in heads] == ["g0", "g1"]
