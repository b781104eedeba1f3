"""The stdout channel: one JSON line per alert on standard output, for containers.

Standard output is looked up at each send (so redirection and test capture work);
the process's log lines go to stderr, never here.
"""

from __future__ import annotations

import json
import sys

from monitor.errors import DeliveryError
from monitor.types import Alert


class StdoutChannel:
    """Prints ``Alert.to_json()`` as one line and flushes."""

    def __init__(self, name: str = "stdout", *, topics: frozenset[str] | None = None) -> None:
        self.name = name
        self.topics = topics

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        line = json.dumps(alert.to_json(), ensure_ascii=False) + "\n"
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (OSError, ValueError) as exc:  # broken pipe, closed stream
            raise DeliveryError(f"stdout: {type(exc).__name__}", retryable=True) from exc

    def close(self) -> None:
        """Standard output is not ours to close."""
