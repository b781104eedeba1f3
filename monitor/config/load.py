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
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from monitor.config import guards
from monitor.config.paths import Loc, data_loc, error_message, salvage, where
from monitor.config.schema import Config, NotifyConfig, SmtpConfig
from monitor.errors import ConfigError, ConfigProblem
from monitor.log import redact_url
from monitor.topics.spec import TopicConfig

__all__ = [
    "config_warnings",
    "default_config_path",
    "load_config",
    "load_config_checked",
    "redact_url",
    "summarize_config",
]

DEFAULT_CONFIG = Path("config/monitor.yaml")

# $${X} is a literal ${X}; ${NAME} is substituted. Anything else with $ stays as it is.
_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HTTP_URL = re.compile(r"^https?://[^/\s]+", re.IGNORECASE)
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_EMPTY_SECTIONS: dict[str, type[list[Any]] | type[dict[Any, Any]]] = {
    "feeds": list,
    "topics": list,
    "notify": list,
    "http": dict,
    "delivery": dict,
}
_POSITIVE_TERMS = ("all", "any", "near", "rules")
_CHANNEL_KINDS = ("webhook", "email", "apprise", "stdout")


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$MONITOR_CONFIG`` when set and not empty, else ``config/monitor.yaml``."""
    value = (os.environ if env is None else env).get("MONITOR_CONFIG")
    return Path(value) if value else DEFAULT_CONFIG


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
    name = str(path)
    try:
        text = guards.read_config_bytes(Path(path)).decode("utf-8")
    except guards.FileRefusedError as exc:
        raise ConfigError([ConfigProblem(name, None, str(exc))]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigProblem(name, None, f"cannot read the file: {reason}")]) from exc
    loader = _Loader(
        name,
        os.environ if env is None else env,
        delivers=delivers,
        channels=delivers if channels is None else channels,
    )
    bad = [ConfigProblem(name, line, message) for line, message in guards.unprintable(text)]
    if bad:
        raise ConfigError(bad)
    config = loader.load(text)
    config._warnings = list(loader.warnings)
    return config, loader.warnings


def config_warnings(config: Config) -> list[ConfigProblem]:
    """What `monitor check` warns about in a valid file (FILE:LINE: warning: …)."""
    return list(config._warnings)


_MAX_VALUES = 100_000


class _TooLargeError(Exception):
    """Internal: the node tree, aliases expanded, is beyond any real configuration."""


class _Loader:
    """One load: the node tree's lines, the problems found so far."""

    def __init__(
        self, file: str, env: Mapping[str, str], *, delivers: bool = True, channels: bool = True
    ) -> None:
        self.file = file
        self.env = env
        self.delivers = delivers
        self.channels = channels
        self.problems: list[ConfigProblem] = []
        self.warnings: list[ConfigProblem] = []
        self.undelivered: set[Loc] = set()
        """``notify`` entries (and ``smtp``) left out for a missing delivery variable."""
        self.lines: dict[Loc, int] = {}
        self.reported: set[Loc] = set()
        self.scalars: dict[Loc, str] = {}
        self.visits = 0

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append(ConfigProblem(self.file, line, message))

    def warn(self, line: int | None, message: str) -> None:
        """Valid, but likely a mistake: `monitor check` prints ``FILE:LINE: warning: …``."""
        self.warnings.append(ConfigProblem(self.file, line, f"warning: {message}"))

    def fail(self) -> ConfigError:
        unique = dict.fromkeys(self.problems)
        ordered = sorted(unique, key=lambda p: (p.line or 0, p.message))
        return ConfigError(ordered)

    # --- reading ---------------------------------------------------------------------

    def load(self, text: str) -> Config:
        loader = yaml.SafeLoader(text)
        try:
            root = _compose(text, loader)
            if root is None:
                self.problem(1, "the file is empty: expected a mapping with feeds:, topics: …")
                raise self.fail()
            if not isinstance(root, yaml.MappingNode):
                self.problem(
                    _line(root), f"the file must be a mapping (key: value), not {_node_kind(root)}"
                )
                raise self.fail()
            self._prepare(root, (), set(), loader)
            data = loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            what = exc.problem or exc.context or "invalid YAML"
            opened = exc.context_mark
            at_end = "stream end" in what or "end of stream" in what
            if at_end and opened is not None and line is not None and opened.line + 1 < line:
                # An unclosed [ { or quote is noticed where the file ends: the line to
                # edit is where it was opened.
                thing = (exc.context or "").removeprefix("while parsing ")
                thing = thing.removeprefix("while scanning ")
                what = f"{thing} opened here is never closed (the file ends at line {line})"
                line = opened.line + 1
            kind = "error" if isinstance(exc, yaml.constructor.ConstructorError) else "syntax error"
            self.problem(line, f"YAML {kind}: {what}")
            raise self.fail() from exc
        except RecursionError as exc:
            self.problem(None, "YAML error: nested too deeply")
            raise self.fail() from exc
        except (yaml.YAMLError, ValueError) as exc:
            # A scalar that resolves but does not construct (a date like 2026-13-45).
            self.problem(None, f"YAML error: {exc}")
            raise self.fail() from exc
        finally:
            loader.dispose()
        try:
            self._index(root, ())
        except _TooLargeError as exc:
            # Aliases of aliases ("billion laughs") would take pydantic minutes.
            self.problem(None, f"the file expands to more than {_MAX_VALUES} values")
            raise self.fail() from exc
        return self._validate(data)

    def _prepare(self, node: yaml.Node, loc: Loc, seen: set[int], loader: yaml.SafeLoader) -> None:
        """Before construction: substitute ``${NAME}``, report duplicate keys, bad dates."""
        if id(node) in seen:  # an alias: already done
            return
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR_TAG and "$" in node.value:
                node.value = self._substitute(node, loc)
            elif node.tag == _TIMESTAMP_TAG:
                try:
                    loader.construct_yaml_timestamp(node)
                except ValueError as exc:
                    self.problem(_line(node), f"{where(loc)}: not a date: {node.value!r} ({exc})")
                    self.reported.add(loc)
                    node.tag = _STR_TAG
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._prepare(item, (*loc, i), seen, loader)
        elif isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if key.tag == _MERGE_TAG:
                    self._prepare(value, loc, seen, loader)
                    continue
                label = str(key.value) if isinstance(key, yaml.ScalarNode) else "?"
                if label in first:
                    self.problem(
                        _line(key),
                        f"duplicate key {label!r} in {where(loc)} (first at line {first[label]})",
                    )
                else:
                    first[label] = _line(key)
                self._prepare(value, (*loc, label), seen, loader)

    def _substitute(self, node: yaml.ScalarNode, loc: Loc) -> str:
        value: str = node.value

        def replace(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            line = _line(node)
            if node.style in ("|", ">"):  # content starts below the indicator
                line += 1 + value.count("\n", 0, match.start())
            if not _NAME.match(name):
                self.problem(
                    line,
                    f"{where(loc)}: invalid variable reference {match.group(0)!r}"
                    " (write ${NAME}, or $${…} for a literal ${…})",
                )
            elif name not in self.env and not self.delivers and _delivery_section(loc):
                self.warn(
                    line,
                    f"{where(loc)}: environment variable {name} is not set "
                    "(needed to deliver: `monitor run`, `poll` and `deliver` refuse to start)",
                )
                self.undelivered.add(loc[:2] if loc[0] == "notify" else loc[:1])
                return match.group(0)
            elif name not in self.env:
                self.problem(line, f"{where(loc)}: environment variable {name} is not set")
            elif len(self.env[name]) > guards.MAX_VARIABLE_BYTES:
                self.problem(
                    line,
                    f"{where(loc)}: environment variable {name} holds {len(self.env[name])} "
                    f"characters, more than {guards.MAX_VARIABLE_BYTES} (is it the right one?)",
                )
            else:
                return self.env[name]
            self.reported.add(loc)
            return match.group(0)

        return _VARIABLE.sub(replace, value)

    def _index(self, node: yaml.Node, loc: Loc) -> None:
        """Record the line of every key and list item; runs after merges were flattened."""
        self.visits += 1
        if self.visits > _MAX_VALUES:
            raise _TooLargeError
        if loc not in self.lines:
            self.lines[loc] = _line(node)
        if isinstance(node, yaml.ScalarNode):
            self.scalars[loc] = str(node.value)
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*loc, i))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*loc, str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
                # The key's line: a block value (a list under `feeds:`) starts below it.
                self.lines[sub] = _line(key)
                self._index(value, sub)

    def line_of(self, loc: Loc) -> int | None:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

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
        if config is not None and config.notify and self.channels:
            self._check_channels(config)
        if self.problems or config is None:
            raise self.fail()
        if config.feeds and not any(f.enabled for f in config.feeds):
            self.warn(self.line_of(("feeds",)), "no feed is enabled: nothing is polled")
        elif not config.feeds:
            self.warn(None, "no feeds: nothing is polled")
        for line, message in guards.term_warnings(data, self.line_of):
            self.warn(line, message)
        return config

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
            for channel in build_channels(config.notify, config.smtp):
                channel.close()
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
        # A topic with a shape problem (an unknown key, a number for a term) is checked
        # without the refused values, so its other problems show in the same run.
        salvaged = salvage(TopicConfig, topic, {"id": "salvaged"})
        if salvaged is None:
            return
        # The engine is heavy and imports this module's neighbours: imported late.
        from monitor.topics import check_topic

        for sub, message in check_topic(salvaged.model):
            original = salvaged.original(sub)
            at = (*loc, *original)
            if salvaged.affected(original) or any(at[: len(r)] == r for r in self.reported):
                continue  # the hole a refused value left, or a value reported already
            self.problem(self.line_of(at), f"{where(at)}: {message}")


def _compose(text: str, loader: yaml.SafeLoader) -> yaml.Node | None:
    """The node tree of ``text``: parsed by libyaml when PyYAML has it (a tenth of the
    pure-Python parser's time, ~40 ms of every command's start), else by ``loader``.
    A file libyaml refuses is parsed again by ``loader``, whose messages and marks are
    the ones reported."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        parser = fast(text)
        try:
            node: yaml.Node | None = parser.get_single_node()
            return node
        except yaml.YAMLError:
            pass
        finally:
            parser.dispose()
    return loader.get_single_node()


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


def _delivery_section(loc: Loc) -> bool:
    """Whether a value belongs to what only delivery needs (a channel, the mail server)."""
    return bool(loc) and loc[0] in ("notify", "smtp")


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the value {str(node.value)[:40]!r}"


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
