"""Building channels from `notify:` and routing alerts to them by topic."""

from __future__ import annotations

import base64
import json

import pytest

from monitor.alerts import Channel, ChannelConfigError, build_channels
from monitor.alerts.apprise_channel import AppriseChannel
from monitor.alerts.mail import EmailChannel
from monitor.alerts.naming import channel_names
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
    assert [c.name for c in channels] == [
        "webhook:hooks.example.org",
        "email:ops@example.org+1",
        "chat",
        "stdout",
    ]
    assert all(c.key.startswith(e.kind + ":") for c, e in zip(channels, entries, strict=True))
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


def test_names_are_readable_never_secret_and_keys_survive_a_rename():
    """The issue: channels were named by hashes (`webhook:16899a6aae`) in logs, metrics
    and operator alerts. A name is readable and holds no token; the key the outbox
    stores stays what it was, whatever the name, so a rename resends and loses nothing."""

    hook = "https://hooks.example.org:8443/services/T0KEN/S3CRET"
    before = channel_names(
        [notify(webhook=hook), notify(apprise="tgram://123456:ABCDEF/987"), notify(stdout=True)]
    )
    assert [n.name for n in before] == ["webhook:hooks.example.org:8443", "apprise:tgram", "stdout"]
    assert not any("T0KEN" in n.name or "ABCDEF" in n.name for n in before)
    renamed = channel_names(
        [notify(webhook=hook, name="ops-hook"), notify(apprise="tgram://123456:ABCDEF/987")]
    )
    assert renamed[0].name == "ops-hook"
    assert renamed[0].key == before[0].key and renamed[1].key == before[1].key
    # Rows an older version stored under the `name:` (then the key) are adopted.
    assert renamed[0].legacy == "ops-hook"


def test_one_target_routed_twice_needs_names_and_gets_two_keys():
    hook = "https://hooks.example.org/x"
    a, b = channel_names(
        [
            notify(webhook=hook, name="peace", topics=["peace-council"]),
            notify(webhook=hook, name="all"),
        ]
    )
    assert a.key != b.key and a.name == "peace" and b.name == "all"
    channels = build_channels(
        [
            notify(webhook=hook, name="peace", topics=["peace-council"]),
            notify(webhook=hook, name="all"),
        ],
        None,
    )
    assert [c.name for c in channels] == ["peace", "all"]
    for channel in channels:
        channel.close()
    with pytest.raises(ValueError, match="taken"):
        build_channels([notify(stdout=True, name="x"), notify(webhook=hook, name="x")], None)
