"""Code that libraries compile from source text at start-up, kept between processes.

``@dataclass`` writes the source of each class's ``__init__``, ``__repr__``, ``__eq__``,
``__hash__``, ``__setattr__`` … and compiles it with ``exec``, class by class, in every
process; ``typing.ForwardRef`` compiles every annotation written as a string (pydantic's
models, the dataclasses' fields). In a `monitor poll` that is ~550 methods of ~130
dataclasses (the monitor's own, pydantic's, annotated_types', structlog's, h11's) and
~1,100 annotations: ~0.1 s of CPU of a process that polls 300 unchanged feeds in
~0.8 s. The code depends only on the text, so it can be kept: :func:`install` gives the
``dataclasses`` module an ``exec``, and ``typing`` a ``compile``, that compile each text
once and keep the code in a file (``$XDG_CACHE_HOME/monitor``, else ``~/.cache/monitor``)
read by the next process. The code is what the library would have compiled from the same
text (file name ``<string>``, the same mode, no ``__future__`` flags) and runs in the same
globals and namespace, so the classes and annotations are the same; only the compiling
is skipped.

The file is written at exit when the process compiled something new (an upgrade, a
command not run before), atomically: the file as it is then, plus what was new, readable
by this user only. It is keyed by the interpreter's bytecode version and ``-O`` level and
ignored when unreadable, larger than :data:`MAX_BYTES`, a link, or another user's (root's
is read: it can change the installed code anyway) or writable by others (the file or its
directory); an entry that is not code is compiled
anew; a kept text is let go once its code is loaded. A directory that cannot be written,
or none (a relative ``$XDG_CACHE_HOME`` or home), leaves every process compiling, as
before; ``PYTHONDONTWRITEBYTECODE`` (or ``-B``) turns the writing off, and
``MONITOR_CODE_CACHE=off`` the whole cache: nothing is read or written and neither module
is touched.
"""

from __future__ import annotations

import atexit
import builtins
import contextlib
import dataclasses
import importlib.util
import marshal
import os
import stat
import sys
import typing
from pathlib import Path
from types import CodeType
from typing import Any

__all__ = ["SWITCH", "cache_file", "compiled_anew", "enabled", "install"]

MAX_ENTRIES = 4000
"""More texts than this in the file (classes changed over many upgrades): the next write
keeps only what its process compiled."""

_STATE: dict[str, Any] = {}

SWITCH = "MONITOR_CODE_CACHE"
"""The environment variable that turns the cache off (``off``, ``0``, ``no``, ``false``)."""

_OFF = frozenset({"off", "0", "no", "false"})


MAX_BYTES = 64 << 20
"""A larger file is not read (a few thousand texts take a few megabytes)."""


def cache_file() -> Path | None:
    """Where the code is kept for this interpreter's bytecode version and optimisation
    level; None without an absolute place (a relative ``$XDG_CACHE_HOME`` is ignored, as
    the XDG rules say; a daemon without a home writes nothing into its working directory)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
        if not os.path.isabs(base):
            return None
    optimize = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return Path(base) / "monitor" / f"compiled.{sys.implementation.cache_tag}{optimize}.marshal"


def enabled() -> bool:
    """False when the operator turned the cache off (:data:`SWITCH`)."""
    return os.environ.get(SWITCH, "").strip().lower() not in _OFF


def install() -> None:
    """Read the kept code and route ``dataclasses``' ``exec`` and ``typing``'s
    ``compile`` through it (once a process; not at all when turned off)."""
    if _STATE or not enabled():
        return
    path = cache_file()
    known = _read(path) if path is not None else {}
    # What this process loaded: annotations by text (typing asks for `int` often, and they
    # are short), methods only by the text's hash (a text of a kilobyte or so, held for
    # the whole process, would cost more memory than compiling the rare repeat).
    annotations: dict[str, CodeType] = {}
    methods: set[int] = set()
    new: dict[str, bytes] = {}
    _STATE.update(path=path, new=new)

    def code_of(source: str, mode: str) -> CodeType:
        key = f"{mode}\0{source}"
        code = annotations.get(key)
        if code is not None:
            return code
        kept = known.pop(key, None)  # a kept text is loaded once, then let go
        code = _loads(kept) if kept is not None else None
        if code is None:
            # dont_inherit: compiled as the library compiles it, without this module's
            # `from __future__ import annotations`
            code = compile(source, "<string>", mode, dont_inherit=True)
            if hash(key) not in methods:  # else most likely loaded before: not new
                new[key] = marshal.dumps(code)
        if mode == "exec":
            methods.add(hash(key))
        else:
            annotations[key] = code
        return code

    def dataclasses_exec(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            source = code_of(source, "exec")
        builtins.exec(source, globals, locals)

    def typing_compile(source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, str) and filename == "<string>" and not args and not kwargs:
            return code_of(source, mode)
        return builtins.compile(source, filename, mode, *args, **kwargs)

    dataclasses.exec = dataclasses_exec  # type: ignore[attr-defined]
    typing.compile = typing_compile  # type: ignore[attr-defined]
    atexit.register(_write)


def compiled_anew() -> int:
    """How many texts this process compiled (found in no kept file)."""
    return len(_STATE.get("new", ()))


def _loads(kept: bytes) -> CodeType | None:
    """The kept code, or None when the bytes are not code (a damaged file)."""
    try:
        code = marshal.loads(kept)
    except (EOFError, ValueError, TypeError):
        return None
    return code if isinstance(code, CodeType) else None


def _private(status: os.stat_result) -> bool:
    """Owned by this user, or by root (who installed the interpreter and the package:
    an image's cache made at build time), and writable by no one else."""
    owner = status.st_uid in (os.getuid(), 0)
    return owner and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _read(path: Path) -> dict[str, bytes]:
    """Text → its code, marshalled: each is loaded when first asked for (all of them at
    once would take longer than what one command uses)."""
    magic = importlib.util.MAGIC_NUMBER
    try:
        # code only from a file this user wrote, in a directory only this user writes,
        # not through a link, and of a bounded size
        if not _private(path.parent.lstat()):
            return {}
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as file:
            status = os.fstat(file.fileno())
            if not (_private(status) and stat.S_ISREG(status.st_mode)):
                return {}
            if status.st_size > MAX_BYTES:
                return {}
            data = file.read(MAX_BYTES + 1)
        # one read, then loads: marshal.load on the file reads it piece by piece
        loaded = (
            marshal.loads(memoryview(data)[len(magic) :]) if data[: len(magic)] == magic else {}
        )
    except (OSError, EOFError, ValueError, TypeError, MemoryError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, bytes)}


def _write() -> None:
    """Add what this process compiled to the file as it is now (read again: another
    process may have written it meanwhile)."""
    new: dict[str, bytes] = _STATE.get("new", {})
    path: Path | None = _STATE.get("path")
    if not new or path is None or sys.dont_write_bytecode:
        return  # PYTHONDONTWRITEBYTECODE / -B: read, never written
    temp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(path.parent.lstat()):
            return  # another user's directory, or one others may write: a link planted
        kept = _read(path)
        kept.update(new)
        if len(kept) > MAX_ENTRIES:
            kept = new
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        with os.fdopen(os.open(temp, flags, 0o600), "wb") as file:
            file.write(importlib.util.MAGIC_NUMBER)
            marshal.dump(kept, file)
        os.replace(temp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            temp.unlink()
