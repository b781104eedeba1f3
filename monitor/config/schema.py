"""The validated configuration, as pydantic models (SPEC.md "Configuration").

This module holds the shape only; reading YAML, substituting ``${VAR}`` and turning
errors into ``FILE:LINE: message`` is :mod:`monitor.config.load`'s job.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from monitor.alerts.cadence import parse_digest, parse_rate
from monitor.config.dburl import normalize_database_url
from monitor.config.durations import Duration, parse_duration
from monitor.errors import ConfigProblem
from monitor.topics.spec import TopicConfig
from monitor.topics.text import LANGUAGES
from monitor.types import FeedSpec, OutletKind, Source

PARSE_TIMEOUT = timedelta(seconds=30)
PARSE_TIMEOUT_MIN = timedelta(seconds=1)
PARSE_TIMEOUT_MAX = timedelta(minutes=10)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpConfig(_Strict):
    allow_private_networks: bool = False
    listen: str | bool = "127.0.0.1:9464"
    user_agent: str | None = None
    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    respect_cache_hints: bool = False
    """Let every feed's cache hints lengthen its interval (a feed can say otherwise)."""
    max_hint_delay: Duration = timedelta(hours=1)

    @field_validator("max_hint_delay")
    @classmethod
    def _check_hint_delay(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=24):
            raise ValueError("max_hint_delay is at most 24h")
        return value

    token: str | None = Field(default=None, min_length=16)
    """Bearer token for the web console; required when ``listen`` is not loopback."""

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, value: str | bool) -> str | bool:
        if value is True:
            return "127.0.0.1:9464"
        if isinstance(value, str):
            host, sep, port = value.rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
                raise ValueError(f"listen must be HOST:PORT or false, not {value!r}")
        return value

    @model_validator(mode="after")
    def _token_off_loopback(self) -> HttpConfig:
        if isinstance(self.listen, str) and not self.token:
            host = self.listen.rpartition(":")[0].strip("[]")
            if not _is_loopback(host):
                raise ValueError(
                    f"listen {self.listen!r} is not a loopback address: the web console there "
                    "needs http.token (write token: ${MONITOR_HTTP_TOKEN}, 16 characters or more)"
                )
        return self


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SourceConfig(_Strict):
    """``source: {outlet: TASS, kind: state, country: RU}``: who publishes a feed."""

    outlet: str | None = Field(default=None, min_length=1, max_length=100)
    kind: OutletKind | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")


class FeedConfig(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\s]+$")
    url: str = Field(min_length=1)
    language: str | None = None
    interval: Duration = timedelta(minutes=10)
    enabled: bool = True
    respect_cache_hints: bool | None = None
    """None: as ``http.respect_cache_hints`` says."""
    fulltext: Literal["auto", "always", "never"] = "auto"
    """Read the article page of new items (SPEC.md "Reading the article")."""

    @field_validator("language")
    @classmethod
    def _check_language(cls, value: str | None) -> str | None:
        if value is None:
            return None
        code = value.strip().lower()
        if code not in LANGUAGES:
            raise ValueError(
                f"unknown language {value!r}: the supported languages are "
                f"{', '.join(LANGUAGES)} (leave it out for a feed in another language)"
            )
        return code

    source: SourceConfig | None = None
    """Its outlet (default: the feed's name); several feeds of one outlet count once."""

    def outlet(self) -> Source:
        given = self.source or SourceConfig()
        return Source(outlet=given.outlet or self.name, kind=given.kind, country=given.country)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"url must be an http(s) URL, not {value!r}")
        return value

    def spec(self) -> FeedSpec:
        return FeedSpec(
            name=self.name,
            url=self.url,
            language=self.language,
            interval=self.interval,
            enabled=self.enabled,
            fulltext=self.fulltext,
            source=self.outlet(),
        )


class SmtpConfig(_Strict):
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    security: str = Field(default="starttls", pattern=r"^(starttls|tls|none)$")
    sender: str = Field(default="monitor@localhost", alias="from")
    timeout: Duration = timedelta(seconds=15)


class NotifyConfig(_Strict):
    """One channel: exactly one of webhook, email, apprise, stdout, and how it is fed."""

    webhook: str | None = None
    secret: str | None = None
    email: str | list[str] | None = None
    apprise: str | None = None
    stdout: bool | None = None
    topics: list[str] | None = None
    name: str | None = Field(default=None, min_length=1, max_length=100, pattern=r"^[^\s]+$")
    """Readable name in logs, metrics and operator alerts (:mod:`monitor.alerts.naming`)."""
    timeout: Duration = timedelta(seconds=15)
    digest: str | None = None
    """``1h`` or ``"daily 08:00 Europe/Berlin"``: one message per period."""
    rate: str | None = None
    """``10/m``: past it, alerts are gathered into one "N more alerts" message."""
    template: str | None = None
    """A Jinja2 file rendering this channel's messages."""

    @field_validator("digest")
    @classmethod
    def _check_digest(cls, value: str | None) -> str | None:
        if value is not None:
            parse_digest(value)
        return value

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @property
    def kind(self) -> str:
        for kind in ("webhook", "email", "apprise", "stdout"):
            if getattr(self, kind) not in (None, False):
                return kind
        return "none"


class RetryConfig(_Strict):
    """When undelivered alerts are tried again, and when they are given up."""

    schedule: list[Duration] = Field(
        default_factory=lambda: [
            parse_duration(v)
            for v in ("5s", "30s", "2m", "10m", "30m", "1h", "2h", "4h", "8h", "8h")
        ]
    )


class LeaseConfig(_Strict):
    """How long a worker holds what it claimed before another worker may take it over.

    A worker killed mid-poll leaves its claims behind; they are taken over when the
    lease runs out. ``feeds`` must exceed the slowest poll of one feed (fetch timeout +
    parse deadline + storing), or a live worker's feed is polled twice; a feed that waits
    in its pass for its host has its lease renewed before its fetch.
    """

    feeds: Duration = timedelta(minutes=5)
    deliveries: Duration = timedelta(minutes=2)

    @field_validator("feeds", "deliveries")
    @classmethod
    def _at_least_5s(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=5):
            raise ValueError("a lease must be at least 5s")
        return value


class HealthConfig(_Strict):
    blind_after: Duration = timedelta(minutes=15)
    """No enabled feed polled successfully for this long: ``monitor:blind``."""


class Config(_Strict):
    _warnings: list[ConfigProblem] = PrivateAttr(default_factory=list)
    """Set by the loader: what `monitor check` warns about (valid, but suspicious)."""
    _topics_checked: bool = PrivateAttr(default=False)
    """Set by the loader: it checked every topic (:attr:`topics_checked`)."""
    _held_channels: list[tuple[list[NotifyConfig], SmtpConfig | None, list[Any]]] = PrivateAttr(
        default_factory=list
    )
    """Set by the loader: the ``notify`` channels it built to check them, with the
    entries they were built from (:meth:`take_channels`). A list changed in place, so a
    copy of this configuration cannot hand them out a second time."""
    database: str = "sqlite:///data/monitor.db"
    alert_log: str = "data/alerts.jsonl"
    max_age: Duration = timedelta(days=2)
    retention: Duration = timedelta(days=90)
    tick: Duration = timedelta(seconds=30)
    workers: int = Field(default=8, ge=1, le=64)
    lease: LeaseConfig = LeaseConfig()
    http: HttpConfig = HttpConfig()
    smtp: SmtpConfig | None = None
    delivery: RetryConfig = RetryConfig()
    feeds: list[FeedConfig] = Field(default_factory=list)
    topics: list[TopicConfig] = Field(default_factory=list)
    notify: list[NotifyConfig] = Field(default_factory=list)
    health: HealthConfig = HealthConfig()
    feed_down_after: Duration = timedelta(minutes=30)
    """A feed failing this long (and at least 3 attempts) is "down": an operator alert."""
    parse_timeout: Duration = PARSE_TIMEOUT
    """How long a parser worker may take over one feed's body (parsed, sifted and
    matched) before it is stopped and the poll fails with ``parse_timeout``."""

    @field_validator("parse_timeout")
    @classmethod
    def _check_parse_timeout(cls, value: timedelta) -> timedelta:
        if value < PARSE_TIMEOUT_MIN:
            raise ValueError(
                f"at least {PARSE_TIMEOUT_MIN.total_seconds():g}s "
                "(a shorter one would fail ordinary feeds on a busy machine)"
            )
        if value > PARSE_TIMEOUT_MAX:
            raise ValueError(
                f"at most {PARSE_TIMEOUT_MAX.total_seconds() / 60:g}m (a "
                "feed that needs longer is hostile or broken; the poll holds its lease "
                "and the tick meanwhile)"
            )
        return value

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        return normalize_database_url(value)

    @property
    def topics_checked(self) -> bool:
        """Whether the loader found no problem in any topic with
        :func:`monitor.topics.check_topic`, on these very models: compiling them need
        not check again (``compile_topics(config.topics, checked=…)``). False for a
        configuration built in code, which compiling then checks."""
        return self._topics_checked

    def hold_channels(self, channels: list[Any]) -> None:
        """Keep the channels the loader built from ``notify`` (and ``smtp``) for the app
        that runs this configuration (:meth:`take_channels`): they are built once."""
        self._held_channels[:] = [(list(self.notify), self.smtp, list(channels))]

    def take_channels(self) -> list[Any] | None:
        """The channels :meth:`hold_channels` kept, once (whoever takes them closes them),
        if ``notify`` and ``smtp`` are still what they were built from; else None (and
        the stale ones are closed)."""
        if not self._held_channels:
            return None
        notify, smtp, channels = self._held_channels.pop()
        if notify == self.notify and smtp == self.smtp:
            return channels
        for channel in channels:
            channel.close()
        return None

    def feed_specs(self) -> list[FeedSpec]:
        return [
            replace(
                f.spec(),
                respect_cache_hints=(
                    f.respect_cache_hints
                    if f.respect_cache_hints is not None
                    else self.http.respect_cache_hints
                ),
                max_hint_delay=self.http.max_hint_delay,
                down_after=self.feed_down_after,
            )
            for f in self.feeds
        ]
