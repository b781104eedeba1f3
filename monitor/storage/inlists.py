"""IN lists sent at a few lengths only.

SQLAlchemy writes an IN list as one placeholder per value, so to SQLite each length of
a list is a statement of its own: prepared anew, kept among a connection's
:data:`~monitor.storage.database.SQLITE_STATEMENTS` in place of another one, which is
then prepared anew in its turn. Every such statement is a few hundred small blocks of
the C heap that outlive the tick they were made in, placed between its short-lived
ones: over hundreds of ticks the heap's free space between them only grew
(tests/benchmarks/README.md, branch mem9). :func:`padded` rounds a list's length up to
a power of two by repeating its last value, which an IN list does not mind: a list of
1 to 500 values is one of ten statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["padded"]

T = TypeVar("T")


def padded(values: Sequence[T]) -> list[T]:
    """``values`` with its last one repeated up to the next power of two in length."""
    items = list(values)
    if len(items) < 2:
        return items
    length = 1 << (len(items) - 1).bit_length()
    return items + [items[-1]] * (length - len(items))
