"""`notify[].template: FILE`: Jinja2 with the documented context, autoescaped for HTML
channels, its syntax errors reported by `monitor check` at the template's FILE:LINE."""

from __future__ import annotations

import json

from monitor.alerts.mail import EmailChannel
from monitor.alerts.stdout import StdoutChannel
from monitor.alerts.templates import load_renderer
from monitor.config.schema import SmtpConfig
from tests.support.receivers import SMTPServer

TEMPLATE = """\
{{ story.topic_name }}: {{ alert.title }}
{% for o in outlets %}- {{ o.feed }} at {{ o.at }}
{% endfor %}{% for e in evidence %}* {{ e.term }} in {{ e.field }}
{% endfor %}"""


def test_template_renders_the_documented_context(tmp_path, capsys, alert_factory):
    path = tmp_path / "chat.j2"
    path.write_text(TEMPLATE, "utf-8")
    channel = StdoutChannel("out", renderer=load_renderer(str(path), html=False))
    channel.send(alert_factory(title="Trump & Putin <meet>"), delivery_id="d")
    out = capsys.readouterr().out
    assert out.startswith("Trump–Putin summit: Trump & Putin <meet>\n")
    assert "- tass-en at 2025-08-15T18:03:11Z" in out and "- dw-en at" in out
    assert "* Anchorage in title" in out


def test_email_template_is_autoescaped_and_keeps_a_plain_text_part(tmp_path, alert_factory):
    path = tmp_path / "mail.j2"
    path.write_text("<p>{{ alert.title }}</p><p>{{ story.first_reported_by }}</p>", "utf-8")
    smtp = SMTPServer().start()
    try:
        channel = EmailChannel(
            "mail",
            ["ops@example.org"],
            SmtpConfig(host="127.0.0.1", port=smtp.port, security="none"),
            renderer=load_renderer(str(path), html=True),
        )
        channel.send(alert_factory(title="<script>alert(1)</script>"), delivery_id="d")
    finally:
        smtp.stop()
    (message,) = smtp.handler.messages
    html = message.get_body(("html",)).get_content()
    assert "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p><p>tass-en</p>" in html
    assert "<script>" in message.get_body(("plain",)).get_content()  # text is not HTML


def test_check_reports_template_errors_at_file_line(tmp_path, write_config, cli):
    bad = tmp_path / "bad.j2"
    bad.write_text("line one\n{{ alert.title }}\n{% for x in outlets %}\n{{ x.feed }\n", "utf-8")
    config = write_config(notify=[{"stdout": True, "template": str(bad)}])
    result = cli("check", "-c", str(config))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith(str(bad))]
    assert len(lines) == 1 and lines[0].startswith(f"{bad}:4: "), result.output
    missing = write_config(notify=[{"stdout": True, "template": str(tmp_path / "nope.j2")}])
    result = cli("check", "-c", str(missing))
    assert result.exit_code == 2 and "nope.j2" in result.output and "cannot read" in result.output


def test_a_template_failing_on_one_alert_falls_back_to_the_default(tmp_path, capsys, alert_factory):
    path = tmp_path / "t.j2"
    path.write_text("{{ (alert.evidence | length) / 0 }}", "utf-8")  # raises while rendering
    channel = StdoutChannel("out", renderer=load_renderer(str(path), html=False))
    channel.send(alert_factory(), delivery_id="d")
    assert json.loads(capsys.readouterr().out)["id"] == "a1"
