"""The webhook channel against a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest

from monitor.alerts.webhook import WebhookChannel
from monitor.errors import DeliveryError

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
TOKEN = "t0ken-S3CRET"


def verify(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """Standard Webhooks verification, written from the published spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    for entry in headers["webhook-signature"].split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


def test_refused_then_500_then_200_retries_with_one_id_and_valid_signatures(
    receiver, alert_factory
):
    alert = alert_factory("alert-42", title="Trump & Putin: «talks» <b>")
    channel = WebhookChannel("hook", receiver.url(f"/hook/{TOKEN}"), secret=SECRET)
    errors = []
    with pytest.raises(DeliveryError) as refused:  # nothing listens on the port yet
        channel.send(alert, delivery_id="dlv-1")
    errors.append(refused.value)
    receiver.script = [(500, {}), (200, {})]
    receiver.start()
    with pytest.raises(DeliveryError) as failed:
        channel.send(alert, delivery_id="dlv-1")
    errors.append(failed.value)
    channel.send(alert, delivery_id="dlv-1")
    channel.close()

    assert all(e.retryable and not e.disable for e in errors)
    for error in errors:  # the URL's token and the secret stay out of messages
        text = f"{error} {error.__cause__}"
        assert TOKEN not in text and SECRET not in text
    assert "http://127.0.0.1" in str(errors[0])
    assert len(receiver.hits) == 2
    assert {r.headers["webhook-id"] for r in receiver.hits} == {"dlv-1"}
    for request in receiver.hits:
        assert request.headers["content-type"] == "application/json"
        assert verify(request.headers, request.body, SECRET)
        event = json.loads(request.body)
        assert event["type"] == "alert.created"
        assert event["data"]["id"] == "alert-42"
        assert event["data"]["title"] == "Trump & Putin: «talks» <b>"
        assert event["data"]["feeds"] == ["tass-en", "dw-en"]
    other = "whsec_" + base64.b64encode(b"another-secret-of-32-bytes------").decode()
    assert not verify(receiver.hits[0].headers, receiver.hits[0].body, other)
    tampered = receiver.hits[0].body.replace(b"alert-42", b"alert-43")
    assert not verify(receiver.hits[0].headers, tampered, SECRET)


def test_410_disables_the_endpoint(receiver, alert_factory):
    receiver.script = [(410, {})]
    receiver.start()
    channel = WebhookChannel("hook", receiver.url(), secret=SECRET)
    with pytest.raises(DeliveryError) as info:
        channel.send(alert_factory(), delivery_id="d")
    assert info.value.disable and not info.value.retryable
    assert "410" in str(info.value)


def test_redirect_is_not_followed(receiver, alert_factory):
    receiver.script = [(307, {"location": "/elsewhere"}), (200, {})]
    receiver.start()
    channel = WebhookChannel("hook", receiver.url(), secret=None)
    with pytest.raises(DeliveryError) as info:
        channel.send(alert_factory(), delivery_id="d")
    assert "redirect" in str(info.value)
    assert [r.path for r in receiver.hits] == ["/hook"]


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(400, False), (401, False), (404, False), (408, True), (429, True), (502, True)],
)
def test_status_decides_whether_to_retry(receiver, alert_factory, status, retryable):
    receiver.script = [(status, {})]
    receiver.start()
    channel = WebhookChannel("hook", receiver.url(), secret=SECRET)
    with pytest.raises(DeliveryError) as info:
        channel.send(alert_factory(), delivery_id="d")
    assert info.value.retryable is retryable
    assert not info.value.disable


def test_2xx_is_success_and_unsigned_without_secret(receiver, alert_factory):
    receiver.script = [(204, {})]
    receiver.start()
    WebhookChannel("hook", receiver.url(), secret=None).send(alert_factory(), delivery_id="d")
    (request,) = receiver.hits
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "d"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60


def test_slow_receiver_times_out_as_retryable(receiver, alert_factory):
    receiver.delay = 20.0
    receiver.start()
    channel = WebhookChannel("hook", receiver.url(), timeout=timedelta(seconds=0.3))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        channel.send(alert_factory(), delivery_id="d")
    assert info.value.retryable
    assert time.monotonic() - started < 10  # cut at 0.3 s, not after the 20 s answer


@pytest.mark.parametrize(
    "secret",
    ["plain-secret", "whsec_not*base64!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_bad_secret_is_refused_without_echoing_it(secret):
    with pytest.raises(ValueError) as info:
        WebhookChannel("hook", "https://example.org/hook", secret=secret)
    assert secret not in str(info.value)


def test_non_http_url_is_refused():
    with pytest.raises(ValueError, match="http"):
        WebhookChannel("hook", "ftp://example.org/hook")
