"""YAML file → validated :class:`~monitor.config.schema.Config`, every problem at FILE:LINE.

Reads the file, substitutes ``${NAME}`` from the environment, validates with the
pydantic models of :mod:`monitor.config.schema` and with the checks that span entries
(unique names, notify topics that exist, topics that
have terms, terms that compile — on the part of a topic that validates, so they show
beside its shape problems), and maps each problem to the line an operator must edit.
Either a whole ``Config`` or a :class:`~monitor.errors.ConfigError` listing every
problem found — never the first only. Paths and messages of pydantic's errors are
:mod:`monitor.config.paths`'s job.

It does not apply the configuration (no database, no network), and relative paths
stay as written: they are relative to the current directory, resolved by their users.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from monitor.config import guards
from monitor.config.paths import Salvaged, data_loc, error_message, salvage
from monitor.config.schema import Config, NotifyConfig, SmtpConfig
from monitor.config.source import (
    ConfigReader,
    Loc,
    default_config_path,
    read_config_text,
    where,
)
from monitor.errors import ConfigProblem
from monitor.log import redact_url
from monitor.topics.spec import TopicConfig

if TYPE_CHECKING:
    from monitor.topics.rules import Problem

__all__ = [
    "config_warnings",
    "default_config_path",
    "load_config",
    "load_config_checked",
    "redact_url",
    "summarize_config",
]

_HTTP_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
_EMPTY_SECTIONS: dict[str, type[list[Any]] | type[dict[Any, Any]]] = {
    "feeds": list,
    "topics": list,
    "notify": list,
    "http": dict,
    "delivery": dict,
}
_POSITIVE_TERMS = ("all", "any", "near", "rules")
_CHANNEL_KINDS = ("webhook", "email", "apprise", "stdout")


def load_config(
    path: str | Path, *, env: Mapping[str, str] | None = None, delivers: bool = True
) -> Config:
    """Read, substitute, validate. Raises :class:`ConfigError` with every problem."""
    return load_config_checked(path, env=env, delivers=delivers)[0]


def load_config_checked(
    path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    delivers: bool = True,
    channels: bool | None = None,
) -> tuple[Config, list[ConfigProblem]]:
    """:func:`load_config`, and the warnings: what works but is likely a mistake.

    ``delivers=False`` is for the commands that send nothing (``alerts``, ``feeds``,
    ``match``, ``check``): an environment variable missing under ``notify:`` or
    ``smtp:`` (a delivery secret kept out of their environment) is then a warning and
    that channel is left out, instead of an error.

    ``channels``: build the ``notify`` channels as `monitor run` will, so one it would
    refuse (an Apprise URL no service takes, a template with a syntax error) is a
    problem at its line. Default: when the command ``delivers``; `monitor check` asks
    for it too. A command that only reads the database skips it, and with it the
    import of httpx, Apprise and Jinja2.
    """
    text = read_config_text(path)
    loader = _Loader(
        str(path),
        os.environ if env is None else env,
        delivers=delivers,
        channels=delivers if channels is None else channels,
    )
    config = loader.load(text)
    config._warnings = list(loader.warnings)
    return config, loader.warnings


def config_warnings(config: Config) -> list[ConfigProblem]:
    """What `monitor check` warns about in a valid file (FILE:LINE: warning: …)."""
    return list(config._warnings)


class _Loader(ConfigReader):
    """One load: the file read (:class:`ConfigReader`), then validated."""

    def __init__(
        self, file: str, env: Mapping[str, str], *, delivers: bool = True, channels: bool = True
    ) -> None:
        super().__init__(file, env, delivers=delivers)
        self.channels = channels

    def load(self, text: str) -> Config:
        return self._validate(self.read(text))

    # --- validating ------------------------------------------------------------------

    def _validate(self, data: dict[Any, Any]) -> Config:
        # `notify:` with every channel commented out means "none", not "null".
        for key, empty in _EMPTY_SECTIONS.items():
            if key in data and data[key] is None:
                data[key] = empty()
        if self.undelivered:
            self._leave_out_undelivered(data)
        self._check_cross(data)
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            self._report_pydantic(exc, data)
            config = None
        self._check_topic_terms(data, config)
        if config is not None and config.notify and self.channels:
            self._check_channels(config)
        if self.problems or config is None:
            if config is not None:
                for channel in config.take_channels() or ():
                    channel.close()
            raise self.fail()
        if config.feeds and not any(f.enabled for f in config.feeds):
            self.warn(self.line_of(("feeds",)), "no feed is enabled: nothing is polled")
        elif not config.feeds:
            self.warn(None, "no feeds: nothing is polled")
        for line, message in guards.term_warnings(data, self.line_of):
            self.warn(line, message)
        self._check_lease(config)
        config._topics_checked = True  # compiling them need not check them again
        return config

    def _check_lease(self, config: Config) -> None:
        """A feed's lease must outlast its slowest poll (:class:`LeaseConfig`): else a poll
        that long is taken over by another worker and the feed polled twice at once."""
        slowest = config.http.timeout + config.parse_timeout
        if config.lease.feeds > slowest:
            return
        given = [loc for loc in _POLL_BOUNDS if loc in self.lines]
        self.warn(
            self.line_of(given[0]) if given else None,
            f"lease.feeds ({_duration(config.lease.feeds)}) is not longer than the slowest "
            f"poll of a feed, http.timeout + parse_timeout ({_duration(slowest)}): a feed "
            "polled that long is taken over by another worker and polled twice",
        )

    def _leave_out_undelivered(self, data: dict[Any, Any]) -> None:
        """Drop the channels (and ``smtp:``) whose delivery variables are missing, for
        a command that delivers nothing. Line numbers stay those of the file."""
        if ("smtp",) in self.undelivered:
            data.pop("smtp", None)
        notify = data.get("notify")
        if isinstance(notify, list):
            gone = {loc[1] for loc in self.undelivered if loc[0] == "notify" and len(loc) > 1}
            data["notify"] = [e for i, e in enumerate(notify) if i not in gone]

    def _check_channels(self, config: Config) -> None:
        """Build the channels as `monitor run` will (nothing is contacted), so a channel
        it would refuse (an Apprise URL no service takes, an address that is not one)
        is refused here, at its entry's line."""
        from monitor.alerts.base import ChannelConfigError, build_channels
        from monitor.alerts.templates import TemplateError, load_renderer

        # A template's own mistakes are reported at the template's line, not the entry's.
        bad_templates: set[str] = set()
        for position, entry in enumerate(config.notify):
            if not entry.template:
                continue
            try:
                load_renderer(entry.template, html=entry.kind == "email")
            except TemplateError as exc:
                file, _, rest = str(exc).partition(":")
                number, _, message = rest.partition(": ")
                line = int(number) if number.isdigit() else None
                if line is None:
                    message = f"notify[{position}].template: {file}: {rest.strip()}"
                    file = self.file
                    line = self.line_of(("notify", position, "template"))
                self.problems.append(ConfigProblem(file, line, message))
                bad_templates.add(f"notify[{position}]")
        try:
            # kept for the app that runs this configuration: built once, not again there
            config.hold_channels(build_channels(config.notify, config.smtp))
        except ChannelConfigError as exc:
            reported = {p.message.partition(":")[0].partition(".")[0] for p in self.problems}
            reported |= bad_templates
            for problem in exc.problems:
                if f"notify[{problem.index}]" in reported:
                    continue  # that entry's problem was reported already, in other words
                self.problem(self.line_of(("notify", problem.index)), str(problem))

    def _report_pydantic(self, exc: ValidationError, data: Any) -> None:
        # Errors of one value (one per member of a union) become one problem.
        messages: dict[tuple[Loc, Loc], list[str]] = {}
        for error in exc.errors(include_url=False):
            kind = error["type"]
            loc = data_loc(data, tuple(error["loc"]), kind == "missing")
            if kind != "extra_forbidden" and any(loc[: len(r)] == r for r in self.reported):
                continue  # a follow-up of a bad value reported already (a missing variable)
            # A missing key is found at its mapping; an unknown key at itself.
            shown = loc[:-1] if kind in ("missing", "extra_forbidden") else loc
            at = loc[:-1] if kind == "missing" else loc
            text = error_message(error, loc)
            if kind == "string_type" and isinstance(error.get("input"), bool):
                # YAML 1.1 reads yes/no/on/off as booleans: `name: off` is not a name.
                text += f"; write {self.scalars.get(loc, '')!r} in quotes to mean the text"
            messages.setdefault((shown, at), []).append(text)
        for (shown, at), texts in messages.items():
            self.problem(self.line_of(at), f"{where(shown)}: {' or '.join(dict.fromkeys(texts))}")

    def _check_cross(self, data: dict[Any, Any]) -> None:
        """Checks across entries, on the raw data so they run even when pydantic fails."""
        self._check_unique(data.get("feeds"), "feeds", "name", "feed name")
        topic_ids = self._check_unique(data.get("topics"), "topics", "id", "topic id")
        for i, topic in _entries(data.get("topics")):
            self._check_topic(topic, ("topics", i))
        for i, channel in _entries(data.get("notify")):
            loc: Loc = ("notify", i)
            kinds = [k for k in _CHANNEL_KINDS if channel.get(k) not in (None, False)]
            if len(kinds) != 1:
                got = ", ".join(kinds) if kinds else "none"
                self.problem(
                    self.line_of(loc),
                    f"{where(loc)}: a notify entry needs exactly "
                    f"one of {', '.join(_CHANNEL_KINDS)} (got {got})",
                )
            for kind in kinds:
                self._check_target(channel[kind], (*loc, kind), kind)
            wanted = channel.get("topics")
            for j, topic_id in enumerate(wanted if isinstance(wanted, list) else []):
                if isinstance(topic_id, str) and topic_id not in topic_ids:
                    at = (*loc, "topics", j)
                    self.problem(
                        self.line_of(at),
                        f"{where(at)}: unknown topic id "
                        f"{topic_id!r} (topics: {', '.join(topic_ids) or 'none'})",
                    )

    def _check_target(self, target: Any, loc: Loc, kind: str) -> None:
        if loc in self.reported:
            return  # its missing variable is the problem
        if isinstance(target, str) and not target.strip():
            # Typically `webhook: ${URL}` with URL set but empty.
            self.problem(self.line_of(loc), f"{where(loc)}: empty {kind} target")
        elif kind == "webhook" and not _HTTP_URL.match(str(target)):
            self.problem(
                self.line_of(loc),
                f"{where(loc)}: webhook must be an http(s) URL, not {redact_url(str(target))!r}",
            )

    def _check_unique(self, entries: Any, section: str, key: str, what: str) -> list[str]:
        first: dict[str, int | None] = {}
        for i, entry in _entries(entries):
            value = entry.get(key)
            if not isinstance(value, str):
                continue
            loc: Loc = (section, i, key)
            if value in first:
                self.problem(
                    self.line_of(loc),
                    f"{where(loc)}: duplicate {what} {value!r} (first at line {first[value]})",
                )
            else:
                first[value] = self.line_of(loc)
        return list(first)

    def _check_topic(self, topic: dict[Any, Any], loc: Loc) -> None:
        if not any(topic.get(k) for k in _POSITIVE_TERMS):
            self.problem(
                self.line_of(loc),
                f"{where(loc)}: topic has no terms (give all, any, near or rules)",
            )
        for i, rule in _entries(topic.get("rules")):
            if not any(rule.get(k) for k in ("all", "any", "near")):
                at = (*loc, "rules", i)
                self.problem(
                    self.line_of(at),
                    f"{where(at)}: rule has no terms (give all, any or near)",
                )
        for group_loc, group in _groups(topic, loc):
            if isinstance(group, list) and not group:
                self.problem(self.line_of(group_loc), f"{where(group_loc)}: empty group")

    def _check_topic_terms(self, data: dict[Any, Any], config: Config | None) -> None:
        """The engine's check of every topic (:func:`monitor.topics.check_topic`: terms
        that compile, windows, fields …), once a topic: on the validated configuration's
        own models, which compiling then need not check again (``topics_checked``)."""
        # The engine is heavy and imports this module's neighbours: imported late.
        from monitor.topics import check_topic

        if config is not None:
            for i, model in enumerate(config.topics):
                self._report_topic(check_topic(model), ("topics", i), None)
            return
        # A topic with a shape problem (an unknown key, a number for a term), or in a
        # file with problems elsewhere, is checked without the refused values, so its
        # other problems show in the same run.
        for i, topic in _entries(data.get("topics")):
            salvaged = salvage(TopicConfig, topic, {"id": "salvaged"})
            if salvaged is not None:
                self._report_topic(check_topic(salvaged.model), ("topics", i), salvaged)

    def _report_topic(
        self, problems: list[Problem], loc: Loc, salvaged: Salvaged[TopicConfig] | None
    ) -> None:
        for sub, message in problems:
            original = salvaged.original(sub) if salvaged is not None else sub
            at = (*loc, *original)
            if salvaged is not None and salvaged.affected(original):
                continue  # the hole a refused value left
            if any(at[: len(r)] == r for r in self.reported):
                continue  # a value reported already
            self.problem(self.line_of(at), f"{where(at)}: {message}")


def _entries(value: Any) -> Iterator[tuple[int, dict[Any, Any]]]:
    if isinstance(value, list):
        for i, entry in enumerate(value):
            if isinstance(entry, dict):
                yield i, entry


def _groups(topic: dict[Any, Any], loc: Loc) -> Iterator[tuple[Loc, Any]]:
    blocks: list[tuple[Loc, dict[Any, Any]]] = [(loc, topic)]
    blocks += [((*loc, "rules", i), rule) for i, rule in _entries(topic.get("rules"))]
    for block_loc, block in blocks:
        groups = block.get("all")
        for j, group in enumerate(groups if isinstance(groups, list) else []):
            yield (*block_loc, "all", j), group


# --- summary -------------------------------------------------------------------------


def summarize_config(config: Config, path: str | Path) -> str:
    """The paragraph `monitor check` prints for a valid file; no secret in it."""
    enabled = sum(1 for f in config.feeds if f.enabled)
    topics = ", ".join(t.id for t in config.topics) or "none"
    smtp = config.smtp or SmtpConfig()
    via = f" via {smtp.host}:{smtp.port}" + ("" if config.smtp else " (no smtp: section)")
    from monitor.alerts.naming import channel_names

    channels = [
        f"{n.name}: " + _describe_channel(c) + (via if c.kind == "email" else "")
        for c, n in zip(config.notify, channel_names(config.notify), strict=True)
    ]
    parts = [
        f"{path}: database {redact_url(config.database)}",
        f"alert log {config.alert_log}",
        f"{len(config.feeds)} feed{'s' if len(config.feeds) != 1 else ''} ({enabled} enabled)",
        f"{len(config.topics)} topic{'s' if len(config.topics) != 1 else ''} ({topics})",
        (
            f"{len(channels)} notify channel{'s' if len(channels) != 1 else ''} "
            f"({'; '.join(channels)})"
        )
        if channels
        else "no notify channels (alert log only)",
        f"console and health/metrics on {config.http.listen}"
        if config.http.listen
        else "console and health/metrics off",
    ]
    return ", ".join(parts) + "."


def _describe_channel(channel: NotifyConfig) -> str:
    kind = channel.kind
    if kind == "webhook":
        target = redact_url(channel.webhook or "") + (" signed" if channel.secret else "")
    elif kind == "apprise":
        target = redact_url(channel.apprise or "")
    elif kind == "email":
        target = ", ".join(channel.email) if isinstance(channel.email, list) else str(channel.email)
    else:
        target = ""
    text = f"{kind} {target}".strip()
    if channel.topics is not None:
        text += f" for {', '.join(channel.topics) or 'no topics'}"
    if channel.digest:
        text += f", digest {channel.digest}"
    if channel.rate:
        text += f", rate {channel.rate}"
    if channel.template:
        text += f", template {channel.template}"
    return text


_POLL_BOUNDS: tuple[Loc, ...] = (("parse_timeout",), ("lease", "feeds"), ("http", "timeout"))
"""Where a lease too short for a poll is reported: the first of these the file sets."""


def _duration(value: timedelta) -> str:
    """``value`` as the file writes it: 6m30s, 5m, 40s (whole seconds)."""
    seconds = int(value.total_seconds())
    parts = [(seconds // 3600, "h"), (seconds // 60 % 60, "m"), (seconds % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"
