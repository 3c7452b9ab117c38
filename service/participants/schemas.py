"""Participant input and output: one set of rules for the form, the API and CSV import."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import available_timezones

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from service.participants.availability import format_availability, parse_availability
from service.text_rules import has_forbidden_characters

Role = Literal["attending", "fellow", "resident", "student", "nurse", "np_pa", "other"]
Mentoring = Literal["offer", "seek", "both", "none"]
Status = Literal["pending", "active", "paused", "left", "deleted"]

ROLE_LABELS: dict[str, str] = {
    "attending": "Attending physician",
    "fellow": "Fellow",
    "resident": "Resident",
    "student": "Student",
    "nurse": "Nurse",
    "np_pa": "Nurse practitioner / physician assistant",
    "other": "Other clinical or allied health role",
}
MENTORING_LABELS: dict[str, str] = {
    "offer": "I'd like to mentor others",
    "seek": "I'd like to find a mentor",
    "both": "Both: mentor and be mentored",
    "none": "Neither, just connect",
}

MAX_LIST_ITEMS = 20
MAX_ITEM_LENGTH = 60


def _has_forbidden_chars(value: str, *, allow_newlines: bool) -> bool:
    return has_forbidden_characters(value, multi_line=allow_newlines)


def _single_line(value: str) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if _has_forbidden_chars(value, allow_newlines=False):
        raise ValueError("must not contain line breaks or control characters")
    return re.sub(r"\s+", " ", value)


def _multi_line(value: str) -> str:
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    if _has_forbidden_chars(value, allow_newlines=True):
        raise ValueError("must not contain control characters")
    return value


def normalize_email(value: str) -> str:
    value = value.strip()
    if _has_forbidden_chars(value, allow_newlines=False):
        raise ValueError("is not a valid email address")
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address ({exc})") from None
    return info.normalized.lower()


def _split_list(value: object) -> object:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[;\n]", value) if part.strip()]
    return value


def _clean_list(values: list[str]) -> list[str]:
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in values:
        item = _single_line(raw)
        if not item:
            continue
        if len(item) > MAX_ITEM_LENGTH:
            raise ValueError(f"'{item[:20]}…' is longer than {MAX_ITEM_LENGTH} characters")
        if item.casefold() not in seen:
            seen.add(item.casefold())
            cleaned.append(item)
    if len(cleaned) > MAX_LIST_ITEMS:
        raise ValueError(f"at most {MAX_LIST_ITEMS} entries, please")
    return cleaned


def _clean_emails(values: list[str]) -> list[str]:
    emails = sorted({normalize_email(v) for v in values if v.strip()})
    if len(emails) > MAX_LIST_ITEMS:
        raise ValueError(f"at most {MAX_LIST_ITEMS} people, please")
    return emails


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone(value: str) -> str:
    value = value.strip()
    if value not in known_timezones():
        raise ValueError(
            f"'{value[:64]}' is not a known time zone; use an IANA name like America/New_York"
        )
    return value


def _availability(value: object) -> list[list[int]]:
    if not isinstance(value, str | list | type(None)):
        raise ValueError("must be windows like 'Mon 12:00-13:00; Thu 07:00-07:30'")
    return [list(w) for w in parse_availability(value)]


def _at_most(max_length: int) -> AfterValidator:
    """Length check after normalization: NFC can lengthen text (U+0958 becomes two code
    points), and the database column would then refuse it."""

    def check(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"is too long (at most {max_length} characters)")
        return value

    return AfterValidator(check)


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("is required")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(normalize_email)]
Name = Annotated[
    str,
    Field(min_length=1, max_length=120),
    AfterValidator(_single_line),
    AfterValidator(_not_blank),
    _at_most(120),
]
ShortText = Annotated[str, Field(max_length=120), AfterValidator(_single_line), _at_most(120)]
Goals = Annotated[str, Field(max_length=1000), AfterValidator(_multi_line)]
TextList = Annotated[
    list[Annotated[str, Field(max_length=200)]],
    BeforeValidator(_split_list),
    AfterValidator(_clean_list),
]
EmailList = Annotated[
    list[Annotated[str, Field(max_length=254)]],
    BeforeValidator(_split_list),
    AfterValidator(_clean_emails),
]
TimeZone = Annotated[str, Field(max_length=64), AfterValidator(_timezone)]
Availability = Annotated[
    list[list[int]],
    BeforeValidator(_availability),
    Field(
        description="Weekly windows [weekday 0=Mon..6=Sun, start minute, end minute] in local "
        "time; also accepts the text form 'Mon 12:00-13:00; Thu 07:00-07:30'.",
        json_schema_extra={"examples": [[[0, 720, 780], [3, 420, 450]]]},
    ),
]


class ProfileIn(BaseModel):
    """Everything a participant can edit about themselves."""

    model_config = ConfigDict(extra="forbid", str_max_length=4000)

    full_name: Name
    role: Role
    specialty: ShortText = ""
    department: ShortText = ""
    site: ShortText = ""
    interests: TextList = []
    goals: Goals = ""
    mentoring: Mentoring = "none"
    can_teach: TextList = []
    wants_to_learn: TextList = []
    timezone: TimeZone
    availability: Availability = []
    avoid: EmailList = []
    # Omitted (None): keep the current choice; a new profile starts with both on.
    include_in_exports: bool | None = Field(
        default=None,
        description="Include me in the organization's participation exports. "
        "Omit to keep the current choice (new profiles: true).",
    )
    accepts_introductions: bool | None = Field(
        default=None,
        description="Colleagues may ask to be introduced to me. "
        "Omit to keep the current choice (new profiles: true).",
    )


class ParticipantIn(ProfileIn):
    """A new participant: a profile plus the email that identifies them."""

    email: Email


class ParticipantUpdate(BaseModel):
    """Partial update from the API: only the fields given change."""

    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    role: Role | None = None
    specialty: ShortText | None = None
    department: ShortText | None = None
    site: ShortText | None = None
    interests: TextList | None = None
    goals: Goals | None = None
    mentoring: Mentoring | None = None
    can_teach: TextList | None = None
    wants_to_learn: TextList | None = None
    timezone: TimeZone | None = None
    availability: Availability | None = None
    avoid: EmailList | None = None
    include_in_exports: bool | None = None
    accepts_introductions: bool | None = None
    status: Literal["active", "paused", "left"] | None = None
    paused_until: date | None = None


class ParticipantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str
    role: str
    specialty: str
    department: str
    site: str
    interests: list[str]
    goals: str
    mentoring: str
    can_teach: list[str]
    wants_to_learn: list[str]
    timezone: str
    availability: list[list[int]]
    availability_text: str
    avoid: list[str]
    include_in_exports: bool
    accepts_introductions: bool
    status: Status
    paused_until: date | None
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def from_participant(cls, participant: object) -> ParticipantOut:
        from service.models import Participant

        assert isinstance(participant, Participant)
        return cls(
            id=participant.id,
            email=participant.email,
            full_name=participant.full_name,
            role=participant.role,
            specialty=participant.specialty,
            department=participant.department,
            site=participant.site,
            interests=participant.interests,
            goals=participant.goals,
            mentoring=participant.mentoring,
            can_teach=participant.can_teach,
            wants_to_learn=participant.wants_to_learn,
            timezone=participant.timezone,
            availability=participant.availability,
            availability_text=format_availability(participant.availability),
            avoid=participant.avoid_emails,
            # None only before the first flush; the column defaults are true.
            include_in_exports=participant.include_in_exports is not False,
            accepts_introductions=participant.accepts_introductions is not False,
            status=participant.status,  # type: ignore[arg-type]
            paused_until=participant.paused_until,
            created_at=participant.created_at,
            confirmed_at=participant.confirmed_at,
        )


def field_errors(exc: object) -> dict[str, str]:
    """Turn a pydantic ValidationError into {field: message} for forms and reports."""
    from pydantic import ValidationError

    assert isinstance(exc, ValidationError)
    errors: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not isinstance(part, int)]
        field = loc[0] if loc else "form"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "literal_error":
            message = "choose one of the listed options"
        elif error["type"] == "extra_forbidden":
            message = "is not a field we know"
        elif error["type"] == "string_too_long":
            message = f"is too long (at most {error['ctx']['max_length']} characters)"
        errors.setdefault(field, message)
    return errors
