"""One walk over a well-formed feed tree that keeps what feedparser would keep.

feedparser's SAX handler keeps state between elements: which title was kept at which
depth (a ``media:title`` inside ``media:content`` loses to the item's ``title``), whether
an entry has a summary yet (its second ``description`` becomes content), whether a GUID
is a permalink (it then stands in for a missing link). :class:`Walker` keeps the same
state over an lxml tree, in document order, for the fields :class:`~monitor.types.RawEntry`
carries, and raises :class:`Declined` at anything it does not know feedparser's answer
to. Element names are feedparser's (its namespace table, ``dc_date``, ``pubdate``); text
gets feedparser's clean-up; dates feedparser's own parser.

It neither builds the tree nor decodes the body: :mod:`monitor.parsing.xml_feed` does.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from feedparser.html import _cp1252 as cp1252_points
from feedparser.mixin import _FeedParserMixin

from monitor.parsing.feed_dates import parse_date
from monitor.parsing.feed_fields import absolute_link, text_or_none
from monitor.types import RawEntry

_PREFIXES: dict[str, str] = {uri.lower(): p for uri, p in _FeedParserMixin.namespaces.items()}
_HANDLED_BY_FEEDPARSER = frozenset(
    name[7:].lower() for name in dir(_FeedParserMixin) if name.startswith("_start_")
) | frozenset(name[5:].lower() for name in dir(_FeedParserMixin) if name.startswith("_end_"))
_ATOM = "http://www.w3.org/2005/Atom"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RSS10 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_AMP_REF = re.compile("&([A-Za-z0-9_]+);")
_C1_CONTROLS = re.compile("[\x80-\x9f]")
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)")

_TITLES = frozenset({"title", "dc_title", "media_title"})
_DESCRIPTIONS = frozenset({"description", "dc_description", "media_description"})
_SUMMARIES = frozenset({"summary", "itunes_summary"})
_CONTENTS = frozenset({"content_encoded", "fullitem"})
_IDS = frozenset({"guid", "id"})
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_LANGUAGES = frozenset({"language", "dc_language"})
_AUTHORS = frozenset({"author", "dc_author", "dc_creator", "itunes_author"})
_OPAQUE = frozenset(
    {
        "rights", "copyright", "dc_rights", "info", "feedburner_browserfriendly",
        "subtitle", "tagline", "itunes_subtitle",
    }
)  # fmt: skip
"""Text elements (feedparser reads them as content) whose value we do not keep: their
children are markup, not elements to look into."""
_IN_SOURCE = frozenset(
    {
        "title", "subtitle", "id", "updated", "published", "link", "author", "contributor",
        "rights", "category", "generator",
    }
)  # fmt: skip
"""What an Atom ``<source>`` may hold for the walker to read it: its stateful readings
(summaries, content) and images decline."""
_HARMLESS = frozenset(
    {
        "category", "keywords", "tags", "cloud", "enclosure", "generator", "expirationdate",
        "created", "dcterms_created", "dcterms_valid", "newlocation", "cc_license",
        "creativecommons_license", "dc_subject", "dc_contributor", "dc_publisher",
        "contributor", "webmaster", "managingeditor", "name", "email", "uri", "url", "href",
        "homepage", "width", "height", "geom", "where", "georssgeom", "georss_box",
        "georss_line", "georss_point", "georss_polygon", "georss_where", "gml_exterior",
        "gml_linearring", "gml_linestring", "gml_point", "gml_polygon", "gml_pos",
        "gml_poslist", "itunes_block", "itunes_category", "itunes_email", "itunes_explicit",
        "itunes_image", "itunes_keywords", "itunes_link", "itunes_name", "itunes_owner",
        "media_category", "media_content", "media_credit", "media_group", "media_keywords",
        "media_license", "media_player", "media_rating", "media_restriction",
        "media_thumbnail", "psc_chapter", "psc_chapters",
    }
)  # fmt: skip
"""Elements feedparser has handlers for that touch none of the fields we keep."""


class Declined(Exception):  # noqa: N818 (a verdict, not an error)
    """The fast path is not sure it reads this feed as feedparser would."""


_NAMES: dict[str, str] = {}
"""lxml tag → feedparser's name, for tags whose name does not depend on the prefix the
document chose (no namespace, or one in feedparser's table); bounded by ``_NAMES_KEPT``."""
_NAMES_KEPT = 4096


def element_name(el: Any) -> str:
    """The element's name as feedparser dispatches it (``dc_date``, ``pubdate``)."""
    tag: str = el.tag
    name = _NAMES.get(tag)
    if name is not None:
        return name
    if tag[0] != "{":
        name = tag.lower()
    else:
        uri, local = tag[1:].split("}", 1)
        low = uri.lower()
        if "backend.userland.com/rss" in low:
            low = "http://backend.userland.com/rss"
        prefix = _PREFIXES.get(low)
        if prefix is None:  # the document's own prefix: not the same for every document
            prefix = el.prefix or ""
            return f"{prefix}_{local}".lower() if prefix else local.lower()
        name = f"{prefix}_{local}".lower() if prefix else local.lower()
    if len(_NAMES) < _NAMES_KEPT:
        _NAMES[tag] = name
    return name


def _attrs(items: list[tuple[str, str]]) -> dict[str, str]:
    """Attributes by lower-case local name, as feedparser's SAX handler sees them."""
    found: dict[str, str] = {}
    for key, value in items:
        local = key.rsplit("}", 1)[-1].lower()
        found[local] = value.lower() if local in ("rel", "type") else value
    return found


def _text(el: Any) -> str:
    """The element's character data; element children (inline markup) decline."""
    if len(el) == 0:
        return el.text or ""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            raise Declined(f"markup inside <{element_name(el)}>")
        parts.append(child.tail or "")
    return "".join(parts)


def _finish(value: str, *, uri: bool = False) -> str:
    """feedparser's ``pop``: stripped, joined as a URI where it joins, UTF-8 read as
    Latin-1 repaired, windows-1252 code points mapped."""
    out = value.strip()
    if uri and "://" in out:
        out = join_bare(out)
    if not out.isascii():
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            out = out.encode("iso-8859-1").decode("utf-8")
        if _C1_CONTROLS.search(out) is not None:  # translate costs a lookup per character
            out = out.translate(cp1252_points)
    return out


def join_bare(uri: str) -> str:
    """feedparser's ``_urljoin("", uri)``: ``urljoin`` with no base returns ``uri`` as it
    is, so what is left is its fixer, which drops the slashes after ``scheme://``."""
    found = _URI_FIXER.match(uri)
    if found is None or found.end(2) == found.start(2):
        return uri
    return found.group(1) + uri[found.end(2) :]


@dataclass
class _Entry:
    values: dict[str, Any] = field(default_factory=dict)
    depths: dict[str, int] = field(default_factory=dict)
    contents: list[str] = field(default_factory=list)
    languages: dict[str, str | None] = field(default_factory=dict)

    def store(self, key: str, value: str, depth: int) -> None:
        old = self.depths.get(key)
        if old is None or depth <= old:
            self.depths[key] = depth
            self.values[key] = value

    def to_raw(self, url: str) -> RawEntry:
        v = self.values
        summary = text_or_none(v.get("summary"))
        contents: list[str] = []
        for value in self.contents:
            if value and value != summary and value not in contents:
                contents.append(value)
        language = self.languages.get("title") or self.languages.get("summary")
        return RawEntry(
            guid=text_or_none(v.get("id")),
            link=absolute_link(text_or_none(v.get("link")), url),
            title=text_or_none(v.get("title")),
            summary=summary,
            content="\n\n".join(contents) or None,
            author=text_or_none(v.get("author")),
            published=_date_or_none(v.get("published_parsed")),
            updated=_date_or_none(v.get("updated_parsed")),
            language=language or None,
        )


def _date_or_none(value: Any) -> datetime | None:
    # an unknown element named <published_parsed> is stored as text under its own name
    return value if isinstance(value, datetime) else None


class Walker:
    """One pass in document order, keeping the state feedparser keeps between
    elements (which title was kept at which depth, whether an entry has a summary or
    content yet, whether a GUID is a permalink)."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.entries: list[_Entry] = []
        self.entry: _Entry | None = None
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
        name = _NAMES.get(tag) or element_name(el)
        items = el.items()
        if items:
            attrs = _attrs(items)
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
        if name in _OPAQUE:
            return
        if name in _HARMLESS or name not in _HANDLED_BY_FEEDPARSER:
            if name not in _HANDLED_BY_FEEDPARSER and not attrs and len(el) == 0:
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
        value = _finish(_text(el))
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
        entry = _Entry()
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
        for child in el:
            if isinstance(child.tag, str) and element_name(child) not in _IN_SOURCE:
                raise Declined(f"<{element_name(child)}> inside <source>")
        self.title_depth = -1
        self.sink = True
        self.children(el, depth, lang)
        self.sink = False

    def sidebar(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        """A feed's ``<image>`` or ``<textinput>``: its title is not the feed's."""
        if self.entry is not None or self.sink:
            raise Declined(f"<{element_name(el)}> inside an entry")
        allowed = ("title", "link", "description", "url", "href", "width", "height", "name")
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
        _content_type(attrs, default)
        value = _finish(_text(el))
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
            _content_type(attrs, "text/plain")
            value = _finish(_text(el))  # feedparser reads it and keeps nothing
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
        elif name in _DESCRIPTIONS:
            key = "summary" if self.entry is not None else "subtitle"
            self.text_field(key, el, depth, lang, attrs, "text/html")
        else:
            self.text_field("summary", el, depth, lang, attrs, "text/plain")

    def content(
        self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str
    ) -> None:
        self.has_content = True
        default = "text/plain" if name == "content" else "text/html"
        kind = _content_type(attrs, default)
        value = _finish(_text(el))
        if self.sink:
            return
        if self.entry is not None:
            self.entry.contents.append(value)
        if kind in ("text/plain", *_HTML_TYPES):
            self.save("summary", value, overwrite=False)

    def guid(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        self.guid_is_link = attrs.get("ispermalink", "true") == "true"
        value = _finish(_text(el), uri=self.guid_is_link)
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
            if rel == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
                self.save("link", href)
            self.children(el, depth, None)
            return
        value = _finish(_text(el), uri=True)
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
                parts[element_name(child)] = _finish(_text(child))
        name, email = parts["name"], parts["email"]
        if self.entry is not None and not self.sink and (name or email):
            both = f"{name} ({email})" if name and email else name or email
            self.entry.values["author"] = both
        self.children(el, depth, lang)

    def date(self, el: Any, depth: int, lang: str | None, attrs: dict[str, str], name: str) -> None:
        key = "published" if name in _PUBLISHED else "updated"
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
        (_TITLES, Walker.title),
        (_DESCRIPTIONS | _SUMMARIES | {"abstract"}, Walker.summary),
        (_CONTENTS | {"content"}, Walker.content),
        (_IDS, Walker.guid),
        (("link",), Walker.link),
        (_PUBLISHED | _UPDATED, Walker.date),
        (_LANGUAGES, Walker.language),
        (_AUTHORS, Walker.author),
    ]
    for names, handler in groups:
        for name in names:
            assert name not in table, name  # one reading a name
            table[name] = handler
    return table


_HANDLERS = _handlers()


_TYPE_NAMES = {
    "text": "text/plain",
    "plain": "text/plain",
    "html": "text/html",
    "xhtml": "application/xhtml+xml",
}


def _map_type(kind: str) -> str:
    kind = kind.lower()
    return _TYPE_NAMES.get(kind, kind)


def _content_type(attrs: Mapping[str, str], default: str) -> str:
    """The text's content type; XHTML, base64 and the like decline."""
    if not attrs:
        return default  # every default is a text/ type
    if "mode" in attrs:
        raise Declined("an Atom 0.3 content mode")
    kind = _map_type(attrs.get("type", default))
    if not kind.startswith("text/"):
        raise Declined(f"content of type {kind[:60]}")
    return kind
