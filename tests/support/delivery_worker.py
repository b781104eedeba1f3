"""A delivery worker on a stepped clock, run as a real subprocess by the digest tests.

``python -m tests.support.delivery_worker CONFIG CLOCK_FILE``: builds the app from
CONFIG exactly as `monitor run` does and runs delivery rounds until killed, reading
"now" (ISO 8601) from CLOCK_FILE before each one, so a test can move time forward by
hours without waiting and SIGKILL the worker at any moment. Prints ``ready`` once.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path

from monitor.config.load import load_config
from monitor.service.app import build_app


def main(config_path: str, clock_path: str) -> None:
    clock = Path(clock_path)

    def now() -> datetime:
        return datetime.fromisoformat(clock.read_text().strip())

    app = build_app(load_config(config_path))
    app.now = now
    print("ready", flush=True)
    while True:
        app.deliver(due_only=True, wait=True)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
