"""monitor.config.source: libyaml reads the file when PyYAML has it, and what an operator
sees is what PyYAML's own parser gave: the same configuration, lines and refusals."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import source
from monitor.config.source import ConfigReader
from monitor.errors import ConfigError
from tests.config.test_config import GOOD
from tests.conftest import run_monitor

pytestmark = pytest.mark.skipif(
    not getattr(yaml, "__with_libyaml__", False), reason="PyYAML without libyaml"
)

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
ENV = {"TOKEN": "t0k3n", "HOOK": "https://hooks.example.org/x"}
HEAD = "database: sqlite:///m.db\nalert_log: a.jsonl\n"


@contextmanager
def pure_parser() -> Iterator[None]:
    """As on a machine whose PyYAML has no libyaml."""
    fast = yaml.CSafeLoader
    del yaml.CSafeLoader
    try:
        yield
    finally:
        yaml.CSafeLoader = fast


def outcome(text: str) -> tuple[Any, ...]:
    """What reading ``text`` gives: the data, lines and values, or every problem."""
    reader = ConfigReader("monitor.yaml", ENV)
    try:
        data = reader.read(text)
    except ConfigError as exc:
        return ("refused", [str(p) for p in exc.problems])
    return (
        "read",
        repr(data),
        sorted(reader.lines.items(), key=repr),
        sorted(reader.scalars.items(), key=repr),
        [str(p) for p in reader.problems + reader.warnings],
    )


def both(text: str) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    fast = outcome(text)
    with pure_parser():
        pure = outcome(text)
    return fast, pure


def shape(node: yaml.Node, seen: dict[int, int]) -> Any:
    """The tree with every mark, style and tag; an alias as the node it repeats."""
    if id(node) in seen:
        return ("alias", seen[id(node)])
    seen[id(node)] = len(seen)
    start, end = node.start_mark, node.end_mark
    marks = (start.line, start.column, end.line, end.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style or "", marks)
    if isinstance(node, yaml.SequenceNode):
        items = [shape(item, seen) for item in node.value]
        return ("seq", node.tag, bool(node.flow_style), marks, items)
    pairs = [(shape(k, seen), shape(v, seen)) for k, v in node.value]
    return ("map", node.tag, bool(node.flow_style), marks, pairs)


def yaml_texts() -> dict[str, str]:
    """Every YAML file of the repository and the shared data, the examples of the
    README and SPEC, and the tests' sample file."""
    found = {"tests GOOD": GOOD}
    for label, base in (("repo", REPO), ("shared", SHARED)):
        for path in sorted(base.rglob("*.y*ml")) if base.is_dir() else []:
            if ".venv" not in path.parts and path.suffix in (".yaml", ".yml"):
                found[f"{label}/{path.relative_to(base)}"] = path.read_text(encoding="utf-8")
        for doc in (base / "README.md", base / "SPEC.md"):
            if doc.is_file():
                blocks = re.findall(r"```ya?ml\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
                for i, block in enumerate(blocks):
                    found[f"{label}/{doc.name} example {i}"] = block
    return found


TEXTS = yaml_texts()


@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_yaml_file_makes_the_same_tree_in_both_parsers(name: str) -> None:
    text = TEXTS[name]
    fast = yaml.compose(text, Loader=yaml.CSafeLoader)
    pure = yaml.compose(text, Loader=yaml.SafeLoader)
    assert fast is not None and pure is not None
    assert shape(fast, {}) == shape(pure, {})
    # ... and is read by libyaml: none of them is a file the pure parser must read.
    assert source._PURE_ONLY.search(text) is None
    assert source._read_alike(fast, len(text))


def test_the_shipped_file_is_read_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> None:
        raise AssertionError("the pure parser read a file libyaml reads alike")

    monkeypatch.setattr(yaml.SafeLoader, "get_single_node", refuse)
    text = (REPO / "config" / "monitor.yaml").read_text(encoding="utf-8")
    assert outcome(text)[0] == "read"


# Files libyaml reads and PyYAML's own parser refuses (or reads otherwise): each is
# refused as it always was, at its line, with the pure parser's words.
DIFFERENT = {
    "tab after a colon": HEAD + "max_age:\t2d\n",
    "tab before a comment": HEAD + "max_age: 2d\t# two days\n",
    "tab inside brackets": HEAD + "feeds: [\t{name: a, url: 'http://x.org/'}]\n",
    "tab after a list dash": HEAD + "feeds:\n  -\tname: a\n",
    "tab inside quotes": HEAD + 'max_age: "2d"\ntopics: [{id: a, any: ["x\ty"]}]\n',
    "? inside a flow scalar": HEAD + "topics:\n  - {id: a, any: [Trump?, Putin]}\n",
    "? in a flow url": HEAD + "feeds: [{name: a, url: http://x.org/rss?f=1}]\n",
    "? ending a flow scalar": HEAD + "topics: [{id: a, any: [who ?]}]\n",
    "? in a flow key": HEAD + "x: {a?b: 1}\n",
    "tag run into a comma": HEAD + "topics: [{id: a, any: [!!str, Putin]}]\n",
    "tag run into a bracket": HEAD + "x: [!!str]\n",
    # the non-specific tag on an empty value: null to the pure parser, "" to libyaml
    "! on an empty value": HEAD + "feeds:\n  - name: a\n    url: http://x.org/\n    language: !\n",
    "!<!> on an empty value": HEAD + "max_age: !<!>\n",
    "! on an empty key": HEAD + "? ! # no key\n: 2d\n",
    # a byte-order mark past the file's start (files joined with cat): libyaml skips one
    # that starts a line, the pure parser reads it as a character
    "BOM before a comment": HEAD + "\ufeff# the second file\nfeeds: []\n",
    "BOM before indentation": HEAD + "topics:\n\ufeff - id: t\n    any: [Trump]\n",
    "BOM on a line of its own": HEAD + "feeds: []\n\ufeff\n",
    "nested 70 levels": HEAD + "x: " + "[" * 70 + "]" * 70 + "\n",
    "nested 300 levels, block": HEAD
    + "".join("  " * i + f"k{i}:\n" for i in range(300))
    + "  " * 300
    + "v\n",
    # 601 levels, an anchor every 50 and each aliased at the top: each alias is 50 deep
    "nested 601 levels behind anchors": HEAD
    + "a: "
    + "".join("[" * 50 + f"&x{i} " for i in range(12))
    + "[1]"
    + "]" * 600
    + "\n"
    + "".join(f"b{i}: *x{i}\n" for i in range(12)),
    "nested 600 levels, block": HEAD
    + "".join("  " * i + f"k{i}:\n" for i in range(600))
    + "  " * 600
    + "v\n",
}


@pytest.mark.parametrize("name", list(DIFFERENT))
def test_files_the_parsers_read_differently_read_as_the_pure_parser_does(name: str) -> None:
    fast, pure = both(DIFFERENT[name])
    assert fast == pure


def test_a_tab_is_refused_at_its_line_and_column_in_plain_words() -> None:
    # PyYAML's words were "found character '\t' that cannot start any token"
    found = outcome(HEAD + "feeds: []\nmax_age:\t2d\n")
    assert found == (
        "refused",
        [
            "monitor.yaml:4: YAML syntax error: a tab at column 9: YAML takes a tab only "
            "inside quotes or a comment; replace it with a space"
        ],
    )


@pytest.mark.parametrize(
    ("indented", "line", "column"),
    [
        ("topics:\n\t- id: a\n\t  any: [x]\n", 4, 1),
        ("topics:\n  - id: a\n  \tany: [x]\n", 5, 3),
        ("\t# a comment indented with a tab\nfeeds: []\n", 3, 1),
        ("topics:\n  - id: a\n    any: [x]\n    name: |\n      a\n\tb\n", 8, 1),
    ],
)
def test_a_tab_in_the_indentation_is_named_so(indented: str, line: int, column: int) -> None:
    assert outcome(HEAD + indented) == (
        "refused",
        [
            f"monitor.yaml:{line}: YAML syntax error: a tab in the indentation (column "
            f"{column}): YAML indents with spaces only; replace the tab with spaces"
        ],
    )


def test_tabs_in_quotes_and_comments_are_read() -> None:
    text = HEAD + 'feeds: [] # a\tcomment\ntopics:\n  - id: a\n    name: "a\tb"\n    any: [x]\n'
    assert outcome(text)[0] == "read"


def test_a_question_mark_in_a_flow_list_is_refused_at_its_line() -> None:
    found = outcome(HEAD + "topics:\n  - {id: a, any: [Trump?, Putin]}\n")
    assert found[0] == "refused"
    assert found[1][0].startswith("monitor.yaml:4: YAML syntax error: expected ',' or ']'")


ALIKE = {
    "url with a query, block": HEAD + "feeds:\n  - name: a\n    url: http://x.org/rss?f=1\n",
    "question in quotes": HEAD + "topics: [{id: a, any: ['who?', \"what?\"]}]\n",
    "explicit key": HEAD + "? max_age\n: 2d\n",
    "key indicator in a flow list": HEAD + "x: [?, a]\n",
    "tag before a space": HEAD + "x: [!!str 1, 2]\n",
    "anchors and merge": HEAD + "base: &b {interval: 5m}\nfeeds:\n  - <<: *b\n    name: a\n",
    "duplicate key": HEAD + "max_age: 2d\nmax_age: 3d\n",
    "bad date": HEAD + "since: 2026-13-45\n",
    "variables": HEAD + "notify:\n  - webhook: ${HOOK}\n    token: $${LITERAL}\n",
    "missing variable": HEAD + "notify:\n  - webhook: ${NOPE}\n",
    "unclosed quote": HEAD + 'max_age: "2d\nfeeds: []\n',
    "nested 60 levels": HEAD + "x: " + "[" * 60 + "]" * 60 + "\n",
    "two documents": HEAD + "---\nx: 1\n",
    "bom": "\ufeff" + HEAD,
    "crlf": HEAD.replace("\n", "\r\n") + "feeds:\r\n  - name: a\r\n",
    "alias bomb": "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 7)),
}


@pytest.mark.parametrize("name", list(ALIKE))
def test_files_both_parsers_read_give_the_same_outcome(name: str) -> None:
    fast, pure = both(ALIKE[name])
    assert fast == pure


def _random_config(rnd: random.Random) -> str:
    words = ["Trump", "Путин", "Gipfel*", "who?", "a: b", "#tag", "x, y", "'q'", '"d"', "!", "&a"]
    words += ["http://x.org/rss?f=1", "yes", "1e3", "0o17", "2026-01-02", "~", "- x", "ü ß"]
    data: dict[str, Any] = {"database": "sqlite:///m.db", "alert_log": "a.jsonl"}
    data["feeds"] = [
        {"name": f"f{i}", "url": rnd.choice(words), "interval": f"{rnd.randint(1, 90)}m"}
        for i in range(rnd.randint(0, 5))
    ]
    data["topics"] = [
        {"id": f"t{i}", "any": rnd.sample(words, rnd.randint(1, 5))}
        for i in range(rnd.randint(0, 4))
    ]
    text = yaml.safe_dump(
        data,
        default_flow_style=rnd.choice([True, False, None]),
        allow_unicode=rnd.random() < 0.5,
        width=rnd.choice([20, 80, 1000]),
        indent=rnd.choice([2, 4]),
        sort_keys=rnd.random() < 0.5,
    )
    return str(text)


def test_generated_configurations_read_alike() -> None:
    rnd = random.Random(7)
    for _ in range(150):
        text = _random_config(rnd)
        fast, pure = both(text)
        assert fast == pure, text


def test_edited_configurations_read_alike() -> None:
    """The shipped file with a few characters that matter to YAML typed, deleted or
    replaced at random: whatever either parser makes of it, the outcome is the same."""
    shipped = (REPO / "config" / "monitor.yaml").read_text(encoding="utf-8")
    rnd = random.Random(15)
    marks = list(":- \t[]{}\"'#&*!|>\n%@,?\\")
    for _ in range(150):
        text = shipped
        for _ in range(rnd.randint(1, 3)):
            at, how = rnd.randrange(len(text) + 1), rnd.random()
            if how < 0.5:
                text = text[:at] + rnd.choice(marks) + text[at:]
            elif how < 0.8:
                text = text[:at] + text[at + 1 :]
            else:
                text = text[:at] + rnd.choice(marks) + text[at + 1 :]
        fast, pure = both(text)
        assert fast == pure, text


def test_check_reads_an_empty_value_tagged_with_a_bang_as_left_out(tmp_path: Path) -> None:
    """``language: !`` is a null to PyYAML's own parser (the key left out), not the
    empty string libyaml makes of it: `monitor check` accepts the file on every machine."""
    config = tmp_path / "monitor.yaml"
    config.write_text(
        HEAD + "feeds:\n  - name: a\n    url: http://127.0.0.1:9/a.xml\n    language: !\n"
        "topics:\n  - id: t\n    any: [Trump]\n",
        "utf-8",
    )
    result = run_monitor("check", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert "unknown language" not in result.stderr


def test_check_refuses_a_byte_order_mark_inside_the_file_at_its_line(tmp_path: Path) -> None:
    """Two files joined with ``cat``, the second saved with a byte-order mark: refused
    where it stands, as PyYAML's own parser refuses it, not read on some machines only."""
    config = tmp_path / "monitor.yaml"
    config.write_text(
        "\ufeff" + HEAD + "\ufeff# feeds and topics\nfeeds: []\ntopics:\n  - id: t\n    any: [a]\n",
        "utf-8",
    )
    result = run_monitor("check", "-c", str(config))
    assert result.returncode == 2, result.stdout
    assert result.stderr.startswith(f"{config}:4: YAML syntax error")


@pytest.mark.parametrize("body", ["a: &a [1, *a]\n", "b: &b {x: *b}\n"])
def test_check_refuses_an_alias_inside_the_value_it_names(tmp_path: Path, body: str) -> None:
    """A value that holds itself nests without end: refused in the words of a nesting
    too deep, not a traceback (libyaml or not)."""
    config = tmp_path / "monitor.yaml"
    config.write_text(HEAD + "feeds: []\n" + body, "utf-8")
    result = run_monitor("check", "-c", str(config))
    assert result.returncode == 2, result.stderr[-500:]
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(f"{config}: YAML error: nested too deeply")
