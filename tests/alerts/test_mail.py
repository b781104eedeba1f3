"""The e-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from monitor.alerts.mail import EmailChannel
from monitor.config.schema import SmtpConfig
from monitor.errors import DeliveryError
from tests.support.ports import free_port


class ScriptedHandler:
    """Answers DATA with the next scripted reply; keeps every message it saw."""

    def __init__(self) -> None:
        self.replies: list[str] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        msg = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))  # type: ignore[attr-defined]
        return self.replies.pop(0) if self.replies else "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[ScriptedHandler, int]]:
    handler = ScriptedHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def config(port: int) -> SmtpConfig:
    return SmtpConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "security": "none",
            "from": "monitor@alerts.example.org",
            "timeout": timedelta(seconds=5),
        }
    )


def test_421_is_retried_then_a_multipart_message_arrives(smtp_server, alert_factory):
    handler, port = smtp_server
    handler.replies = ["421 4.3.2 Service not available, try later"]
    channel = EmailChannel("mail", ["ops@example.org", "oncall@example.org"], config(port))
    alert = alert_factory(
        "alert-7",
        title='Putin <script>alert("x")</script> & Trump',
        url="javascript:alert(1)",
    )
    with pytest.raises(DeliveryError) as info:
        channel.send(alert, delivery_id="d7")
    assert info.value.retryable and "421" in str(info.value)
    channel.send(alert, delivery_id="d7")

    assert len(handler.messages) == 2
    first, second = handler.messages
    assert first["Message-ID"] == second["Message-ID"] == "<alert-alert-7@alerts.example.org>"
    assert handler.envelopes[1] == (
        "monitor@alerts.example.org",
        ["ops@example.org", "oncall@example.org"],
    )
    assert second["To"] == "ops@example.org, oncall@example.org"
    assert second.get_content_type() == "multipart/alternative"
    plain = second.get_body(preferencelist=("plain",))
    html = second.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    assert 'Putin <script>alert("x")</script> & Trump' in text
    assert "Trump–Putin summit" in text and "tass-en, dw-en" in text
    assert "Anchorage" in text and "2025-08-15T18:02:00Z" in text
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Trump" in markup
    assert "<a " not in markup  # a javascript: URL is shown, never linked
    assert "javascript:alert(1)" in markup


def test_http_link_is_linked_in_html(smtp_server, alert_factory):
    handler, port = smtp_server
    EmailChannel("mail", ["ops@example.org"], config(port)).send(
        alert_factory(url='https://example.org/a?b=1&c="2"'), delivery_id="d"
    )
    html = handler.messages[0].get_body(preferencelist=("html",)).get_content()
    assert '<a href="https://example.org/a?b=1&amp;c=&quot;2&quot;"' in html


def test_5xx_is_permanent(smtp_server, alert_factory):
    handler, port = smtp_server
    handler.replies = ["554 5.7.1 Message rejected"]
    with pytest.raises(DeliveryError) as info:
        EmailChannel("mail", ["ops@example.org"], config(port)).send(
            alert_factory(), delivery_id="d"
        )
    assert not info.value.retryable


def test_unreachable_server_is_retryable(alert_factory):
    port = free_port()
    with pytest.raises(DeliveryError) as info:
        EmailChannel("mail", ["ops@example.org"], config(port)).send(
            alert_factory(), delivery_id="d"
        )
    assert info.value.retryable


def test_newlines_in_a_feed_title_cannot_inject_headers(smtp_server, alert_factory):
    handler, port = smtp_server
    EmailChannel("mail", ["ops@example.org"], config(port)).send(
        alert_factory(title="Hello\r\nBcc: victim@example.org\r\n\r\nbody"), delivery_id="d"
    )
    msg = handler.messages[0]
    assert msg["Bcc"] is None
    assert handler.envelopes[0][1] == ["ops@example.org"]
    assert "Bcc: victim@example.org" in msg["Subject"]
