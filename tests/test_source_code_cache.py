"""The code dataclasses and typing compile at start-up, kept between processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import user_environment

# What a command's start makes: the monitor's dataclasses and configuration models, and
# those of the libraries under them; then what the process compiled anew, and a few
# facts about a dataclass and a forward reference made from the kept code.
_PROBE = """
import dataclasses, json, typing
import monitor.config.schema, monitor.types, monitor.pipeline
from monitor import source_code_cache

@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Point:
    x: int
    y: int = 2
    tags: tuple[str, ...] = ()

p = Point(1)
try:
    p.x = 5
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
hints = typing.get_type_hints(Point)
print(json.dumps({
    "anew": source_code_cache.compiled_anew(),
    "repr": repr(p),
    "eq": p == Point(1, 2), "lt": Point(1, 1) < p, "hash": hash(p) == hash(Point(1)),
    "frozen": frozen,
    "init_return": repr(Point.__init__.__annotations__.get("return")),
    "hints": repr(hints["tags"]),
    "forward": repr(typing.ForwardRef("int | None")._evaluate(globals(), None, frozenset())),
}))
"""


def _probe(cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=user_environment(XDG_CACHE_HOME=str(cache)),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_second_process_compiles_nothing_and_makes_the_same_classes(tmp_path: Path) -> None:
    first = _probe(tmp_path)
    assert isinstance(first["anew"], int) and first["anew"] > 100
    assert list((tmp_path / "monitor").glob("compiled.*.marshal"))
    second = _probe(tmp_path)
    assert second["anew"] == 0  # every method and annotation came from the file
    assert {**second, "anew": None} == {**first, "anew": None}
    assert second["repr"] == "Point(x=1, y=2, tags=())"
    assert second["eq"] and second["lt"] and second["hash"] and second["frozen"]
    # compiled without the cache module's `from __future__ import annotations`: the
    # generated __init__'s return annotation is None itself, not the string
    assert second["init_return"] == "None"
    assert second["hints"] == "tuple[str, ...]"


def test_a_damaged_or_foreign_file_is_ignored(tmp_path: Path) -> None:
    _probe(tmp_path)
    (kept,) = (tmp_path / "monitor").glob("compiled.*.marshal")
    kept.write_bytes(kept.read_bytes()[:1000])  # cut short
    damaged = _probe(tmp_path)
    assert isinstance(damaged["anew"], int) and damaged["anew"] > 100
    assert damaged["repr"] == "Point(x=1, y=2, tags=())"
    assert _probe(tmp_path)["anew"] == 0  # written again whole


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    for _ in range(2):
        result = _probe(blocked)
        assert isinstance(result["anew"], int) and result["anew"] > 100
        assert result["repr"] == "Point(x=1, y=2, tags=())"
