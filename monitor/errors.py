"""The one exception tree of `monitor`.

::

    MonitorError
    ├── ConfigError          invalid configuration (carries every problem, FILE:LINE)
    ├── FeedError            one feed failed; never escapes a tick, becomes a value
    │   ├── FetchError       network, HTTP, size, address, redirect … (``kind`` says which)
    │   └── ParseError       not a feed, malformed beyond recovery, parse timeout
    ├── TermError            a topic term that cannot be compiled
    ├── StorageError         the database refused or went away
    │   └── DataRefusedError  it refused this data (a constraint, a value it cannot take)
    └── DeliveryError        an alert channel failed (``retryable`` says whether to retry)

Third-party exceptions are translated where they enter (``raise … from exc``); an
exception that is not one of these is a bug and is logged loudly, then re-raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MonitorError(Exception):
    """Base of every error `monitor` raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file, located for the operator."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.message}"


class ConfigError(MonitorError):
    """A configuration that cannot be used; lists every problem found."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class FeedError(MonitorError):
    """One feed could not be polled. ``kind`` is a short machine-readable reason."""

    kind: str = "feed_error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind

    @property
    def reason(self) -> str:
        """What an operator reads in `monitor feeds`: ``kind: message``."""
        return f"{self.kind}: {self}"


class FetchError(FeedError):
    """The HTTP fetch failed (dns, connect, tls, timeout, too_large, http_503 …)."""

    kind = "fetch_error"


class ParseError(FeedError):
    """The body is not a usable feed (not_a_feed, parse_error, parse_timeout)."""

    kind = "parse_error"


class TermError(MonitorError):
    """A topic term that cannot be compiled (empty, only punctuation, bad wildcard …)."""


class StorageError(MonitorError):
    """The database refused an operation or could not be reached."""


class DataRefusedError(StorageError):
    """The database refused what was written (a constraint or a value it cannot take):
    a problem with this data, not an outage. A feed whose poll is refused fails alone;
    the database is not reported down."""


class DeliveryError(MonitorError):
    """An alert channel failed. ``retryable=False`` dead-letters the delivery at once."""

    def __init__(self, message: str, *, retryable: bool = True, disable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.disable = disable
