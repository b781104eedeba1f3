"""Cycle time and throughput of `monitor run` workers over 2,000 feeds on 127.0.0.1.

Not a test (pytest does not collect it). For each set-up (1, 2 and 4 workers on one
PostgreSQL, 1 worker on SQLite) it starts the workers on a fresh database and
measures *cycles*: every feed made due at once (``next_poll = now``), 30 % of the
feeds with one new item, until every feed has a ``last_poll`` in the cycle. The
first cycle is the cold one (every feed new: 20 items each to parse, store, match);
the next ones are the steady state (70 % answer 304 Not Modified). Feeds have a
one-hour interval, so nothing becomes due by itself inside a cycle; workers tick
every second, which bounds the start-up latency of a cycle.

Reports per set-up: cold cycle, mean steady cycle, feeds/s, machine CPU busy during
the steady cycles (from /proc/stat: where it reaches ~100 %, more workers cannot
help), and each worker's peak RSS (VmHWM).

    export MONITOR_TEST_POSTGRES_URL=$(bash .ci/postgres.sh | tail -1)
    PYTHONPATH=. python tests/benchmarks/bench_scale.py [--feeds 2000] [--cycles 3]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from monitor import storage
from monitor.config.load import load_config
from monitor.storage.models import FeedRow
from monitor.types import FeedSpec
from tests.conftest import REPO, default_topics
from tests.support.postgres_server import ENV_URL, fresh_database, unavailable_reason
from tests.support.scale_support import FeedFarm


@dataclass
class Result:
    label: str
    cold: float
    steady: list[float]
    cpu_busy: float
    rss_mb: list[float]
    feeds: int
    roles: dict[str, float]

    def row(self) -> str:
        # The first cycle after the cold one is slower (caches, the first 304s): it is
        # a warm-up, not the steady state, so the median is over the cycles after it.
        steady = self.steady[1:] or self.steady
        mean = statistics.median(steady)
        return (
            f"| {self.label:<22} | {self.cold:7.1f} s | {mean:7.1f} s "
            f"({min(steady):.1f}–{max(steady):.1f}; first {self.steady[0]:.1f}) | "
            f"{self.feeds / self.cold:6.0f} | {self.feeds / mean:6.0f} | "
            f"{self.cpu_busy:5.0%} | "
            + " / ".join(f"{self.roles[k]:.0%}" for k in ROLES)
            + f" | {', '.join(f'{r:.0f}' for r in self.rss_mb)} |"
        )


ROLES = ("workers", "postgres", "feed server", "other")
HEADER = (
    "| set-up | cold cycle | steady cycle: median (min–max; first after cold) "
    "| cold feeds/s | steady feeds/s "
    "| CPU busy | CPU share workers / postgres / feed server / other "
    "| peak RSS per worker (MB) |\n|---|---|---|---|---|---|---|---|"
)


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_snapshot() -> dict[int, tuple[int, str, int]]:
    """pid → (parent pid, command, CPU jiffies used so far)."""
    procs: dict[int, tuple[int, str, int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        procs[int(stat.parent.name)] = (int(rest[1]), comm, int(rest[11]) + int(rest[12]))
    return procs


def cpu_by_role(
    before: dict[int, tuple[int, str, int]],
    after: dict[int, tuple[int, str, int]],
    workers: list[int],
) -> dict[str, int]:
    """CPU jiffies used between two snapshots by role: the workers (with their parse
    processes), the PostgreSQL server, this process (the feed farm), everything else
    (other work on the machine). A process that exited in between is not counted."""
    procs = after
    tree = set(workers)
    for pid, (ppid, _, _) in sorted(procs.items()):
        if ppid in tree:
            tree.add(pid)
    roles = {"workers": 0, "postgres": 0, "feed server": 0, "other": 0}
    for pid, (_, comm, total) in procs.items():
        used = total - before[pid][2] if pid in before else total
        role = (
            "workers"
            if pid in tree
            else "postgres"
            if comm == "postgres"
            else "feed server"
            if pid == os.getpid()
            else "other"
        )
        roles[role] += used
    return roles


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_config(path: Path, database: str, farm: FeedFarm, threads: int) -> Path:
    doc = {
        "database": database,
        "alert_log": str(path.with_suffix(".alerts.jsonl")),
        "workers": threads,
        "tick": "1s",
        "http": {"allow_private_networks": True, "listen": False},
        "feeds": [
            {"name": f"farm-{n}", "url": farm.url(n), "language": "en", "interval": "1h"}
            for n in range(farm.count)
        ],
        "topics": default_topics(),
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    return path


@contextmanager
def running_workers(
    config: Path, count: int, log_dir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "monitor",
                "run",
                "-c",
                str(config),
                "--log-format",
                "json",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(log_dir / f"worker{i}.log").open("wb"),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=log_dir,
        )
        for i in range(count)
    ]
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_cycle(
    engine: Engine,
    since: datetime,
    feeds: int,
    procs: list[subprocess.Popen[bytes]],
    timeout: float = 600,
) -> None:
    deadline = time.monotonic() + timeout
    query = select(func.count()).select_from(FeedRow).where(FeedRow.last_poll >= since)
    while True:
        try:
            with engine.connect() as conn:
                if conn.execute(query).scalar_one() >= feeds:
                    return
        except OperationalError as exc:
            # The test server is shared: another suite may restart it. The workers
            # ride that out; so does the measurement (the cycle is marked).
            print(f"  database went away during the cycle: {str(exc)[:80]}", flush=True)
            time.sleep(0.5)
            continue
        if any(p.poll() is not None for p in procs):
            raise RuntimeError("a worker exited during the cycle")
        if time.monotonic() > deadline:
            raise RuntimeError("cycle timed out")
        time.sleep(0.1)


def make_due(engine: Engine, when: datetime) -> None:
    for _ in range(60):
        try:
            with engine.begin() as conn:
                conn.execute(update(FeedRow).values(next_poll=when))
            return
        except OperationalError:
            time.sleep(0.5)
    raise RuntimeError("database unavailable for 30 s")


def run_setup(
    label: str, database: str, workers: int, feeds: int, cycles: int, threads: int, work: Path
) -> Result:
    farm = FeedFarm(feeds, initial=20, matching_every=10).start()
    rng = random.Random(7)
    try:
        engine = storage.open_database(database)
        config = write_config(work / f"{label.replace(' ', '_')}.yaml", database, farm, threads)
        storage.sync_feeds(engine, load_specs(config), datetime.now(UTC))
        # All due only when the workers run: the cold cycle starts with them.
        with engine.begin() as conn:
            conn.execute(update(FeedRow).values(next_poll=datetime(2100, 1, 1, tzinfo=UTC)))
        with running_workers(config, workers, work) as procs:
            time.sleep(3.0)  # imports, migrations checked, scheduler up
            times: list[float] = []
            busy_total = [0, 0]
            roles = dict.fromkeys(ROLES, 0)
            pids = [p.pid for p in procs]
            for cycle in range(cycles + 1):
                if cycle:
                    farm.grow(rng.sample(range(feeds), k=int(feeds * 0.3)))
                since = datetime.now(UTC)
                cpu0 = cpu_times()
                snap0 = cpu_snapshot()
                started = time.monotonic()
                make_due(engine, since)
                wait_cycle(engine, since, feeds, procs)
                times.append(time.monotonic() - started)
                cpu1 = cpu_times()
                spent = cpu_by_role(snap0, cpu_snapshot(), pids)
                if cycle:
                    busy_total[0] += cpu1[0] - cpu0[0]
                    busy_total[1] += cpu1[1] - cpu0[1]
                    for k in ROLES:
                        roles[k] += spent[k]
                print(f"  {label}: cycle {cycle} {times[-1]:.1f} s", flush=True)
            rss = [peak_rss_mb(p.pid) for p in procs]
        engine.dispose()
    finally:
        farm.stop()
    used = max(1, sum(roles.values()))
    return Result(
        label,
        times[0],
        times[1:],
        busy_total[0] / max(1, busy_total[1]),
        rss,
        feeds,
        {k: v / used for k, v in roles.items()},
    )


def load_specs(config: Path) -> list[FeedSpec]:
    return load_config(config).feed_specs()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument(
        "--cycles", type=int, default=4, help="cycles after the cold one (the first: warm-up)"
    )
    parser.add_argument("--threads", type=int, default=8, help="`workers:` per process")
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results: list[Result] = []
    pg = os.environ.get(ENV_URL)
    reason = unavailable_reason(pg)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        if not args.no_sqlite:
            results.append(
                run_setup(
                    "SQLite, 1 worker",
                    f"sqlite:///{work / 'bench.db'}",
                    1,
                    args.feeds,
                    args.cycles,
                    args.threads,
                    work,
                )
            )
        if reason is not None or pg is None:
            print(f"PostgreSQL skipped: {reason}")
        else:
            for n in (int(v) for v in args.workers.split(",")):
                with fresh_database(pg) as url:
                    results.append(
                        run_setup(
                            f"PostgreSQL, {n} worker{'s' * (n > 1)}",
                            url,
                            n,
                            args.feeds,
                            args.cycles,
                            args.threads,
                            work,
                        )
                    )
    print(
        f"\n{args.feeds} feeds, 30 % with a new item per steady cycle, "
        f"{args.threads} threads per worker, {os.cpu_count()} CPUs\n"
    )
    print(HEADER)
    for r in results:
        print(r.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
