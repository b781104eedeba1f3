"""Building channels from `notify:` and routing alerts to them by topic."""

from __future__ import annotations

import base64
import json

import pytest

from monitor.alerts import Channel, ChannelConfigError, build_channels
from monitor.alerts.apprise_channel import AppriseChannel
from monitor.alerts.mail import EmailChannel
from monitor.alerts.stdout import StdoutChannel
from monitor.alerts.webhook import WebhookChannel
from monitor.config.schema import NotifyConfig, SmtpConfig

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def notify(**fields: object) -> NotifyConfig:
    return NotifyConfig.model_validate(fields)


def test_every_kind_is_built_with_its_stable_name_and_topics():
    entries = [
        notify(webhook="https://hooks.example.org/x", secret=SECRET, topics=["peace-council"]),
        notify(email=["ops@example.org", "b@example.org"]),
        notify(apprise="json://127.0.0.1:9/path", name="chat"),
        notify(stdout=True),
    ]
    channels = build_channels(entries, SmtpConfig())
    assert [type(c) for c in channels] == [
        WebhookChannel,
        EmailChannel,
        AppriseChannel,
        StdoutChannel,
    ]
    assert [c.name for c in channels] == [e.channel_name for e in entries]
    assert channels[2].name == "chat"
    assert channels[0].topics == frozenset({"peace-council"}) and channels[1].topics is None
    assert all(isinstance(c, Channel) for c in channels)
    for channel in channels:
        channel.close()


def test_problems_are_all_reported_with_their_position():
    entries = [
        notify(webhook="https://hooks.example.org/x", email="a@example.org"),
        notify(email="not an address"),
        notify(webhook="https://hooks.example.org/y", secret="hunter2"),
        notify(apprise="nosuchservice://x"),
        notify(stdout=True, topics=[]),
        notify(email="ops@example.org", secret=SECRET),
        notify(),
    ]
    with pytest.raises(ChannelConfigError) as info:
        build_channels(entries, SmtpConfig())
    message = str(info.value)
    assert [p.index for p in info.value.problems] == list(range(len(entries)))
    for index in range(len(entries)):
        assert f"notify[{index}]" in message
    assert "hunter2" not in message


def test_email_without_smtp_uses_the_defaults_and_names_must_differ():
    """SPEC.md's example configures `- email:` without `smtp:`: a mail server on this
    host (localhost:587), as `monitor check` says."""
    (mail,) = build_channels([notify(email="ops@example.org")], None)
    assert mail.name.startswith("email") or "ops@example.org" in mail.name
    mail.close()
    with pytest.raises(ValueError, match="distinct"):
        build_channels([notify(stdout=True), notify(stdout=True)], None)


def test_stdout_prints_one_json_line_per_alert(alert_factory, capsys):
    channel = StdoutChannel()
    channel.send(alert_factory("a1", title="two\nlines"), delivery_id="d1")
    channel.send(alert_factory("a2"), delivery_id="d2")
    out = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in out] == ["a1", "a2"]
    assert json.loads(out[0])["title"] == "two\nlines"
