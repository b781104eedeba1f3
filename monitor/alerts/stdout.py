"""The stdout channel: one JSON line per alert on standard output, for containers.

Standard output is looked up at each send (so redirection and test capture work);
the process's log lines go to stderr, never here.
"""

from __future__ import annotations

import json
import sys

from monitor.alerts.batch import Batch
from monitor.alerts.templates import Renderer
from monitor.errors import DeliveryError
from monitor.types import Alert


class StdoutChannel:
    """Prints ``Alert.to_json()`` (or the template's text) and flushes."""

    def __init__(
        self,
        name: str = "stdout",
        *,
        topics: frozenset[str] | None = None,
        key: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        self.name = name
        self.key = key or name
        self.topics = topics
        self.renderer = renderer or Renderer()

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        text = self.renderer.render_alert(alert)
        self._write(text if text is not None else json.dumps(alert.to_json(), ensure_ascii=False))

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None:
        text = self.renderer.render_batch(batch)
        event = {"type": f"alert.{batch.kind}", **batch.to_json()}
        self._write(text if text is not None else json.dumps(event, ensure_ascii=False))

    def _write(self, text: str) -> None:
        line = text.rstrip("\n") + "\n"
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (OSError, ValueError) as exc:  # broken pipe, closed stream
            raise DeliveryError(f"stdout: {type(exc).__name__}", retryable=True) from exc

    def close(self) -> None:
        """Standard output is not ours to close."""
