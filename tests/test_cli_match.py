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

from tests.conftest import REPO

CONFIG = str(REPO / "config" / "monitor.yaml")
SUMMIT = "Putin und Trump beim Gipfel in Anchorage"
DATED = "2026-01-01T00:00:00Z"  # no "no date" notes on stderr


def environment(**extra: str) -> dict[str, str]:
    """This repository importable; stdout block-buffered on a pipe or a file, as a
    user's is (PYTHONUNBUFFERED, set on some machines, would write every line at once)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), **extra}
    env.pop("PYTHONUNBUFFERED", None)
    return env


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
            env=environment(),
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
