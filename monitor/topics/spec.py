"""The YAML shape of a topic (SPEC.md "Configuration"), validated by pydantic.

Only the shape lives here; whether each term compiles is checked by the engine
(:func:`monitor.topics.check_topic`), so that configuration errors name FILE:LINE.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from monitor.signals.spec import ConfirmConfig, HotConfig, SurgeConfig

Term = str
Group = list[Term]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowConfig(_Strict):
    """An event window: the rule applies only to articles published inside it."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class NearConfig(_Strict):
    """Terms that must occur within ``within`` words of each other.

    An item of ``terms`` may be a list of alternatives (any one of them counts).
    ``none``: terms that may not stand between the first and the last of those words
    ("Trump to meet Zelensky after Putin call" is not a Trump–Putin meeting; "Trump to
    meet Putin, then Zelensky" is).
    """

    terms: list[Term | Group] = Field(min_length=2)
    within: int = Field(default=10, ge=1, le=1000)
    none: list[Term] = Field(default_factory=list)


class ScopedNoneConfig(_Strict):
    """A veto that applies near a hit: a hit of the rule's terms within ``within`` words
    of one of these terms (same field) does not count; hits elsewhere still do."""

    terms: list[Term] = Field(min_length=1)
    within: int = Field(default=3, ge=0, le=100)


def _mapping_or(other: str) -> Callable[[Any], str]:
    def which(value: Any) -> str:
        return "mapping" if isinstance(value, dict | BaseModel) else other

    return which


# Tagged so that a bad value gets the error of the form it looks like, not of both.
Veto = Annotated[
    Annotated[Term, Tag("term")] | Annotated[ScopedNoneConfig, Tag("mapping")],
    Discriminator(_mapping_or("term")),
]


class AliasConfig(_Strict):
    """Other names of a term, optionally only for articles published inside ``window``."""

    terms: list[Term] = Field(min_length=1)
    window: WindowConfig | None = None


class RuleConfig(_Strict):
    """One way a topic can match: every ``all`` group, one ``any`` term, no ``none``.

    A ``none`` item is a term (it vetoes the whole article) or a
    :class:`ScopedNoneConfig` (it vetoes only the hits near it).
    """

    all: list[Group] = Field(default_factory=list)
    any: list[Term] = Field(default_factory=list)
    none: list[Veto] = Field(default_factory=list)
    near: list[NearConfig] = Field(default_factory=list)
    window: WindowConfig | None = None


class TopicConfig(_Strict):
    """A configured topic: either top-level ``all``/``any``/``none`` or ``rules:``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    name: str = ""
    all: list[Group] = Field(default_factory=list)
    any: list[Term] = Field(default_factory=list)
    none: list[Veto] = Field(default_factory=list)
    near: list[NearConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    aliases: dict[
        Term,
        Annotated[
            Annotated[Group, Tag("list")] | Annotated[AliasConfig, Tag("mapping")],
            Discriminator(_mapping_or("list")),
        ],
    ] = Field(default_factory=dict)
    """Other names that count as the term they stand for (``Trump: [US president]``)."""
    fields: list[str] | None = None
    languages: list[str] | None = None
    window: WindowConfig | None = None
    confirm: ConfirmConfig | None = None
    """Raise the story's alert only once enough outlets carried it (issue 17)."""
    notify_confirmation: bool = False
    """Without ``confirm``: one follow-up message when a second outlet carries the story."""
    surge: SurgeConfig | None = None
    hot: HotConfig | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.id
