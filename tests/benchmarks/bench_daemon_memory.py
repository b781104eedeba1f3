"""The daemon's memory over a long run: a real `monitor run`, sampled from outside.

Starts a feed server on 127.0.0.1 (its own process: FEEDS feeds, one in CHANGE of them
carrying a new item each second, the others answering 304 to their ETag), then
`monitor run` (a real subprocess, a SQLite file, every feed at a 1-second interval, so
the daemon ticks every second; the console and /metrics on loopback, as shipped) and
samples the resident memory of the polling process, and of its parser workers apart,
until the daemon has finished TICKS ticks (``monitor_ticks_total`` on /metrics).
Memory is read from /proc every SAMPLE_EVERY seconds (which costs the daemon nothing;
/metrics is read only for the tick count), so each tick's second holds ~10 samples, some
during the tick (its responses, rows and parses in flight) and the rest between ticks.
What the process keeps is its level between ticks: the lowest sample of each tick's
second (after the tick's own memory was freed and trimmed). Prints, from those levels,
start (after the first tick), idle (the median of the last tenth), the slope over the
second half in MiB per 100 ticks, and whether the second half is flat: its growth on the
fitted line against the spread of the last tenth's levels (a rise smaller than what the
levels differ by anyway is not shown); peak is the highest sample of all. A row for every
sample taken (during ticks too), as earlier rounds measured, is printed beside it for
comparison. Beside them: floors, a bare Python process, and one importing what the daemon
imports. Run from the repository root:

    PYTHONPATH=. .venv/bin/python tests/benchmarks/bench_daemon_memory.py [--ticks 500]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from tests.support.procfs import children, cpu_seconds, resident_kib, rss_kib

ITEMS = 20
"""Items in each feed's body."""
SAMPLE_EVERY = 0.1
"""Seconds between two reads of the processes' resident memory."""
REPO = Path(__file__).resolve().parents[2]
DAEMON_IMPORTS = (
    # as `monitor run` logging JSON: structlog and httpx without rich (where the tree has it)
    "try:\n    from monitor.lean import import_without_rich\n"
    "except ImportError:\n    try:\n        from monitor.service.lean import import_without_rich\n"
    "    except ImportError:\n        import_without_rich = None\n"
    "if import_without_rich is not None:\n    import_without_rich()\n"
    "import monitor.service.daemon, monitor.service.app, monitor.pipeline, monitor.web.app,"
    " monitor.web.server, monitor.parsing.pool, monitor.storage.articles, sqlalchemy.orm, httpx"
)


def _serve(feeds: int, change: int, replace: int, port_out: multiprocessing.Queue[int]) -> None:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            index = int(self.path.strip("/").removesuffix(".xml"))
            with lock:
                # One feed in `change` has a new version every second; the rest never.
                version = int(time.time()) if index % change == 0 else 0
            etag = f'"{index}-{version}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            # Growing: item n is new for good. Replacing: it takes the key (guid and
            # link) of item n - replace, whose article it updates in place.
            items = "".join(
                f"<item><title>Story {index}-{n} about the council budget and talks</title>"
                f"<link>https://news.example.org/{index}/{key}</link><guid>g-{index}-{key}</guid>"
                f"<description>Text of story {n} of feed {index}, a few words long.</description>"
                f"<pubDate>{formatdate(1_700_000_000 + n, usegmt=True)}</pubDate></item>"
                for n in range(version, version - ITEMS, -1)
                for key in [n % replace if replace else n]
            )
            body = (
                '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                f"<title>Feed {index}</title><link>https://news.example.org/</link>"
                f"<description>d</description>{items}</channel></rss>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(int(server.server_address[1]))
    server.serve_forever()


def rss_mib(pid: int) -> float:
    return rss_kib(pid) / 1024


def ticks(metrics_url: str) -> int:
    try:
        text = urllib.request.urlopen(metrics_url, timeout=5).read().decode()
    except OSError:
        return 0
    found = re.search(r"^monitor_ticks_total (\S+)$", text, re.M)
    return int(float(found.group(1))) if found else 0


def floor_mib(code: str, tree: Path = REPO) -> float:
    """Peak RSS of a Python process running ``code`` (the same interpreter and path)."""
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,  # `python -c` looks in its working directory first
        check=True,
    )
    return int(out.stderr.split()[-1]) / 1024


def slope(samples: list[tuple[int, float]]) -> float:
    """Least-squares MiB per 100 ticks."""
    if len(samples) < 2:
        return 0.0
    xs, ys = [t for t, _ in samples], [m for _, m in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 100 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def levels(samples: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The lowest sample of each tick count: the level between ticks."""
    lowest: dict[int, float] = {}
    for tick, mib in samples:
        lowest[tick] = min(mib, lowest.get(tick, mib))
    return sorted(lowest.items())


class Sampler(threading.Thread):
    """Reads the resident memory of a process and of its children every SAMPLE_EVERY s,
    each read labelled with the tick count last seen on /metrics."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.tick = 0
        self.polling: list[tuple[int, float]] = []
        self.workers: list[tuple[int, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY):
            tick = self.tick
            if tick < 1:
                continue
            self.polling.append((tick, rss_mib(self.pid)))
            kids = children(self.pid)
            if kids:
                self.workers.append((tick, sum(rss_mib(k) for k in kids)))


def spread(values: list[float]) -> float:
    """Interquartile range of ``values`` (0 for fewer than two)."""
    if len(values) < 2:
        return 0.0
    quartiles = statistics.quantiles(values, n=4)
    return quartiles[2] - quartiles[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=500)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--change", type=int, default=5, help="one feed in N changes")
    parser.add_argument("--port", type=int, default=19464, help="the daemon's /metrics")
    parser.add_argument("--tree", type=Path, default=REPO, help="the code the daemon runs")
    parser.add_argument(
        "--replace",
        type=int,
        default=0,
        metavar="N",
        help=f"a changing feed's new item takes the key of its item N seconds older (N > "
        f"{ITEMS}), whose stored article it updates: the database stops growing "
        "(default 0: every new item is a new article, the database grows all along)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    if args.replace and args.replace <= ITEMS:
        parser.error(f"--replace must exceed the {ITEMS} items of a feed")
    tree = args.tree.resolve()
    ctx = multiprocessing.get_context("fork")
    port_out: multiprocessing.Queue[int] = ctx.Queue()
    server = ctx.Process(
        target=_serve, args=(args.feeds, args.change, args.replace, port_out), daemon=True
    )
    server.start()
    base = f"http://127.0.0.1:{port_out.get(timeout=30)}"
    with tempfile.TemporaryDirectory(prefix="daemon-mem-") as tmp:
        folder = Path(tmp)
        doc = yaml.safe_load((REPO / "config" / "monitor.yaml").read_text("utf-8"))
        doc.update(
            database=f"sqlite:///{folder / 'monitor.db'}",
            alert_log=str(folder / "alerts.jsonl"),
            http={"allow_private_networks": True, "listen": f"127.0.0.1:{args.port}"},
            feeds=[
                {"name": f"f{i}", "url": f"{base}/{i}.xml", "interval": "1s", "fulltext": "never"}
                for i in range(args.feeds)
            ],
        )
        config = folder / "monitor.yaml"
        config.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-level", "warning"],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(tree)},
            stdout=subprocess.DEVNULL,
            stderr=(folder / "stderr.txt").open("wb"),
        )
        metrics = f"http://127.0.0.1:{args.port}/metrics"
        sampler = Sampler(daemon.pid)
        sampler.start()
        started = time.monotonic()
        try:
            done = 0
            while done < args.ticks:
                if daemon.poll() is not None:
                    raise SystemExit((folder / "stderr.txt").read_text()[-3000:])
                time.sleep(0.5)
                done = ticks(metrics)
                sampler.tick = done
            sampler.done.set()
            sampler.join()
            took = time.monotonic() - started
            worker_count = len(children(daemon.pid))
            cpu = cpu_seconds(daemon.pid)
            status = resident_kib(daemon.pid)
            db_mib = {
                name: (folder / name).stat().st_size / 2**20
                for name in ("monitor.db", "monitor.db-wal", "monitor.db-shm")
                if (folder / name).exists()
            }
        finally:
            daemon.terminate()
            daemon.wait(30)
            server.terminate()
    bare = floor_mib("pass")
    imported = floor_mib(DAEMON_IMPORTS, tree)
    kind = f"replacing the item {args.replace} s older" if args.replace else "a new article"
    print(
        f"{args.ticks} ticks in {took:.0f} s, {args.feeds} feeds (1 in {args.change} "
        f"changing every second: {kind}), {worker_count} parser workers; code of {tree}"
    )
    print(
        "database at the end: "
        + ", ".join(f"{name} {mib:.2f} MiB" for name, mib in db_mib.items())
        + "; polling process at the end: "
        + ", ".join(f"{k} {v / 1024:.1f}" for k, v in status.items() if k.startswith("Rss"))
        + " MiB"
    )
    figures: dict[str, object] = {
        "tree": str(tree),
        "ticks": args.ticks,
        "replace": args.replace,
        "seconds": took,
        "database_mib": db_mib,
        "status_kib": status,
        "cpu_ms_a_tick": 1000 * cpu / args.ticks,
    }
    print(
        f"{'process':28} {'start':>6} {'idle':>6} {'peak':>6} {'slope 2nd half':>24}"
        f" {'2nd half':>8} {'spread':>6}  verdict"
    )
    rows = (
        ("polling, between ticks", levels(sampler.polling), sampler.polling),
        ("polling, every sample", sampler.polling, sampler.polling),
        ("workers (sum), between", levels(sampler.workers), sampler.workers),
    )
    for name, samples, every in rows:
        if not samples:
            continue
        tail = [m for t, m in samples if t >= args.ticks * 0.9]
        half = [(t, m) for t, m in samples if t >= args.ticks / 2]
        per_100 = slope(half)
        grown = per_100 * (args.ticks / 2) / 100
        noise = spread(tail)
        verdict = "flat" if grown <= noise else "rising"
        print(
            f"{name:28} {samples[0][1]:6.1f} {statistics.median(tail):6.1f} "
            f"{max(m for _, m in every):6.1f} {per_100:+11.2f} MiB/100 ticks"
            f" {grown:+8.2f} {noise:6.2f}  {verdict}"
        )
        figures[name] = {
            "start": samples[0][1],
            "idle": statistics.median(tail),
            "peak": max(m for _, m in every),
            "slope": per_100,
            "grown": grown,
            "spread": noise,
            "verdict": verdict,
            "levels": samples if samples is not every else [],
        }
    print(
        "between ticks: the lowest sample of each tick's second; every sample: during ticks\n"
        "too. 2nd half: the growth over the second half's ticks on the fitted line; spread:\n"
        "the interquartile range of the last tenth; flat: the second half grew less than that\n"
        "spread. One run's slope is not the daemon's: runs of the same code differ by ±0.15\n"
        "MiB / 100 ticks (tests/benchmarks/README.md, mem10): compare medians of several."
    )
    print(f"polling process CPU: {cpu:.1f} s ({1000 * cpu / args.ticks:.1f} ms a tick)")
    print(f"{'floor: bare python':22} {bare:7.1f}")
    print(f"{'floor: daemon imports':22} {imported:7.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
