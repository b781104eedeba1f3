"""Database URLs are read as SQLAlchemy reads them, without importing it.

The configuration (and the read path of the CLI) parse URLs with a copy of SQLAlchemy's
expression; if SQLAlchemy ever read a URL differently, a database the file names could
be checked as one thing and opened as another.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from monitor.config.dburl import normalize_database_url, parse_database_url

URLS = [
    "sqlite:///data/monitor.db",
    "sqlite:////var/lib/monitor/monitor.db",
    "sqlite://",
    "sqlite:///:memory:",
    "sqlite+pysqlite:///x.db?timeout=5",
    "sqlite:///file:x.db?mode=ro&uri=true",
    "sqlite:///C:\\data\\monitor.db",
    "sqlite:///dir with space/m.db",
    "postgresql://monitor@localhost/monitor",
    "postgresql+psycopg://user:p%40ss%2Fw0rd@db.example.org:5433/monitor",
    "postgresql+psycopg://user:p@ss@db/monitor",
    "postgresql+psycopg://[::1]:5432/monitor?sslmode=require&application_name=m",
    "postgresql+psycopg:///monitor?host=/var/run/postgresql",
    "postgresql+psycopg://u:@h/db?options=-c%20x%3D1&options=-c%20y%3D2",
    "mysql://root@localhost/db",
]
BAD = ["", "data/monitor.db", "sqlite:/x.db", "://x", "postgresql://h:port/db", "sql ite:///x"]


@pytest.mark.parametrize("url", URLS)
def test_a_url_has_the_parts_sqlalchemy_gives_it(url):
    ours, theirs = parse_database_url(url), make_url(url)
    assert (ours.drivername, ours.username, ours.password) == (
        theirs.drivername,
        theirs.username,
        theirs.password,
    )
    assert (ours.host, ours.port, ours.database) == (theirs.host, theirs.port, theirs.database)
    flat = [(k, v) for k, vs in theirs.query.items() for v in ([vs] if isinstance(vs, str) else vs)]
    assert sorted(ours.query) == sorted(flat)


@pytest.mark.parametrize("url", BAD)
def test_what_sqlalchemy_refuses_is_refused(url):
    with pytest.raises((ArgumentError, ValueError)):
        make_url(url)
    with pytest.raises(ValueError) as caught:
        parse_database_url(url)
    assert url not in str(caught.value) or not url


def test_the_configuration_gives_postgresql_its_driver_and_refuses_others():
    assert normalize_database_url("postgresql://u:pw@h/db") == "postgresql+psycopg://u:pw@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"
    for url, why in [
        ("postgres://u:pw@h/db", "postgres://"),
        ("mysql://u:pw@h/db", "unsupported database 'mysql'"),
        ("postgresql+psycopg2://u:pw@h/db", "driver 'psycopg2'"),
        ("not a url", "not a database URL"),
    ]:
        with pytest.raises(ValueError, match=why) as caught:
            normalize_database_url(url)
        assert "pw" not in str(caught.value)
