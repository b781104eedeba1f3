"""Bounded decoding of HTTP content codings (gzip, deflate, br), chunk by chunk.

httpx decompresses each network chunk in one call, so 64 KiB of a gzip bomb can
become tens of megabytes before anything can count them. Here every decompression
step produces at most ``STEP`` bytes, and :func:`read_bounded` stops as soon as the
decoded total passes the cap: a bomb costs a few hundred kilobytes of memory, never
its expanded size.

This module does not do I/O; it consumes an iterator of raw chunks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Protocol

try:  # brotli comes with httpx[brotli]; without it we simply do not advertise br
    import brotli as _brotli
except ImportError:  # pragma: no cover
    _brotli = None

STEP = 64 * 1024
"""Most bytes one decompression call may produce."""

SUPPORTED = ("gzip", "deflate", "br") if _brotli is not None else ("gzip", "deflate")
"""Codings to advertise in Accept-Encoding."""


class DecodingError(Exception):
    """The body is not valid for its Content-Encoding, or the coding is unknown."""


class TooLargeError(Exception):
    """The decoded body passed the cap."""


class _Decoder(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (wbits 16+15, several members allowed) or deflate (zlib, or raw as some send)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = 16 + zlib.MAX_WBITS if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._first = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        buf = data
        while buf:
            try:
                out = self._obj.decompress(buf, STEP)
            except zlib.error as exc:
                if self._first and not self._gzip and self._wbits > 0:
                    # "deflate" sent as a raw stream without the zlib header.
                    self._wbits = -zlib.MAX_WBITS
                    self._obj = zlib.decompressobj(self._wbits)
                    continue
                raise DecodingError(f"bad {'gzip' if self._gzip else 'deflate'} data") from exc
            self._first = False
            if out:
                yield out
            if self._obj.eof:
                buf = self._obj.unused_data
                if buf and self._gzip and buf.lstrip(b"\0"):
                    self._obj = zlib.decompressobj(self._wbits)  # next gzip member
                    continue
                return
            buf = self._obj.unconsumed_tail


class _Brotli:
    def __init__(self) -> None:
        assert _brotli is not None
        self._obj = _brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        assert _brotli is not None
        try:
            out: bytes = self._obj.process(data, output_buffer_limit=STEP)
            if out:
                yield out
            while not self._obj.can_accept_more_data():
                out = self._obj.process(b"", output_buffer_limit=STEP)
                if not out:
                    return
                yield out
        except _brotli.error as exc:
            raise DecodingError("bad brotli data") from exc


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data


def _decoder(name: str) -> _Decoder:
    if name in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if name == "deflate":
        return _Zlib(gzip=False)
    if name == "br" and _brotli is not None:
        return _Brotli()
    if name in ("identity", ""):
        return _Identity()
    raise DecodingError(f"unsupported Content-Encoding {name!r}")


def decoders_for(content_encoding: str | None) -> list[_Decoder]:
    """The decoders to apply, in order, for a Content-Encoding header value."""
    names = [n.strip().lower() for n in (content_encoding or "").split(",")]
    # Codings are listed in the order they were applied; undo them last first.
    return [_decoder(n) for n in reversed(names) if n not in ("", "identity")]


def _through(decoders: list[_Decoder], data: bytes) -> Iterator[bytes]:
    if not decoders:
        if data:
            yield data
        return
    first, rest = decoders[0], decoders[1:]
    for piece in first.feed(data):
        yield from _through(rest, piece)


def read_bounded(
    raw_chunks: Iterable[bytes], content_encoding: str | None, max_bytes: int
) -> bytes:
    """Decode ``raw_chunks`` and return the body; :class:`TooLargeError` past ``max_bytes``.

    Raw (still encoded) bytes are capped too, so a huge body that does not compress
    cannot slip through as "encoded".
    """
    decoders = decoders_for(content_encoding)
    parts: list[bytes] = []
    total = 0
    raw_total = 0
    for chunk in raw_chunks:
        raw_total += len(chunk)
        if raw_total > max_bytes:
            raise TooLargeError(f"body larger than {max_bytes} bytes")
        for piece in _through(decoders, chunk):
            total += len(piece)
            if total > max_bytes:
                raise TooLargeError(f"body larger than {max_bytes} bytes once decompressed")
            parts.append(piece)
    return b"".join(parts)
