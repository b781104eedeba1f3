"""Operator templates for a channel's messages (``notify[].template: FILE``, Jinja2).

A template is loaded once, when the channels are built; a syntax error is a
:class:`TemplateError` saying ``FILE:LINE: message`` (what `monitor check` prints).
Templates run in Jinja2's sandbox, with autoescaping where the channel is HTML
(e-mail), on a documented context:

- ``alert``: the alert as in `monitor alerts --json` (a dict), or None in a batch;
- ``story``: ``{"title", "url", "topic", "topic_name", "first_reported_by",
  "detected_at"}``;
- ``outlets``: ``[{"outlet", "kind", "country", "feed", "at"}]``, the outlets that
  carried the story, first first (as in the alert's JSON; empty for a surge);
- ``evidence``: ``[{"term", "field", "offset", "snippet"}]``;
- ``batch``: for a digest or an "N more alerts" message, ``{"kind", "count",
  "period_start", "period_end", "topics": [{"name", "stories": [{"alert", "story",
  "outlets", "evidence"}]}]}``, else None.

A template that fails while rendering one message (a bad filter on odd data) does not
lose the alert: :meth:`Renderer.render` returns None and the channel sends its default
rendering. Sending is the channels' job.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.log import get_logger
from monitor.types import Alert, format_time

if TYPE_CHECKING:
    import jinja2

    from monitor.alerts.batch import Batch

log = get_logger("monitor.alerts.templates")

MAX_TEMPLATE_BYTES = 256 * 1024
MAX_OUTPUT = 1_000_000
"""Characters of one rendered message; longer output is cut."""


class TemplateError(ValueError):
    """A template that cannot be used; the message is ``FILE:LINE: reason``."""


def story_context(alert: Alert) -> dict[str, Any]:
    """``alert``, ``story``, ``outlets`` and ``evidence`` of one alert."""
    data = alert.to_json()
    outlets = data["outlets"]
    return {
        "alert": data,
        "story": {
            "title": alert.title,
            "url": alert.url,
            "topic": alert.topic,
            "topic_name": alert.topic_name or alert.topic,
            "first_reported_by": data["first_reported_by"],
            "detected_at": format_time(alert.detected_at),
        },
        "outlets": outlets,
        "evidence": data["evidence"],
    }


def batch_context(batch: Batch) -> dict[str, Any]:
    return {
        "alert": None,
        "story": None,
        "outlets": [],
        "evidence": [],
        "batch": {
            "kind": str(batch.kind),
            "count": len(batch.alerts),
            "period_start": format_time(batch.start),
            "period_end": format_time(batch.end),
            "topics": [
                {"name": label, "stories": [story_context(a) for a in alerts]}
                for label, alerts in batch.by_topic()
            ],
        },
    }


class Renderer:
    """A channel's template, or none (then every ``render`` is None)."""

    def __init__(self, template: jinja2.Template | None = None, path: str = "") -> None:
        self._template = template
        self.path = path

    def __bool__(self) -> bool:
        return self._template is not None

    def render_alert(self, alert: Alert) -> str | None:
        return self._render({**story_context(alert), "batch": None})

    def render_batch(self, batch: Batch) -> str | None:
        return self._render(batch_context(batch))

    def _render(self, context: dict[str, Any]) -> str | None:
        if self._template is None:
            return None
        try:
            text = self._template.render(context)
        except Exception as exc:  # the operator's template, on untrusted data
            log.warning("template_failed", template=self.path, error=str(exc)[:300])
            return None
        return text[:MAX_OUTPUT]


def load_renderer(path: str | None, *, html: bool, base: Path | None = None) -> Renderer:
    """The compiled template at ``path`` (relative to ``base``), or an empty Renderer."""
    if not path:
        return Renderer()
    file = Path(path) if base is None or Path(path).is_absolute() else base / path
    try:
        data = file.read_bytes()[: MAX_TEMPLATE_BYTES + 1]
    except OSError as exc:
        raise TemplateError(f"{path}: cannot read the template: {exc.strerror}") from None
    if len(data) > MAX_TEMPLATE_BYTES:
        raise TemplateError(f"{path}: template larger than {MAX_TEMPLATE_BYTES} bytes")
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: the template is not UTF-8") from None
    # Jinja2 is for operators' templates only: a monitor without one never loads it.
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        autoescape=html,
        undefined=jinja2.ChainableUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from None
    return Renderer(template, path)
