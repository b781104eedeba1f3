"""Element names as feedparser dispatches them, and what the fast path makes of each.

feedparser calls ``_start_dc_date`` for ``<dc:date>`` whatever prefix the document gave
the Dublin Core namespace: its own table maps namespaces to prefixes.
:func:`element_name` gives that name for an lxml element (cached per lxml tag where the
document's prefix does not matter); the sets below group the names by the field
:mod:`monitor.parsing.xml_walker` reads from them. :class:`Declined` is the fast path's
one verdict: not sure to read a feed as feedparser would.
"""

from __future__ import annotations

from typing import Any

from feedparser.mixin import _FeedParserMixin

_PREFIXES: dict[str, str] = {uri.lower(): p for uri, p in _FeedParserMixin.namespaces.items()}
HANDLED_BY_FEEDPARSER = frozenset(
    name[7:].lower() for name in dir(_FeedParserMixin) if name.startswith("_start_")
) | frozenset(name[5:].lower() for name in dir(_FeedParserMixin) if name.startswith("_end_"))
TITLES = frozenset({"title", "dc_title", "media_title"})
DESCRIPTIONS = frozenset({"description", "dc_description", "media_description"})
SUMMARIES = frozenset({"summary", "itunes_summary"})
CONTENTS = frozenset({"content_encoded", "fullitem"})
IDS = frozenset({"guid", "id"})
PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
LANGUAGES = frozenset({"language", "dc_language"})
AUTHORS = frozenset({"author", "dc_author", "dc_creator", "itunes_author"})
OPAQUE = frozenset(
    {
        "rights", "copyright", "dc_rights", "info", "feedburner_browserfriendly",
        "subtitle", "tagline", "itunes_subtitle",
    }
)  # fmt: skip
"""Text elements (feedparser reads them as content) whose value we do not keep: their
children are markup, not elements to look into."""
IN_SOURCE = frozenset(
    {
        "title", "subtitle", "id", "updated", "published", "link", "author", "contributor",
        "rights", "category", "generator",
    }
)  # fmt: skip
"""What an Atom ``<source>`` may hold for the walker to read it: its stateful readings
(summaries, content) and images decline."""
HARMLESS = frozenset(
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


NAMES_BY_TAG: dict[str, str] = {}
"""lxml tag → feedparser's name, for tags whose name does not depend on the prefix the
document chose (no namespace, or one in feedparser's table); bounded by ``_NAMES_KEPT``."""
_NAMES_KEPT = 4096


def element_name(el: Any) -> str:
    """The element's name as feedparser dispatches it (``dc_date``, ``pubdate``)."""
    tag: str = el.tag
    name = NAMES_BY_TAG.get(tag)
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
    if len(NAMES_BY_TAG) < _NAMES_KEPT:
        NAMES_BY_TAG[tag] = name
    return name
