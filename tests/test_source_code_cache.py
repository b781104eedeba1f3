"""The code dataclasses and typing compile at start-up, kept between processes."""

from __future__ import annotations

import importlib.util
import json
import marshal
import resource
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, user_environment

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


def _environment(**extra: str) -> dict[str, str]:
    """A user's environment (some set PYTHONDONTWRITEBYTECODE, which turns the writing off)."""
    env = user_environment(**extra)
    if "PYTHONDONTWRITEBYTECODE" not in extra:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _probe(cache: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=_environment(XDG_CACHE_HOME=str(cache)),
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


def _kept(cache: Path) -> Path:
    (kept,) = (cache / "monitor").glob("compiled.*.marshal")
    return kept


def test_a_file_whose_entries_are_not_code_is_ignored_entry_by_entry(tmp_path: Path) -> None:
    _probe(tmp_path)
    kept = _kept(tmp_path)
    magic = importlib.util.MAGIC_NUMBER
    entries = marshal.loads(kept.read_bytes()[len(magic) :])
    # the right header and a dict of texts, but each text's "code" garbage or not code
    damaged = {k: (b"\xffgarbage" if i % 2 else marshal.dumps(7)) for i, k in enumerate(entries)}
    kept.write_bytes(magic + marshal.dumps(damaged))
    result = _probe(tmp_path)
    assert result["repr"] == "Point(x=1, y=2, tags=())"
    assert isinstance(result["anew"], int) and result["anew"] > 100


def test_a_file_or_directory_others_may_write_is_neither_read_nor_written(
    tmp_path: Path,
) -> None:
    _probe(tmp_path)
    kept = _kept(tmp_path)
    kept.chmod(0o666)  # a group member (umask 002) or anyone could put code in it
    result = _probe(tmp_path)
    assert isinstance(result["anew"], int) and result["anew"] > 100
    kept.unlink()
    (tmp_path / "monitor").chmod(0o777)  # anyone may swap the file or plant a link
    _probe(tmp_path)
    assert not list((tmp_path / "monitor").iterdir())


def test_the_written_file_is_for_this_user_only(tmp_path: Path) -> None:
    _probe(tmp_path)
    assert stat.S_IMODE(_kept(tmp_path).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "monitor").stat().st_mode) == 0o700


def test_dont_write_bytecode_writes_no_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import monitor.config.schema"],
        env=_environment(XDG_CACHE_HOME=str(tmp_path), PYTHONDONTWRITEBYTECODE="1"),
        check=True,
    )
    assert done.returncode == 0
    assert not (tmp_path / "monitor").exists()


def test_a_relative_cache_home_writes_nothing_where_the_process_runs(tmp_path: Path) -> None:
    # a daemon with no home (HOME unset or relative, no passwd entry) and the XDG rule
    # that a relative XDG_CACHE_HOME is ignored: nothing appears in the working directory
    for env in ({"XDG_CACHE_HOME": "cache"}, {"XDG_CACHE_HOME": "", "HOME": "home"}):
        subprocess.run(
            [sys.executable, "-c", "import monitor.config.schema"],
            env=_environment(**{"HOME": str(tmp_path / "real"), **env}),
            cwd=tmp_path,
            check=True,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real"]


def test_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    (tmp_path / "monitor").mkdir(mode=0o700)
    name = f"compiled.{sys.implementation.cache_tag}.marshal"
    with (tmp_path / "monitor" / name).open("wb") as file:
        file.write(importlib.util.MAGIC_NUMBER)
        file.truncate(3 << 30)  # 3 GiB, sparse

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    done = subprocess.run(
        [sys.executable, "-c", "import monitor.config.schema"],
        env=_environment(XDG_CACHE_HOME=str(tmp_path)),
        preexec_fn=limit,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_code_compiled_under_o_is_not_given_to_a_process_without_it(tmp_path: Path) -> None:
    probe = (
        "import monitor, typing\n"
        'print(typing.ForwardRef("__debug__")._evaluate({}, None, frozenset()))'
    )
    env = _environment(XDG_CACHE_HOME=str(tmp_path))
    optimized = subprocess.run(
        [sys.executable, "-O", "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    plain = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert (optimized.stdout.strip(), plain.stdout.strip()) == ("False", "True")


def test_the_suite_keeps_its_code_out_of_the_developers_cache(tmp_path: Path) -> None:
    # the test run and every command it starts: a directory of the run's own, removed after
    env = _environment(HOME=str(tmp_path))
    env.pop("XDG_CACHE_HOME", None)
    subprocess.run(
        [
            sys.executable,
            *("-m", "pytest", "-q", "-p", "no:cacheprovider"),
            "tests/test_cli_output.py::test_help_and_version_still_print_and_succeed",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=True,
    )
    assert not (tmp_path / ".cache").exists()


# Counts the texts the process compiled itself (each dataclass method and string
# annotation the cache did not supply goes through compile(..., "<string>", ...)), and
# says whether dataclasses and typing were touched.
_COMPILES = """
import sys
compiled = []

def hook(event, args):
    if event == "compile" and args[1] == "<string>":
        compiled.append(1)

sys.addaudithook(hook)
import dataclasses, json, typing
import monitor.config.schema, monitor.types, monitor.pipeline
print(json.dumps({
    "compiled": len(compiled),
    "patched": hasattr(dataclasses, "exec") or hasattr(typing, "compile"),
}))
"""


def _compiles(cache: Path, **extra: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _COMPILES],
        env=_environment(XDG_CACHE_HOME=str(cache), **extra),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_cache_can_be_turned_off_reading_and_writing(tmp_path: Path) -> None:
    cold = _compiles(tmp_path)
    warm = _compiles(tmp_path)
    assert isinstance(cold["compiled"], int) and isinstance(warm["compiled"], int)
    # (a few texts are compiled anyway: repeats within a process, SQLAlchemy's own)
    assert cold["compiled"] > 3 * warm["compiled"] and warm["patched"] is True
    for value in ("off", "OFF", "0", "no", "false"):
        off = _compiles(tmp_path, MONITOR_CODE_CACHE=value)
        # the kept file is not read: everything compiled, and neither module patched
        # (more than a cold start: typing compiles a repeated annotation each time)
        assert off["patched"] is False, value
        assert isinstance(off["compiled"], int) and off["compiled"] >= cold["compiled"], value
    fresh = tmp_path / "fresh"
    _compiles(fresh, MONITOR_CODE_CACHE="off")
    assert not fresh.exists()  # nor written
    assert _compiles(tmp_path, MONITOR_CODE_CACHE="on") == warm
