"""Which tests may run side by side when the suite runs on several workers (pytest-xdist).

CI runs the suite as ``pytest -n 2`` (``--dist loadgroup`` comes from pyproject's
addopts). Almost every test owns what it touches: ``tmp_path`` (a base folder per
worker), servers bound to port 0 of 127.0.0.1, a fresh PostgreSQL database of its own.
The one thing shared is the PostgreSQL server itself: two tests restart it, which cuts
every connection of every test using it at that moment. So every test that uses
PostgreSQL is put in one group, which xdist runs on one worker, one test after another.

Under xdist the slow tests (the budgeted soaks, the kill loops) are handed out first:
a three-minute soak that started last would leave one worker running alone at the end.
Run without ``-n``, the order stays the order of the files.

This module decides the grouping and the order; it starts nothing.
"""

from __future__ import annotations

import pytest

POSTGRES_GROUP = "postgres"
"""The xdist group of every test that uses the PostgreSQL server."""

_POSTGRES_FIXTURES = frozenset({"pg_url", "pg_database"})


def uses_postgres(item: pytest.Item) -> bool:
    """Whether ``item`` talks to the PostgreSQL server: it is marked ``postgres``, asks
    for a PostgreSQL fixture, or is the ``postgresql`` case of a database parameter
    (which asks for ``pg_url`` or ``pg_database`` only when it runs)."""
    if item.get_closest_marker("postgres") is not None:
        return True
    if _POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and any(value == "postgresql" for value in callspec.params.values())


def under_xdist(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (the controller collects nothing)."""
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups from the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if uses_postgres(item):
            item.add_marker(pytest.mark.xdist_group(POSTGRES_GROUP))
    if under_xdist(config):
        # Stable: the order within the slow and within the rest stays the files' order.
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)
