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

    The stream is JSON Lines when its first non-blank line is a JSON object; then
    every non-blank line must be one (:class:`InputError` names the line otherwise:
    raised, or handed to ``on_error`` and the line skipped when that is given).
    Anything else is one plain-text document with id 1.
    """
    head: list[str] = []
    for line in stream:
        head.append(line)
        if line.strip():
            break
    first = head[-1] if head else ""
    if not first.strip():
        return
    if not _is_json_object(first):
        text = "".join(chain(head, stream)).strip()
        yield 1, Document(content=text)
        return
    for number, line in enumerate(chain(head, stream), start=1):
        if not line or line.isspace():  # not line.strip(): no copy of every line
            continue
        try:
            yield _read_line(line, number)
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
    count = 0
    try:
        for item in read_documents(stream, on_error=batch.append):
            batch.append(item)
            count += 1
            if count == size:
                yield batch.copy()
                batch.clear()
                count = 0
    except Exception:
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def _is_json_object(line: str) -> bool:
    if not line.lstrip().startswith("{"):
        return False
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _read_line(line: str, number: int) -> tuple[str | int, Document]:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: not valid JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise InputError(f"line {number}: expected a JSON object")
    texts: dict[str, str] = {}
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(f"line {number}: {name!r} must be a string")
        texts[name] = value
    joined = "".join(texts.values())
    if not joined or joined.isspace():
        raise InputError(f"line {number}: needs a title, summary or content")
    doc_id = data.get("id")
    if doc_id is None:
        doc_id = number
    elif not isinstance(doc_id, str | int) or isinstance(doc_id, bool):
        raise InputError(f"line {number}: 'id' must be a string or a number")
    language = data.get("language")
    if language is not None and not isinstance(language, str):
        raise InputError(f"line {number}: 'language' must be a string")
    published = data.get("published")
    try:
        when = parse_published(published)
    except ValueError as exc:
        raise InputError(f"line {number}: {exc}") from exc
    return doc_id, Document(language=language or None, published=when, **texts)


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
        return '{"id": ' + json.dumps(doc_id, ensure_ascii=False) + ', "topics": []}'
    return json.dumps(match_json(doc_id, matches), ensure_ascii=False)


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
