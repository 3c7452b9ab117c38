"""SmtpSender against a real local SMTP server (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from notifications import (
    PermanentSendError,
    SmtpSecurityError,
    SmtpSender,
    TransientSendError,
    build_message,
    message_bytes,
    render_email,
)
from tests.notifications.conftest import SMTP_PASSWORD, SMTP_USER, ServerFactory, free_port
from tests.notifications.notification_samples import CONTEXTS

SENDER = "coffee@hospital.example"
RECIPIENT = "maya.patel@hospital.example"


def _message(number: int = 1) -> bytes:
    rendered = render_email("confirm_signup", CONTEXTS["confirm_signup"])
    message = build_message(
        sender=SENDER,
        sender_name="Coffee Rounds",
        to=RECIPIENT,
        to_name="Maya Patel",
        rendered=rendered,
        message_id=f"<outbox-{number}@hospital.example>",
        date=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    return message_bytes(message)


def _sender(port: int, **overrides: object) -> SmtpSender:
    options: dict[str, object] = {
        "username": SMTP_USER,
        "password": SMTP_PASSWORD,
        "security": "starttls",
        "timeout": 5,
    }
    options.update(overrides)
    return SmtpSender("127.0.0.1", port, **options)  # type: ignore[arg-type]


def test_starttls_auth_delivers_identical_bytes(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server()
    data = _message()
    with _sender(server.port, ca_file=pki.ca_file) as sender:
        sender.send(data, envelope_from="bounces+1@hospital.example", recipients=[RECIPIENT])

    [envelope] = server.handler.received
    assert envelope.mail_from == "bounces+1@hospital.example"
    assert envelope.rcpt_tos == [RECIPIENT]
    assert envelope.original_content.rstrip(b"\r\n") == data.rstrip(b"\r\n")
    assert b"Message-ID: <outbox-1@hospital.example>" in envelope.original_content
    assert server.authenticator.logins == [SMTP_USER]


def test_unknown_certificate_authority_is_refused(smtp_server: ServerFactory) -> None:
    server = smtp_server()
    with pytest.raises(SmtpSecurityError, match="certificate") as caught:
        _sender(server.port).send(_message(), envelope_from=SENDER, recipients=[RECIPIENT])
    # A security error is transient: nothing was sent, so retrying later is safe.
    assert isinstance(caught.value, TransientSendError)
    assert server.handler.received == []
    assert server.authenticator.logins == []


def test_server_without_starttls_is_refused_before_auth(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server(starttls=False, auth_require_tls=False)
    with pytest.raises(SmtpSecurityError, match="STARTTLS"):
        _sender(server.port, ca_file=pki.ca_file).send(
            _message(), envelope_from=SENDER, recipients=[RECIPIENT]
        )
    assert server.authenticator.logins == []  # the password never crossed in plain text
    assert server.handler.received == []


def test_implicit_tls(smtp_server: ServerFactory, pki) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; here the whole socket is TLS.
    server = smtp_server(starttls=False, implicit_tls=True, auth_require_tls=False)
    with _sender(server.port, security="tls", ca_file=pki.ca_file) as sender:
        sender.send(_message(), envelope_from=SENDER, recipients=[RECIPIENT])
    assert len(server.handler.received) == 1
    assert server.authenticator.logins == [SMTP_USER]


def test_plain_dev_server_without_tls(smtp_server: ServerFactory) -> None:
    server = smtp_server(starttls=False)
    with SmtpSender("127.0.0.1", server.port, security="none", timeout=5) as sender:
        sender.send(_message(), envelope_from=SENDER, recipients=[RECIPIENT])
    assert len(server.handler.received) == 1


def test_451_is_transient_then_retry_succeeds(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server()
    server.handler.data_replies.append("451 4.3.0 Try again later")
    data = _message()
    with _sender(server.port, ca_file=pki.ca_file) as sender:
        with pytest.raises(TransientSendError) as caught:
            sender.send(data, envelope_from=SENDER, recipients=[RECIPIENT])
        assert caught.value.code == 451
        assert "Try again later" in caught.value.message
        sender.send(data, envelope_from=SENDER, recipients=[RECIPIENT])
    assert server.handler.data_attempts == 2
    assert len(server.handler.received) == 1


def test_550_is_permanent(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server()
    server.handler.data_replies.append("550 5.7.1 Message rejected")
    with pytest.raises(PermanentSendError) as caught:
        _sender(server.port, ca_file=pki.ca_file).send(
            _message(), envelope_from=SENDER, recipients=[RECIPIENT]
        )
    assert caught.value.code == 550
    assert "Message rejected" in str(caught.value)


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 No such user", PermanentSendError), ("450 4.2.0 Greylisted", TransientSendError)],
)
def test_refused_single_recipient(
    smtp_server: ServerFactory, pki, reply: str, error: type[Exception]
) -> None:
    server = smtp_server()
    server.handler.rcpt_reply = reply
    with pytest.raises(error) as caught:
        _sender(server.port, ca_file=pki.ca_file).send(
            _message(), envelope_from=SENDER, recipients=[RECIPIENT]
        )
    assert caught.value.code == int(reply[:3])  # type: ignore[attr-defined]
    assert RECIPIENT in str(caught.value)


def test_one_connection_for_fifty_messages(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server()
    with _sender(server.port, ca_file=pki.ca_file) as sender:
        for number in range(50):
            sender.send(_message(number), envelope_from=SENDER, recipients=[RECIPIENT])
    assert len(server.handler.received) == 50
    assert server.controller.connections == 1
    assert server.authenticator.logins == [SMTP_USER]


def test_reconnects_once_after_server_dropped_idle_connection(
    smtp_server: ServerFactory, pki
) -> None:
    server = smtp_server(timeout=0.3)  # the server hangs up on idle clients after 0.3 s
    with _sender(server.port, ca_file=pki.ca_file) as sender:
        sender.send(_message(1), envelope_from=SENDER, recipients=[RECIPIENT])
        time.sleep(0.8)
        sender.send(_message(2), envelope_from=SENDER, recipients=[RECIPIENT])
    assert len(server.handler.received) == 2
    assert server.controller.connections == 2


def test_wrong_password_is_transient_with_code(smtp_server: ServerFactory, pki) -> None:
    server = smtp_server()
    sender = _sender(server.port, ca_file=pki.ca_file, password="wrong")
    with pytest.raises(TransientSendError) as caught:
        sender.send(_message(), envelope_from=SENDER, recipients=[RECIPIENT])
    assert caught.value.code == 535
    assert server.handler.received == []


def test_server_down_is_transient() -> None:
    sender = SmtpSender("127.0.0.1", free_port(), security="starttls", timeout=2)
    with pytest.raises(TransientSendError) as caught:
        sender.send(_message(), envelope_from=SENDER, recipients=[RECIPIENT])
    assert caught.value.code is None
    assert not isinstance(caught.value, SmtpSecurityError)


def test_password_not_in_repr() -> None:
    sender = SmtpSender("smtp.example", 587, username="u", password="hunter2")
    assert "hunter2" not in repr(sender)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"security": "ssl"}, "security"),
        ({"username": "u"}, "together"),
        ({"timeout": 0}, "timeout"),
    ],
)
def test_bad_configuration_is_rejected(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SmtpSender("smtp.example", 587, **kwargs)  # type: ignore[arg-type]
