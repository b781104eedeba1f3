"""Running `monitor run` as a real subprocess, and feeds a test changes under it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import REPO, read_alert_log
from tests.support.feedgen import OTHER_EN, Item, rss


class LiveFeed:
    """A feed whose items the test changes while the daemon polls it."""

    def __init__(self, server: HTTPServer, path: str) -> None:
        self.items: list[Item] = [OTHER_EN]
        self.delay = 0.0
        self.url = server.url_for(path)
        server.expect_request(path).respond_with_handler(self._handle)

    def _handle(self, _request: Request) -> Response:
        if self.delay:
            time.sleep(self.delay)
        return Response(rss(self.items), content_type="application/rss+xml")


class Daemon:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.stderr_path = config.with_suffix(".stderr")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "-c", str(config), "--log-format", "json"],
            stdout=subprocess.DEVNULL,
            stderr=self.stderr_path.open("wb"),
            env={**os.environ, "PYTHONPATH": str(REPO)},
            cwd=config.parent,
        )

    def logs(self) -> list[dict[str, object]]:
        lines = []
        for line in self.stderr_path.read_text("utf-8", "replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if predicate():
                return time.monotonic() - start
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) waiting for {what}:"
                    f"\n{self.stderr_path.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}:\n{self.stderr_path.read_text()[-3000:]}"
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


def topics_of(log: Path) -> list[str]:
    return [a["topic"] for a in read_alert_log(log)]
