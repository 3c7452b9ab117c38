"""Deliver built messages: to .eml files (development) or over SMTP (production).

Errors are classified for an outbox with retries:

* ``TransientSendError``: try again later (4xx replies, timeouts, refused or dropped
  connections, TLS/authentication set-up failures). Nothing about the message is wrong.
* ``SmtpSecurityError`` (a ``TransientSendError``): the server offered no STARTTLS or its
  certificate did not verify. Retrying is safe (nothing was sent), but it usually needs an
  operator, so callers may want to alert on it specifically.
* ``PermanentSendError``: the server refused this message with a 5xx reply; do not retry.

Senders are context managers; ``SmtpSender`` keeps one connection open across sends
until ``close()``/``__exit__``. Senders are not thread-safe: use one per worker.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, Self

from notifications.message import message_bytes

__all__ = [
    "EmailSender",
    "FileSender",
    "PermanentSendError",
    "SendError",
    "SmtpSecurityError",
    "SmtpSender",
    "TransientSendError",
]

_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f<>]")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class SendError(Exception):
    """A message could not be handed over; ``code`` is the SMTP reply code, if any."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TransientSendError(SendError):
    """Temporary failure: retry later with backoff."""


class SmtpSecurityError(TransientSendError):
    """TLS could not be established safely (no STARTTLS offered, certificate rejected)."""


class PermanentSendError(SendError):
    """The server rejected the message for good (5xx): do not retry as is.

    ``refused`` maps each refused recipient to its ``(code, reply)``; when some recipients
    were accepted the message has already been delivered to them.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        refused: Mapping[str, tuple[int, bytes]] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.refused = dict(refused or {})


class EmailSender(Protocol):
    """What the service needs from any sender."""

    def send(
        self, message: EmailMessage | bytes, *, envelope_from: str, recipients: Sequence[str]
    ) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def _payload(message: EmailMessage | bytes) -> bytes:
    if isinstance(message, EmailMessage):
        return message_bytes(message)
    if isinstance(message, bytes):
        return message
    raise TypeError(f"message must be an EmailMessage or bytes, got {type(message).__name__}")


# The Message-ID header line (with any folded continuation lines) in the header block.
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def _message_id(data: bytes) -> str:
    """The Message-ID of a serialized message, unfolded; "" when it has none.

    A search of the header block, not a parse of the message: the file name needs only this
    one header, and the email package's parser cost more than the rest of the write.
    """
    end = data.find(b"\r\n\r\n")
    headers = data if end < 0 else data[:end]
    if end < 0 and (bare := data.find(b"\n\n")) >= 0:
        headers = data[:bare]
    found = _MESSAGE_ID.search(headers)
    if found is None:
        return ""
    return re.sub(rb"\r?\n[ \t]", b" ", found.group(1)).strip().decode("ascii", "replace")


def _check_envelope(envelope_from: str, recipients: Sequence[str]) -> list[str]:
    # Envelope addresses go straight into SMTP commands, so anything that could end a
    # command line or break the <...> syntax is refused here, before any connection.
    if not isinstance(envelope_from, str) or _CONTROL.search(envelope_from):
        raise ValueError(f"envelope_from must be a bare address: {envelope_from!r}")
    if isinstance(recipients, str):
        raise TypeError("recipients must be a sequence of addresses, not a single str")
    checked = list(recipients)
    if not checked:
        raise ValueError("recipients must not be empty")
    for index, recipient in enumerate(checked):
        if not isinstance(recipient, str) or "@" not in recipient or _CONTROL.search(recipient):
            raise ValueError(f"recipients[{index}] is not a bare address: {recipient!r}")
    return checked


class _SenderBase:
    def close(self) -> None:
        """Release any connection; the sender can still be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class FileSender(_SenderBase):
    """Write each message to ``directory`` as ``<UTC timestamp>-<message id>.eml``.

    Files appear atomically (temporary file + ``os.replace``), so a reader or a crash never
    sees half a message. The envelope is not stored; the To header shows the recipient.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def send(
        self, message: EmailMessage | bytes, *, envelope_from: str, recipients: Sequence[str]
    ) -> None:
        data = _payload(message)
        _check_envelope(envelope_from, recipients)
        message_id = _message_id(data) or "no-id"
        safe_id = _UNSAFE_FILENAME.sub("_", str(message_id).strip("<> \t"))[:120] or "no-id"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.directory / f"{stamp}-{safe_id}.eml"
        temporary: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, target)
            temporary = None
        except OSError as exc:
            raise TransientSendError(f"cannot write {target}: {exc}") from exc
        finally:
            if temporary is not None:
                _remove_quietly(temporary)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


SmtpSecurity = Literal["starttls", "tls", "none"]


class SmtpSender(_SenderBase):
    """Send over one reused SMTP connection, verifying the server certificate.

    ``security``: ``"starttls"`` (port 587, STARTTLS required), ``"tls"`` (port 465,
    implicit TLS) or ``"none"`` (plain text, for local development servers only).
    Credentials are only sent after TLS is up, except with ``"none"``.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        security: SmtpSecurity = "starttls",
        timeout: float = 30,
        ca_file: str | os.PathLike[str] | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if security not in ("starttls", "tls", "none"):
            raise ValueError(f"security must be 'starttls', 'tls' or 'none', got {security!r}")
        if (username is None) != (password is None):
            raise ValueError("username and password must be given together")
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"port must be an int between 1 and 65535, got {port!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self.security: SmtpSecurity = security
        self.timeout = timeout
        self.ca_file = os.fspath(ca_file) if ca_file is not None else None
        self.local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None

    def __repr__(self) -> str:
        # Never show the password.
        return (
            f"SmtpSender(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r})"
        )

    def _tls_context(self) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SmtpSecurityError(f"cannot load ca_file {self.ca_file!r}: {exc}") from exc

    def _open(self) -> smtplib.SMTP:
        context = self._tls_context() if self.security != "none" else None
        connection: smtplib.SMTP
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=context,
            )
        else:
            connection = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            connection.ehlo()
            if self.security == "starttls":
                if not connection.has_extn("starttls"):
                    raise SmtpSecurityError(
                        f"{self.host}:{self.port} does not offer STARTTLS; refusing to send "
                        "in plain text (set security='tls' for port 465)"
                    )
                connection.starttls(context=context)
                connection.ehlo()
            if self.username is not None and self._password is not None:
                connection.login(self.username, self._password)
        except BaseException:
            connection.close()
            raise
        return connection

    def _connect(self) -> smtplib.SMTP:
        try:
            return self._open()
        except SendError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            # Bad credentials are an operator problem, not this message's: keep it queued.
            raise TransientSendError(
                f"SMTP authentication failed: {exc.smtp_code} {_reply(exc.smtp_error)}",
                code=exc.smtp_code,
            ) from exc
        except Exception as exc:
            raise _classify(exc, stage="connect") from exc

    def send(
        self, message: EmailMessage | bytes, *, envelope_from: str, recipients: Sequence[str]
    ) -> None:
        data = _payload(message)
        to = _check_envelope(envelope_from, recipients)
        reused = self._connection is not None and self._connection.sock is not None
        if not reused:
            self.close()
            self._connection = self._connect()
        try:
            self._transact(data, envelope_from, to)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            self._discard()
            if not reused:
                raise _classify(exc, stage="send") from exc
            # The server closed an idle connection: reconnect once and try again.
            self._connection = self._connect()
            try:
                self._transact(data, envelope_from, to)
            except SendError:
                raise
            except Exception as retry_exc:
                raise self._failure(retry_exc) from retry_exc
        except SendError:
            raise
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> SendError:
        if not isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
            # After a timeout or socket error the session state is unknown: start afresh.
            self._discard()
        return _classify(exc, stage="send")

    def _transact(self, data: bytes, envelope_from: str, recipients: list[str]) -> None:
        assert self._connection is not None
        refused = self._connection.sendmail(envelope_from, recipients, data)
        if refused:
            accepted = len(recipients) - len(refused)
            raise PermanentSendError(
                f"accepted for {accepted} recipient(s) but refused for "
                + ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items()),
                code=next(iter(refused.values()))[0],
                refused=refused,
            )

    def _discard(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            finally:
                self._connection = None

    def close(self) -> None:
        """Say QUIT and close the connection (a new one opens on the next send)."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if connection.sock is not None:
                connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            connection.close()


def _reply(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _by_code(
    code: int, text: str, refused: Mapping[str, tuple[int, bytes]] | None = None
) -> SendError:
    if 400 <= code < 500:
        return TransientSendError(text, code=code)
    return PermanentSendError(text, code=code, refused=refused)


def _classify(exc: BaseException, *, stage: str) -> SendError:
    if isinstance(exc, SendError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        # Retry only if every refusal was temporary (e.g. 450 greylisting).
        code = max(codes) if codes else 550
        details = "; ".join(
            f"{rcpt}: {rcode} {_reply(reply)}" for rcpt, (rcode, reply) in exc.recipients.items()
        )
        return _by_code(code, f"all recipients refused: {details}", exc.recipients)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, f"SMTP {exc.smtp_code} {_reply(exc.smtp_error)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SmtpSecurityError(f"TLS certificate rejected: {exc.verify_message or exc}")
    if isinstance(exc, ssl.SSLError):
        return SmtpSecurityError(f"TLS failed: {exc}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransientSendError(f"SMTP server disconnected during {stage}: {exc}")
    if isinstance(exc, socket.timeout | TimeoutError):
        return TransientSendError(f"SMTP timed out during {stage}")
    if isinstance(exc, OSError | smtplib.SMTPException):
        return TransientSendError(f"SMTP {stage} failed: {exc}")
    return TransientSendError(f"SMTP {stage} failed: {exc!r}")
