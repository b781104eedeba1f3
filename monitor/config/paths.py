"""Pydantic's view of a configuration, in the terms of the file an operator edits.

Turns a pydantic error's location into the path of the value in the YAML data
(``feeds[2].url``) and its message into one an operator can act on (``unknown key …
(allowed here: …)``), and salvages the part of a mapping that validates, so that the
checks which need a validated model still run on an entry that has other problems.

It does not read YAML or know line numbers: :mod:`monitor.config.load` maps paths to lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from monitor.config.schema import (
    Config,
    FeedConfig,
    HttpConfig,
    NotifyConfig,
    RetryConfig,
    SmtpConfig,
)
from monitor.config.source import Loc, where
from monitor.topics.spec import (
    AliasConfig,
    NearConfig,
    RuleConfig,
    ScopedNoneConfig,
    TopicConfig,
    WindowConfig,
)

__all__ = ["Loc", "Salvaged", "data_loc", "error_message", "salvage", "where"]

M = TypeVar("M", bound=BaseModel)

# Where each kind of mapping lives, for "unknown key … belongs in …".
_SECTIONS: dict[type[BaseModel], str] = {
    Config: "the top level",
    HttpConfig: "http:",
    SmtpConfig: "smtp:",
    RetryConfig: "delivery:",
    FeedConfig: "a feed (feeds:)",
    TopicConfig: "a topic (topics:)",
    RuleConfig: "a rule (rules:)",
    NearConfig: "a near: entry",
    WindowConfig: "window:",
    ScopedNoneConfig: "a scoped veto (none: {terms, within})",
    AliasConfig: "an alias (aliases: {TERM: {terms, window}})",
    NotifyConfig: "a notify channel (notify:)",
}
# Each round removes what the last one refused; removing can only uncover a few more
# (a list left too short, a mapping left without a required key).
_SALVAGE_ROUNDS = 8


def data_loc(data: Any, loc: Loc, missing: bool) -> Loc:
    """The part of a pydantic loc that names data (drops union and validator tags)."""
    out: list[str | int] = []
    for i, part in enumerate(loc):
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
        if in_dict or in_list:
            data = data[part]
            out.append(part)
        elif isinstance(data, dict) and missing and i == len(loc) - 1:
            out.append(part)
    return tuple(out)


def error_message(error: Mapping[str, Any], loc: Loc) -> str:
    """One pydantic error as an operator reads it; ``loc`` is its :func:`data_loc`."""
    kind, msg = error["type"], str(error["msg"])
    if kind == "missing":
        return f"missing required key {loc[-1]!r}"
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if msg.startswith(("Value error, ", "Assertion failed, ")):
        return msg.split(", ", 1)[1]
    msg = _sentence(kind, msg, error.get("ctx") or {})
    if "input" in error and not isinstance(error["input"], dict | list):
        shown = repr(error["input"])
        msg += f" (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
    return msg


_SENTENCES: dict[str, str] = {
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "string_type": "must be text",
    "list_type": "must be a list (- item, or [a, b])",
    "dict_type": "must be a mapping (key: value)",
    "model_type": "must be a mapping (key: value)",
    "model_attributes_type": "must be a mapping (key: value)",
    "string_too_short": "must not be empty",
    "too_short": "must not be empty",
    "finite_number": "must be a finite number",
}


_PATTERNS = {
    r"^[^\s]+$": "must not contain spaces",
    r"^[a-z0-9][a-z0-9_.-]*$": "must be lower-case letters, digits, '.', '_' or '-', "
    "starting with a letter or a digit",
}


def _sentence(kind: str, msg: str, ctx: Mapping[str, Any]) -> str:
    """Pydantic's wording (``Input should be a valid boolean, unable to …``) as a short
    sentence an operator reads (``must be true or false``)."""
    if kind in _SENTENCES:
        return _SENTENCES[kind]
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern"))
        return _PATTERNS.get(pattern, f"does not have the expected form ({pattern})")
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind in ("greater_than_equal", "greater_than"):
        return f"must be at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"must be at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    for prefix in ("Input should be ", "String should ", "Value should "):
        if msg.startswith(prefix):
            return "must " + ("be " if prefix == "Input should be " else "") + msg[len(prefix) :]
    return msg


# --- salvaging -------------------------------------------------------------------------


@dataclass(frozen=True)
class Salvaged(Generic[M]):
    """What validated of a mapping once the values pydantic refused were left out."""

    model: M
    removed: frozenset[Loc]
    """Paths, in the original data, of the values left out."""
    _indexes: dict[Loc, list[int]] = field(default_factory=dict)

    def original(self, loc: Loc) -> Loc:
        """``loc`` in the salvaged data → the same value's path in the original data."""
        return _original(loc, self._indexes)

    def affected(self, loc: Loc) -> bool:
        """Whether a left-out value lay at or under ``loc`` (original path).

        A problem found there (an empty group, a rule without terms) may be only the
        hole the left-out value made.
        """
        return any(removed[: len(loc)] == loc for removed in self.removed)


def salvage(model: type[M], data: dict[Any, Any], fill: Mapping[str, Any]) -> Salvaged[M] | None:
    """``model`` validated from ``data`` without the values it refuses, or None.

    ``fill`` gives the top-level keys that cannot be left out a valid stand-in (a
    topic's ``id``), used when they are missing or refused.
    """
    removed: set[Loc] = set()
    for _ in range(_SALVAGE_ROUNDS):
        indexes: dict[Loc, list[int]] = {}
        pruned = _prune(data, (), (), removed, indexes)
        for key, value in fill.items():
            pruned.setdefault(key, value)
        try:
            validated = model.model_validate(pruned)
        except ValidationError as exc:
            refused = {_refused(error, pruned, indexes) for error in exc.errors(include_url=False)}
            if () in refused or refused <= removed:
                return None  # nothing more can be left out
            removed |= refused
            continue
        return Salvaged(validated, frozenset(removed), indexes)
    return None


def _refused(error: Mapping[str, Any], pruned: Any, indexes: dict[Loc, list[int]]) -> Loc:
    missing = error["type"] == "missing"
    loc = data_loc(pruned, tuple(error["loc"]), missing)
    # A mapping without a required key goes as a whole.
    return _original(loc[:-1] if missing else loc, indexes)


def _prune(
    value: Any, orig: Loc, clean: Loc, removed: set[Loc], indexes: dict[Loc, list[int]]
) -> Any:
    if isinstance(value, dict):
        return {
            k: _prune(v, (*orig, k), (*clean, k), removed, indexes)
            for k, v in value.items()
            if (*orig, k) not in removed
        }
    if isinstance(value, list):
        kept = [i for i in range(len(value)) if (*orig, i) not in removed]
        indexes[clean] = kept
        return [
            _prune(value[i], (*orig, i), (*clean, j), removed, indexes) for j, i in enumerate(kept)
        ]
    return value


def _original(loc: Loc, indexes: dict[Loc, list[int]]) -> Loc:
    out: list[str | int] = []
    for n, part in enumerate(loc):
        kept = indexes.get(loc[:n])
        if isinstance(part, int) and kept is not None and 0 <= part < len(kept):
            out.append(kept[part])
        else:
            out.append(part)
    return tuple(out)


# --- unknown keys ----------------------------------------------------------------------


def _unknown_key(loc: Loc) -> str:
    key, here = str(loc[-1]), _model_at(loc[:-1])
    text = f"unknown key {key!r}"
    if here is not None:
        text += f" (allowed here: {', '.join(_keys(here))})"
    elsewhere = [
        name for model, name in _SECTIONS.items() if model is not here and key in _keys(model)
    ]
    if elsewhere:
        text += f"; {key!r} belongs in {' or '.join(elsewhere)}"
    return text


def _keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The settings model that validates the mapping at ``loc`` (None: not a mapping)."""
    current: Any = Config
    for part in loc:
        if isinstance(part, int):
            current = next(
                (
                    get_args(a)[0]
                    for a in _alternatives(current)
                    if get_origin(a) is list and get_args(a)
                ),
                None,
            )
        else:
            model = _as_model(current)
            fields = model.model_fields if model is not None else {}
            current = next((f.annotation for n, f in fields.items() if part in (n, f.alias)), None)
        if current is None:
            return None
    return _as_model(current)


def _alternatives(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, UnionType):
        return get_args(annotation)
    return (annotation,)


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for alternative in _alternatives(annotation):
        if isinstance(alternative, type) and issubclass(alternative, BaseModel):
            return alternative
    return None
