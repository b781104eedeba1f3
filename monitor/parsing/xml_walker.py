"""One walk over a well-formed feed tree that keeps what feedparser would keep.

feedparser's SAX handler keeps state between elements: which title was kept at which
depth (a ``media:title`` inside ``media:content`` loses to the item's ``title``), whether
an entry has a summary yet (its second ``description`` becomes content), whether a GUID
is a permalink (it then stands in for a missing link). :class:`Walker` keeps the same
state over an lxml tree, in document order, for the fields :class:`~monitor.types.RawEntry`
carries, and raises :class:`Declined` at anything it does not know feedparser's answer
to. Element names are feedparser's (:mod:`~monitor.parsing.xml_names`); text gets its
clean-up (:mod:`~monitor.parsing.xml_text`), dates its reading
(:mod:`~monitor.parsing.feed_dates`); an entry's values become a
:class:`~monitor.types.RawEntry` in :mod:`~monitor.parsing.xml_entry`.

It neither builds the tree nor decodes the body: :mod:`monitor.parsing.xml_feed` does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from typing import Any

from monitor.parsing.feed_dates import parse_date
from monitor.parsing.xml_entry import EntryValues
from monitor.parsing.xml_names import (
    AUTHORS,
    CONTENTS,
    DESCRIPTIONS,
    HANDLED_BY_FEEDPARSER,
    HARMLESS,
    IDS,
    IN_SOURCE,
    LANGUAGES,
    NAMES_BY_TAG,
    OPAQUE,
    PUBLISHED,
    SUMMARIES,
    TITLES,
    UPDATED,
    Declined,
    element_name,
)
from monitor.parsing.xml_text import (
    HTML_TYPES,
    content_type,
    element_text,
    finish_text,
    join_bare,
    map_type,
    read_attrs,
)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_AMP_REF = re.compile("&([A-Za-z0-9_]+);")
_IN_SIDEBAR = frozenset(("title", "link", "description", "url", "href", "width", "height", "name"))


class Walker:
    """One pass in document order, keeping the state feedparser keeps between
    elements (which title was kept at which depth, whether an entry has a summary or
    content yet, whether a GUID is a permalink)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.entries: list[EntryValues] = []
        self.entry: EntryValues | None = None
        self.feed: dict[str, str] = {}
        self.feed_title_language: str | None = None
        self.infeed = False
        self.sink = False  # inside a feed's image or text input: values go nowhere
        self.title_depth = -1
        self.has_content = False
        self.guid_is_link = False

    def element(self, el: Any, depth: int, lang: str | None) -> None:
        tag = el.tag
        if not isinstance(tag, str):
            return  # a comment or processing instruction
        depth += 1
        name = NAMES_BY_TAG.get(tag) or element_name(el)
        items = el.items()
        if items:
            attrs = read_attrs(items)
            if "base" in attrs:
                raise Declined("xml:base")
            given = attrs.get("lang")
            if given is not None:
                lang = None if given == "" else given
        else:
            attrs = {}
        handler = _HANDLERS.get(name)
        if handler is not None:
            handler(self, el, depth, lang, attrs, name)
        else:
            self.other(el, depth, lang, attrs, name)

    def other(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        """An element none of the fields we keep comes from (or one out of its place)."""
        if name in OPAQUE:
            return
        if name in HARMLESS or name not in HANDLED_BY_FEEDPARSER:
            if name not in HANDLED_BY_FEEDPARSER and not attrs and len(el) == 0:
                self.plain(el, depth, name)  # stored under its own name, like <ttl>
            else:
                self.children(el, depth, lang)
        else:
            raise Declined(f"<{name}> where the fast path does not read it")

    # Structure.

    def root(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        if lang and name in ("rss", "feed"):
            self.feed["language"] = lang.replace("_", "-")
        if depth != 1:
            self.other(el, depth, lang, attrs, name)
        elif name == "feed":
            self.infeed = True
            self.children(el, depth, lang)
            self.infeed = False
        else:
            self.children(el, depth, lang)

    def channel(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        if self.entry is not None:
            self.other(el, depth, lang, attrs, name)
            return
        if "lastmod" in attrs or "href" in attrs:
            raise Declined("a CDF channel")
        self.infeed = True
        self.children(el, depth, lang)
        self.infeed = False

    def children(self, el: Any, depth: int, lang: str | None) -> None:
        for child in el:
            self.element(child, depth, lang)

    # Where a value goes: feedparser's _get_context and pop.

    def store(self, key: str, value: str, depth: int) -> None:
        if self.sink:
            return
        if self.entry is not None:
            self.entry.store(key, value, depth)
        elif self.infeed:
            self.feed[key] = value

    def plain(self, el: Any, depth: int, key: str) -> str:
        value = finish_text(element_text(el))
        self.store(key, value, depth)
        return value

    def save(self, key: str, value: Any, *, overwrite: bool = True) -> None:
        if self.sink:
            return
        target: dict[str, Any] = self.entry.values if self.entry is not None else self.feed
        if overwrite or key not in target:
            target[key] = value

    def item(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        if self.entry is not None:
            self.other(el, depth, lang, attrs, name)
            return
        if "lastmod" in attrs or "href" in attrs:
            raise Declined("a CDF item")
        entry = EntryValues()
        self.entries.append(entry)
        self.entry = entry
        self.guid_is_link = False
        self.title_depth = -1
        about = el.get(f"{{{_RDF}}}about")
        if about:
            entry.values["id"] = about
        self.children(el, depth, lang)
        self.entry = None
        self.has_content = False

    def source(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        """An entry's ``<source>``: Google News' ``<source url="…">Publisher</source>``
        or Atom's copy of another feed's metadata. feedparser reads what is inside into
        the source, not the entry, and forgets which title it kept (the next title of
        the entry at the same depth or above replaces the first)."""
        if self.entry is None or self.sink:
            raise Declined("<source> outside an entry")
        self.aside(el, depth, lang, IN_SOURCE)

    def sidebar(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        """A feed's ``<image>`` or ``<textinput>``: its title is not the feed's."""
        if self.entry is not None or self.sink:
            raise Declined(f"<{element_name(el)}> inside an entry")
        self.aside(el, depth, lang, _IN_SIDEBAR)

    def aside(self, el: Any, depth: int, lang: str | None, allowed: Collection[str]) -> None:
        """Walk an element whose children feedparser reads into something else than the
        feed or entry (a source, an image): only ``allowed`` children, their values sunk,
        and the title kept so far forgotten."""
        for child in el:
            if isinstance(child.tag, str) and element_name(child) not in allowed:
                raise Declined(f"<{element_name(child)}> inside <{element_name(el)}>")
        self.title_depth = -1
        self.sink = True
        self.children(el, depth, lang)
        self.sink = False

    # Text fields.

    def text_field(
        self, key: str, el: Any, depth: int, lang: str | None, attrs: dict[str, str], default: str
    ) -> str:
        content_type(attrs, default)
        value = finish_text(element_text(el))
        self.store(key, value, depth)
        if not self.sink:
            language = lang.replace("_", "-") if lang else lang
            if self.entry is not None:
                self.entry.languages[key] = language
            elif self.infeed and key == "title":
                self.feed_title_language = language
        return value

    def title(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        before = self.title_depth
        if -1 < self.title_depth <= depth:
            content_type(attrs, "text/plain")
            value = finish_text(element_text(el))  # feedparser reads it and keeps nothing
        else:
            value = self.text_field("title", el, depth, lang, attrs, "text/plain")
        if value:
            self.title_depth = depth
        if name == "media_title":
            self.title_depth = before

    def _has_summary(self) -> bool:
        target = self.entry.values if self.entry is not None else self.feed
        return "summary" in target

    def summary(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        if name == "abstract":
            key = "summary" if self.entry is not None else "subtitle"
            self.text_field(key, el, depth, lang, attrs, "text/plain")
        elif self._has_summary() and not self.has_content:
            # feedparser's second summary of an entry is its content
            self.content(el, depth, lang, attrs, "content")
        elif name in DESCRIPTIONS:
            key = "summary" if self.entry is not None else "subtitle"
            self.text_field(key, el, depth, lang, attrs, "text/html")
        else:
            self.text_field("summary", el, depth, lang, attrs, "text/plain")

    def content(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        self.has_content = True
        default = "text/plain" if name == "content" else "text/html"
        kind = content_type(attrs, default)
        value = finish_text(element_text(el))
        if self.sink:
            return
        if self.entry is not None:
            self.entry.contents.append(value)
        if kind in ("text/plain", *HTML_TYPES):
            self.save("summary", value, overwrite=False)

    def guid(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        self.guid_is_link = attrs.get("ispermalink", "true") == "true"
        value = finish_text(element_text(el), uri=self.guid_is_link)
        self.store("id", value, depth)
        if self.guid_is_link:
            self.save("link", value, overwrite=False)

    def link(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        given = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if given:
            attrs["href"] = given
        href = attrs.get("href")
        if href is not None:
            href = join_bare(href) if "://" in href else href
            if rel == "alternate" and map_type(attrs["type"]) in HTML_TYPES:
                self.save("link", href)
            self.children(el, depth, None)
            return
        value = finish_text(element_text(el), uri=True)
        if self.sink:
            return
        if self.entry is not None:
            if "&" in value:
                value = _AMP_REF.sub(r"&\g<1>", value.replace("&amp;", "&"))
            self.entry.values["link"] = value
        elif self.infeed:
            self.feed["link"] = _AMP_REF.sub(r"&\g<1>", value) if "&" in value else value

    def author(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:

        if len(el) == 0:
            self.plain(el, depth, "author")
            return
        # Atom: <author><name>…</name><email>…</email></author>; the last author counts
        parts = {"name": "", "email": ""}
        for child in el:
            if isinstance(child.tag, str) and element_name(child) in parts:
                parts[element_name(child)] = finish_text(element_text(child))
        name, email = parts["name"], parts["email"]
        if self.entry is not None and not self.sink and (name or email):
            both = f"{name} ({email})" if name and email else name or email
            self.entry.values["author"] = both
        self.children(el, depth, lang)

    def date(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        key = "published" if name in PUBLISHED else "updated"
        self.save(f"{key}_parsed", parse_date(self.plain(el, depth, key)))

    def language(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        self.plain(el, depth, "language")


_Handler = Callable[[Walker, Any, int, "str | None", dict[str, str], str], None]


def _handlers() -> dict[str, _Handler]:
    """feedparser's element names → the walker's reading; every other name is
    :meth:`Walker.other`'s. One lookup an element instead of a chain of tests."""
    table: dict[str, _Handler] = {}
    groups: list[tuple[Iterable[str], _Handler]] = [
        (("rss", "rdf_rdf", "feed"), Walker.root),
        (("channel",), Walker.channel),
        (("item", "entry"), Walker.item),
        (("image", "textinput"), Walker.sidebar),
        (("source",), Walker.source),
        (TITLES, Walker.title),
        (DESCRIPTIONS | SUMMARIES | {"abstract"}, Walker.summary),
        (CONTENTS | {"content"}, Walker.content),
        (IDS, Walker.guid),
        (("link",), Walker.link),
        (PUBLISHED | UPDATED, Walker.date),
        (LANGUAGES, Walker.language),
        (AUTHORS, Walker.author),
    ]
    for names, handler in groups:
        for name in names:
            assert name not in table, name  # one reading a name
            table[name] = handler
    return table


_HANDLERS = _handlers()
