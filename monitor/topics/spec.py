"""The YAML shape of a topic (SPEC.md "Configuration"), validated by pydantic.

Only the shape lives here; whether each term compiles is checked by the engine
(:func:`monitor.topics.check_topic`), so that configuration errors name FILE:LINE.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from monitor.signals.spec import ConfirmConfig, HotConfig, SurgeConfig

Term = str
Group = list[Term]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NearConfig(_Strict):
    """Terms that must occur within ``within`` words of each other.

    An item of ``terms`` may be a list of alternatives (any one of them counts).
    """

    terms: list[Term | Group] = Field(min_length=2)
    within: int = Field(default=10, ge=1, le=1000)


class WindowConfig(_Strict):
    """An event window: the rule applies only to articles published inside it."""

    from_: date | None = Field(default=None, alias="from")
    to: date | None = None


class RuleConfig(_Strict):
    """One way a topic can match: every ``all`` group, one ``any`` term, no ``none``."""

    all: list[Group] = Field(default_factory=list)
    any: list[Term] = Field(default_factory=list)
    none: list[Term] = Field(default_factory=list)
    near: list[NearConfig] = Field(default_factory=list)
    window: WindowConfig | None = None


class TopicConfig(_Strict):
    """A configured topic: either top-level ``all``/``any``/``none`` or ``rules:``."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    name: str = ""
    all: list[Group] = Field(default_factory=list)
    any: list[Term] = Field(default_factory=list)
    none: list[Term] = Field(default_factory=list)
    near: list[NearConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
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
