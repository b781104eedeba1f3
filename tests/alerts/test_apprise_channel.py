"""The Apprise channel, with a json:// URL pointed at a receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from monitor.alerts.apprise_channel import AppriseChannel
from monitor.errors import DeliveryError
from tests.conftest import REPO, run_monitor


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


def test_apprises_imghdr_deprecation_does_not_reach_the_operator(write_config):
    # Apprise's e-mail plugin imports imghdr (deprecated on Python 3.11 and 3.12) when
    # its plugins load: under -W error::DeprecationWarning `monitor check` died of it.
    config = write_config(notify=[{"apprise": "json://127.0.0.1:9/x"}])
    strict = {"PYTHONWARNINGS": "error::DeprecationWarning"}
    checked = run_monitor("check", "-c", str(config), env=strict)
    assert checked.returncode == 0, checked.stderr
    shown = run_monitor("check", "-c", str(config), env={"PYTHONWARNINGS": "default"})
    assert shown.returncode == 0 and "DeprecationWarning" not in shown.stderr, shown.stderr


def test_only_apprises_imghdr_deprecation_is_silenced() -> None:
    # The same warning from another module, and another warning from Apprise's, are not.
    script = (
        "import sys, warnings\n"
        "from monitor.alerts.apprise_channel import AppriseChannel\n"
        "AppriseChannel('chat', 'json://127.0.0.1:9/x')\n"
        "for message, module in ((\"'imghdr' is deprecated\", 'other'),\n"
        "                        ('something else', 'apprise.utils.pgp')):\n"
        "    try:\n"
        "        warnings.warn_explicit(message, DeprecationWarning, 'x.py', 1, module=module)\n"
        "    except DeprecationWarning:\n"
        "        print('raised', module)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["raised other", "raised apprise.utils.pgp"]
