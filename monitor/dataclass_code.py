"""The compiled code of dataclasses' generated methods, kept between processes.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` … and compiles it with ``exec``, class by class, in every
process: ~550 small compilations in a `monitor poll` (the monitor's own ~55 dataclasses,
pydantic's, annotated_types', structlog's, h11's), ~0.1 s of CPU of a process that polls
300 unchanged feeds in ~0.8 s. The source of a generated method depends only on the
class's fields and options, so its code object can be kept: :func:`install` gives the
``dataclasses`` module an ``exec`` that compiles each source text once and keeps the code
in a file (``$XDG_CACHE_HOME/monitor``, else ``~/.cache/monitor``), read by the next
process. The code is what ``exec`` would have compiled from the same text (same file name
``<string>``, no ``__future__`` flags), run in the same globals and namespace, so the
classes are the same; only the compiling is skipped.

The file is written at exit when this process compiled something new (an upgrade, a
command not run before), atomically, with what it had plus what was new; it is keyed by
the interpreter's bytecode version and ignored when unreadable. A directory that cannot be
written leaves every process compiling, as before.
"""

from __future__ import annotations

import atexit
import builtins
import dataclasses
import importlib.util
import marshal
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["cache_file", "install"]

MAX_ENTRIES = 5000
"""More source texts than this in the file (classes changed over many upgrades): the next
write keeps only what its process used."""

_STATE: dict[str, Any] = {}


def cache_file() -> Path:
    """Where the code is kept for this interpreter's bytecode version."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "monitor" / f"dataclass-code.{sys.implementation.cache_tag}.marshal"


def install() -> None:
    """Read the kept code and route ``dataclasses``' ``exec`` through it (once a process)."""
    if _STATE:
        return
    path = cache_file()
    known = _read(path)
    used: dict[str, bytes] = {}
    _STATE.update(path=path, known=known, used=used, new=0)

    def cached_exec(
        source: Any, globals: dict[str, Any] | None = None, locals: Any = None
    ) -> None:
        if isinstance(source, str):
            kept = known.get(source)
            if kept is None:
                # dont_inherit: compiled as dataclasses' own exec compiles it, without
                # this module's `from __future__ import annotations`
                code = compile(source, "<string>", "exec", dont_inherit=True)
                kept = known[source] = marshal.dumps(code)
                _STATE["new"] += 1
            else:
                code = marshal.loads(kept)
            used[source] = kept
            source = code
        builtins.exec(source, globals, locals)

    dataclasses.exec = cached_exec  # type: ignore[attr-defined]
    atexit.register(_write)


def compiled_anew() -> int:
    """How many method sources this process compiled (found in no kept file)."""
    return int(_STATE.get("new", 0))


def _read(path: Path) -> dict[str, bytes]:
    """Source text → its code, marshalled: each is loaded when its class is made (all
    of them at once would take longer than the classes of one command need)."""
    magic = importlib.util.MAGIC_NUMBER
    try:
        data = path.read_bytes()
        # one read, then loads: marshal.load on the file reads it piece by piece
        loaded = marshal.loads(memoryview(data)[len(magic) :]) if data[: len(magic)] == magic else {}
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, bytes)}


def _write() -> None:
    if not _STATE.get("new"):
        return
    path: Path = _STATE["path"]
    known: dict[str, bytes] = _STATE["known"]
    kept = known if len(known) <= MAX_ENTRIES else _STATE["used"]
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with temp.open("wb") as file:
            file.write(importlib.util.MAGIC_NUMBER)
            marshal.dump(kept, file)
        os.replace(temp, path)
    except (OSError, ValueError):
        try:
            temp.unlink()
        except OSError:
            pass
