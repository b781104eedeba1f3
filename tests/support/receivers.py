"""Real alert receivers on 127.0.0.1 for the end-to-end tests: HTTP and SMTP.

The webhook receiver answers from a script (500, 200 …) and records every request;
it can be started late, so that until then its port refuses connections. The
Standard Webhooks check here is written from the published specification,
independently of ``monitor.alerts.webhook``, so a wrong signature cannot pass.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Hit:
    """One request the receiver answered."""

    path: str
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes
    status: int
    at: float = 0.0
    """``time.monotonic()`` when it arrived."""
    method: str = "POST"

    def json(self) -> Any:
        return json.loads(self.body)


Reply = int | tuple[int, dict[str, str]]
"""A status, or a status with the headers to send with it."""


@dataclass
class WebhookReceiver:
    """The one webhook receiver of the tests: an HTTP/1.1 server on 127.0.0.1 that
    answers each POST with the next scripted reply (then ``default``) and records it.

    Not started until :meth:`start` (so a test can see refused connections first).
    """

    port: int = field(default_factory=free_port)
    script: list[Reply] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    """Seconds between reading a request and answering it."""
    hits: list[Hit] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    reply = receiver.script.pop(0) if receiver.script else receiver.default
                    status, extra = reply if isinstance(reply, tuple) else (reply, {})
                    receiver.hits.append(Hit(self.path, headers, body, status, time.monotonic()))
                if receiver.delay:
                    time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    for key, value in extra.items():
                        self.send_header(key, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def accepted(self, path: str | None = None) -> list[Hit]:
        """Requests answered 2xx (optionally only those to ``path``)."""
        with self._lock:
            return [
                h for h in self.hits if 200 <= h.status < 300 and (path is None or h.path == path)
            ]

    def all(self, path: str | None = None) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if path is None or h.path == path]

    def by_delivery(self) -> dict[str, list[Hit]]:
        """Requests grouped by ``webhook-id`` (a redelivery shares its id)."""
        grouped: dict[str, list[Hit]] = {}
        for hit in self.all():
            grouped.setdefault(hit.headers.get("webhook-id", ""), []).append(hit)
        return grouped

    def links(self) -> set[str]:
        """The ``url`` of every alert received."""
        return {str(hit.json()["data"].get("url")) for hit in self.all()}


def verify_standard_webhook(
    secret: str, hit: Hit, *, now: float | None = None, tolerance: float = 300
) -> None:
    """Raise AssertionError unless ``hit`` is signed as Standard Webhooks specifies.

    Signed content: ``{webhook-id}.{webhook-timestamp}.{body}``; key: the base64 part of
    ``whsec_…``; signature: base64 HMAC-SHA256, sent as ``v1,<sig>`` (space-separated
    when there are several); the timestamp must be within ``tolerance`` seconds.
    """
    msg_id = hit.headers["webhook-id"]
    timestamp = hit.headers["webhook-timestamp"]
    assert abs((now or time.time()) - int(timestamp)) <= tolerance, "stale webhook-timestamp"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + hit.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1) for s in hit.headers["webhook-signature"].split(" ")]
    assert any(v == "v1" and hmac.compare_digest(sig, expected) for v, sig in offered), (
        "webhook-signature does not verify"
    )


class ScriptedSMTP:
    """aiosmtpd handler: answers DATA with the scripted replies, then accepts."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.messages: list[EmailMessage] = []
        self.refused = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if self.replies:
            self.refused += 1
            return self.replies.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class SMTPServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), no TLS."""

    def __init__(self) -> None:
        self.handler = ScriptedSMTP()
        self.port = free_port()
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
