"""Article links: which are usable, and one canonical form for recognising the same story.

:func:`clean_link` keeps a link only if it is http(s), has a host and fits the
2,048-character cap (``javascript:``, ``data:``, relative leftovers are dropped).
:func:`canonicalize_url` lower-cases scheme and host, drops credentials, default ports
and the fragment, and removes tracking parameters (``utm_*``, ``fbclid``, ``gclid`` …)
so the same article linked from two feeds, or with a new campaign tag on every poll,
gets the same URL. It does not re-encode the path or reorder the query: those can
change what a server returns.

Pure functions, no network.
"""

from __future__ import annotations

import contextlib
import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

MAX_LINK = 2048

_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
_TRACKING = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
        "twclid", "ttclid", "li_fat_id", "igshid", "mc_cid", "mc_eid", "_ga", "_gl",
        "mkt_tok", "_hsenc", "_hsmi", "hsctatracking", "vero_id", "vero_conv",
        "oly_anon_id", "oly_enc_id", "rb_clickid", "s_cid", "xtor", "ocid", "cmpid",
        "smid", "emc", "ref_src", "ref_url", "spm", "__s", "wt_mc", "wt.mc_id",
        "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee",
    }
)  # fmt: skip
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def clean_link(link: str | None) -> str | None:
    """The link if it is a usable absolute http(s) URL within the cap, else None."""
    split = _split_link(link)
    return None if split is None else split[0]


def _split_link(link: str | None) -> tuple[str, SplitResult] | None:
    """:func:`clean_link`'s link with its parts (split once for both functions)."""
    if not link:
        return None
    text = link.strip()
    if not text or len(text) > MAX_LINK or _CONTROL.search(text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not _hostname(parts):
        return None
    return text, parts


# A netloc that is only a lower-case host name: what SplitResult.hostname gives for it
# is the netloc itself, and it has no port (those properties parse the netloc anew on
# every call).
_PLAIN_HOST = re.compile("[a-z0-9.-]+")


def _hostname(parts: SplitResult) -> str | None:
    """``parts.hostname``."""
    return parts.netloc if _PLAIN_HOST.fullmatch(parts.netloc) is not None else parts.hostname


def _host_and_port(parts: SplitResult) -> tuple[str | None, int | None]:
    """``(parts.hostname, parts.port)``; raises ValueError for a port that is not one."""
    if _PLAIN_HOST.fullmatch(parts.netloc) is not None:
        return parts.netloc, None
    return parts.hostname, parts.port


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
    return name in _TRACKING or name.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None when it is not one."""
    return clean_and_canonical(url)[1]


def clean_and_canonical(link: str | None) -> tuple[str | None, str | None]:
    """``(clean_link(link), canonicalize_url(link))``, the link split once."""
    if link:
        text = link.strip()
        plain = _PLAIN_LINK.fullmatch(text) if len(text) <= MAX_LINK else None
        if plain is not None:
            return text, _plain_canonical(*plain.groups())
    split = _split_link(link)
    if split is None:
        return None, None
    return split[0], _canonical(split[1])


# A link as most feeds write it: lower-case http(s), a lower-case host name without
# port or credentials, printable ASCII, no fragment. urlsplit gives exactly these parts
# for it (it has nothing to strip, lower or check), so no need to ask it.
_PLAIN_LINK = re.compile(
    r"(https?)://([a-z0-9.-]+)(/[\x21-\x22\x24-\x3e\x40-\x7e]*)?(?:\?([\x21-\x22\x24-\x7e]*))?"
)


def _plain_canonical(scheme: str, host: str, path: str | None, query: str | None) -> str:
    """:func:`_canonical` of a link :data:`_PLAIN_LINK` matched (as urlunsplit joins it)."""
    if query:
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    url = f"{scheme}://{host}{path or '/'}"
    return f"{url}?{query}" if query else url


def _canonical(parts: SplitResult) -> str | None:
    try:
        hostname, port = _host_and_port(parts)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = hostname or ""
    # One spelling for internationalized hosts, whichever the feed used.
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = parts.query
    if query:
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))
