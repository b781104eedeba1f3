"""Benchmark: one full `monitor poll` of 1,000 local feeds, then a re-poll, beside `reader`.

Not a test (pytest does not collect it). Starts ``feedserver.py`` (its own process) with
N generated RSS feeds on 127.0.0.1, then, in one run:

1. first poll: ``monitor poll`` (a subprocess, real config file) and lemon24's
   ``reader`` (a subprocess: make_reader on a temporary SQLite file, add_feed for every
   URL, update_feeds(workers=W)) each fetch every feed once;
2. every even feed gets three new items and new validators; the odd ones are unchanged;
3. re-poll: both again (reader with ``scheduled=False``, so it updates every feed).

For each run it prints the wall time of the whole subprocess (start-up included), the
CPU time of the process tree (user + system, children included), the
responses the server sent by status, whether every request to a feed that gave
validators was conditional, and the peak resident memory of the process tree (the
process and its children, such as the monitor's parser workers; sampled from /proc).

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_poll.py [--feeds N] [--workers W] \
        [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in KiB."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo.extend(tree.get(pid, ()))
    return total


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    """User + system CPU seconds of the process tree: steadier than wall on a busy box."""
    peak_mib: float
    stats: dict[str, Any]
    detail: str = ""


def measure(name: str, argv: list[str], server: str, **kwargs: Any) -> Run:
    control(server, "/_reset")
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kib(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}):\n{err[-3000:]}")
    last = out.strip().splitlines()[-1] if out.strip() else ""
    return Run(name, wall, cpu, peak / 1024, control(server, "/_stats"), last)


def control(server: str, path: str) -> dict[str, Any]:
    with urllib.request.urlopen(server + path, timeout=60) as response:
        result: dict[str, Any] = json.load(response)
        return result


def write_config(tmp: Path, urls: list[str], workers: int) -> Path:
    topics = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text("utf-8"))["topics"]
    doc = {
        "database": f"sqlite:///{tmp / 'monitor.db'}",
        "alert_log": str(tmp / "alerts.jsonl"),
        "workers": workers,
        "http": {"allow_private_networks": True, "listen": False},
        "feeds": [{"name": f"feed-{i}", "url": url} for i, url in enumerate(urls)],
        "topics": topics,
    }
    path = tmp / "monitor.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def reader_main(db: str, urls_file: str, workers: int) -> None:
    """In a subprocess: reader updates every feed once."""
    from reader import make_reader

    reader = make_reader(db)
    for url in Path(urls_file).read_text().split():
        reader.add_feed(url, exist_ok=True)
    started = time.monotonic()
    reader.update_feeds(workers=workers, scheduled=False)
    took = time.monotonic() - started
    entries = reader.get_entry_counts().total
    reader.close()
    print(f"reader: update_feeds took {took:.2f}s, {entries} entries stored")


def report(run: Run) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in run.stats["statuses"].items())
    cond = run.stats["validated"]
    uncond = run.stats["unvalidated"]
    return (
        f"| {run.name} | {run.wall:.1f} s | {run.cpu:.1f} s | {statuses} | {cond} conditional, "
        f"{uncond} unconditional | {run.peak_mib:.0f} MiB |"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_reader":
        reader_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument(
        "--workers",
        type=int,
        default=8,
        help="monitor's `workers` and reader's update_feeds(workers=)",
    )
    parser.add_argument("--no-reader", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat everything; medians help on a busy box"
    )
    args = parser.parse_args()

    rounds = [one_round(args.feeds, args.workers, not args.no_reader) for _ in range(args.rounds)]
    print(
        f"{args.feeds} feeds, {args.workers} workers, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}; "
        f"{rounds[0][0].stats['feeds_with_validators']} feeds send validators"
    )
    print(
        "| run | wall | CPU | responses by status | requests to feeds with validators | "
        "peak RSS (tree) |"
    )
    print("|---|---|---|---|---|---|")
    for runs in rounds:
        for run in runs:
            print(report(run))
    if len(rounds) > 1:
        print("median over rounds:")
        for i, run in enumerate(rounds[0]):
            walls = sorted(r[i].wall for r in rounds)
            cpus = sorted(r[i].cpu for r in rounds)
            print(
                f"  {run.name}: wall {statistics.median(walls):.1f} s "
                f"(min {walls[0]:.1f}), CPU {statistics.median(cpus):.1f} s"
            )
    for runs in rounds:
        for run in runs:
            print(f"{run.name}: {run.detail}")


def one_round(feeds: int, workers: int, with_reader: bool) -> list[Run]:
    """A fresh server and fresh databases: first polls, new items in half, re-polls."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    server_proc = subprocess.Popen(
        [sys.executable, str(HERE / "feedserver.py"), str(feeds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server_proc.stdout is not None
        port = int(server_proc.stdout.readline())
        server = f"http://127.0.0.1:{port}"
        urls = [f"{server}/feed/{i}.xml" for i in range(feeds)]
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp_name:
            tmp = Path(tmp_name)
            config = write_config(tmp, urls, workers)
            urls_file = tmp / "urls.txt"
            urls_file.write_text("\n".join(urls))
            monitor = [
                sys.executable,
                "-m",
                "monitor",
                "poll",
                "-c",
                str(config),
                "--log-level",
                "warning",
            ]
            reader = [
                sys.executable,
                __file__,
                "_reader",
                str(tmp / "reader.db"),
                str(urls_file),
                str(workers),
            ]
            runs = [measure("monitor, first poll", monitor, server, env=env, cwd=tmp)]
            if with_reader:
                runs.append(measure("reader, first update", reader, server, env=env, cwd=tmp))
            control(server, "/_advance")
            runs.append(measure("monitor, re-poll", monitor, server, env=env, cwd=tmp))
            if with_reader:
                runs.append(measure("reader, re-update", reader, server, env=env, cwd=tmp))
    finally:
        server_proc.terminate()
        server_proc.wait()
    return runs


if __name__ == "__main__":
    main()
