"""The profile form shared by the join and manage pages: choices, parsing and re-display.

Form values travel as plain strings and lists (exactly what the browser sent), so a page that
failed validation can be shown again with everything the person typed still in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.models import Organization, Participant
from service.participants.availability import WEEKDAYS, format_window
from service.participants.schemas import (
    MENTORING_LABELS,
    ROLE_LABELS,
    ParticipantIn,
    ProfileIn,
    field_errors,
    known_timezones,
)

COMMON_INTERESTS = (
    "Clinical teaching",
    "Research",
    "Quality improvement",
    "Patient safety",
    "Medical education",
    "Global health",
    "Health equity",
    "Wellbeing and burnout",
    "Leadership",
    "Digital health and AI",
    "Career development",
    "Work-life balance",
    "Parenting",
    "Running and fitness",
    "Music and arts",
    "Books",
)

# Typical breaks in a clinical day: before rounds, lunch, after a shift, evening.
TIME_BLOCKS = ((7 * 60, 8 * 60), (12 * 60, 13 * 60), (17 * 60, 18 * 60), (20 * 60, 21 * 60))
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

COMMON_TIMEZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Vancouver",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)

FIELD_LABELS = {
    "full_name": "Full name",
    "email": "Work email",
    "role": "Role",
    "specialty": "Specialty",
    "department": "Department",
    "site": "Site",
    "interests": "Interests",
    "goals": "Goals",
    "mentoring": "Mentoring",
    "can_teach": "Topics you can teach",
    "wants_to_learn": "Topics you want to learn",
    "timezone": "Time zone",
    "availability": "Times you can meet",
    "avoid": "People you'd rather not be grouped with",
    "months": "Pause length",
    "include_in_exports": "Participation exports",
    "accepts_introductions": "Introductions",
    "confirm_delete": "Confirmation",
    "form": "Form",
}

# Where the error summary sends keyboard focus for each field.
FIELD_ANCHORS = {
    "interests": "interests_other",
    "availability": "availability_other",
    "mentoring": "mentoring-none",
    "months": "months-1",
}

TEXT_FIELDS = (
    "full_name",
    "email",
    "role",
    "specialty",
    "department",
    "site",
    "interests_other",
    "goals",
    "mentoring",
    "can_teach",
    "wants_to_learn",
    "timezone",
    "availability_other",
    "avoid",
)
LIST_FIELDS = ("interests", "availability")
# Checkboxes that default to on. A browser leaves an unticked box out of the POST, so the
# form also sends CONSENT_MARKER: with it, a missing box means "no"; without it (a form
# from before these options existed) the stored choice is kept.
CONSENT_FIELDS = ("include_in_exports", "accepts_introductions")
CONSENT_MARKER = "consent_choices"
# Left out when blank, so that pydantic reports "is required" instead of a length error.
REQUIRED_FIELDS = ("full_name", "email", "role", "timezone")


def block_value(weekday: int, block: tuple[int, int]) -> str:
    """The checkbox value of one grid cell, in the availability text format."""
    return format_window((weekday, block[0], block[1]))


GRID_VALUES = frozenset(block_value(d, b) for d in range(7) for b in TIME_BLOCKS)


@lru_cache(maxsize=1)
def timezone_choices() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Common zones first, then every IANA zone (the select shows both groups)."""
    everything = tuple(sorted(z for z in known_timezones() if "/" in z or z == "UTC"))
    return COMMON_TIMEZONES, everything


@dataclass
class ProfileForm:
    """What the browser sent (or what is stored), plus any errors per field."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def messages(self) -> dict[str, str]:
        """Each error as a sentence naming its field, shown next to it and in the summary."""
        return {name: error_sentence(name, message) for name, message in self.errors.items()}

    def summary(self) -> list[tuple[str, str]]:
        """(anchor id, sentence) for the error summary at the top of the page."""
        return [(FIELD_ANCHORS.get(name, name), text) for name, text in self.messages.items()]


def error_sentence(name: str, message: str) -> str:
    if name == "form":
        return message
    label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
    if message.startswith(("is ", "must ")):
        return f"{label} {message}"
    return f"{label}: {message}"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v for v in form.getlist(name) if isinstance(v, str)]


def form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    for name in LIST_FIELDS:
        values[name] = _texts(form, name)
    shown = _text(form, CONSENT_MARKER) == "1"
    for name in CONSENT_FIELDS:
        values[name] = _text(form, name) == "yes" if shown else None
    return values


def blank_values(org: Organization) -> dict[str, Any]:
    values: dict[str, Any] = {name: "" for name in TEXT_FIELDS}
    values.update(interests=[], availability=[], mentoring="none", timezone=org.timezone)
    values.update(dict.fromkeys(CONSENT_FIELDS, True))
    return values


def participant_values(p: Participant) -> dict[str, Any]:
    """A stored profile as form values: known interests and grid times become ticked boxes."""
    known = {i.casefold(): i for i in COMMON_INTERESTS}
    ticked = [known[i.casefold()] for i in p.interests if i.casefold() in known]
    other_interests = [i for i in p.interests if i.casefold() not in known]
    windows = [format_window(w) for w in p.availability]
    return {
        "full_name": p.full_name,
        "email": p.email,
        "role": p.role,
        "specialty": p.specialty,
        "department": p.department,
        "site": p.site,
        "interests": ticked,
        "interests_other": "; ".join(other_interests),
        "goals": p.goals,
        "mentoring": p.mentoring,
        "can_teach": "; ".join(p.can_teach),
        "wants_to_learn": "; ".join(p.wants_to_learn),
        "timezone": p.timezone,
        "availability": [w for w in windows if w in GRID_VALUES],
        "availability_other": "; ".join(w for w in windows if w not in GRID_VALUES),
        "avoid": "; ".join(p.avoid_emails),
        "include_in_exports": p.include_in_exports is not False,
        "accepts_introductions": p.accepts_introductions is not False,
    }


def _model_input(values: dict[str, Any], *, with_email: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        name: values[name]
        for name in (
            "full_name",
            "role",
            "specialty",
            "department",
            "site",
            "goals",
            "mentoring",
            "can_teach",
            "wants_to_learn",
            "timezone",
            "avoid",
        )
    }
    if with_email:
        data["email"] = values["email"]
    for name in CONSENT_FIELDS:
        if values.get(name) is not None:
            data[name] = values[name]
    # Ticked boxes and the free-text field (itself `;`-separated) become one list text.
    data["interests"] = "; ".join([*values["interests"], values["interests_other"]])
    data["availability"] = "; ".join([*values["availability"], values["availability_other"]])
    if not data["mentoring"]:
        data["mentoring"] = "none"
    for name in REQUIRED_FIELDS:
        if name in data and not data[name].strip():
            del data[name]
    return data


def parse_signup(form: FormData) -> tuple[ProfileForm, ParticipantIn | None]:
    values = form_values(form)
    try:
        return ProfileForm(values), ParticipantIn.model_validate(
            _model_input(values, with_email=True)
        )
    except ValidationError as exc:
        return ProfileForm(values, field_errors(exc)), None


def parse_profile(form: FormData, *, email: str) -> tuple[ProfileForm, ProfileIn | None]:
    values = form_values(form)
    values["email"] = email  # shown read-only; never taken from the form
    try:
        return ProfileForm(values), ProfileIn.model_validate(
            _model_input(values, with_email=False)
        )
    except ValidationError as exc:
        return ProfileForm(values, field_errors(exc)), None


def choices() -> dict[str, Any]:
    """Everything the profile fields template needs besides the values."""
    common, everything = timezone_choices()
    return {
        "role_labels": ROLE_LABELS,
        "mentoring_labels": MENTORING_LABELS,
        "common_interests": COMMON_INTERESTS,
        "time_blocks": [
            (f"{s // 60:02d}:{s % 60:02d}", f"{e // 60:02d}:{e % 60:02d}", b)
            for b in TIME_BLOCKS
            for s, e in [b]
        ],
        "weekdays": list(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True)),
        "block_value": block_value,
        "common_timezones": common,
        "all_timezones": everything,
        "field_labels": FIELD_LABELS,
    }


async def _posted_form(request: Request) -> FormData:
    # Starlette caches the parsed form, so the CSRF check and the handler share one parse.
    return await request.form()


PostedForm = Annotated[FormData, Depends(_posted_form)]
# Pages reached through emailed links carry a token in the URL: never cache them.
NO_STORE = {"Cache-Control": "no-store"}
