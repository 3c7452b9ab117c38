"""The two-step CSV import of the admin pages: check the uploaded file, write on confirmation.

The file is not stored on the server between the two steps: the report page carries it in a
hidden field, signed (and zlib-compressed) with the app secret, bound to the organization and
valid for two hours. The confirm step reads it back and validates it again, because the data
may have changed in between. What a file means and what an import writes stay with each
importer (`library_import`, `participant_import`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from service.admin import flash
from service.admin.deps import AdminContext
from service.admin.pages import page
from service.participants.csv_io import MAX_FILE_BYTES, CsvFileError, RowError

TOKEN_MAX_AGE_SECONDS = 2 * 3600
# The signed, compressed, base64 copy of a file at the size limit still fits in this.
MAX_TOKEN_BYTES = MAX_FILE_BYTES * 2
UPLOAD_LIMIT_BYTES = MAX_FILE_BYTES + 256 * 1024  # plus multipart overhead


class RowValidation(Protocol):
    """What an importer's reader says about a whole file."""

    @property
    def rows(self) -> Sequence[Any]: ...

    @property
    def errors(self) -> Sequence[RowError]: ...

    @property
    def invalid_lines(self) -> list[int]: ...


V = TypeVar("V", bound=RowValidation)


class UploadRejected(Exception):
    """The file cannot be checked or imported; the message tells the admin why."""


@dataclass(frozen=True)
class CheckedFile(Generic[V]):
    name: str
    data: bytes
    validation: V


@dataclass(frozen=True)
class CsvImport:
    """One importer's pages: `section` names the admin section (URLs and templates), `salt`
    keeps its tokens from being accepted by another importer."""

    section: str
    salt: str

    def url(self, ctx: AdminContext) -> str:
        return f"/admin/o/{ctx.org.slug}/{self.section}/import"

    def _serializer(self, request: Request) -> URLSafeTimedSerializer:
        secret = request.app.state.settings.secret_key.get_secret_value()
        return URLSafeTimedSerializer(secret, salt=self.salt)

    def check(self, file: UploadFile | None, read: Callable[[bytes], V]) -> CheckedFile[V]:
        """The uploaded file, read and validated row by row; UploadRejected when unusable."""
        if file is None or not file.filename:
            raise UploadRejected("Choose a CSV file to upload.")
        data = file.file.read(MAX_FILE_BYTES + 1)  # one byte more: the size check fires
        try:
            validation = read(data)
        except CsvFileError as exc:
            raise UploadRejected(f"{file.filename}: {exc}") from None
        return CheckedFile(file.filename, data, validation)

    def report_page(
        self,
        request: Request,
        ctx: AdminContext,
        session: Session,
        checked: CheckedFile[Any],
        preview: Any,
        **extra: Any,
    ) -> HTMLResponse:
        """What an import would do, with the signed file for the confirm step."""
        token = self._serializer(request).dumps(
            {"org": ctx.org.id, "name": checked.name[:200], "csv": checked.data.decode("utf-8-sig")}
        )
        validation = checked.validation
        return page(
            request,
            ctx,
            f"admin/{self.section}/import_report.html",
            {
                "filename": checked.name,
                "valid_count": len(validation.rows),
                "invalid_count": len(validation.invalid_lines),
                "errors": validation.errors,
                "preview": preview,
                "token": token,
                **extra,
            },
            section=self.section,
            session=session,
        )

    def reopen(
        self, request: Request, ctx: AdminContext, token: str, read: Callable[[bytes], V]
    ) -> CheckedFile[V]:
        """The file the report page carried, validated again; UploadRejected when it is not
        this organization's, has expired or was tampered with."""
        try:
            payload = self._serializer(request).loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
        except (SignatureExpired, BadSignature):
            payload = None
        if (
            not isinstance(payload, dict)
            or payload.get("org") != ctx.org.id
            or not isinstance(payload.get("csv"), str)
            or not isinstance(payload.get("name"), str)
        ):
            raise UploadRejected("This import expired or was changed. Upload the file again.")
        data = payload["csv"].encode()
        try:
            validation = read(data)
        except CsvFileError as exc:  # cannot happen for a file that passed: be safe anyway
            raise UploadRejected(str(exc)) from None
        return CheckedFile(payload["name"], data, validation)

    def back_to_form(self, request: Request, ctx: AdminContext, message: str) -> Response:
        """To the upload form, with the reason nothing was imported."""
        return flash.redirect(request, self.url(ctx), message, "error")
