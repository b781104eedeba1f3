"""Lazy package surfaces: a name of a package's ``__all__`` is imported from its module on
first use, so importing a package (``monitor --help`` imports several) loads nothing heavy.

It holds no names of its own; each package gives its table of homes.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562): ``name`` from ``package.<homes[name]>``."""

    def attribute(name: str) -> Any:
        home = homes.get(name)
        if home is not None:
            return getattr(importlib.import_module(f"{package}.{home}"), name)
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}"):
            # A submodule (``storage.database``), as an eager package would have it once
            # anything imported it.
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return attribute
