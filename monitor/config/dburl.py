"""Database URLs read without SQLAlchemy: what the configuration checks, what the read
path of :mod:`monitor.storage.reader` needs to open a SQLite file by itself.

Importing SQLAlchemy costs more CPU than a read-only command may spend in all
(`monitor alerts`), and its ``make_url`` is one regular expression: the same expression
is used here, so both read a URL the same way (pinned by tests/config/test_dburl.py).
It does not connect, and knows no driver beyond naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote

__all__ = ["DatabaseURL", "normalize_database_url", "parse_database_url"]

# SQLAlchemy 2.0's ``sqlalchemy.engine.url._parse_url``, verbatim.
_PATTERN = re.compile(
    r"""
        (?P<name>[\w\+]+)://
        (?:
            (?P<username>[^:/]*)
            (?::(?P<password>[^@]*))?
        @)?
        (?:
            (?:
                \[(?P<ipv6host>[^/\?]+)\] |
                (?P<ipv4host>[^/:\?]+)
            )?
            (?::(?P<port>[^/\?]*))?
        )?
        (?:/(?P<database>[^\?]*))?
        (?:\?(?P<query>.*))?
        """,
    re.X,
)

# The drivers storage can open ("" is the backend's default); SQLAlchemy's default for
# postgresql is psycopg2, which `monitor` does not install, so a bare postgresql://
# is given the psycopg driver it ships with.
_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("", "psycopg")}
_URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB"


@dataclass(frozen=True, slots=True)
class DatabaseURL:
    """The parts of a database URL, as SQLAlchemy's ``make_url`` gives them."""

    drivername: str
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: tuple[tuple[str, str], ...]

    @property
    def backend(self) -> str:
        return self.drivername.partition("+")[0]

    @property
    def driver(self) -> str:
        return self.drivername.partition("+")[2]


def parse_database_url(url: str) -> DatabaseURL:
    """The parts of ``url``; ``ValueError`` (never repeating the URL) if it is none."""
    found = _PATTERN.match(url)
    if found is None:
        raise ValueError("not a database URL")
    parts = found.groupdict()
    port = parts["port"]
    return DatabaseURL(
        drivername=parts["name"],
        username=unquote(parts["username"]) if parts["username"] is not None else None,
        password=unquote(parts["password"]) if parts["password"] is not None else None,
        host=parts["ipv4host"] or parts["ipv6host"],
        port=int(port) if port else None,
        database=parts["database"],
        query=tuple(parse_qsl(parts["query"])) if parts["query"] is not None else (),
    )


def normalize_database_url(url: str) -> str:
    """A database URL `monitor` can open, ``postgresql://`` given the psycopg driver.

    Only parses: never connects. Raises ``ValueError`` whose message never repeats the
    URL (it may carry a password).
    """
    try:
        parsed = parse_database_url(url)
    except ValueError:
        raise ValueError(f"not a database URL (write {_URL_FORMS})") from None
    backend, driver = parsed.backend, parsed.driver
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
