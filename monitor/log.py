"""Logging set-up: structlog for our own events, the standard library routed through it.

One renderer for everything: JSON lines when the stream is not a terminal, structlog's
console renderer when it is (or as forced by ``fmt``). Every line, ours or a library's
(APScheduler, SQLAlchemy, httpx, alembic …), passes the same processors: ISO UTC
timestamp, level, logger name, secret redaction and cleaning of untrusted strings.

structlog (which imports rich and asyncio: ~80 ms) is imported on first use, when a
line is written or a logger is asked for: a command that logs nothing never loads it.

This module does not decide *what* is logged (event names and keys are the callers'),
and it does not open files or rotate logs: it writes to one stream, stderr by default.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import structlog

__all__ = [
    "clean_untrusted",
    "configure_logging",
    "console_lines",
    "get_logger",
    "logging_settings",
    "redact_url",
]

REDACTED = "***"

# Libraries that log a line per request, per job run or per start-up step at INFO:
# quiet unless the level is debug; their warnings and errors still come through (job
# errors and missed runs are the daemon's own listeners' lines as well). Apprise logs
# each notification it sends, and some of its services name their target (a chat id,
# a host) in those lines.
_QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler", "alembic", "apprise")
# Alembic's one INFO line worth reading: a migration that actually ran.
_MIGRATION_LOGGER = "alembic.runtime.migration"
_MIGRATION_RAN = ("Running upgrade", "Running downgrade", "Running stamp")


class _TickStillRunning(logging.Filter):
    """Drops APScheduler's "skipped: maximum number of running instances reached": the
    daemon's tick runs one at a time on purpose, and a tick that outlasts its interval
    (a slow server, a big first poll) would repeat that warning every interval."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return "maximum number of running instances reached" not in record.getMessage()
        except (TypeError, ValueError):
            return True


_TICK_STILL_RUNNING = _TickStillRunning()


class _MigrationsRun(logging.Filter):
    """Lets "Running upgrade 0001 -> 0002" through, not "Context impl SQLiteImpl."."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        try:
            return record.getMessage().startswith(_MIGRATION_RAN)
        except (TypeError, ValueError):  # a malformed record: show it rather than lose it
            return True


_MIGRATIONS_RUN = _MigrationsRun()

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# Key names whose values are secrets, whole or as a suffix: smtp_password, access_token …
_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:password|passwd|secret|token|authorization|api_?key|cookie"
    r"|credentials?|webhook|webhook_url)$",
    re.IGNORECASE,
)
# user:password@ inside any scheme://… URL found in free text.
_URL_CREDENTIALS = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s/:@]*):[^\s/@]*@", re.IGNORECASE)
# ?token=… / &api_key=… style secrets in query strings.
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&](?:[a-z0-9_-]*(?:token|secret|password|passwd|api_?key|sig|signature)"
    r"[a-z0-9_-]*)=)[^&#\s]+",
    re.IGNORECASE,
)
_ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
# Bidirectional overrides can make a log line read differently from what it contains.
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Unicode's control characters (category Cc, which is closed: C0, DEL and C1), one
# pattern instead of a category lookup per character.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Printable ASCII without "@" (every credential the redaction finds has one), "?" and
# "&" (every query secret follows one): a string of these alone has nothing to redact
# and nothing to clean. Most strings of a line are such (event, level, logger, feed,
# status, timestamp), and one match costs less than the five substitutions.
_PLAIN = re.compile(r"[ -%'->A-~]*")

# Keys whose text is ours and long on purpose (tracebacks), or structural.
_UNCLEANED_KEYS = frozenset({"exception", "stack", "exc_info", "stack_info"})
_EVENT_LIMIT = 1000
_VALUE_LIMIT = 300
_MAX_DEPTH = 4

_DB_SCHEMES = frozenset(
    {"sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql", "cockroachdb"}
)


def clean_untrusted(value: str, limit: int = _VALUE_LIMIT) -> str:
    """A feed- or server-supplied string made safe for one log line.

    Terminal escape sequences and bidi overrides are removed, other control characters
    (newlines, tabs …) become spaces, and the result is at most ``limit`` characters,
    ending in ``…`` when it was cut.
    """
    text = _ANSI_ESCAPE.sub("", value)
    text = _BIDI.sub("", text)
    text = _CONTROL.sub(" ", text)
    if len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def redact_url(url: str) -> str:
    """A URL safe to print: credentials, and paths or tokens that may be secrets, hidden.

    ``postgresql+psycopg://user:pw@host/db`` → ``postgresql+psycopg://user:***@host/db``;
    ``https://hooks.example.org/T0/B1/xyz`` → ``https://hooks.example.org/…``; Apprise
    URLs, whose host part is often a token (``tgram://TOKEN/CHAT``), keep only the scheme.
    Strings that are not URLs are returned unchanged.
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    scheme = parts.scheme.lower()
    is_db = scheme.split("+", 1)[0] in _DB_SCHEMES
    if scheme not in ("http", "https") and not is_db:
        # Apprise and friends: the "host" and "port" are often a token.
        return f"{parts.scheme}://…" if scheme else REDACTED
    try:
        port = parts.port
    except ValueError:
        return f"{parts.scheme}://…"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    user = ""
    if parts.username:
        user = parts.username + (f":{REDACTED}" if parts.password is not None else "") + "@"
    if is_db:
        query = "?…" if parts.query else ""
        return f"{parts.scheme}://{user}{host}{parts.path}{query}"
    # Webhook URLs carry their secret in the path (Slack, Discord …) or the query.
    rest = "/…" if parts.path not in ("", "/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{user}{host}{rest}"


def _redact_text(text: str) -> str:
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group('head')}:{REDACTED}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('head')}{REDACTED}", text)


_SCALARS = frozenset({int, float, bool, type(None)})
"""Types whose values are logged as they are (most values of a line: counts, durations)."""


def _scrub(value: Any, limit: int, depth: int) -> Any:
    if type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        if type(value) is str and len(value) <= limit and _PLAIN.fullmatch(value):
            return value  # as the substitutions would give it back
        return clean_untrusted(_redact_text(value), limit)
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if _is_secret_key(k, v) else _scrub(v, limit, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, limit, depth + 1) for v in value]
    return value


def _is_secret_key(key: object, value: object) -> bool:
    return isinstance(key, str) and _secret_name(key) and value not in (None, "")


@functools.lru_cache(maxsize=1024)
def _secret_name(key: str) -> bool:
    """Whether ``key`` names a secret (a line's keys are few and come again and again)."""
    return bool(_SECRET_KEY.search(key))


def _scrub_event(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Processor: secrets replaced, untrusted strings cleaned and truncated."""
    for key, value in list(event_dict.items()):
        if key.startswith("_") or key in _UNCLEANED_KEYS:
            continue
        if _secret_name(key) and value not in (None, ""):  # keys are str: startswith
            event_dict[key] = REDACTED
        elif type(value) in _SCALARS:
            continue  # as _scrub would give it back
        elif key == "event":
            event_dict[key] = _scrub(value, _EVENT_LIMIT, 0)
        else:
            event_dict[key] = _scrub(value, _VALUE_LIMIT, 0)
    return event_dict


_LEAD_KEYS = ("timestamp", "level", "event", "logger")


def _context_first(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Processor: context bound with ``bound_contextvars`` (``feed=``) goes first, as
    ``log.bind`` puts it, so a line reads the same whichever way the context came."""
    import structlog

    context = structlog.contextvars.get_contextvars()
    if not context:
        return event_dict
    return {**context, **event_dict}


def _lead_keys(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Processor: when, how bad and what first, so JSON lines read well with `less`."""
    lead = {k: event_dict.pop(k) for k in _LEAD_KEYS if k in event_dict}
    return {**lead, **event_dict}


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


class _MonitorHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our root handler, recognisable so that reconfiguring replaces it. Its formatter
    (structlog's) is made when it first formats a line."""

    def __init__(self, stream: TextIO, *, console: bool, colors: bool) -> None:
        super().__init__(stream)
        self.console = console
        self.colors = colors

    def format(self, record: logging.LogRecord) -> str:
        if self.formatter is None:
            if _UNAPPLIED:
                _configure_structlog(*_UNAPPLIED[-1])
            self.setFormatter(_formatter(self.console, self.colors))
        return super().format(record)


def _shared_processors() -> list[Any]:
    import structlog

    return [
        _context_first,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _scrub_event,
    ]


def _formatter(console: bool, colors: bool) -> logging.Formatter:
    import structlog

    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if console:
        final.append(structlog.dev.ConsoleRenderer(colors=colors))
    else:
        final += [
            structlog.processors.format_exc_info,
            _lead_keys,
            structlog.processors.JSONRenderer(),
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(), processors=final
    )


_SETTINGS: list[tuple[str, str]] = []
"""(fmt, level) of the last :func:`configure_logging`."""

_CONSOLE: list[bool] = []
"""Whether the last :func:`configure_logging` chose the console renderer."""

_UNAPPLIED: list[tuple[bool, bool]] = []
"""(console, colors) of the last :func:`configure_logging`, while not yet given to
structlog (empty once given)."""


def _configure_structlog(console: bool, colors: bool) -> None:
    _UNAPPLIED.clear()
    import structlog

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Loggers are created at import time, before the CLI knows the format and
        # level; not caching lets every later configure_logging() reach them.
        cache_logger_on_first_use=False,
    )


def configure_logging(
    *, fmt: str = "auto", level: str = "info", stream: TextIO | None = None
) -> None:
    """Route structlog and standard-library logging to ``stream`` (default: stderr).

    ``fmt``: ``auto`` (console on a terminal, JSON otherwise), ``json`` or ``console``.
    ``level``: debug, info, warning, error or critical. Safe to call again (a reload,
    a test): the previous handler is replaced, never duplicated.
    """
    level_no = _LEVELS.get(level.lower())
    if level_no is None:
        raise ValueError(f"unknown log level {level!r} (use one of {', '.join(_LEVELS)})")
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format {fmt!r} (use auto, json or console)")
    out = stream if stream is not None else sys.stderr
    _SETTINGS[:] = [(fmt, level)]
    terminal = _is_terminal(out)
    use_console = fmt == "console" or (fmt == "auto" and terminal)
    _CONSOLE[:] = [use_console]
    if "structlog" in sys.modules:
        _configure_structlog(use_console, terminal)
    else:  # given to structlog by the first get_logger() or the first line written
        _UNAPPLIED[:] = [(use_console, terminal)]

    handler = _MonitorHandler(out, console=use_console, colors=terminal)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _MonitorHandler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level_no)
    debug = level_no <= logging.DEBUG
    quiet = logging.NOTSET if debug else max(level_no, logging.WARNING)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if debug:
        scheduler.removeFilter(_TICK_STILL_RUNNING)
    else:
        scheduler.addFilter(_TICK_STILL_RUNNING)
    migration = logging.getLogger(_MIGRATION_LOGGER)
    migration.setLevel(logging.NOTSET if debug else level_no)
    if debug:
        migration.removeFilter(_MIGRATIONS_RUN)
    else:
        migration.addFilter(_MIGRATIONS_RUN)
    logging.captureWarnings(True)


def logging_settings() -> tuple[str, str]:
    """``fmt`` and ``level`` of the last :func:`configure_logging` (its defaults before
    one): for a child process that logs to the same stream as this one."""
    return _SETTINGS[-1] if _SETTINGS else ("auto", "info")


def console_lines() -> bool:
    """Whether lines are rendered for a terminal (structlog's console renderer, which
    shows tracebacks with rich) rather than as JSON; True before :func:`configure_logging`
    (structlog's own default is its console renderer)."""
    return _CONSOLE[-1] if _CONSOLE else True


def get_logger(name: str | None = None, **bind: object) -> structlog.stdlib.BoundLogger:
    """A structlog logger (named like a stdlib logger) with ``bind`` as its context.

    Without ``name``, the calling module's ``__name__`` is used.
    """
    if name is None:
        name = str(sys._getframe(1).f_globals.get("__name__", "monitor"))
    import structlog

    if _UNAPPLIED:
        _configure_structlog(*_UNAPPLIED[-1])
    # Context passed as initial values keeps the logger lazy: one created at import
    # time still follows a later configure_logging().
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name, **bind)
    return logger
