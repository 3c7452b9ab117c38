"""Settings: when rounds run, group sizes, matching weights, scheduling, email identity."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.deps import CsrfChecked, SessionDep
from service.models import Organization
from service.participants.schemas import known_timezones, normalize_email
from service.text_rules import check_text

router = APIRouter(prefix="/admin/o/{slug}/settings")

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKS = ("first", "second", "third", "fourth")
WEIGHTS = {
    "weight_interests": "Shared interests",
    "weight_mentoring": "Mentoring (teach / learn matches)",
    "weight_seniority_mix": "Mixing seniors and trainees",
    "weight_cross_department": "Meeting other departments",
}
INTEGERS: dict[str, tuple[int, int, str]] = {
    "round_weekday": (0, 6, "Choose a weekday."),
    "round_week_of_month": (1, 4, "Choose the first to fourth week."),
    "round_hour": (0, 23, "Enter an hour from 0 to 23."),
    "round_minute": (0, 59, "Enter minutes from 0 to 59."),
    "min_group_size": (2, 8, "Enter a size from 2 to 8."),
    "max_group_size": (2, 8, "Enter a size from 2 to 8."),
    "schedule_window_start_day": (1, 28, "Enter a day of the month from 1 to 28."),
    "schedule_window_end_day": (1, 28, "Enter a day of the month from 1 to 28."),
    "meeting_minutes": (15, 90, "Enter a length from 15 to 90 minutes."),
}
TEXTS = ("timezone", "meeting_url_template", "sender_name", "sender_email")
FIELDS = (*TEXTS, *INTEGERS, *WEIGHTS, "allowed_email_domains", "require_approval")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def current_values(org: Organization) -> dict[str, Any]:
    values = {name: getattr(org, name) for name in FIELDS}
    values["allowed_email_domains"] = list(org.allowed_email_domains)
    return values


def _form_values(org: Organization) -> dict[str, str]:
    """The organization's settings as the form shows them (all text)."""
    raw: dict[str, str] = {}
    for name, value in current_values(org).items():
        if name == "allowed_email_domains":
            raw[name] = "\n".join(value)
        elif isinstance(value, float):
            raw[name] = f"{value:g}"
        else:
            raw[name] = str(value)
    raw["require_approval"] = "on" if org.require_approval else ""
    return raw


def _parse_int(text: str, low: int, high: int, message: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValueError(message) from None
    if not low <= number <= high:
        raise ValueError(message)
    return number


def _parse_weight(text: str) -> float:
    message = "Enter a number from 0 to 5 (1 is the default)."
    try:
        number = float(text.strip())
    except ValueError:
        raise ValueError(message) from None
    if not 0 <= number <= 5:  # also rejects nan
        raise ValueError(message)
    return number


def _parse_timezone(text: str) -> str:
    zone = text.strip()
    if zone not in known_timezones():
        raise ValueError("Use a time zone name like America/New_York or Europe/London.")
    return zone


def _parse_url_template(text: str) -> str:
    url = text.strip()
    if not url.startswith("https://") or len(url) <= len("https://"):
        raise ValueError("The link must start with https://.")
    if "{room}" not in url:
        raise ValueError("Include {room} where each group's own room name goes.")
    if len(url) > 300 or re.search(r"\s", url) or check_text(url):
        raise ValueError(
            "Use a single link of at most 300 characters, without spaces or control characters."
        )
    return url


def _parse_sender_name(text: str) -> str:
    name = " ".join(text.split())
    if len(name) > 120:
        raise ValueError("Use at most 120 characters.")
    if check_text(name):
        raise ValueError("Remove the control characters (invisible formatting marks).")
    return name


def _parse_sender_email(text: str) -> str:
    if not text.strip():
        return ""
    try:
        return normalize_email(text)
    except ValueError:
        raise ValueError("Enter a valid email address, or leave it empty.") from None


def _parse_domains(text: str) -> list[str]:
    domains: list[str] = []
    for raw in re.split(r"[\s,;]+", text.strip().lower()):
        domain = raw.removeprefix("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ValueError(f"“{domain[:80]}” is not a domain like hospital.org.")
        if domain not in domains:
            domains.append(domain)
    if len(domains) > 50:
        raise ValueError("List at most 50 domains.")
    return domains


PARSERS: dict[str, Callable[[str], Any]] = {
    "timezone": _parse_timezone,
    "meeting_url_template": _parse_url_template,
    "sender_name": _parse_sender_name,
    "sender_email": _parse_sender_email,
    "allowed_email_domains": _parse_domains,
    **{name: _parse_weight for name in WEIGHTS},
}


def clean_settings(raw: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, {field: error}) from the submitted form."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in FIELDS:
        if name == "require_approval":
            values[name] = raw.get(name, "") in ("on", "true", "1", "yes")
            continue
        text = raw.get(name, "")
        try:
            if name in INTEGERS:
                values[name] = _parse_int(text, *INTEGERS[name])
            else:
                values[name] = PARSERS[name](text)
        except ValueError as exc:
            errors[name] = str(exc)
    smallest, largest = values.get("min_group_size"), values.get("max_group_size")
    if smallest is not None and largest is not None and smallest > largest:
        errors["max_group_size"] = "The largest group cannot be smaller than the smallest."
    start, end = values.get("schedule_window_start_day"), values.get("schedule_window_end_day")
    if start is not None and end is not None and start > end:
        errors["schedule_window_end_day"] = "The window cannot end before it starts."
    return values, errors


def _render(
    request: Request,
    ctx: AdminContext,
    session: Any,
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "admin/settings/form.html",
        {
            "form": form,
            "errors": errors,
            "weekdays": WEEKDAYS,
            "weeks": WEEKS,
            "weights": WEIGHTS,
        },
        section="settings",
        session=session,
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
def show(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    return _render(request, ctx, session, _form_values(ctx.org), {})


@router.post("", dependencies=[CsrfChecked], response_model=None)
async def save(request: Request, ctx: OrgDep, session: SessionDep) -> Response:
    submitted = await request.form()
    raw = {
        name: value[:2000] if isinstance(value, str) else ""
        for name in FIELDS
        for value in [submitted.get(name, "")]
    }
    values, errors = clean_settings(raw)
    if errors:
        return _render(request, ctx, session, raw, errors, status_code=422)
    before, after = audit.changes(current_values(ctx.org), values)
    if not after:
        return flash.redirect(
            request, f"/admin/o/{ctx.org.slug}/settings", "Nothing changed.", "info"
        )
    for name, value in after.items():
        setattr(ctx.org, name, value)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="organization.settings",
        target_type="organization",
        target_id=ctx.org.id,
        before=before,
        after=after,
    )
    return flash.redirect(request, f"/admin/o/{ctx.org.slug}/settings", "Settings saved.")
