"""FileSender and the envelope checks shared by every sender."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifications import (
    EmailSender,
    FileSender,
    SendError,
    SmtpSender,
    TransientSendError,
    build_message,
    message_bytes,
    render_email,
)
from tests.notifications.notification_samples import CONTEXTS

RECIPIENT = "maya.patel@hospital.example"


def _message(message_id: str = "<outbox-42@hospital.example>") -> EmailMessage:
    return build_message(
        sender="coffee@hospital.example",
        sender_name="Coffee Rounds",
        to=RECIPIENT,
        to_name="Maya Patel",
        rendered=render_email("manage_link", CONTEXTS["manage_link"]),
        message_id=message_id,
        date=datetime(2026, 3, 1, 9, tzinfo=UTC),
    )


def test_file_sender_writes_a_parseable_eml(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox" / "nested"  # created on demand
    message = _message()
    with FileSender(outbox) as sender:
        sender.send(message, envelope_from="bounces@hospital.example", recipients=[RECIPIENT])
    [written] = list(outbox.iterdir())  # no temporary file left behind
    assert written.suffix == ".eml"
    assert "outbox-42_hospital.example" in written.name
    assert written.read_bytes() == message_bytes(message)
    parsed = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == "<outbox-42@hospital.example>"
    assert parsed["To"].addresses[0].addr_spec == RECIPIENT
    assert "manage/tok-manage" in parsed.get_body(("plain",)).get_content()


def test_file_sender_accepts_bytes_and_keeps_every_message(tmp_path: Path) -> None:
    sender = FileSender(tmp_path)
    for number in range(3):
        data = message_bytes(_message(f"<outbox-{number}@hospital.example>"))
        sender.send(data, envelope_from="b@hospital.example", recipients=[RECIPIENT])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 3
    assert all(name.endswith(".eml") and not name.startswith(".") for name in names)


def test_file_name_names_the_message_id_only_from_the_headers(tmp_path: Path) -> None:
    """Folded Message-IDs are unfolded; a "Message-ID:" line in the body is not a header."""
    folded = message_bytes(_message()).replace(
        b"Message-ID: <outbox-42@hospital.example>", b"Message-ID:\r\n <outbox-43@hospital.example>"
    )
    body_only = b"From: a@hospital.example\r\n\r\nMessage-ID: <in-the-body@x>\r\n"
    for data in (folded, body_only):
        FileSender(tmp_path).send(data, envelope_from="b@h.example", recipients=[RECIPIENT])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert sorted(name.split("-", 1)[1] for name in names) == [
        "no-id.eml",
        "outbox-43_hospital.example.eml",
    ]


def test_hostile_message_id_cannot_escape_the_directory(tmp_path: Path) -> None:
    data = message_bytes(_message()).replace(
        b"<outbox-42@hospital.example>", b"<../../etc/passwd@x>"
    )
    FileSender(tmp_path / "out").send(data, envelope_from="b@h.example", recipients=[RECIPIENT])
    [written] = list((tmp_path / "out").iterdir())
    assert "/" not in written.name
    assert written.parent == tmp_path / "out"
    assert list(tmp_path.iterdir()) == [tmp_path / "out"]


def test_unwritable_directory_is_transient(tmp_path: Path) -> None:
    # A path below a regular file cannot be created, even by root (chmod would not stop it).
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    sender = FileSender(blocker / "sub")
    with pytest.raises(TransientSendError, match="cannot write") as caught:
        sender.send(_message(), envelope_from="b@hospital.example", recipients=[RECIPIENT])
    assert caught.value.code is None
    assert isinstance(caught.value, SendError)


@pytest.mark.parametrize(
    ("envelope_from", "recipients", "error"),
    [
        ("b@hospital.example\r\nRCPT TO:<x@evil.example>", [RECIPIENT], ValueError),
        ("b@hospital.example", [], ValueError),
        ("b@hospital.example", ["maya@hospital.example\r\nDATA"], ValueError),
        ("b@hospital.example", ["<maya@hospital.example>"], ValueError),
        ("b@hospital.example", RECIPIENT, TypeError),
    ],
)
@pytest.mark.parametrize("make_sender", ["file", "smtp"])
def test_bad_envelope_is_rejected_before_sending(
    tmp_path: Path, envelope_from: str, recipients: object, error: type[Exception], make_sender: str
) -> None:
    sender: EmailSender
    if make_sender == "file":
        sender = FileSender(tmp_path)
    else:
        sender = SmtpSender("127.0.0.1", 9, security="none", timeout=1)  # never contacted
    with pytest.raises(error):
        sender.send(_message(), envelope_from=envelope_from, recipients=recipients)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_message_must_be_a_message_or_bytes(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="EmailMessage or bytes"):
        FileSender(tmp_path).send("text", envelope_from="b@h.example", recipients=[RECIPIENT])  # type: ignore[arg-type]
