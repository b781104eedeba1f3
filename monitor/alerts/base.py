"""What an alert channel is, and building channels from config.

A channel sends one alert, once per call, and says how it failed with
:class:`~monitor.errors.DeliveryError`. Retrying, claiming and recording deliveries is
the outbox's job; the always-on alert log is built by the caller from ``alert_log``.
Which channels an alert goes to is decided where its outbox rows are written
(:mod:`monitor.storage.story_alerts`: a channel's ``topics``, operator alerts everywhere).
A bad ``notify`` entry is reported as a :class:`ChannelProblem` (index, message), so the
configuration loader can point at its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from monitor.alerts.naming import channel_names
from monitor.alerts.templates import TemplateError, load_renderer
from monitor.config.schema import NotifyConfig, SmtpConfig

if TYPE_CHECKING:
    from monitor.alerts.batch import Batch
    from monitor.types import Alert

_KINDS = ("webhook", "email", "apprise", "stdout")
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")


@runtime_checkable
class Channel(Protocol):
    """One place alerts go. ``send`` raises DeliveryError on failure, nothing else."""

    name: str
    """Readable: logs, metrics, operator alerts (:mod:`monitor.alerts.naming`)."""
    key: str
    """Stable: the outbox rows and idempotency ids of this channel."""
    topics: frozenset[str] | None

    def send(self, alert: Alert, *, delivery_id: str) -> None: ...

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelProblem:
    """Why one ``notify`` entry cannot become a channel: its index, and what is wrong."""

    index: int
    message: str

    def __str__(self) -> str:
        return f"notify[{self.index}]: {self.message}"


class ChannelConfigError(ValueError):
    """Every :class:`ChannelProblem` found; its text lists them one a line."""

    def __init__(self, problems: Sequence[ChannelProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def build_channels(
    notify: Sequence[NotifyConfig], smtp: SmtpConfig | None, *, base_dir: Path | None = None
) -> list[Channel]:
    """One channel per ``notify`` entry; :class:`ChannelConfigError` with every problem.

    Nothing is contacted: a channel that cannot reach its service fails on ``send``.
    A template's path is relative to ``base_dir`` (default: the current directory);
    its syntax errors are reported as ``FILE:LINE: message``.
    """
    problems: list[ChannelProblem] = []
    channels: list[Channel] = []
    seen: dict[str, int] = {}
    targets: dict[str, int] = {}
    names = channel_names(notify)
    for index, entry in enumerate(notify):

        def problem(message: str, index: int = index) -> None:
            problems.append(ChannelProblem(index, message))

        kinds = [k for k in _KINDS if getattr(entry, k) not in (None, False)]
        if len(kinds) != 1:
            given = ", ".join(kinds) or "none"
            problem(f"give exactly one of {', '.join(_KINDS)} (given: {given})")
            continue
        kind = kinds[0]
        name, key = names[index].name, names[index].key
        if name in seen:
            problem(f"the name {name!r} is taken by notify[{seen[name]}]")
            continue
        seen[name] = index
        base_key = key.partition("#")[0]
        if base_key in targets and not entry.name and not notify[targets[base_key]].name:
            problem(
                f"same channel as notify[{targets[base_key]}] ({name}); "
                "give one of them a distinct `name`"
            )
            continue
        targets.setdefault(base_key, index)
        if entry.topics is not None and not entry.topics:
            problem("`topics` is empty; leave it out to route every topic")
            continue
        if entry.secret is not None and kind != "webhook":
            problem("`secret` only applies to a webhook")
            continue
        topics = frozenset(entry.topics) if entry.topics is not None else None
        try:
            renderer = load_renderer(entry.template, html=kind == "email", base=base_dir)
            # Each kind's module is imported when an entry needs it: a monitor with
            # webhooks only never loads Apprise (~60 ms and ~10 MiB), one with the alert
            # log only loads neither httpx nor smtplib for its channels.
            if kind == "webhook":
                from monitor.alerts.webhook import WebhookChannel

                assert entry.webhook is not None
                channels.append(
                    WebhookChannel(
                        name,
                        entry.webhook,
                        secret=entry.secret,
                        topics=topics,
                        timeout=entry.timeout,
                        key=key,
                        renderer=renderer,
                    )
                )
            elif kind == "email":
                from monitor.alerts.mail import EmailChannel

                raw = entry.email
                recipients = [raw] if isinstance(raw, str) else list(raw or [])
                bad = [r for r in recipients if not _ADDRESS.match(r.strip())]
                if not recipients or bad:
                    raise ValueError(f"not an e-mail address: {', '.join(map(repr, bad))}")
                # Without an `smtp:` section, the defaults: a mail server on this host.
                server = smtp or SmtpConfig()
                channels.append(
                    EmailChannel(
                        name,
                        [r.strip() for r in recipients],
                        server,
                        topics=topics,
                        key=key,
                        renderer=renderer,
                    )
                )
            elif kind == "apprise":
                from monitor.alerts.apprise_channel import AppriseChannel

                assert entry.apprise is not None
                channels.append(
                    AppriseChannel(name, entry.apprise, topics=topics, key=key, renderer=renderer)
                )
            else:
                from monitor.alerts.stdout import StdoutChannel

                channels.append(StdoutChannel(name, topics=topics, key=key, renderer=renderer))
        except TemplateError as exc:
            problem(str(exc))
        except ValueError as exc:
            problem(str(exc))
    if problems:
        for channel in channels:
            channel.close()
        raise ChannelConfigError(problems)
    return channels
