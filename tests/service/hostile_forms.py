"""The forms, API bodies and files the hostile-text sweep fills in (see test_hostile_text.py).

Each sender submits one value in one field, everything else valid, and says what happened:
refused (and whether the error is shown next to the field), or accepted (what was stored,
and the page that shows it). To cover a new form, write a sender and add a `Target` to `TARGETS`.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import create_api_token
from service.admin.settings import current_values
from service.links import LinkSigner
from service.models import (
    Feedback,
    IntroductionRequest,
    Membership,
    Organization,
    Participant,
    Resource,
    Topic,
)
from service.participants.csv_io import COLUMNS
from service.public.member import member_token
from service.rounds.create import create_round
from service.rounds.links import membership_token
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.round_links_helpers import round_time


class Kind(Enum):
    LINE = "one line of text"
    TEXT = "several lines of text"
    ITEM = "one entry of a ;-separated list"
    CHOICE = "a choice, address, time zone or times"


@dataclass
class Answer:
    """What a submission did: the response, and (when accepted) what was stored and shown."""

    response: Any
    accepted: bool
    error_shown: bool = False
    echoed: bool = True
    stored: list[str] = field(default_factory=list)
    page: str | None = None  # None: shown by a page another target already checks
    casefold: bool = False  # the field is stored in lower case (topic tags)


@dataclass
class World:
    app: FastAPI
    db: Session
    client: TestClient
    org: Organization
    links: LinkSigner
    numbers: Iterator[int] = field(default_factory=itertools.count)
    _admin: TestClient | None = None
    _super: TestClient | None = None
    _api_token: str = ""
    _membership: Membership | None = None

    def email(self) -> str:
        return f"hostile{next(self.numbers)}@stmarys.example"

    def participant(self) -> Participant:
        person = Participant(
            organization_id=self.org.id,
            email=self.email(),
            full_name="Valid Person",
            role="nurse",
            timezone="UTC",
            status="active",
            avoid_entries=[],
        )
        self.db.add(person)
        self.db.commit()
        return person

    def find(self, address: str) -> Participant | None:
        self.db.expire_all()
        return self.db.scalar(select(Participant).where(Participant.email == address))

    def manage_page(self, person: Participant) -> str:
        token = self.links.make("manage", participant_id=person.id, version=person.link_version)
        return str(self.client.get(f"/o/stmarys/manage/{token}").text)

    def admin(self) -> TestClient:
        if self._admin is None:
            make_admin(self.db, self.org, "lead@stmarys.example")
            self._admin = TestClient(self.app)
            login(self._admin, "lead@stmarys.example")
        return self._admin

    def super_admin(self) -> TestClient:
        if self._super is None:
            make_admin(self.db, None, "root@coffee.example", is_super=True)
            self._super = TestClient(self.app)
            login(self._super, "root@coffee.example")
        return self._super

    def api_token(self) -> str:
        if not self._api_token:
            self._api_token = create_api_token(self.db, organization=self.org, name="sweep")
            self.db.commit()
        return self._api_token

    def membership(self) -> Membership:
        if self._membership is None:
            month, now = round_time(1)  # next month: its meetings are still ahead
            create_round(self.db, self.app.state.settings, self.links, self.org, month, now=now)
            self.db.commit()
            self._membership = self.db.scalar(select(Membership).order_by(Membership.id))
        assert self._membership is not None
        return self._membership


def form_post(client: TestClient, url: str, data: dict[str, Any], page: str = "") -> Any:
    # The form's hidden token is the browser's CSRF cookie: open a page once to get it.
    token = client.cookies.get("cr_csrf") or csrf(client, page or url)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def kept(response: Any, value: str) -> bool:
    return str(escape(value)) in response.text


def attribute_values(person: Participant | None, attribute: str) -> list[str]:
    if person is None:
        return []
    value = getattr(person, attribute)
    return list(value) if isinstance(value, list) else [value]


# --- profile: the join and manage pages, the API, CSV import ----------------------------------

PROFILE_FORM = {
    "full_name": Kind.LINE,
    "specialty": Kind.LINE,
    "department": Kind.LINE,
    "site": Kind.LINE,
    "goals": Kind.TEXT,
    "interests_other": Kind.ITEM,
    "can_teach": Kind.ITEM,
    "wants_to_learn": Kind.ITEM,
    "availability_other": Kind.CHOICE,
    "avoid": Kind.CHOICE,
}  # role, mentoring and time zone are a select and radio buttons: any text is refused
# The form field → the participant attribute (and the error's field name).
PROFILE_ATTRIBUTE = {"interests_other": "interests", "availability_other": "availability"}
PROFILE_API = {
    "full_name": Kind.LINE,
    "specialty": Kind.LINE,
    "department": Kind.LINE,
    "site": Kind.LINE,
    "goals": Kind.TEXT,
    "interests": Kind.ITEM,
    "can_teach": Kind.ITEM,
    "wants_to_learn": Kind.ITEM,
    "timezone": Kind.CHOICE,
    "availability": Kind.CHOICE,
    "avoid": Kind.CHOICE,
}  # role and mentoring are enums in the OpenAPI: schemathesis sends them every kind of text
# In a file every column is text, the choices too.
CSV_COLUMNS = {**PROFILE_API, "email": Kind.CHOICE, "role": Kind.CHOICE, "mentoring": Kind.CHOICE}
LIST_FIELDS = ("interests", "can_teach", "wants_to_learn", "avoid")


def valid_profile_form() -> dict[str, Any]:
    return {"full_name": "Ann Lee", "role": "nurse", "timezone": "UTC", "mentoring": "none"}


def profile_answer(world: World, response: Any, name: str, address: str) -> Answer:
    attribute = PROFILE_ATTRIBUTE.get(name, name)
    if response.status_code != 303:
        return Answer(
            response,
            accepted=False,
            error_shown=any(f'id="{n}-error"' in response.text for n in (name, attribute)),
        )
    person = world.find(address)
    assert person is not None
    return Answer(
        response,
        accepted=True,
        stored=attribute_values(person, attribute),
        page=world.manage_page(person),
    )


def join_form(world: World, name: str, value: str) -> Answer:
    address = world.email()
    data = {**valid_profile_form(), "email": address, name: value}
    response = form_post(world.client, "/o/stmarys/join", data)
    answer = profile_answer(world, response, name, address)
    answer.echoed = answer.accepted or kept(response, value)
    return answer


def manage_form(world: World, name: str, value: str) -> Answer:
    person = world.participant()
    token = world.links.make("manage", participant_id=person.id, version=person.link_version)
    page = f"/o/stmarys/manage/{token}"
    data = {**valid_profile_form(), name: value}
    response = form_post(world.client, f"{page}/profile", data, page=page)
    answer = profile_answer(world, response, name, person.email)
    answer.echoed = answer.accepted or kept(response, value)
    return answer


def api_value(name: str, value: str) -> Any:
    return [value] if name in LIST_FIELDS else value


def api_answer(
    world: World, response: Any, name: str, address: str, ok: int, *, page: bool = False
) -> Answer:
    if response.status_code != ok:
        body = response.json() if response.status_code == 422 else {}
        places = [problem.get("loc", []) for problem in body.get("detail", [])]
        places += [["body", key] for key in body.get("fields", {})]
        return Answer(response, accepted=False, error_shown=any(name in place for place in places))
    person = world.find(address)
    assert person is not None
    return Answer(
        response,
        accepted=True,
        stored=attribute_values(person, name),
        page=world.manage_page(person) if page else None,
    )


def api_signup(world: World, name: str, value: str) -> Answer:
    address = world.email()
    body = {"email": address, "full_name": "Ann Lee", "role": "nurse", "timezone": "UTC"}
    body[name] = api_value(name, value)
    response = world.client.post("/api/v1/organizations/stmarys/signups", json=body)
    return api_answer(world, response, name, address, 202, page=True)


def api_me(world: World, name: str, value: str) -> Answer:
    person = world.participant()
    token = world.links.make("manage", participant_id=person.id, version=person.link_version)
    body = {"full_name": "Ann Lee", "role": "nurse", "timezone": "UTC"}
    body[name] = api_value(name, value)
    response = world.client.put(
        "/api/v1/organizations/stmarys/me", json=body, headers={"X-Manage-Token": token}
    )
    return api_answer(world, response, name, person.email, 200)


def api_create(world: World, name: str, value: str) -> Answer:
    address = world.email()
    body = {"email": address, "full_name": "Ann Lee", "role": "nurse", "timezone": "UTC"}
    body[name] = api_value(name, value)
    response = world.client.post(
        "/api/v1/participants",
        json=body,
        headers={"Authorization": f"Bearer {world.api_token()}"},
    )
    return api_answer(world, response, name, address, 201)


def api_patch(world: World, name: str, value: str) -> Answer:
    person = world.participant()
    response = world.client.patch(
        f"/api/v1/participants/{person.id}",
        json={name: api_value(name, value)},
        headers={"Authorization": f"Bearer {world.api_token()}"},
    )
    return api_answer(world, response, name, person.email, 200)


def csv_import(world: World, name: str, value: str) -> Answer:
    address = world.email()
    row = {column: "" for column in COLUMNS}
    row.update(email=address, full_name="Ann Lee", role="nurse", timezone="UTC")
    row[name] = value
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow([row[column] for column in COLUMNS])
    admin = world.admin()
    url = "/admin/o/stmarys/participants/import"
    token = csrf(admin, url)
    files = {"file": ("people.csv", buffer.getvalue().encode("utf-8"), "text/csv")}
    report = admin.post(url, data={"csrf_token": token}, files=files)
    row_error = f'<td class="num">2</td><td>{name}</td>' in report.text
    file_error = report.status_code == 422 and "line 2: " in report.text
    if row_error or file_error or report.status_code != 200:
        return Answer(report, accepted=False, error_shown=row_error or file_error)
    import_token = re.search(r'name="token" value="([^"]+)"', report.text)
    assert import_token, report.text
    done = admin.post(
        f"{url}/confirm",
        data={"csrf_token": token, "token": import_token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    person = world.find(address)
    assert person is not None, report.text
    return Answer(report, accepted=True, stored=attribute_values(person, name))


# --- dashboard forms -------------------------------------------------------------------------

TOPIC_FORM = {
    "title": Kind.LINE,
    "description": Kind.TEXT,
    "starters": Kind.ITEM,  # one per line
    "tags": Kind.ITEM,
}


def topic_form(world: World, name: str, value: str) -> Answer:
    title = f"Topic {next(world.numbers)}"
    data = {
        "title": title,
        "description": "",
        "starters": "One?\nTwo?\nThree?",
        "tags": "",
    }
    data[name] = f"{value}\nTwo?\nThree?" if name == "starters" else value
    admin = world.admin()
    response = form_post(admin, "/admin/o/stmarys/topics/new", data)
    if response.status_code != 303:
        return Answer(
            response,
            accepted=False,
            error_shown=f'id="{name}-error"' in response.text,
            echoed=name == "starters" or len(value) > 2000 or kept(response, value),
        )
    world.db.expire_all()
    topic = world.db.scalar(select(Topic).order_by(Topic.id.desc()))
    assert topic is not None
    stored = {
        "title": [topic.title],
        "description": [topic.description],
        "starters": list(topic.starters),
        "tags": list(topic.tags),
    }[name]
    page = admin.get(f"/admin/o/stmarys/topics/{topic.id}/edit").text
    return Answer(response, accepted=True, stored=stored, page=page, casefold=name == "tags")


SETTINGS_FORM = {
    "sender_name": Kind.LINE,
    "meeting_url_template": Kind.CHOICE,
    "sender_email": Kind.CHOICE,
    "timezone": Kind.CHOICE,
    "allowed_email_domains": Kind.CHOICE,
}


def settings_form(world: World, name: str, value: str) -> Answer:
    admin = world.admin()
    world.db.refresh(world.org)
    current = {
        key: "" if stored is None else f"{stored:g}" if isinstance(stored, float) else str(stored)
        for key, stored in current_values(world.org).items()
    }
    current.update(
        allowed_email_domains="",
        require_approval="",
        meeting_url_template="https://m.example/{room}",
    )
    current[name] = value
    response = form_post(admin, "/admin/o/stmarys/settings", current)
    if response.status_code != 303:
        return Answer(
            response,
            accepted=False,
            error_shown=f'id="{name}-error"' in response.text,
            echoed=len(value) > 2000 or kept(response, value),
        )
    world.db.expire_all()
    org = world.db.get(Organization, world.org.id)
    assert org is not None
    return Answer(
        response,
        accepted=True,
        stored=[getattr(org, name)],
        page=admin.get("/admin/o/stmarys/settings").text,
    )


def organization_form(world: World, name: str, value: str) -> Answer:
    admin = world.super_admin()
    slug = f"org{next(world.numbers)}"
    data = {"slug": slug, "name": value, "timezone": "UTC", "domains": ""}
    response = form_post(admin, "/admin/organizations", data)
    if response.status_code != 303:
        return Answer(
            response,
            accepted=False,
            error_shown='id="name-error"' in response.text
            or "Something in that request was not valid" in response.text,
            echoed=len(value) > 300 or kept(response, value),
        )
    world.db.expire_all()
    org = world.db.scalar(select(Organization).where(Organization.slug == slug))
    assert org is not None
    return Answer(
        response, accepted=True, stored=[org.name], page=admin.get("/admin/organizations").text
    )


# --- pages behind round links ----------------------------------------------------------------


def round_form(
    world: World, page: str, name: str, value: str, extra: dict[str, Any], kind: str
) -> Answer:
    membership = world.membership()
    person = world.db.get(Participant, membership.participant_id)
    assert person is not None
    token = membership_token(world.links, person, membership)
    url = f"/o/stmarys/r/{token}/{page}"
    response = form_post(world.client, url, {**extra, name: value})
    if response.status_code != 303:
        return Answer(
            response,
            accepted=False,
            error_shown=f'id="{name}-error"' in response.text,
            echoed=len(value) > 5000 or kept(response, value),
        )
    world.db.expire_all()
    stored = world.db.scalar(
        select(Feedback.learned).where(
            Feedback.membership_id == membership.id, Feedback.kind == kind
        )
    )
    return Answer(response, accepted=True, stored=[stored or ""], page=world.client.get(url).text)


def checkin_form(world: World, name: str, value: str) -> Answer:
    return round_form(world, "checkin", name, value, {"met": "yes", "rating": "4"}, "checkin")


def followup_form(world: World, name: str, value: str) -> Answer:
    extra = {"outcomes": ["second_coffee"]}
    return round_form(world, "follow-up", name, value, extra, "followup")


# --- the member link: sharing a resource, asking for an introduction ------------------------


def member_base(world: World) -> str:
    # Someone new each time: sharing and asking have their own limits per person.
    return f"/o/stmarys/my/{member_token(world.links, world.participant())}"


def member_form(
    world: World, page: str, model: Any, name: str, value: str, valid: dict[str, str]
) -> Answer:
    base = member_base(world)
    response = form_post(world.client, f"{base}/{page}", {**valid, name: value})
    if response.status_code != 303:
        shown_as = (name, name.removesuffix("_other"))  # tags_other's error is the tags' error
        return Answer(
            response,
            accepted=False,
            error_shown=any(f'id="{n}-error"' in response.text for n in shown_as),
            echoed=len(value) > 2000 or kept(response, value),
        )
    world.db.expire_all()
    row = world.db.scalar(select(model).order_by(model.id.desc()))
    stored = getattr(row, name.removesuffix("_other"))
    shown = world.client.get(f"{base}/{page.split('/')[0]}").text
    return Answer(
        response,
        accepted=True,
        stored=list(stored) if isinstance(stored, list) else [stored],
        page=shown,
        casefold=name == "tags_other",
    )


def library_share(world: World, name: str, value: str) -> Answer:
    url = f"https://example.org/read/{next(world.numbers)}"
    valid = {"url": url, "title": "A good read", "why": "It helped me"}
    return member_form(world, "library/share", Resource, name, value, valid)


def introduction_request(world: World, name: str, value: str) -> Answer:
    valid = {"need": "Someone who knows point-of-care ultrasound"}
    return member_form(world, "introductions", IntroductionRequest, name, value, valid)


# --- email-only fields -----------------------------------------------------------------------


def email_only(url: str, ok: int) -> Callable[[World, str, str], Answer]:
    """Forms whose only text is an email address (never stored from here)."""

    def send(world: World, name: str, value: str) -> Answer:
        response = form_post(world.client, url, {name: value})
        refused = response.status_code == 422 and f'id="{name}-error"' in response.text
        return Answer(
            response, accepted=response.status_code == ok and not refused, error_shown=refused
        )

    return send


# --- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    send: Callable[[World, str, str], Answer]
    fields: dict[str, Kind]
    # (field, payload) pairs refused on purpose, with a clear message (not a bug).
    by_design: frozenset[tuple[str, str]] = frozenset()
    # (field, payload) pairs that fail today: reported, and flagged once they are fixed.
    known_bugs: frozenset[tuple[str, str]] = frozenset()


TARGETS = [
    Target("join form", join_form, {**PROFILE_FORM, "email": Kind.CHOICE}),
    Target("manage form", manage_form, PROFILE_FORM),
    Target("API signup", api_signup, {**PROFILE_API, "email": Kind.CHOICE}),
    Target("API my profile", api_me, PROFILE_API),
    Target("API create participant", api_create, {**PROFILE_API, "email": Kind.CHOICE}),
    Target("API update participant", api_patch, PROFILE_API),
    Target("CSV import", csv_import, CSV_COLUMNS),
    Target("topic form", topic_form, TOPIC_FORM),
    Target("settings form", settings_form, SETTINGS_FORM),
    Target("new organization", organization_form, {"name": Kind.LINE}),
    Target("check-in", checkin_form, {"learned": Kind.TEXT}),
    Target("follow-up", followup_form, {"comment": Kind.TEXT}),
    Target("email me my link", email_only("/o/stmarys/me", 303), {"email": Kind.CHOICE}),
    Target(
        "library share",
        library_share,
        {"title": Kind.LINE, "why": Kind.TEXT, "tags_other": Kind.ITEM, "url": Kind.CHOICE},
        # Tags are letters, digits and a little punctuation, so that they can be matched.
        by_design=frozenset({("tags_other", "emoji")}),
        # service/library/validation.py's tag pattern (\w) has no combining marks, which
        # Devanagari (and Thai, vowelled Arabic...) needs: "अनुष्का" is refused.
        known_bugs=frozenset({("tags_other", "devanagari")}),
    ),
    Target(
        "introduction request",
        introduction_request,
        {"need": Kind.TEXT, "skill": Kind.LINE, "specialty": Kind.LINE, "site": Kind.LINE},
    ),
]
