"""The validated configuration, as pydantic models (SPEC.md "Configuration").

This module holds the shape only; reading YAML, substituting ``${VAR}`` and turning
errors into ``FILE:LINE: message`` is :mod:`monitor.config.load`'s job.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.errors import ConfigProblem
from monitor.topics.spec import TopicConfig
from monitor.types import FeedSpec

MAX_DURATION = timedelta(days=3650)
"""Longer is a typo (or ``.inf``): refused before ``timedelta`` overflows."""
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``10m``, ``2h``, ``2d`` (or a number of seconds) → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 2h, 2d)")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. 90s, 10m, 2h, 2d)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"duration too long: {str(value)[:40]!r} (at most 3650d)")
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {value!r}")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

# The drivers storage can open ("" is the backend's default); SQLAlchemy's default for
# postgresql is psycopg2, which `monitor` does not install, so a bare postgresql://
# is given the psycopg driver it ships with.
_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("", "psycopg")}
_URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"


def normalize_database_url(url: str) -> str:
    """A database URL `monitor` can open, ``postgresql://`` given the psycopg driver.

    Only parses: never connects. Raises ``ValueError`` whose message never repeats the
    URL (it may carry a password).
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"not a database URL (write {_URL_FORMS})") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "postgres":
        raise ValueError(f"unsupported database scheme 'postgres://' (write {_URL_FORMS})")
    if backend not in _DRIVERS:
        raise ValueError(
            f"unsupported database {backend[:40]!r} (monitor runs on sqlite or postgresql:"
            f" write {_URL_FORMS})"
        )
    if driver not in _DRIVERS[backend]:
        wanted = "sqlite:///PATH" if backend == "sqlite" else "postgresql+psycopg://…"
        raise ValueError(f"unsupported {backend} driver {driver[:40]!r} (write {wanted})")
    if backend == "postgresql" and not driver:
        return "postgresql+psycopg" + url[len(parsed.drivername) :]
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpConfig(_Strict):
    allow_private_networks: bool = False
    listen: str | bool = "127.0.0.1:9464"
    user_agent: str | None = None
    timeout: Duration = timedelta(seconds=30)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=1024 * 1024 * 1024)

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


class FeedConfig(_Strict):
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\s]+$")
    url: str = Field(min_length=1)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    interval: Duration = timedelta(minutes=10)
    enabled: bool = True

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
    """One channel: exactly one of webhook, email, apprise, stdout."""

    webhook: str | None = None
    secret: str | None = None
    email: str | list[str] | None = None
    apprise: str | None = None
    stdout: bool | None = None
    topics: list[str] | None = None
    name: str | None = None
    timeout: Duration = timedelta(seconds=15)

    @property
    def kind(self) -> str:
        for kind in ("webhook", "email", "apprise", "stdout"):
            if getattr(self, kind) not in (None, False):
                return kind
        return "none"

    @property
    def channel_name(self) -> str:
        """Stable name of the channel, used for its outbox rows."""
        if self.name:
            return self.name
        target = {
            "webhook": self.webhook,
            "email": self.email,
            "apprise": self.apprise,
            "stdout": "stdout",
        }.get(self.kind)
        if isinstance(target, list):
            target = ",".join(target)
        import hashlib

        digest = hashlib.sha256(str(target).encode()).hexdigest()[:10]
        return f"{self.kind}:{digest}"


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
    lease runs out. ``feeds`` must exceed the slowest poll of a claimed batch (fetch
    timeout + parse deadline + storing), or a live worker's feed is polled twice.
    """

    feeds: Duration = timedelta(minutes=5)
    deliveries: Duration = timedelta(minutes=2)

    @field_validator("feeds", "deliveries")
    @classmethod
    def _at_least_5s(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=5):
            raise ValueError("a lease must be at least 5s")
        return value


class Config(_Strict):
    _warnings: list[ConfigProblem] = PrivateAttr(default_factory=list)
    """Set by the loader: what `monitor check` warns about (valid, but suspicious)."""
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

    @field_validator("database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        return normalize_database_url(value)

    def feed_specs(self) -> list[FeedSpec]:
        return [f.spec() for f in self.feeds]
