"""The bounds of one fetch and the identity monitor sends: a leaf, imported by the client
and by error classification alike (so neither imports the other).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

try:
    _VERSION = metadata.version("monitor")
except metadata.PackageNotFoundError:  # running from a checkout that is not installed
    _VERSION = "0"

DEFAULT_USER_AGENT = f"monitor/{_VERSION} (news feed monitor; RSS/Atom/RDF poller)"

ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """Bounds of one fetch; the defaults are what production uses (issue 4)."""

    allow_private_networks: bool = False
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    """Longest silence while reading (idle timeout, not total)."""
    total_timeout: float = 30.0
    """Deadline for the whole fetch: every redirect hop, headers and body."""
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host: int = 2
    """Concurrent requests to one host; more callers wait their turn."""
    user_agent: str = DEFAULT_USER_AGENT
    max_connections: int = 64
