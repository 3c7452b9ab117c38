"""CSV import (check first, write on confirmation) and CSV export of participants.

The two import steps, and how the file travels between them, are `csv_upload`'s; the confirm
step can skip invalid rows and ask new people to confirm by email.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from service import audit
from service.admin import flash
from service.admin.csv_upload import MAX_TOKEN_BYTES, UPLOAD_LIMIT_BYTES, CsvImport, UploadRejected
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.participant_table import ParticipantFilters, filtered
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.models import Participant
from service.participants import csv_io, flows

router = APIRouter(prefix="/admin/o/{slug}/participants")

UPLOAD = CsvImport(section="participants", salt="coffeerounds.admin.participant-import")


def _reader(ctx: AdminContext) -> Callable[[bytes], csv_io.Validation]:
    return lambda data: csv_io.read_participants_csv(data, organization=ctx.org)


def _form_page(
    request: Request,
    ctx: AdminContext,
    session: SessionDep,
    *,
    error: str = "",
    require_confirmation: bool = False,
    skip_invalid: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "admin/participants/import.html",
        {
            "error": error,
            "require_confirmation": require_confirmation,
            "skip_invalid": skip_invalid,
            "columns": csv_io.COLUMNS,
            "max_mb": csv_io.MAX_FILE_BYTES // (1024 * 1024),
        },
        section="participants",
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
    require_confirmation: Annotated[str, Form(max_length=8)] = "",
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    """Validate the file and show what an import would do; nothing is written."""
    options = {
        "require_confirmation": bool(require_confirmation),
        "skip_invalid": bool(skip_invalid),
    }
    try:
        checked = UPLOAD.check(file, _reader(ctx))
    except UploadRejected as exc:
        return _form_page(request, ctx, session, error=str(exc), status_code=422, **options)
    preview = csv_io.import_participants(session, ctx.org, checked.validation.rows, dry_run=True)
    return UPLOAD.report_page(request, ctx, session, checked, preview, **options)


@router.post(
    "/import/confirm",
    dependencies=[CsrfChecked],
    form_limits={"max_part_size": MAX_TOKEN_BYTES},
)
def import_confirm(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    background: BackgroundTasks,
    token: Annotated[str, Form(max_length=MAX_TOKEN_BYTES)] = "",
    require_confirmation: Annotated[str, Form(max_length=8)] = "",
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    try:
        upload = UPLOAD.reopen(request, ctx, token, _reader(ctx))
    except UploadRejected as exc:
        return UPLOAD.back_to_form(request, ctx, str(exc))
    validation = upload.validation
    skipped = len(validation.invalid_lines)
    if skipped and not skip_invalid:
        return UPLOAD.back_to_form(
            request,
            ctx,
            f"{skipped} invalid row(s): nothing was imported. Fix the file, or tick "
            "'skip invalid rows' to import only the valid ones.",
        )
    wants_confirmation = bool(require_confirmation)
    result = csv_io.import_participants(
        session, ctx.org, validation.rows, active=not wants_confirmation
    )
    keys: list[str] = []
    if wants_confirmation:
        keys = [
            flows.send_confirmation(session, settings, links, ctx.org, participant)
            for participant in result.new_participants
        ]
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="participant.import",
        target_type="participants",
        target_id="",
        after={
            "file": upload.name,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "skipped_invalid": skipped,
            "require_confirmation": wants_confirmation,
        },
    )
    # The session is committed before the response goes out; the emails follow after.
    background.add_task(flows.deliver_now, request.app.state, keys)
    message = f"Imported: {result.created} created, {result.updated} updated"
    if result.unchanged:
        message += f", {result.unchanged} unchanged"
    if skipped:
        message += f", {skipped} invalid row(s) skipped"
    if keys:
        message += f"; {len(keys)} confirmation email(s) on their way"
    return flash.redirect(request, f"/admin/o/{ctx.org.slug}/participants", message + ".")


@router.get("/export.csv")
def export_csv(
    ctx: OrgDep,
    session: SessionDep,
    q: str = "",
    role: str = "",
    department: str = "",
    site: str = "",
    status: str = "",
    _page: Annotated[str, Query(alias="page")] = "",
) -> Response:
    """The table's rows (same filters) in the CLI's import/export format."""
    filters = ParticipantFilters.from_query(
        q=q, role=role, department=department, site=site, status=status
    )
    participants = csv_io.exported_participants(
        session, filtered(ctx.org, filters).order_by(Participant.email)
    )
    buffer = io.StringIO()
    count = csv_io.write_participants_csv(participants, buffer)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="participant.export",
        target_type="participants",
        after={"rows": count, **{k: v for k, v in vars(filters).items() if v}},
    )
    today = datetime.now(ZoneInfo(ctx.org.timezone)).date().isoformat()
    filename = f"participants-{ctx.org.slug}-{today}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
