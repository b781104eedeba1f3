"""`monitor match` input and output: documents from a stream, matches as text or JSON.

Input (SPEC.md, "Command line"): JSON Lines of ``{"id", "title", "summary", "content",
"language", "published"}`` (all optional but one text field), or anything else as one
plain-text document. Output: a human report that highlights the hits, or SPEC.md's
``--json`` line.

This module neither compiles topics nor matches; it only reads the given stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from itertools import chain
from json.encoder import encode_basestring
from json.scanner import make_scanner
from typing import TextIO

from monitor.errors import MonitorError
from monitor.topics.explain import TopicTrace
from monitor.topics.snippet import hit_end, snippet
from monitor.topics.text import fold_words
from monitor.types import Document, Evidence, Match

_TEXT_FIELDS = ("title", "summary", "content", "article")
_BOLD_RED = "\x1b[1;31m"
_BOLD = "\x1b[1m"
_DIM = "\x1b[2m"
_RESET = "\x1b[0m"


class InputError(MonitorError):
    """A `monitor match` input line that is not a usable document (names the line)."""


def read_documents(
    stream: TextIO, *, on_error: Callable[[InputError], None] | None = None
) -> Iterator[tuple[str | int, Document]]:
    """(input id or 1-based line number, document) for each document in ``stream``.

    The stream is JSON Lines when its first non-blank line starts with ``{``
    (:func:`opens_json_lines`); then every non-blank line must be a JSON object
    (:class:`InputError` names the line otherwise: raised, or handed to ``on_error``
    and the line skipped when that is given).
    Anything else is one plain-text document with id 1.
    """
    head = _head(stream)
    if head is None:
        return
    if not opens_json_lines(head[-1]):
        text = "".join(chain(head, stream)).strip()
        yield 1, Document(content=text)
        return
    read = _LineReader()
    for number, line in enumerate(chain(head, stream), start=1):
        if not line or line.isspace():  # not line.strip(): no copy of every line
            continue
        try:
            yield read(line, number)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)


def read_batches(
    stream: TextIO, size: int
) -> Iterator[list[tuple[str | int, Document] | InputError]]:
    """What :func:`read_documents` reads, in lists of ``size`` documents: each
    (input id, document), and the :class:`InputError` of each line skipped, in input
    order. An error that ends the reading (not JSON Lines after all, undecodable bytes)
    is raised after the list of what was read before it."""
    batch: list[tuple[str | int, Document] | InputError] = []
    try:
        head = _head(stream)
        if head is None:
            return
        if not opens_json_lines(head[-1]):
            yield [(1, Document(content="".join(chain(head, stream)).strip()))]
            return
        # read_documents' loop without a generator between the lines and the lists
        read = _LineReader()
        count = 0
        number = 0
        for line in chain(head, stream):
            number += 1
            if not line or line.isspace():
                continue
            try:
                batch.append(read(line, number))
            except InputError as exc:
                batch.append(exc)
                continue
            count += 1
            if count == size:
                yield batch
                batch = []
                count = 0
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _head(stream: TextIO) -> list[str] | None:
    """The lines up to the first non-blank one, or None when all are blank."""
    head: list[str] = []
    for line in stream:
        head.append(line)
        if line.strip():
            return head
    return None


def opens_json_lines(line: str) -> bool:
    """Whether a stream whose first non-blank line is ``line`` is JSON Lines: the line
    starts with ``{``. Whether it is a usable object is the line's own question, so a
    damaged first line (cut short, say) is reported like any other bad line, not read as
    plain text; a plain text that starts with ``{`` is not a text people match."""
    return line.lstrip().startswith("{")


# JSONDecoder.raw_decode without its Python frame: (value, end) of the JSON value at
# an offset, StopIteration when none begins there (raw_decode's JSONDecodeError)
_scan_once = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed: a scanner
_LINE_ENDS = ("\n", "\r\n")
_DATES_KEPT = 1024  # dates read, kept by their text: feeds repeat them in a row


class _LineReader:
    """One JSON Lines line → (id, document), or :class:`InputError` naming the line.

    Keeps the dates it read (a stream often repeats one): the same datetime for the
    same text."""

    def __init__(self) -> None:
        self._dates: dict[str, datetime | None] = {}

    def __call__(self, line: str, number: int) -> tuple[str | int, Document]:
        try:
            # json.loads without its checks, for a line that is one object and its end
            data, end = _scan_once(line, 0)
            if end != len(line) and line[end:] not in _LINE_ENDS:
                raise ValueError(line)
        except (StopIteration, ValueError, RecursionError):
            data = _loads(line, number)
        if not isinstance(data, dict):
            raise InputError(f"line {number}: expected a JSON object")
        get = data.get
        title, summary, content, article = (
            get("title"),
            get("summary"),
            get("content"),
            get("article"),
        )
        if (
            (title is not None and title.__class__ is not str)
            or (summary is not None and summary.__class__ is not str)
            or (content is not None and content.__class__ is not str)
            or (article is not None and article.__class__ is not str)
        ):
            _refuse_texts(data, number)
        if not (
            (title and not title.isspace())
            or (summary and not summary.isspace())
            or (content and not content.isspace())
            or (article and not article.isspace())
        ):
            raise InputError(f"line {number}: needs a title, summary or content")
        doc_id = get("id")
        if doc_id is None:
            doc_id = number
        elif doc_id.__class__ is not str and doc_id.__class__ is not int:
            raise InputError(f"line {number}: 'id' must be a string or a number")
        language = get("language")
        if language is not None and language.__class__ is not str:
            raise InputError(f"line {number}: 'language' must be a string")
        published = get("published")
        if published is None:
            when = None
        elif published.__class__ is str and published in self._dates:
            when = self._dates[published]
        else:
            try:
                when = parse_published(published)
            except ValueError as exc:
                raise InputError(f"line {number}: {exc}") from exc
            if len(self._dates) >= _DATES_KEPT:
                self._dates.clear()
            self._dates[published] = when
        return doc_id, Document(
            title or "", summary or "", content or "", language or None, when, article or ""
        )


def _loads(line: str, number: int) -> object:
    """``json.loads(line)``, or the :class:`InputError` that says why the line is not
    usable JSON (also where Python's own limits refuse it: a number of over 4,300
    digits, arrays or objects nested past the recursion limit)."""
    try:
        return json.loads(line)  # what it accepts, or its words for why not
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: not valid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise InputError(f"line {number}: not valid JSON (nested too deeply)") from exc
    except ValueError as exc:  # int(): more digits than Python converts
        raise InputError(f"line {number}: not valid JSON (a number too long)") from exc


def _refuse_texts(data: dict[str, object], number: int) -> None:
    """The error of the first text field that is not a string."""
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"line {number}: {name!r} must be a string")


def parse_published(value: object) -> datetime | None:
    """ISO 8601 or RFC 822 (as in feeds) → aware UTC datetime; naive times are UTC; a
    time that has no UTC form (past year 9999 or before year 1 there) → None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"'published' must be a string, got {value!r}")
    text = value.strip()
    # an ISO date's year is followed by a dash, where no RFC 822 date has one
    when = _common_rfc822(text) if text[4:5] != "-" else None
    if when is None:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
            except (TypeError, ValueError, IndexError) as exc:
                raise ValueError(f"'published' is neither ISO 8601 nor RFC 822: {value!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except OverflowError:
        # Year 9999 west of UTC, year 1 east of it: no usable date, as when polling.
        return None


_MONTHS = {
    m: n
    for n, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_RFC822 = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ("
    + "|".join(_MONTHS)
    + r") ([1-9]\d{3}) (\d\d):(\d\d):(\d\d) (?:GMT|UTC?|Z|([+-])(\d\d)(\d\d))"
)


def _common_rfc822(text: str) -> datetime | None:
    """The date of the commonest RFC 822 form in feeds ("Thu, 18 Dec 2025 06:45:02
    +0000"), read as :func:`email.utils.parsedate_to_datetime` reads it but without its
    general parser (a tenth of the cost); None for any other form or an impossible date
    (the general parser then reads it, or says why it cannot)."""
    found = _RFC822.fullmatch(text)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, zone_h, zone_m = found.groups()
    offset = 0
    if sign is not None:
        offset = (int(zone_h) * 3600 + int(zone_m) * 60) * (-1 if sign == "-" else 1)
    try:
        zone = timezone(timedelta(seconds=offset)) if offset else UTC
        return datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=zone
        )
    except ValueError:
        return None


def match_json(doc_id: str | int, matches: Sequence[Match]) -> dict[str, object]:
    """SPEC.md's ``monitor match --json`` line for one document."""
    return {"id": doc_id, "topics": [m.to_json() for m in matches]}


def match_json_line(doc_id: str | int, matches: Sequence[Match]) -> str:
    """:func:`match_json` as the line `monitor match --json` prints (no newline)."""
    if not matches:  # most documents: the same text without building the dict
        # the encoder's own forms of a str and an int, without its call for each
        if doc_id.__class__ is str:
            shown = _json_string(doc_id)
        elif doc_id.__class__ is int:
            shown = int.__repr__(doc_id)
        else:
            shown = _to_json(doc_id)
        return '{"id": ' + shown + ', "topics": []}'
    return _to_json(match_json(doc_id, matches))


# json.dumps(..., ensure_ascii=False) builds this encoder on every call
_to_json = json.JSONEncoder(ensure_ascii=False).encode
_json_string = encode_basestring  # what that encoder makes of a str


def format_matches(
    doc_id: str | int, doc: Document, matches: Sequence[Match], *, color: bool
) -> str:
    """What `monitor match` prints for one document: the topics that match and why."""
    title = " ".join(doc.title.split())
    header = f"{doc_id}: {title[:100]}" if title else f"{doc_id}:"
    lines = [_BOLD + header + _RESET if color else header]
    if not matches:
        lines.append("  no topic matches")
    for found in matches:
        lines.append(f"  {found.topic}  (score {found.score:g})")
        for ev in found.evidence:
            shown = _highlight(doc, ev, color=color)
            where = f"{ev.field}@{ev.offset}"
            where = _DIM + where + _RESET if color else where
            lines.append(f"    {ev.term!r:<22} {where:<14} {shown}")
    return "\n".join(lines)


def _highlight(doc: Document, ev: Evidence, *, color: bool) -> str:
    text = getattr(doc, ev.field, "")
    if not isinstance(text, str) or ev.offset >= len(text):
        return ev.snippet
    end = hit_end(text, ev.offset, max(1, len(fold_words(ev.term.strip("*")))))
    shown, start, stop = snippet(text, ev.offset, end)
    hit = shown[start:stop]
    marked = f"{_BOLD_RED}{hit}{_RESET}" if color else f"[{hit}]"
    return shown[:start] + marked + shown[stop:]


def format_explanation(
    doc_id: str | int, doc: Document, traces: Sequence[TopicTrace], *, color: bool
) -> str:
    """What `monitor match --explain` prints: every topic, every rule, every check."""
    title = " ".join(doc.title.split())
    header = f"{doc_id}: {title[:100]}" if title else f"{doc_id}:"
    lines = [_BOLD + header + _RESET if color else header]
    for trace in traces:
        verdict = "MATCH" if trace.matched else "no match"
        lines.append(f"  {trace.topic}: {verdict}" + (f" ({trace.note})" if trace.note else ""))
        for rule in trace.rules:
            # 1-based, "of N": the console and `monitor alerts show` name rules so
            lines.append(
                f"    rule {rule.index + 1} of {len(trace.rules)}: "
                + ("matches" if rule.matched else "fails")
            )
            for check in rule.checks:
                mark = "+" if check.ok else "-"
                line = f"      {mark} {check.what}: {check.detail}"
                if color and not check.ok:
                    line = _DIM + line + _RESET
                lines.append(line)
    return "\n".join(lines)
