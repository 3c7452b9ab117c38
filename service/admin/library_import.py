"""Importing resources from CSV: check the whole file first, write on confirmation.

The two steps, and how the file travels between them, are `csv_upload`'s; the confirm step
writes nothing unless every row is valid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service import audit
from service.admin import flash
from service.admin.csv_upload import MAX_TOKEN_BYTES, UPLOAD_LIMIT_BYTES, CsvImport, UploadRejected
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.deps import CsrfChecked, SessionDep
from service.library import csv_io
from service.participants.csv_io import MAX_FILE_BYTES

router = APIRouter(prefix="/admin/o/{slug}/library")

UPLOAD = CsvImport(section="library", salt="coffeerounds.admin.library-import")


def _reader(session: Session, ctx: AdminContext) -> Callable[[bytes], csv_io.Validation]:
    return lambda data: csv_io.read_resources_csv(session, ctx.org, data)


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
    try:
        checked = UPLOAD.check(file, _reader(session, ctx))
    except UploadRejected as exc:
        return _form_page(request, ctx, session, error=str(exc), status_code=422)
    preview = csv_io.import_resources(session, ctx.org, checked.validation.rows, dry_run=True)
    return UPLOAD.report_page(request, ctx, session, checked, preview)


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
    try:
        upload = UPLOAD.reopen(request, ctx, token, _reader(session, ctx))
    except UploadRejected as exc:
        return UPLOAD.back_to_form(request, ctx, str(exc))
    validation = upload.validation
    if validation.errors:
        return UPLOAD.back_to_form(
            request,
            ctx,
            f"{len(validation.invalid_lines)} invalid row(s): nothing was imported. "
            "Fix the file and upload it again.",
        )
    result = csv_io.import_resources(session, ctx.org, validation.rows, actor=ctx.actor)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="resource.import",
        target_type="resources",
        after={
            "file": upload.name,
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
