"""The configuration file read: YAML → plain data, ``${NAME}`` substituted, the line of
every key and list item recorded, every problem of reading at FILE:LINE.

Both :mod:`monitor.config.load` (which validates the whole file) and
:mod:`monitor.config.outline` (the few values the commands that list stored alerts
need) start from here. It validates nothing: no pydantic is imported here, so a command
that needs only a few values pays for neither pydantic nor the configuration's models.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from monitor.config import guards
from monitor.errors import ConfigError, ConfigProblem

__all__ = [
    "DEFAULT_CONFIG",
    "ConfigReader",
    "Loc",
    "default_config_path",
    "node_line",
    "read_config_text",
    "where",
]

Loc = tuple[str | int, ...]
DEFAULT_CONFIG = Path("config/monitor.yaml")

# $${X} is a literal ${X}; ${NAME} is substituted. Anything else with $ stays as it is.
_VARIABLE = re.compile(r"\$(\$?)\{([^}]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """``$MONITOR_CONFIG`` when set and not empty, else ``config/monitor.yaml``."""
    value = (os.environ if env is None else env).get("MONITOR_CONFIG")
    return Path(value) if value else DEFAULT_CONFIG


def where(loc: Loc) -> str:
    """``feeds[2].url`` — the path an operator can find in the file."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "top level"


def read_config_text(path: str | Path) -> str:
    """The file's text, or :class:`ConfigError` saying why it cannot be read."""
    name = str(path)
    try:
        return guards.read_config_bytes(Path(path)).decode("utf-8")
    except guards.FileRefusedError as exc:
        raise ConfigError([ConfigProblem(name, None, str(exc))]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError([ConfigProblem(name, None, f"cannot read the file: {reason}")]) from exc


_MAX_VALUES = 100_000


class _TooLargeError(Exception):
    """Internal: the node tree, aliases expanded, is beyond any real configuration."""


class ConfigReader:
    """One reading of a file: the node tree's lines, the problems found so far.

    ``delivers=False`` (a command that sends nothing): a variable missing under
    ``notify:`` or ``smtp:`` is a warning, and the entry is recorded in ``undelivered``.
    """

    def __init__(self, file: str, env: Mapping[str, str], *, delivers: bool = True) -> None:
        self.file = file
        self.env = env
        self.delivers = delivers
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

    def read(self, text: str) -> dict[Any, Any]:
        """The file's data (a mapping), or :class:`ConfigError` with every problem found."""
        if bad := list(guards.unprintable(text)):
            self.problems += [ConfigProblem(self.file, line, message) for line, message in bad]
            raise self.fail()
        loader = yaml.SafeLoader(text)
        try:
            root = _compose(text, loader)
            if root is None:
                self.problem(1, "the file is empty: expected a mapping with feeds:, topics: …")
                raise self.fail()
            if not isinstance(root, yaml.MappingNode):
                self.problem(
                    node_line(root),
                    f"the file must be a mapping (key: value), not {_node_kind(root)}",
                )
                raise self.fail()
            self._prepare(root, (), set(), loader)
            data = loader.construct_document(root)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            what = exc.problem or exc.context or "invalid YAML"
            if exc.problem_mark is not None and "\t" in text:
                at = exc.problem_mark
                what = guards.tab_message(text, at.line + 1, at.column) or what
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
        except RecursionError as exc:
            # an alias inside the value it names (``a: &a [1, *a]``), or aliases of
            # aliases some thousand deep: pydantic would recurse without end as well
            self.problem(None, "YAML error: nested too deeply")
            raise self.fail() from exc
        return data  # type: ignore[no-any-return]

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
                    self.problem(
                        node_line(node), f"{where(loc)}: not a date: {node.value!r} ({exc})"
                    )
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
                        node_line(key),
                        f"duplicate key {label!r} in {where(loc)} (first at line {first[label]})",
                    )
                else:
                    first[label] = node_line(key)
                self._prepare(value, (*loc, label), seen, loader)

    def _substitute(self, node: yaml.ScalarNode, loc: Loc) -> str:
        value: str = node.value

        def replace(match: re.Match[str]) -> str:
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            line = node_line(node)
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
            self.lines[loc] = node_line(node)
        if isinstance(node, yaml.ScalarNode):
            self.scalars[loc] = str(node.value)
        if isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*loc, i))
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*loc, str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
                # The key's line: a block value (a list under `feeds:`) starts below it.
                self.lines[sub] = node_line(key)
                self._index(value, sub)

    def line_of(self, loc: Loc) -> int | None:
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None


# Text that libyaml and PyYAML's own parser read differently. A tab: libyaml takes it
# as a separator (``key:<TAB>value``, before a comment, inside [ ]), the pure parser
# refuses it. A tag followed by ``,`` ``[`` or ``]``: the pure parser takes them into
# the tag (``[!!str, x]`` names a tag that does not exist), libyaml ends it. A ``?``
# inside [ ] or { }: the pure parser ends a plain scalar there (``[a?b]`` is refused),
# libyaml reads on (:func:`_read_alike`). The tag ``!`` on an empty value: a null to
# the pure parser, ``""`` to libyaml (:func:`_read_alike`). A byte-order mark past the
# file's start (files joined by ``cat``): libyaml skips one that begins a line, the pure
# parser reads it as a character. A tree nested deeper than :data:`_FAST_DEPTH`:
# the pure parser recurses a few frames a level and refuses one some hundreds of levels
# deep ("nested too deeply"), libyaml does not. Such files are read by the pure parser
# alone, as they always were; no real configuration is one.
_PURE_ONLY = re.compile(r"\t|!\S*[,\[\]]")
_FAST_DEPTH = 64
_STR_TAG = "tag:yaml.org,2002:str"


def _compose(text: str, loader: yaml.SafeLoader) -> yaml.Node | None:
    """The node tree of ``text``: parsed by libyaml when PyYAML has it (a tenth of the
    pure-Python parser's time, ~70 ms of every command's start at 300 feeds), else by
    ``loader``. A file libyaml refuses, or one the two parsers would read differently
    (see :data:`_PURE_ONLY`), is parsed again by ``loader``, whose results, messages and
    marks are the ones reported."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None and not _PURE_ONLY.search(text) and text.find("\ufeff", 1) < 0:
        parser = fast(text)
        try:
            node: yaml.Node | None = parser.get_single_node()
            if node is None or _read_alike(node, len(text)):
                return node
        except yaml.YAMLError:
            pass
        finally:
            parser.dispose()
    return loader.get_single_node()


def _read_alike(root: yaml.Node, budget: int) -> bool:
    """Whether the pure parser would have made this tree of libyaml's too: no plain
    scalar inside [ ] or { } holds a ``?``, no empty plain scalar is tagged a string
    (libyaml's ``""`` for ``key: !``, the pure parser's null; ``key: !!str`` is one too,
    and goes to the pure parser with them), and no more than :data:`_FAST_DEPTH`
    collections nest. Walked without recursion, an alias followed as its node (a
    nesting the text hides behind anchors is counted); more than ``budget`` nodes walked
    (aliases of aliases, an alias inside its own node) is not read alike either."""
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        budget -= 1
        if budget < 0:
            return False
        node, depth, in_flow = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if not node.style and (
                (in_flow and "?" in node.value) or (not node.value and node.tag == _STR_TAG)
            ):
                return False
            continue
        if depth >= _FAST_DEPTH:
            return False
        if not isinstance(node, yaml.nodes.CollectionNode):
            continue
        flow = in_flow or bool(node.flow_style)
        if isinstance(node, yaml.SequenceNode):
            stack += [(item, depth + 1, flow) for item in node.value]
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1, flow))
                stack.append((value, depth + 1, flow))
    return True


def _delivery_section(loc: Loc) -> bool:
    """Whether a value belongs to what only delivery needs (a channel, the mail server)."""
    return bool(loc) and loc[0] in ("notify", "smtp")


def node_line(node: yaml.Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the value {str(node.value)[:40]!r}"
