"""`monitor match` input and output: reading documents, the human report, the JSON line."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime

import pytest

from monitor.topics import compile_topics
from monitor.topics.report import (
    InputError,
    format_matches,
    match_json,
    parse_published,
    read_batches,
    read_documents,
)
from monitor.topics.spec import TopicConfig
from monitor.types import Document

TOPICS = compile_topics(
    [TopicConfig(id="summit", all=[["Trump"], ["Putin"], ["Anchorage", "саммит"]])]
)


def read(text: str) -> list[tuple[str | int, Document]]:
    return list(read_documents(io.StringIO(text)))


def test_json_lines_with_ids_line_numbers_and_dates() -> None:
    docs = read(
        '{"id": "a", "title": "Trump", "language": "en", "published": "2025-08-15T18:02:00Z"}\n'
        "\n"
        '{"summary": "Putin", "published": "Fri, 15 Aug 2025 20:02:00 +0200"}\n'
        '{"id": 7, "content": "text", "published": "2025-08-15T18:02:00"}\n'
    )
    assert [d[0] for d in docs] == ["a", 3, 7]
    first, second, third = (d[1] for d in docs)
    assert first == Document(
        title="Trump", language="en", published=datetime(2025, 8, 15, 18, 2, tzinfo=UTC)
    )
    assert second.summary == "Putin" and second.published == first.published
    assert third.published == first.published  # naive times are UTC


def test_plain_text_is_one_document() -> None:
    text = "Trump und Putin\ntrafen sich in Anchorage.\n{not json}\n"
    [(doc_id, doc)] = read(text)
    assert doc_id == 1
    assert "Anchorage" in doc.content and doc.title == ""


def test_empty_input_yields_nothing() -> None:
    assert read("\n  \n") == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{broken", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"id": "x"}', "line 2: needs a title, summary or content"),
        ('{"title": 5}', "line 2: 'title' must be a string"),
        ('{"title": "t", "published": "yesterday"}', "line 2: 'published' is neither"),
    ],
)
def test_bad_lines_name_their_line_number(line: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read('{"title": "ok"}\n' + line + "\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"title": "t", "n": ' + "9" * 5000 + "}", "line 2: not valid JSON (a number too long)"),
        ('{"title": "t", "n": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ("[" * 100_000, "line 2: not valid JSON"),
    ],
)
def test_lines_past_pythons_own_limits_are_skipped_with_their_line_number(
    line: str, message: str
) -> None:
    """Python refuses a number of over 4,300 digits and nesting past its recursion
    limit with errors of its own: each is one bad line, not the end of the reading."""
    errors: list[InputError] = []
    text = '{"title": "first"}\n' + line + '\n{"title": "last"}\n'
    docs = list(read_documents(io.StringIO(text), on_error=errors.append))
    assert [d[1].title for d in docs] == ["first", "last"]
    assert [str(e) for e in errors] == [str(errors[0])] and message in str(errors[0])
    batches = list(read_batches(io.StringIO(text), 256))
    assert [str(i) if isinstance(i, InputError) else i[1].title for i in batches[0]] == [
        "first",
        str(errors[0]),
        "last",
    ]


def test_a_first_line_past_pythons_limits_is_a_bad_line_of_json_lines() -> None:
    """A first line that starts with ``{`` makes the input JSON Lines, usable or not:
    one nested past Python's limits is reported by its number like any bad line (it was
    read, with the rest, as one plain text)."""
    bad: list[str] = []
    docs = list(
        read_documents(
            io.StringIO('{"a": ' + "[" * 100_000 + '\n{"title": "Trump und Putin"}\n'),
            on_error=lambda exc: bad.append(str(exc)),
        )
    )
    assert bad and bad[0].startswith("line 1: ")
    assert [(i, d.title) for i, d in docs] == [(2, "Trump und Putin")]


def test_match_json_is_the_spec_line() -> None:
    doc = Document(title="Trump meets Putin in Anchorage")
    line = match_json("a", TOPICS.match(doc))
    assert json.loads(json.dumps(line)) == {
        "id": "a",
        "topics": [
            {
                "id": "summit",
                "score": 6.0,
                "evidence": [
                    {
                        "term": t,
                        "field": "title",
                        "offset": doc.title.index(t),
                        "snippet": doc.title,
                    }
                    for t in ("Trump", "Putin", "Anchorage")
                ],
            }
        ],
    }
    assert match_json(3, []) == {"id": 3, "topics": []}


def test_human_output_highlights_hits_without_color() -> None:
    doc = Document(title="Встреча", summary="Трамп и Путин обсудили итоги саммита в Анкоридже")
    topics = compile_topics([TopicConfig(id="summit", all=[["Трамп"], ["Путин"], ["саммит"]])])
    out = format_matches("d-1", doc, topics.match(doc), color=False)
    assert out.splitlines()[0] == "d-1: Встреча"
    assert "summit" in out
    assert "[саммита]" in out and "[Путин]" in out and "summary" in out
    assert "\x1b[" not in out


def test_human_output_in_color_and_without_matches() -> None:
    doc = Document(title="Trump meets Putin in Anchorage")
    colored = format_matches(1, doc, TOPICS.match(doc), color=True)
    assert "\x1b[1;31mAnchorage\x1b[0m" in colored
    assert "no topic matches" in format_matches(2, Document(title="x"), [], color=False)


def _general_parser(text: str) -> datetime | str | None:
    """What parse_published gives for an RFC 822 date read by email.utils alone."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return "error"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        return None


@pytest.mark.parametrize(
    "text",
    [
        "Thu, 18 Dec 2025 06:45:02 +0000",
        "18 Dec 2025 06:45:02 -0000",
        "Thu, 8 Dec 2025 06:45:02 GMT",
        "Thu, 18 Dec 2025 06:45:02 UT",
        "Thu, 18 Dec 2025 23:45:02 -0130",
        "Thu, 18 Dec 2025 00:15:02 +1445",
        "Mon, 01 Jan 1000 00:30:00 +0100",
        "Fri, 31 Dec 9999 23:00:00 -0200",  # past year 9999 in UTC
        "Thu, 31 Feb 2025 06:45:02 +0000",  # no such day
        "Thu, 18 Dec 2025 24:00:00 +0000",
        "Thu, 18 Dec 2025 06:60:02 +0000",
        "Thu, 18 Dec 2025 06:45:02 +2400",  # no such offset
        "Thu, 18 Dec 2025 06:45:02 +0099",
        "Thu, 18 Dec 0025 06:45:02 +0000",  # a two-digit year, as the general parser reads it
        "Thu, 18 dec 2025 06:45:02 +0000",
        "Thu, 18 Dec 2025 06:45 +0000",
    ],
)
def test_rfc822_dates_read_as_the_general_parser_reads_them(text: str) -> None:
    try:
        got: datetime | str | None = parse_published(text)
    except ValueError:
        got = "error"
    expected = _general_parser(text)
    assert got == expected
    if isinstance(got, datetime):
        assert got.tzinfo == UTC


def _read_reference(line: str, number: int) -> tuple[str | int, Document] | str:
    """One line read one check at a time, as SPEC.md says (the reader's shortcuts
    must not change a document or a message): (id, document) or the error's text."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON ({exc.msg})"
    if not isinstance(data, dict):
        return f"line {number}: expected a JSON object"
    texts: dict[str, str] = {}
    for name in ("title", "summary", "content", "article"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"line {number}: {name!r} must be a string"
        if value is not None:
            texts[name] = value
    if not "".join(texts.values()).strip():
        return f"line {number}: needs a title, summary or content"
    doc_id = data.get("id", number) if data.get("id") is not None else number
    if not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
        return f"line {number}: 'id' must be a string or a number"
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        return f"line {number}: 'language' must be a string"
    try:
        when = parse_published(data.get("published"))
    except ValueError as exc:
        return f"line {number}: {exc}"
    return doc_id, Document(language=language or None, published=when, **texts)


def _random_line(rng: random.Random) -> str:
    texts: list[object] = ["Trump", "", "  ", "\t\n", "Путин встретился", 5, True, ["x"], {}]
    dates: list[object] = [
        "Thu, 18 Dec 2025 06:45:02 +0000",
        "2025-12-18T06:45:02Z",
        "2025-12-18",
        "Thu, 31 Feb 2025 06:45:02 +0000",
        "Fri, 31 Dec 9999 23:00:00 -0200",
        "yesterday",
        "",
        12,
        ["x"],
    ]
    data: dict[str, object] = {}
    for name in ("id", "title", "summary", "content", "article", "language", "published"):
        if rng.random() < 0.5:
            continue
        if name == "id":
            data[name] = rng.choice(["a-1", 7, 0, True, 1.5, None, ""])
        elif name == "language":
            data[name] = rng.choice(["en", "", None, 3])
        elif name == "published":
            data[name] = rng.choice(dates)
        else:
            data[name] = rng.choice(texts)
    body = json.dumps(data, ensure_ascii=rng.random() < 0.5)
    form = rng.randrange(10)
    if form == 0:
        body = " " + body
    elif form == 1:
        body += "  "
    elif form == 2:
        body += " {}"
    elif form == 3:
        body = "\ufeff" + body
    elif form == 4:
        body = rng.choice(["[1]", "null", '"text"', "{broken", body[:-1]])
    return body + rng.choice(["\n", "\r\n"])


@pytest.mark.parametrize("seed", range(5))
def test_lines_read_as_one_check_at_a_time(seed: int) -> None:
    """The reader's short cuts (one decoding call for a line that is one object, dates
    kept by their text, the batches) give the documents and the messages, in input
    order, that reading each line one check at a time gives."""
    rng = random.Random(seed)
    lines = ['{"title": "first"}\n'] + [_random_line(rng) for _ in range(400)]
    expected = [
        _read_reference(line, number) for number, line in enumerate(lines, start=1) if line.strip()
    ]
    got: list[tuple[str | int, Document] | str] = []
    for item in read_documents(io.StringIO("".join(lines)), on_error=got.append):  # type: ignore[arg-type]
        got.append(item)
    got = [str(item) if isinstance(item, InputError) else item for item in got]
    assert got == expected
    batched = [
        str(item) if isinstance(item, InputError) else item
        for batch in read_batches(io.StringIO("".join(lines)), 16)
        for item in batch
    ]
    assert batched == expected
