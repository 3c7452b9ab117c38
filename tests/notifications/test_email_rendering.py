"""Rendering of every email message: content, escaping and context errors."""

from __future__ import annotations

from importlib.resources import files

import pytest
from markupsafe import escape

from notifications import MESSAGE_CONTEXT, RenderedEmail, render_email
from tests.notifications.notification_samples import CONTEXTS

MESSAGES = sorted(MESSAGE_CONTEXT)
SCRIPT = "<script>alert(1)</script>"


def _urls(context: dict[str, object]) -> list[str]:
    return [value for key, value in context.items() if key.endswith("_url")]  # type: ignore[misc]


def _escaped(value: str) -> str:
    return str(escape(value))


def test_samples_cover_every_message() -> None:
    assert sorted(CONTEXTS) == MESSAGES
    templates = files("notifications") / "templates"
    folders = sorted(p.name for p in templates.iterdir() if not p.name.startswith("_"))
    assert folders == MESSAGES
    for name in MESSAGES:
        for part in ("subject.txt", "body.txt", "body.html"):
            assert (templates / name / part).is_file(), f"{name}/{part} missing"


@pytest.mark.parametrize("name", MESSAGES)
def test_text_and_html_carry_the_same_links_and_names(name: str) -> None:
    context = CONTEXTS[name]
    rendered = render_email(name, context)
    assert isinstance(rendered, RenderedEmail)
    assert rendered.subject and "\n" not in rendered.subject and "\r" not in rendered.subject
    assert "Maya Patel" in rendered.text and "Maya Patel" in rendered.html
    for url in _urls(context):
        assert url in rendered.text, f"{name}: {url} missing from text"
        assert _escaped(url) in rendered.html, f"{name}: {url} missing from HTML"
    for member in context.get("members", []):  # type: ignore[attr-defined]
        assert member["name"] in rendered.text
        assert _escaped(member["name"]) in rendered.html
    if "starters" in MESSAGE_CONTEXT[name]:
        for starter in context["starters"]:  # type: ignore[attr-defined]
            assert starter in rendered.text
            assert _escaped(starter) in rendered.html
    assert '<html lang="en">' in rendered.html
    assert 'name="viewport"' in rendered.html
    assert "{{" not in rendered.text + rendered.html


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("confirm_signup", "Confirm you want to join Coffee Rounds at St. Example Hospital"),
        ("manage_link", "Your link to manage Coffee Rounds at St. Example Hospital"),
        (
            "already_registered",
            "You are already signed up for Coffee Rounds at St. Example Hospital",
        ),
        ("invite", "Your March 2026 Coffee Round: Thursday 5 March, 12:30"),
        ("reminder", "Reminder: Coffee Round Thursday 5 March, 12:30"),
        ("checkin", "Did your March 2026 Coffee Round happen?"),
        ("followup", "How was Coffee Rounds in March 2026?"),
        ("not_matched", "No Coffee Round for you in March 2026"),
        ("invite_update", "Updated: your March 2026 Coffee Round"),
        ("invite_cancel", "Cancelled: your March 2026 Coffee Round"),
    ],
)
def test_subjects(name: str, subject: str) -> None:
    assert render_email(name, CONTEXTS[name]).subject == subject


def test_confirm_signup_copy() -> None:
    text = render_email("confirm_signup", CONTEXTS["confirm_signup"]).text
    assert "If you did not sign up, please ignore this email." in text
    assert "The link works for 48 hours." in text


def test_manage_link_lists_every_action() -> None:
    text = render_email("manage_link", CONTEXTS["manage_link"]).text
    for action in ("update your profile", "pause for 1 to 3 months", "leave", "delete your data"):
        assert action in text


def test_cycle_messages_offer_unsubscribe() -> None:
    for name in MESSAGES:
        if "unsubscribe_url" in MESSAGE_CONTEXT[name]:
            rendered = render_email(name, CONTEXTS[name])
            assert "Unsubscribe: https://coffee.example.org/u/tok-unsub" in rendered.text
            assert ">Unsubscribe</a>" in rendered.html


def test_invite_text_lists_members_on_separate_lines() -> None:
    text = render_email("invite", CONTEXTS["invite"]).text
    assert (
        "You are meeting:\n"
        "- Dr. Amina Yusuf, Consultant, Cardiology (Heart Centre)\n"
        "- Li Wei, Staff Nurse (ICU)\n"
        "- Sam O'Neill, Pharmacist, Oncology\n"
    ) in text
    assert "1. What made you choose your specialty?\n2. " in text


@pytest.mark.parametrize("name", MESSAGES)
def test_html_escapes_user_data_and_text_keeps_it_verbatim(name: str) -> None:
    context = dict(CONTEXTS[name])
    name_key = "admin_name" if "admin_name" in context else "participant_name"
    context[name_key] = SCRIPT
    context["organization_name"] = 'Mercy "General" & <b>Co</b>'
    if "members" in context:
        context["members"] = [{**m, "name": SCRIPT} for m in context["members"]]  # type: ignore[attr-defined]
    rendered = render_email(name, context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<b>Co</b>" not in rendered.html
    assert SCRIPT in rendered.text
    assert 'Mercy "General" & <b>Co</b>' in rendered.text


def test_subject_never_spans_lines() -> None:
    context = dict(CONTEXTS["confirm_signup"], organization_name="Mercy\r\nBcc: evil@example.com")
    subject = render_email("confirm_signup", context).subject
    assert subject == "Confirm you want to join Coffee Rounds at Mercy Bcc: evil@example.com"


@pytest.mark.parametrize(
    ("name", "key"), [(name, key) for name in MESSAGES for key in MESSAGE_CONTEXT[name]]
)
def test_missing_context_key_is_an_error_naming_it(name: str, key: str) -> None:
    context = {k: v for k, v in CONTEXTS[name].items() if k != key}
    with pytest.raises(ValueError, match=key):
        render_email(name, context)


def test_member_missing_a_field_is_an_error() -> None:
    context = dict(CONTEXTS["invite"])
    context["members"] = [{"name": "A", "role": "Nurse", "specialty": ""}]
    with pytest.raises(ValueError, match=r"members\[0\] is missing department"):
        render_email("invite", context)


def test_starters_must_be_a_list() -> None:
    context = dict(CONTEXTS["invite"], starters="one starter")
    with pytest.raises(ValueError, match="starters"):
        render_email("invite", context)


def test_unknown_message_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="confirm_signup"):
        render_email("welcome", {})


def test_context_must_be_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        render_email("confirm_signup", ["participant_name"])  # type: ignore[arg-type]
