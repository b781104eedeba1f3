"""What each ``notify`` entry is called: a readable name, and a stable outbox key.

The *name* is what people read in logs, metrics, operator alerts and the console: the
entry's ``name:``, else the kind and a short form of its target that never holds a
secret (``webhook:hooks.example.org``, ``email:ops@example.org``, ``apprise:tgram``).
The *key* is what the outbox stores per delivery and what a receiver's idempotency id
is derived from: the kind and a digest of the target, as every earlier version stored
it, so renaming a channel neither resends nor strands anything. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.alerts.cadence import Digest, Rate, parse_digest, parse_rate
from monitor.config.schema import NotifyConfig


@dataclass(frozen=True, slots=True)
class ChannelNames:
    """One entry's readable name, outbox key, and the name older versions stored its
    rows under (its ``name:`` was the key then), if that differs from the key."""

    name: str
    key: str
    legacy: str | None = None


def _target(entry: NotifyConfig) -> str:
    value = {
        "webhook": entry.webhook,
        "email": entry.email,
        "apprise": entry.apprise,
        "stdout": "stdout",
    }.get(entry.kind)
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def _short_target(entry: NotifyConfig) -> str:
    """The target without anything that may be a secret (paths, tokens, users)."""
    kind = entry.kind
    if kind == "stdout":
        return "stdout"
    if kind == "email":
        raw = entry.email
        recipients = [raw] if isinstance(raw, str) else list(raw or [])
        first = recipients[0].strip() if recipients else "?"
        more = f"+{len(recipients) - 1}" if len(recipients) > 1 else ""
        return f"email:{first}{more}"
    url = (entry.webhook if kind == "webhook" else entry.apprise) or ""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        host, port = "", ""
    if kind == "apprise":
        # Apprise puts tokens where a host would be (tgram://TOKEN/CHAT): the scheme only.
        return f"apprise:{url.partition('://')[0][:20] or '?'}"
    return f"webhook:{host or '?'}{port}"


def channel_names(notify: Sequence[NotifyConfig]) -> list[ChannelNames]:
    """Names and keys for every entry, in order; defaults made unique with ``#2``, ``#3``.

    Two entries with the same target (one webhook routed twice with different topics)
    get keys told apart by their order among those entries, never by their names.
    """
    keys: list[str] = []
    seen_keys: dict[str, int] = {}
    for entry in notify:
        digest = hashlib.sha256(_target(entry).encode()).hexdigest()[:10]
        base = f"{entry.kind}:{digest}"
        count = seen_keys.get(base, 0) + 1
        seen_keys[base] = count
        keys.append(base if count == 1 else f"{base}#{count}")
    explicit = {e.name for e in notify if e.name}
    taken: dict[str, int] = {}
    result: list[ChannelNames] = []
    for entry, key in zip(notify, keys, strict=True):
        if entry.name:
            name = entry.name
        else:
            short = _short_target(entry)
            count = taken.get(short, 0) + 1
            taken[short] = count
            name = short if count == 1 else f"{short}#{count}"
            while name in explicit:
                count += 1
                taken[short] = count
                name = f"{short}#{count}"
        legacy = entry.name if entry.name and entry.name != key else None
        result.append(ChannelNames(name=name, key=key, legacy=legacy))
    return result


def channel_labels(notify: Sequence[NotifyConfig]) -> dict[str, str]:
    """Outbox key → readable name of every configured channel (what pages show)."""
    return {n.key: n.name for n in channel_names(notify)}


@dataclass(frozen=True, slots=True)
class Cadence:
    """When a channel's topic alerts go: in a digest per period, and/or at a rate."""

    digest: Digest | None = None
    rate: Rate | None = None


def channel_cadences(notify: Sequence[NotifyConfig]) -> dict[str, Cadence]:
    """Channel key → its cadence, for the entries with ``digest`` or ``rate``."""
    found: dict[str, Cadence] = {}
    for entry, names in zip(notify, channel_names(notify), strict=True):
        if entry.digest or entry.rate:
            found[names.key] = Cadence(
                digest=parse_digest(entry.digest) if entry.digest else None,
                rate=parse_rate(entry.rate) if entry.rate else None,
            )
    return found
