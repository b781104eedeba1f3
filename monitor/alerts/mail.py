"""The e-mail channel: one multipart/alternative message (plain text + HTML) per alert.

SMTP over STARTTLS, implicit TLS or plain (``smtp.security``), with optional login.
The Message-ID is derived from the alert id, so a retried alert is recognisably the
same message. 4xx replies and lost connections are retryable, 5xx replies are not.
One connection per message: alerts are rare, and a pooled connection would go stale.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

from monitor.alerts.batch import Batch, batch_subject, render_batch_html, render_batch_text
from monitor.alerts.message import render_html, render_text, subject
from monitor.alerts.templates import Renderer
from monitor.config.schema import SmtpConfig
from monitor.errors import DeliveryError
from monitor.types import Alert

_ID_SAFE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def message_id(alert: Alert, sender: str) -> str:
    """``<alert-ID@domain-of-sender>``; the same for every attempt of one alert."""
    local = (
        alert.id if _ID_SAFE.match(alert.id) else hashlib.sha256(alert.id.encode()).hexdigest()[:32]
    )
    domain = sender.rpartition("@")[2].strip("<> ") or "monitor"
    if not re.match(r"^[A-Za-z0-9.-]+$", domain):
        domain = "monitor"
    return f"<alert-{local}@{domain}>"


def build_message(
    alert: Alert,
    sender: str,
    recipients: Sequence[str],
    delivery_id: str,
    renderer: Renderer | None = None,
) -> EmailMessage:
    """The message as it is sent (exposed for tests and previews): a plain-text part and
    an HTML part (the channel's template, autoescaped, when it has one)."""
    msg = EmailMessage()
    msg["Subject"] = subject(alert)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(alert, sender)
    msg["X-Monitor-Alert-Id"] = alert.id if _ID_SAFE.match(alert.id) else message_id(alert, sender)
    msg["X-Monitor-Delivery-Id"] = delivery_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_text(alert))
    custom = renderer.render_alert(alert) if renderer else None
    msg.add_alternative(custom if custom is not None else render_html(alert), subtype="html")
    return msg


def build_batch_message(
    batch: Batch,
    sender: str,
    recipients: Sequence[str],
    delivery_id: str,
    renderer: Renderer | None = None,
) -> EmailMessage:
    """A digest or an "N more alerts" message: plain-text and HTML parts."""
    domain = sender.rpartition("@")[2].strip("<> ") or "monitor"
    if not re.match(r"^[A-Za-z0-9.-]+$", domain):
        domain = "monitor"
    msg = EmailMessage()
    msg["Subject"] = batch_subject(batch)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{batch.kind}-{delivery_id}@{domain}>"
    msg["X-Monitor-Delivery-Id"] = delivery_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(render_batch_text(batch))
    custom = renderer.render_batch(batch) if renderer else None
    msg.add_alternative(custom if custom is not None else render_batch_html(batch), subtype="html")
    return msg


class EmailChannel:
    """Sends each alert to fixed recipients through one SMTP server."""

    def __init__(
        self,
        name: str,
        recipients: Sequence[str],
        smtp: SmtpConfig,
        *,
        topics: frozenset[str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        key: str | None = None,
        renderer: Renderer | None = None,
    ) -> None:
        if not recipients:
            raise ValueError("an email channel needs at least one recipient")
        self.name = name
        self.key = key or name
        self.topics = topics
        self.renderer = renderer or Renderer()
        self.recipients = tuple(recipients)
        self._smtp = smtp
        self._context = ssl_context

    def send(self, alert: Alert, *, delivery_id: str) -> None:
        sender = self._smtp.sender
        self._send(build_message(alert, sender, self.recipients, delivery_id, self.renderer))

    def send_batch(self, batch: Batch, *, delivery_id: str) -> None:
        sender = self._smtp.sender
        self._send(build_batch_message(batch, sender, self.recipients, delivery_id, self.renderer))

    def _send(self, msg: EmailMessage) -> None:
        try:
            with self._connect() as client:
                refused = client.send_message(msg, self._smtp.sender, list(self.recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise self._failed(
                f"recipients refused ({_codes(codes)})", all(400 <= c < 500 for c in codes)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise self._failed(f"server replied {code}", 400 <= code < 500) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise self._failed(
                "server does not support STARTTLS/AUTH as configured", False
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise self._failed(
                f"TLS certificate not trusted ({exc.verify_message})", False
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._failed(f"connection failed ({type(exc).__name__}: {exc})", True) from exc
        if refused:
            # Some recipients got it: retrying would send them a second copy.
            codes = [code for code, _ in refused.values()]
            raise self._failed(f"{len(refused)} recipient(s) refused ({_codes(codes)})", False)

    def close(self) -> None:
        """Nothing held between messages."""

    def _connect(self) -> smtplib.SMTP:
        cfg = self._smtp
        timeout = cfg.timeout.total_seconds()
        context = self._context or ssl.create_default_context()
        client: smtplib.SMTP
        if cfg.security == "tls":
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
        try:
            if cfg.security == "starttls":
                client.starttls(context=context)
            if cfg.username:
                client.login(cfg.username, cfg.password or "")
        except BaseException:
            client.close()
            raise
        return client

    def _failed(self, reason: str, retryable: bool) -> DeliveryError:
        return DeliveryError(
            f"email via {self._smtp.host}:{self._smtp.port}: {reason}", retryable=retryable
        )


def _codes(codes: Sequence[int]) -> str:
    return ", ".join(str(c) for c in sorted(set(codes)))
