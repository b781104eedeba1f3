"""The e-mail channel over STARTTLS (with login) and implicit TLS, against aiosmtpd."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from monitor.alerts.mail import EmailChannel
from monitor.config.schema import SmtpConfig
from monitor.errors import DeliveryError
from tests.support.ports import free_port

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


class Recorder:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 OK"


def check_login(
    server: object, session: object, envelope: object, mechanism: str, auth_data: object
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"alerts",
        b"pa55",
    )
    return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def server(certificate, request) -> Iterator[tuple[Recorder, int]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    recorder, port = Recorder(), free_port()
    if request.param == "starttls":
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            tls_context=context,
            require_starttls=True,
            authenticator=check_login,
            auth_require_tls=True,
            auth_required=True,
        )
    else:
        controller = Controller(recorder, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def smtp(port: int, security: str, **extra: object) -> SmtpConfig:
    return SmtpConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": port,
            "security": security,
            "timeout": timedelta(seconds=5),
            **extra,
        }
    )


@pytest.mark.parametrize("server", ["starttls"], indirect=True)
def test_starttls_with_login(server, certificate, alert_factory):
    recorder, port = server
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    channel = EmailChannel(
        "mail",
        ["ops@example.org"],
        smtp(port, "starttls", username="alerts", password="pa55"),
        ssl_context=trusted,
    )
    channel.send(alert_factory(), delivery_id="d")
    assert recorder.count == 1
    anonymous = EmailChannel(
        "mail", ["ops@example.org"], smtp(port, "starttls"), ssl_context=trusted
    )
    with pytest.raises(DeliveryError) as info:  # the server demands a login
        anonymous.send(alert_factory(), delivery_id="d")
    assert not info.value.retryable and "530" in str(info.value)
    assert recorder.count == 1


@pytest.mark.parametrize("server", ["tls"], indirect=True)
def test_implicit_tls_and_an_untrusted_certificate(server, certificate, alert_factory):
    recorder, port = server
    trusted = ssl.create_default_context(cafile=str(certificate[0]))
    EmailChannel("mail", ["ops@example.org"], smtp(port, "tls"), ssl_context=trusted).send(
        alert_factory(), delivery_id="d"
    )
    assert recorder.count == 1
    with pytest.raises(DeliveryError) as info:  # the system store does not trust it
        EmailChannel("mail", ["ops@example.org"], smtp(port, "tls")).send(
            alert_factory(), delivery_id="d"
        )
    assert not info.value.retryable and "certificate" in str(info.value)
    assert recorder.count == 1
