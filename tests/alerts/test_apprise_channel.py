"""The Apprise channel, with a json:// URL pointed at a receiver on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

from monitor.alerts.apprise_channel import AppriseChannel
from monitor.errors import DeliveryError


def json_url(receiver, path: str = "/notify") -> str:
    return f"json://127.0.0.1:{receiver.port}{path}"


def test_alert_arrives_as_plain_text_that_no_service_shows_escaped(receiver, alert_factory):
    """The issue: `\\[Trump–Putin summit\\] Second Trump\\-Putin summit` on every service
    that does not render Markdown. Plain text, declared as text, has nothing to escape."""
    receiver.start()
    channel = AppriseChannel("chat", json_url(receiver))
    channel.send(alert_factory(title="*Breaking*: Trump [meets] Putin"), delivery_id="d")
    channel.close()
    (request,) = receiver.hits
    assert request.path == "/notify"
    payload = json.loads(request.body)
    assert payload["title"] == "[Trump–Putin summit] *Breaking*: Trump [meets] Putin"
    message = payload["message"]
    assert "\\" not in message and "\\" not in payload["title"]
    assert "Title:     *Breaking*: Trump [meets] Putin" in message
    assert "https://example.org/news/1" in message
    assert "Anchorage" in message and "tass-en, dw-en" in message


def test_failure_is_retryable(receiver, alert_factory):
    receiver.script = [(500, {})]
    receiver.start()
    with pytest.raises(DeliveryError) as info:
        AppriseChannel("chat", json_url(receiver)).send(alert_factory(), delivery_id="d")
    assert info.value.retryable
    assert str(receiver.port) not in str(info.value)  # only the scheme is shown


def test_unreachable_is_retryable(receiver, alert_factory):
    with pytest.raises(DeliveryError) as info:  # the receiver was never started
        AppriseChannel("chat", json_url(receiver)).send(alert_factory(), delivery_id="d")
    assert info.value.retryable


def test_unknown_url_is_refused():
    with pytest.raises(ValueError, match="Apprise"):
        AppriseChannel("chat", "nosuchservice://token@host")
