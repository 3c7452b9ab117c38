"""Request and response models used only by the JSON API (participant fields live elsewhere)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from service.participants.schemas import Email, ParticipantIn, ParticipantOut

# Matches what `coffeerounds create-org` accepts, so every organization is reachable.
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
# Signed links are URL-safe base64 plus dots; anything else cannot be one of ours.
TOKEN_PATTERN = r"^[A-Za-z0-9_.\-]+$"
MAX_TOKEN_LENGTH = 1000
# Participant ids are 32-bit integers in the database; larger numbers cannot exist.
MAX_ID = 2**31 - 1

OrganizationSlug = Annotated[
    str,
    Path(
        min_length=2,
        max_length=63,
        pattern=SLUG_PATTERN,
        description="The organization's short name, as in its signup page /o/{slug}/join.",
        examples=["stmarys"],
    ),
]
ParticipantId = Annotated[
    int, Path(gt=0, le=MAX_ID, description="The participant's id, as returned by the API.")
]


def reject_control_characters(value: str | None) -> str | None:
    """Refuse NUL, CR/LF and other control characters (PostgreSQL refuses NUL outright)."""
    if value is not None and any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError("must not contain control characters")
    return value


class ErrorOut(BaseModel):
    """Every error the service raises itself; `fields` maps a field to what is wrong with it."""

    detail: str = Field(description="A sentence to show or log.")
    code: str = Field(
        default="error",
        description="Stable machine-readable reason, e.g. not_found, conflict, link_expired.",
    )
    fields: dict[str, str] | None = Field(
        default=None, description="Per-field messages, when the problem is in the input."
    )


class FieldProblem(BaseModel):
    """One failed check on the request (FastAPI's standard validation format)."""

    loc: list[str | int] = Field(
        description="Where the problem is, e.g. ['body', 'timezone'] or ['query', 'per_page']."
    )
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class RequestValidationOut(BaseModel):
    """The request did not match the documented schema."""

    detail: list[FieldProblem]


def _problems(status: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "The body could not be read as JSON, or a link token is not valid (copied "
        "incompletely, or superseded by a newer link).",
        401: "Missing or unknown credentials.",
        404: "No such organization or participant (or not one this token may see).",
        409: "A participant with this email address already exists in the organization.",
        410: "The link token has expired; ask for a new one.",
        413: "The request body is larger than 256 KiB.",
        422: "Invalid input: `detail` lists each problem with its location (`loc`), or "
        "`fields` maps each field to a message.",
        429: "Too many requests from this client; try again after `Retry-After` seconds.",
    }
    if status == 429:
        retry_after = {
            "description": "Seconds to wait before trying again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
        return {
            status: {
                "model": ErrorOut,
                "description": descriptions[status],
                "headers": {"Retry-After": retry_after},
            }
        }
    if status == 413:  # answered by Starlette's body limit, before any handler runs
        plain = {"text/plain": {"schema": {"type": "string"}}}
        return {status: {"description": descriptions[status], "content": plain}}
    model: Any = RequestValidationOut | ErrorOut if status == 422 else ErrorOut
    return {status: {"model": model, "description": descriptions[status]}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry for a route: its error statuses, always 400, 413 and 422."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 400, 413, 422}):
        declared.update(_problems(status))
    return declared


class AcceptedOut(BaseModel):
    """The request was accepted; any email goes out shortly."""

    status: Literal["pending_confirmation", "sent_if_registered"]
    detail: str


class ManageLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email = Field(description="The address the participant signed up with.")


Token = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TOKEN_LENGTH, pattern=TOKEN_PATTERN),
]


class ConfirmationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Token = Field(
        description="The token at the end of the confirmation link (…/confirm/{token})."
    )


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    months: Literal[1, 2, 3] = Field(description="How many months to skip: 1, 2 or 3.")


class ParticipantCreate(ParticipantIn):
    """A participant created by the hospital's HR system."""

    require_confirmation: bool = Field(
        default=False,
        description="If true, the participant stays pending and is emailed a confirmation "
        "link (double opt-in); otherwise they are active at once.",
    )


class ParticipantPage(BaseModel):
    items: list[ParticipantOut]
    total: int = Field(description="How many participants match the filters, on all pages.")
    page: int
    per_page: int


FilterText = Annotated[str, AfterValidator(reject_control_characters)]
