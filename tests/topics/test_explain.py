"""`monitor match --explain`: every rule considered, which groups hit, which veto fired, where."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_monitor

TOPICS = """\
database: sqlite:///unused.db
alert_log: unused.jsonl
topics:
  - id: meeting
    aliases: {Trump: [US president]}
    rules:
      - all: [[Trump], [Putin], [summit]]
        none: [Xi]
      - near:
          - terms: [Trump, Putin, meet]
            within: 6
            none: [Zelensky]
  - id: board
    any: [Board of Peace]
    none: [{terms: [Studies], within: 1}]
"""


def explain(tmp_path: Path, *lines: str) -> str:
    config = tmp_path / "monitor.yaml"
    config.write_text(TOPICS, "utf-8")
    docs = tmp_path / "docs.jsonl"
    docs.write_text("\n".join(lines) + "\n", "utf-8")
    result = run_monitor("match", "--explain", str(docs), "-c", str(config))
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_explain_names_each_rule_group_and_veto_with_where(tmp_path: Path) -> None:
    out = explain(
        tmp_path,
        '{"id": "a", "title": "Trump to meet Zelensky after Putin call; Xi summit"}',
    )
    lines = out.splitlines()
    assert lines[0] == "a: Trump to meet Zelensky after Putin call; Xi summit"
    assert "  meeting: no match" in lines
    # rule 1 (numbered as the console and `alerts show` number rules): every group hit,
    # but the item-wide veto fired, with its place
    assert "    rule 1 of 2: fails" in lines
    assert any(line.startswith("      + all[2]: 'summit' at title@") for line in lines)
    assert any("- none: vetoed by 'Xi' at title@" in line and "[Xi]" in line for line in lines)
    # rule 2: the near span held a veto
    assert any(
        "- near[0]: vetoed by 'Zelensky' inside the span at title@14" in line for line in lines
    )
    assert "  board: no match (no term of the topic hit)" in lines


def test_explain_shows_aliases_and_scoped_vetoes(tmp_path: Path) -> None:
    out = explain(
        tmp_path,
        '{"id": "b", "title": "The US president will meet Putin"}',
        '{"id": "c", "title": "Board of Peace Studies open day"}',
    )
    assert "  meeting: MATCH (aliases: 'US president' counts as 'Trump' at title@4" in out
    assert "    rule 2 of 2: matches" in out
    assert "- scoped none: 'Studies' at title@15" in out and "drops 'Board of Peace'" in out


def test_explain_and_json_do_not_combine(tmp_path: Path) -> None:
    config = tmp_path / "monitor.yaml"
    config.write_text(TOPICS, "utf-8")
    result = run_monitor("match", "--explain", "--json", "-", "-c", str(config), input="x")
    assert result.returncode == 2
