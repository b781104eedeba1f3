"""Whole `monitor` processes of the read-only commands, against another tree of the code.

Builds a database of ALERTS alerts (``alerts_db.py``), then runs each command as users
do (``python -m monitor …``, a fresh process, under ``/usr/bin/time``) with this tree's
code and with another tree's (``--other``: e.g. ``git archive b951178 | tar -x -C
/tmp/main``), interleaved: every repetition runs every command once with each tree, the
order of the trees alternating. Prints medians of wall time, CPU (user + system) and
peak RSS, and the CPU ratio this ÷ other. Run from the repository root:

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_cli_start.py --other /tmp/main [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.benchmarks.alerts_db import REPO, build

COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "alerts --limit 1": ["alerts", "--limit", "1"],
    "alerts --limit 50 --json": ["alerts", "--limit", "50", "--json"],
    "alerts --topic T --since 7d": ["alerts", "--topic", "TOPIC", "--since", "7d"],
    "alerts show ID": ["alerts", "show", "ALERT"],
    "mutes": ["mutes"],
    "feeds": ["feeds"],
}


def run_once(tree: Path, args: list[str], config: Path, cwd: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MiB) of one whole process."""
    out = cwd / "time.txt"
    command = ["/usr/bin/time", "-o", str(out), "-f", "%e %U %S %M", sys.executable]
    command += ["-m", "monitor", *args]
    if args != ["--help"]:
        command += ["-c", str(config)]
    result = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed: {result.stderr[-2000:]}")
    wall, user, system, peak_kb = out.read_text().split()[-4:]
    return float(wall), float(user) + float(system), int(peak_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--other", type=Path, required=True, help="another tree of the code")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--only", default="", help="comma-separated command labels")
    args = parser.parse_args()
    trees = {"this": REPO, "other": args.other.resolve()}
    wanted = [c for c in COMMANDS if not args.only or c in args.only.split(",")]
    with tempfile.TemporaryDirectory(prefix="cli-start-") as tmp:
        folder = Path(tmp)
        config = build(folder / "db", args.alerts)
        import sqlite3

        db = sqlite3.connect(folder / "db" / "monitor.db")
        alert, topic = db.execute("SELECT id, topic FROM alerts ORDER BY seq DESC").fetchone()
        db.close()
        given = {"ALERT": alert, "TOPIC": topic}
        commands = {label: [given.get(a, a) for a in COMMANDS[label]] for label in wanted}
        for argv in commands.values():  # warm-up: the page cache, .pyc files
            for tree in trees.values():
                run_once(tree, argv, config, folder)
        samples: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        for rep in range(args.reps):
            order = list(trees.items()) if rep % 2 == 0 else list(trees.items())[::-1]
            for label, argv in commands.items():
                for name, tree in order:
                    samples.setdefault((label, name), []).append(
                        run_once(tree, argv, config, folder)
                    )
    print(f"medians of {args.reps} interleaved runs; other = {trees['other']}")
    head = f"{'wall s':>7} {'CPU s':>7} {'peak MiB':>9} {'CPU ÷ other':>12}"
    print(f"{'command':32} {'tree':6} {head}")
    for label in commands:
        cpu_other = statistics.median(s[1] for s in samples[(label, "other")])
        for name in trees:
            runs = samples[(label, name)]
            wall = statistics.median(s[0] for s in runs)
            cpu = statistics.median(s[1] for s in runs)
            peak = statistics.median(s[2] for s in runs)
            ratio = f"{cpu / cpu_other:.2f}" if cpu_other else "-"
            print(f"{label:32} {name:6} {wall:7.2f} {cpu:7.2f} {peak:9.0f} {ratio:>12}")


if __name__ == "__main__":
    main()
