"""The webhook channel: a JSON POST signed as the Standard Webhooks specification says.

Body: ``{"type": "alert.created", "timestamp": ..., "data": Alert.to_json()}`` (with
``"text"``, the rendered template, when the channel has one); a digest or an "N more
alerts" message is ``{"type": "alert.digest"|"alert.batch", "data": {"alerts": [...]}}``.
Headers: ``webhook-id`` (the delivery id, the same on every retry, so a receiver can
drop a duplicate), ``webhook-timestamp`` (unix seconds) and, with a ``whsec_`` secret,
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.
Redirects are not followed. The URL (it often holds a token) and the secret never
appear in an error message; retrying is the outbox's job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

import httpcore
import httpx

from monitor.alerts.batch import Batch, batch_payload
from monitor.alerts.templates import Renderer
from monitor.errors import DeliveryError
from monitor.fetching import netguard
from monitor.fetching.transport import deadline_transport
from monitor.types import Alert, format_time

SECRET_PREFIX = "whsec_"
USER_AGENT = "monitor-webhook/1"


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; ValueError without revealing it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secret must look like whsec_<base64>")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret: the part after whsec_ is not base64") from None
    if len(key) < 16:
        raise ValueError("webhook secret is too short (at least 16 bytes before base64)")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def redact_url(url: str) -> str:
    """``scheme://host[:port]/…``: enough to tell endpoints apart, no path or token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}/…"


def payload(alert: Alert, text: str | None = None) -> bytes:
    """The request body (compact JSON, UTF-8); ``text`` is the channel template's output."""
    event: dict[str, object] = {
        "type": "alert.created",
        "timestamp": format_time(alert.detected_at),
        "data": alert.to_json(),
    }
    if text is not None:
        event["text"] = text
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel:
    """POSTs each alert to one URL."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        secret: str | None = None,
        topics: frozenset[str] | None = None,
        timeout: timedelta = timedelta(seconds=15),
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
        key: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        try:
            parts = urlsplit(url)
            valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            raise ValueError(f"webhook must be an http(s) URL, not {redact_url(url)}")
        self.name = name
        self.key = key or name
        self.topics = topics
        self.renderer = renderer or Renderer()
        self.target = redact_url(url)
        self._url = url
        self._key = decode_secret(secret) if secret else None
        self._clock = clock
        self._timeout = timeout.total_seconds()
        self._client = httpx.Client(
            timeout=httpx.Timeout(self._timeout),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
            transport=transport or deadline_transport(),
            trust_env=False,
        )

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        self._post(payload(alert, self.renderer.render_alert(alert)), delivery_id)

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None:
        """A digest (``alert.digest``) or an "N more alerts" message (``alert.batch``)."""
        self._post(batch_payload(batch, self.renderer.render_batch(batch)), delivery_id)

    def _post(self, body: bytes, delivery_id: str) -> None:
        timestamp = int(self._clock())
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery_id,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(self._key, delivery_id, timestamp, body)
        try:
            # Streamed and never read: the receiver's answer body is of no use to us.
            # The timeout bounds the whole request, not each read: a receiver dripping
            # its answer a byte at a time would otherwise hold the channel for ever.
            with (
                netguard.deadline(time.monotonic() + self._timeout),
                self._client.stream("POST", self._url, content=body, headers=headers) as r,
            ):
                status = r.status_code
        except (httpx.TimeoutException, httpcore.TimeoutException) as exc:
            raise self._failed(
                f"timed out after {self._timeout:g}s ({type(exc).__name__})", True
            ) from exc
        except (httpcore.NetworkError, httpcore.ProtocolError) as exc:
            raise self._failed(f"cannot connect ({type(exc).__name__})", True) from exc
        except httpx.TransportError as exc:
            raise self._failed(f"cannot connect ({type(exc).__name__})", True) from exc
        except httpx.HTTPError as exc:
            raise self._failed(f"request failed ({type(exc).__name__})", True) from exc
        self._check(status)

    def close(self) -> None:
        self._client.close()

    def _check(self, status: int) -> None:
        if 200 <= status < 300:
            return
        if status == 410:
            raise self._failed("HTTP 410 Gone: endpoint disabled", False, disable=True)
        if 300 <= status < 400:
            raise self._failed(f"HTTP {status} redirect (not followed; fix the URL)", False)
        if status in (408, 429) or status >= 500:
            raise self._failed(f"HTTP {status}", True)
        raise self._failed(f"HTTP {status} (rejected; not retried)", False)

    def _failed(self, reason: str, retryable: bool, *, disable: bool = False) -> DeliveryError:
        return DeliveryError(
            f"webhook {self.target}: {reason}", retryable=retryable, disable=disable
        )
