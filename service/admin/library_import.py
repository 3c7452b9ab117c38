"""Importing resources from CSV: check the whole file first, write on confirmation.

As with the participant import, the file is not stored between the two steps: the report
page carries it in a hidden field, signed with the app secret, bound to the organization and
valid for two hours. The confirm step checks it again (the library may have changed) and
writes nothing unless every row is valid.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.deps import CsrfChecked, SessionDep
from service.library import csv_io
from service.participants.csv_io import MAX_FILE_BYTES

router = APIRouter(prefix="/admin/o/{slug}/library")

TOKEN_MAX_AGE_SECONDS = 2 * 3600
MAX_TOKEN_BYTES = MAX_FILE_BYTES * 2
UPLOAD_LIMIT_BYTES = MAX_FILE_BYTES + 256 * 1024


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="coffeerounds.admin.library-import")


def _import_url(ctx: AdminContext) -> str:
    return f"/admin/o/{ctx.org.slug}/library/import"


def _form_page(
    request: Request, ctx: AdminContext, session: SessionDep, *, error: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "admin/library/import.html",
        {
            "error": error,
            "columns": csv_io.COLUMNS,
            "max_mb": MAX_FILE_BYTES // (1024 * 1024),
        },
        section="library",
        session=session,
        status_code=status_code,
    )


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    return _form_page(request, ctx, session)


@router.post(
    "/import",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
    max_body_size=UPLOAD_LIMIT_BYTES,
)
def import_check(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Check the file and show what an import would do; nothing is written."""
    if file is None or not file.filename:
        return _form_page(request, ctx, session, error="Choose a CSV file to upload.",
                          status_code=422)
    data = file.file.read(MAX_FILE_BYTES + 1)  # one byte more: the size check fires
    try:
        validation = csv_io.read_resources_csv(session, ctx.org, data)
    except csv_io.CsvFileError as exc:
        return _form_page(request, ctx, session, error=f"{file.filename}: {exc}",
                          status_code=422)
    preview = csv_io.import_resources(session, ctx.org, validation.rows, dry_run=True)
    token = _serializer(request).dumps(
        {"org": ctx.org.id, "name": file.filename[:200], "csv": data.decode("utf-8-sig")}
    )
    return page(
        request,
        ctx,
        "admin/library/import_report.html",
        {
            "filename": file.filename,
            "valid_count": len(validation.rows),
            "invalid_count": len(validation.invalid_lines),
            "errors": validation.errors,
            "preview": preview,
            "token": token,
        },
        section="library",
        session=session,
    )


def _read_token(request: Request, ctx: AdminContext, token: str) -> dict[str, Any] | None:
    try:
        payload = _serializer(request).loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or payload.get("org") != ctx.org.id:
        return None
    if not isinstance(payload.get("csv"), str) or not isinstance(payload.get("name"), str):
        return None
    return payload


@router.post(
    "/import/confirm",
    dependencies=[CsrfChecked],
    form_limits={"max_part_size": MAX_TOKEN_BYTES},
)
def import_confirm(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    token: Annotated[str, Form(max_length=MAX_TOKEN_BYTES)] = "",
) -> Response:
    payload = _read_token(request, ctx, token)
    if payload is None:
        return flash.redirect(
            request, _import_url(ctx), "This import expired or was changed. Upload the file "
            "again.", "error"
        )
    try:
        validation = csv_io.read_resources_csv(session, ctx.org, payload["csv"].encode())
    except csv_io.CsvFileError as exc:
        return flash.redirect(request, _import_url(ctx), str(exc), "error")
    if validation.errors:
        return flash.redirect(
            request,
            _import_url(ctx),
            f"{len(validation.invalid_lines)} invalid row(s): nothing was imported. "
            "Fix the file and upload it again.",
            "error",
        )
    result = csv_io.import_resources(session, ctx.org, validation.rows, actor=ctx.actor)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="resource.import",
        target_type="resources",
        after={
            "file": payload["name"],
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "hidden": result.hidden,
        },
    )
    message = (
        f"Imported: {result.created} added, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    if result.hidden:
        message += f", {result.hidden} hidden"
    return flash.redirect(request, f"/admin/o/{ctx.org.slug}/library", message + ".")
