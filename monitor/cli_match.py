"""`monitor match`: the topics run over texts (a file, or stdin), without the database.
Registered by :mod:`monitor.cli`.
"""

from __future__ import annotations

import gc
import os
import re
import stat
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from monitor.cli_common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    Command,
    collector_paused,
    common_options,
    fail,
    flush_stdout,
    read_config,
    stdout_closed,
    utf8_stdout,
    write_stdout,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from monitor.topics import TopicSet
    from monitor.types import Document, Match


@click.command(cls=Command)
@common_options
@click.argument("source", default="-", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="One JSON line per input document.")
@click.option(
    "--date",
    "date_text",
    default=None,
    help="Publication date for documents that give none (ISO 8601 or RFC 822), "
    "so event-window rules apply to them.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Every topic's rules per document: which groups hit, which veto fired, and where.",
)
def match(
    config_path: Path, source: Any, as_json: bool, date_text: str | None, explain: bool
) -> None:
    """Run the topics over texts (a file or - for stdin), without the database.

    JSON Lines (the first non-blank line starts with "{"): every usable line is
    matched and printed; a line that is not one (not UTF-8, not JSON, not an object,
    no title, summary or content, a bad published date), the first one too, is
    reported on stderr as "monitor: FILE:LINE: reason" and skipped, and the exit code
    is then 1.
    """
    if explain and as_json:
        fail("--explain and --json cannot be combined", EXIT_USAGE)
    if sys.stdout is None:  # started with its descriptor closed (`>&-`)
        stdout_closed()

    if as_json:
        utf8_stdout()
    _escape_unencodable()
    # Start-up (the engine's and the configuration's modules, the configuration, the
    # topics compiled) makes many objects and next to no garbage: no collections then.
    with collector_paused():
        from monitor.topics import compile_topics
        from monitor.topics.report import parse_published

        config = read_config(config_path, delivers=False)
        try:
            default_date = parse_published(date_text) if date_text is not None else None
        except ValueError as exc:
            fail(f"--date: {exc}", EXIT_USAGE)
        topics = compile_topics(config.topics, checked=config.topics_checked)
        # What is there now lives as long as the process: the collector need not
        # walk it again and again while the documents pass.
        gc.freeze()
    try:
        _match_all(topics, source, as_json=as_json, default_date=default_date, explain=explain)
        flush_stdout()  # here, where a failure can be told as one (monitor.teardown)
    finally:
        gc.unfreeze()  # for a caller in the same process (tests)
    from monitor.teardown import mark_finished

    # nothing is open but the streams, which the end flushes: the process may end
    # without freeing the words and folds remembered one by one (monitor.teardown)
    mark_finished()


def _match_all(
    topics: TopicSet,
    source: Any,
    *,
    as_json: bool,
    default_date: datetime | None,
    explain: bool,
) -> None:
    """`monitor match`'s output for every document of ``source``."""
    from monitor.render import plain
    from monitor.topics.report import (
        InputError,
        format_explanation,
        format_matches,
        match_json_line,
        read_batches,
        read_documents,
    )

    windowed = topics.windowed()
    color = sys.stdout.isatty()
    name = getattr(source, "name", "<stdin>")  # a file has its name; stdin may have none
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    regular = _regular_file(source)
    source = _Utf8Lines(source)
    bad: list[InputError] = []

    # the lines for stdout not written yet: written together (one write a batch), and
    # flushed before anything goes to stderr (:func:`before_stderr`), so that the two
    # streams keep their order where they meet (``2>&1`` into one file or pipe)
    pending: list[str] = []

    def write_pending() -> None:
        if pending:
            try:
                write_stdout("".join(pending))
            finally:
                pending.clear()

    def before_stderr() -> None:
        write_pending()
        flush_stdout()

    def report_bad(exc: InputError) -> None:
        bad.append(exc)
        before_stderr()
        click.echo(f"monitor: {_where(name, source.reason(str(exc)), plain)}", err=True)

    def dated(doc: Document) -> Document:
        if doc.published is None and default_date is not None:
            return replace(doc, published=default_date)
        return doc

    def report(doc_id: str | int, doc: Document, found: list[Match]) -> None:
        if doc.published is None and windowed:
            hit = {m.topic for m in found}
            skipped = [t for t in windowed if t not in hit]
            if skipped:
                before_stderr()
                click.echo(
                    f"note: document {plain(str(doc_id), 80)} has no date: the event-window "
                    f"rules of {', '.join(skipped)} were not applied (--date sets one)",
                    err=True,
                )
        if as_json:
            pending.append(match_json_line(doc_id, found) + "\n")
        else:
            pending.append(format_matches(doc_id, doc, found, color=color) + "\n")

    try:
        if explain:
            for doc_id, given in read_documents(source, on_error=report_bad):
                doc = dated(given)
                traces = topics.explain(doc)
                write_stdout(format_explanation(doc_id, doc, traces, color=color) + "\n")
        elif regular:
            # all of it is there to read: match many documents at a time (cheaper)
            for batch in read_batches(source, _MATCH_BATCH):
                read = [item for item in batch if not isinstance(item, InputError)]
                docs = [item[1] for item in read]
                if default_date is not None:
                    docs = [dated(doc) for doc in docs]
                # matching makes no lasting objects but the words it learns, and no
                # cycles: no collections while it runs (they found nothing to free)
                with collector_paused():
                    each = topics.match_many(docs)
                if (
                    as_json
                    and len(read) == len(batch)
                    and (not windowed or all(doc.published is not None for doc in docs))
                ):
                    # every line a document and none to note on stderr: the lines alone
                    pending.extend(
                        match_json_line(doc_id, found) + "\n"
                        for (doc_id, _), found in zip(read, each, strict=True)
                    )
                else:
                    matched = iter(zip(docs, each, strict=True))
                    for item in batch:
                        if isinstance(item, InputError):
                            report_bad(item)
                        else:
                            doc, found = next(matched)
                            report(item[0], doc, found)
                write_pending()
        else:
            # a pipe or a terminal: each document's line goes out as soon as it is
            # matched, for whoever reads the other end line by line
            for doc_id, given in read_documents(source, on_error=report_bad):
                doc = dated(given)
                report(doc_id, doc, topics.match(doc))
                write_pending()
                flush_stdout()
    except (InputError, ValueError) as exc:
        before_stderr()
        fail(f"{name}: {exc}", EXIT_USAGE)
    if bad:
        flush_stdout()
        fail(f"{name}: {len(bad)} line{'s' if len(bad) != 1 else ''} skipped", EXIT_FAILURE)


_LINE = re.compile(r"line (\d+): (.*)", re.DOTALL)


class _Utf8Lines:
    """The lines of a binary stream, decoded one by one: in JSON Lines (the first
    non-blank line starts with ``{``, even one that is not UTF-8) a line that is not
    UTF-8 is one bad line among good ones, handed on as a line the reader rejects
    (``{``, which opens JSON Lines as the first line) and reported with its own reason
    (:meth:`reason`); in plain text it ends the run as before (UnicodeDecodeError)."""

    _REJECTED = "{\n"

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._jsonl: bool | None = None  # not known before the first non-blank line
        self._undecodable: dict[int, str] = {}
        self._lines = self._decoded()

    def __iter__(self) -> Iterator[str]:
        return self  # one iterator: the reader reads its first lines, then the rest

    def __next__(self) -> str:
        return next(self._lines)

    def _decoded(self) -> Iterator[str]:
        from monitor.topics.report import opens_json_lines

        for number, raw in enumerate(self._stream, start=1):
            if self._jsonl is None:  # decided by the first non-blank line, even a damaged one
                probe = raw.decode("utf-8", "replace")
                if probe and not probe.isspace():
                    self._jsonl = opens_json_lines(probe)
            try:
                line: str = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not self._jsonl:
                    raise
                self._undecodable[number] = (
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                )
                yield self._REJECTED
                continue
            yield line

    def reason(self, message: str) -> str:
        """``message`` (``line N: reason``) with the reason of an undecodable line."""
        found = _LINE.fullmatch(message)
        if found is not None and int(found[1]) in self._undecodable:
            return f"line {found[1]}: {self._undecodable[int(found[1])]}"
        return message


def _where(name: str, message: str, plain: Callable[[str, int], str]) -> str:
    """``FILE:LINE: reason`` for an input error worded ``line N: reason``, the form
    compilers and grep use (editors and ``grep -n`` readers jump to it)."""
    found = _LINE.fullmatch(message)
    if found is None:
        return f"{plain(name, 200)}: {plain(message, 300)}"
    return f"{plain(name, 200)}:{found[1]}: {plain(found[2], 300)}"


def _escape_unencodable() -> None:
    """What stdout's encoding has no bytes for is printed as Python's escapes, as Python
    prints it on stderr: a Cyrillic title on an ASCII stdout (``PYTHONIOENCODING=ascii``, a
    terminal set to ASCII) as ``\\u041f\\u0443…``, a lone surrogate from a JSON
    ``"\\ud800"`` escape as ``\\ud800`` again. The document is the operator's, valid
    input, and is reported with the others (it stopped the run with exit 2 before). In
    ``--json`` lines, which are UTF-8, only a lone surrogate can need it, and its escape,
    inside a JSON string, is the JSON escape it came as: each line stays valid JSON."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


_MATCH_BATCH = 256  # documents matched together by `monitor match` reading a file


def _regular_file(source: Any) -> bool:
    """Whether ``source`` (an open file, maybe stdin) reads a regular file."""
    try:
        return stat.S_ISREG(os.fstat(source.fileno()).st_mode)
    except (AttributeError, OSError, ValueError):
        return False
