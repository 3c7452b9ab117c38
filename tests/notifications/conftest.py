"""A real SMTP server (aiosmtpd) with STARTTLS, AUTH and a test certificate authority."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SMTP_USER = "coffee-bot"
SMTP_PASSWORD = "s3cret-pass"


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throw-away CA and a server certificate for 127.0.0.1/localhost."""
    directory = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Coffee Rounds Test CA"))
        .issuer_name(_name("Coffee Rounds Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(pem))
    cert_file = directory / "server.pem"
    cert_file.write_bytes(server_cert.public_bytes(pem))
    key_file = directory / "server.key"
    key_file.write_bytes(
        server_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Pki(ca_file=ca_file, cert_file=cert_file, key_file=key_file)


@dataclass
class RecordingHandler:
    """Stores every accepted message; replies from ``data_replies`` first, if any."""

    data_replies: list[str] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_attempts: int = 0
    received: list[Envelope] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if self.rcpt_reply is not None:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(envelope)
        return "250 Message accepted"


@dataclass
class Authenticator:
    logins: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = data.login.decode() == SMTP_USER and data.password.decode() == SMTP_PASSWORD
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)


class CountingController(Controller):
    """Counts SMTP connections (one ``factory()`` call per accepted connection)."""

    connections = 0

    def factory(self) -> SMTP:
        self.connections += 1
        return super().factory()

    def start(self) -> None:
        super().start()
        self.connections = 0  # start() opens one probe connection itself


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class SmtpServer:
    controller: CountingController
    handler: RecordingHandler
    authenticator: Authenticator

    @property
    def port(self) -> int:
        return int(self.controller.port)


ServerFactory = Callable[..., SmtpServer]


@pytest.fixture
def smtp_server(pki: Pki) -> Iterator[ServerFactory]:
    """Start an aiosmtpd server: STARTTLS required and AUTH only after TLS by default."""
    started: list[CountingController] = []

    def start(
        *, starttls: bool = True, implicit_tls: bool = False, **smtp_kwargs: object
    ) -> SmtpServer:
        handler = RecordingHandler()
        authenticator = Authenticator()
        kwargs: dict[str, object] = {
            "authenticator": authenticator,
            "auth_require_tls": True,
        }
        if starttls:
            kwargs.update(tls_context=pki.server_context(), require_starttls=True)
        if implicit_tls:
            kwargs["ssl_context"] = pki.server_context()
        kwargs.update(smtp_kwargs)
        controller = CountingController(
            handler,
            hostname="127.0.0.1",
            port=free_port(),
            loop=asyncio.new_event_loop(),
            **kwargs,
        )
        controller.start()
        started.append(controller)
        return SmtpServer(controller=controller, handler=handler, authenticator=authenticator)

    yield start
    for controller in started:
        controller.stop()
