"""CSV import (check first, write on confirmation) and CSV export of participants.

The uploaded file is not stored on the server between the two steps: the report page carries
it in a hidden field, signed (and zlib-compressed) with the app secret, bound to the
organization and valid for a limited time. The confirm step validates it again, because
the participants may have changed in between.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import selectinload

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.participants import ParticipantFilters, filtered
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.models import Participant
from service.participants import csv_io, flows

router = APIRouter(prefix="/admin/o/{slug}/participants")

TOKEN_MAX_AGE_SECONDS = 2 * 3600
# The signed, compressed, base64 copy of a file at the size limit still fits in this.
MAX_TOKEN_BYTES = csv_io.MAX_FILE_BYTES * 2
UPLOAD_LIMIT_BYTES = csv_io.MAX_FILE_BYTES + 256 * 1024  # plus multipart overhead


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="coffeerounds.admin.participant-import")


def _import_url(ctx: AdminContext) -> str:
    return f"/admin/o/{ctx.org.slug}/participants/import"


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
    if file is None or not file.filename:
        return _form_page(
            request, ctx, session, error="Choose a CSV file to upload.", status_code=422, **options
        )
    data = file.file.read(csv_io.MAX_FILE_BYTES + 1)  # one byte more: the size check fires
    try:
        validation = csv_io.read_participants_csv(data, organization=ctx.org)
    except csv_io.CsvFileError as exc:
        return _form_page(
            request, ctx, session, error=f"{file.filename}: {exc}", status_code=422, **options
        )
    preview = csv_io.import_participants(session, ctx.org, validation.rows, dry_run=True)
    token = _serializer(request).dumps(
        {"org": ctx.org.id, "name": file.filename[:200], "csv": data.decode("utf-8-sig")}
    )
    return page(
        request,
        ctx,
        "admin/participants/import_report.html",
        {
            "filename": file.filename,
            "valid_count": len(validation.rows),
            "invalid_count": len(validation.invalid_lines),
            "errors": validation.errors,
            "preview": preview,
            "token": token,
            **options,
        },
        section="participants",
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
    settings: SettingsDep,
    links: LinksDep,
    background: BackgroundTasks,
    token: Annotated[str, Form(max_length=MAX_TOKEN_BYTES)] = "",
    require_confirmation: Annotated[str, Form(max_length=8)] = "",
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    payload = _read_token(request, ctx, token)
    if payload is None:
        return flash.redirect(
            request,
            _import_url(ctx),
            "This import expired or was changed. Upload the file again.",
            "error",
        )
    try:
        validation = csv_io.read_participants_csv(payload["csv"].encode(), organization=ctx.org)
    except csv_io.CsvFileError as exc:  # cannot happen for a file that passed: be safe anyway
        return flash.redirect(request, _import_url(ctx), str(exc), "error")
    skipped = len(validation.invalid_lines)
    if skipped and not skip_invalid:
        return flash.redirect(
            request,
            _import_url(ctx),
            f"{skipped} invalid row(s): nothing was imported. Fix the file, or tick "
            "'skip invalid rows' to import only the valid ones.",
            "error",
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
            "file": payload["name"],
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
    participants = session.scalars(
        filtered(ctx.org, filters)
        .options(selectinload(Participant.avoid_entries))
        .order_by(Participant.email)
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
