"""Benchmark: whole `monitor poll` processes over local feeds, beside `reader` and a bare loop.

Not a test (pytest does not collect it). Starts ``feedserver.py`` (its own process) with
N generated RSS feeds on 127.0.0.1 (or spread over H loopback hosts, 127.0.0.1 …
127.0.0.H), then, per round, three phases, each run by three contenders as whole
processes on their own state:

* ``monitor``: ``monitor poll`` (real config file, the default topics, ``workers: W``);
* ``reader``: lemon24's reader (make_reader on a SQLite file, add_feed for every URL,
  update_feeds(workers=W, scheduled=False)), with feedparser called with the *same*
  flags as the monitor's (no sanitizing, no relative-link resolution: the monitor turns
  them off, so giving them to reader alone would flatter us);
* ``bare``: the floor of the job: httpx + feedparser (same flags), W threads, validators
  kept in a JSON file between runs, nothing stored, nothing matched.

Phases: 1. first poll (every feed new); 2. re-poll after every even feed got three new
items and new validators (half changed); 3. unchanged re-poll (every feed with
validators answers 304). Within a phase the contenders' order rotates from round to
round (interleaved reps); the figures are medians over rounds. Per run: the wall time
of the whole process (start-up included), user + system CPU of the process tree
(children included: the monitor's parser workers), and the peak resident memory of the
tree (sampled from /proc every 50 ms), plus what the server answered.

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_poll.py [--feeds N] [--hosts H] \
        [--workers W] [--rounds R] [--compare DIR]

``--compare DIR`` adds a fourth contender, ``before``: ``monitor poll`` run from another
tree of the code (e.g. ``git archive COMMIT | tar -x -C DIR``), interleaved with the
others in the same rounds, so a change is measured as an A/B ratio in one run. Both trees
are byte-compiled first: an installed package ships its bytecode, and an environment
with ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module of a tree anew in
every process (reader and the bare loop, from site-packages, have theirs).
"""

from __future__ import annotations

import argparse
import compileall
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


def _same_flags_as_monitor() -> None:
    """Make reader call feedparser as the monitor does (no sanitizing, no link resolution)."""
    from reader._parser import feedparser as reader_fp

    module = reader_fp.feedparser
    original = module.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        kwargs.update(sanitize_html=False, resolve_relative_uris=False)
        return original(*args, **kwargs)

    module.parse = parse


def reader_main(db: str, urls_file: str, workers: int) -> None:
    """In a subprocess: reader updates every feed once."""
    _same_flags_as_monitor()
    from reader import make_reader

    reader = make_reader(db)
    for url in Path(urls_file).read_text().split():
        reader.add_feed(url, exist_ok=True)
    reader.update_feeds(workers=workers, scheduled=False)
    entries = reader.get_entry_counts().total
    reader.close()
    print(f"reader: {entries} entries stored")


def bare_main(state_file: str, urls_file: str, workers: int) -> None:
    """In a subprocess: the floor. Fetch every feed (conditionally when validators are
    known), parse what changed with feedparser (the monitor's flags), keep the
    validators; no storage, no matching, no normalizing."""
    from concurrent.futures import ThreadPoolExecutor

    import feedparser
    import httpx

    path = Path(state_file)
    known: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=workers))

    def one(url: str) -> tuple[str, dict[str, str], int]:
        headers = {}
        validators = known.get(url, {})
        if "etag" in validators:
            headers["If-None-Match"] = validators["etag"]
        if "modified" in validators:
            headers["If-Modified-Since"] = validators["modified"]
        response = client.get(url, headers=headers)
        if response.status_code == 304:
            return url, validators, 0
        parsed = feedparser.parse(
            response.content,
            response_headers={"content-type": response.headers.get("content-type", "")},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        fresh = {}
        if "etag" in response.headers:
            fresh["etag"] = response.headers["etag"]
        if "last-modified" in response.headers:
            fresh["modified"] = response.headers["last-modified"]
        return url, fresh, len(parsed.entries)

    urls = Path(urls_file).read_text().split()
    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, urls))
    client.close()
    path.write_text(json.dumps({url: v for url, v, _ in results}))
    print(f"bare: {sum(n for _, _, n in results)} entries parsed")


CONTENDERS = ("monitor", "before", "reader", "bare")
PHASES = ("first poll", "re-poll, half changed", "unchanged re-poll")


def report(run: Run) -> str:
    statuses = ", ".join(f"{k}: {v}" for k, v in run.stats["statuses"].items())
    cond = run.stats["validated"]
    uncond = run.stats["unvalidated"]
    return (
        f"| {run.name} | {run.wall:.2f} s | {run.cpu:.2f} s | {run.peak_mib:.0f} MiB | "
        f"{statuses} | {cond} conditional, {uncond} unconditional |"
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_reader":
        reader_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_bare":
        bare_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=1, help="loopback hosts to spread over")
    parser.add_argument(
        "--workers",
        type=int,
        default=8,
        help="monitor's `workers`, reader's update_feeds(workers=), the bare loop's threads",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--only", default=",".join(CONTENDERS), help="contenders to run")
    parser.add_argument(
        "--compare", type=Path, default=None, help="another tree of the code: contender `before`"
    )
    args = parser.parse_args()
    contenders = [c for c in CONTENDERS if c in args.only.split(",")]
    if args.compare is None:
        contenders = [c for c in contenders if c != "before"]
    for tree in (REPO, args.compare):
        if tree is not None:
            compileall.compile_dir(str(tree / "monitor"), quiet=1)

    rounds = [
        one_round(args.feeds, args.hosts, args.workers, contenders, r, args.compare)
        for r in range(args.rounds)
    ]
    print(
        f"{args.feeds} feeds on {args.hosts} host(s), {args.workers} workers, "
        f"{os.cpu_count()} CPUs, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}"
    )
    print("| run (every round) | wall | CPU | peak RSS (tree) | responses | validators |")
    print("|---|---|---|---|---|---|")
    for runs in rounds:
        for run in runs:
            print(report(run))
    print()
    print(
        "| phase | contender | wall (median) | CPU (median) | peak RSS (median) "
        "| reader wall ÷ this | CPU ÷ reader | wall ÷ bare |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for phase in PHASES:
        med = {}
        for who in contenders:
            mine = [r for runs in rounds for r in runs if r.name == f"{who}, {phase}"]
            med[who] = (
                statistics.median(r.wall for r in mine),
                statistics.median(r.cpu for r in mine),
                statistics.median(r.peak_mib for r in mine),
            )
        for who in contenders:
            wall, cpu, rss = med[who]
            vs_reader = (
                f"{med['reader'][0] / wall:.2f}× | {cpu / med['reader'][1]:.2f}×"
                if "reader" in med
                else "– | –"
            )
            vs_bare = f"{wall / med['bare'][0]:.2f}×" if "bare" in med else "–"
            print(
                f"| {phase} | {who} | {wall:.2f} s | {cpu:.2f} s | {rss:.0f} MiB | "
                f"{vs_reader} | {vs_bare} |"
            )
    if "before" in contenders:
        print()
        print("monitor ÷ before, paired in each round (median):")
        for phase in PHASES:
            print(f"- {phase}: {paired(rounds, phase, 'monitor', 'before')}")


def paired(rounds: list[list[Run]], phase: str, a: str, b: str) -> str:
    """Median over rounds of a's wall and CPU over b's in the same round (paired A/B)."""
    walls, cpus = [], []
    for runs in rounds:
        mine = {r.name.split(",")[0]: r for r in runs if r.name.endswith(phase)}
        if a in mine and b in mine:
            walls.append(mine[a].wall / mine[b].wall)
            cpus.append(mine[a].cpu / mine[b].cpu)
    if not walls:
        return "–"
    return f"wall {statistics.median(walls):.2f}×, CPU {statistics.median(cpus):.2f}×"


def one_round(
    feeds: int,
    hosts: int,
    workers: int,
    contenders: list[str],
    index: int,
    compare: Path | None = None,
) -> list[Run]:
    """A fresh server and fresh state: first polls, new items in half, re-polls, then
    unchanged re-polls; the contenders' order rotates with ``index``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    envs = {"before": {**os.environ, "PYTHONPATH": str(compare)}} if compare else {}
    server_proc = subprocess.Popen(
        [sys.executable, str(HERE / "feedserver.py"), str(feeds), str(hosts)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server_proc.stdout is not None
        port = int(server_proc.stdout.readline())
        server = f"http://127.0.0.1:{port}"
        urls = [f"http://127.0.0.{1 + i % hosts}:{port}/feed/{i}.xml" for i in range(feeds)]
        with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp_name:
            tmp = Path(tmp_name)
            config = write_config(tmp, urls, workers)
            before = tmp / "before"
            before.mkdir()
            before_config = write_config(before, urls, workers)
            urls_file = tmp / "urls.txt"
            urls_file.write_text("\n".join(urls))
            argv = {
                "monitor": [
                    sys.executable,
                    "-m",
                    "monitor",
                    "poll",
                    "-c",
                    str(config),
                    "--log-level",
                    "warning",
                ],
                "before": [
                    sys.executable,
                    "-m",
                    "monitor",
                    "poll",
                    "-c",
                    str(before_config),
                    "--log-level",
                    "warning",
                ],
                "reader": [
                    sys.executable,
                    __file__,
                    "_reader",
                    str(tmp / "reader.db"),
                    str(urls_file),
                    str(workers),
                ],
                "bare": [
                    sys.executable,
                    __file__,
                    "_bare",
                    str(tmp / "bare.json"),
                    str(urls_file),
                    str(workers),
                ],
            }
            shift = index % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            runs = []
            for phase in PHASES:
                if phase == PHASES[1]:
                    control(server, "/_advance")
                for who in order:
                    runs.append(
                        measure(
                            f"{who}, {phase}", argv[who], server, env=envs.get(who, env), cwd=tmp
                        )
                    )
    finally:
        server_proc.terminate()
        server_proc.wait()
    return runs


if __name__ == "__main__":
    main()
