"""Library parts of the round emails: resources in the invite, the share link afterwards."""

from __future__ import annotations

import pytest

from notifications import render_email
from tests.notifications.notification_samples import CONTEXTS


def test_the_invite_lists_its_resources_with_title_why_and_link() -> None:
    rendered = render_email("invite", CONTEXTS["invite"])
    assert "From your colleagues' library:" in rendered.text
    assert "- Three good things: a 5-minute habit\n  Small, and it stuck.\n" in rendered.text
    assert "  https://example.org/three-good-things?a=1&b=2\n" in rendered.text
    assert 'href="https://example.org/three-good-things?a=1&amp;b=2"' in rendered.html


def test_an_invite_without_resources_has_no_library_section() -> None:
    rendered = render_email("invite", dict(CONTEXTS["invite"], resources=[]))
    assert "colleagues' library" not in rendered.text.lower()
    assert "colleagues&#39; library" not in rendered.html.lower()
    assert "From your colleagues" not in rendered.html


def test_resource_text_is_escaped_in_the_html_part() -> None:
    resource = {"title": "<b>Bold</b> & co", "url": "https://example.org/x", "why": "a < b"}
    rendered = render_email("invite", dict(CONTEXTS["invite"], resources=[resource]))
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in rendered.html
    assert "a &lt; b" in rendered.html
    assert "<b>Bold" not in rendered.html


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ("not a list", "resources must be a list"),
        ([{"title": "t", "url": "https://x.org"}], r"resources\[0\] needs title, url, why"),
        (["just a string"], r"resources\[0\] needs"),
        ([{"title": "t", "url": "javascript:alert(1)", "why": ""}], "must be http"),
    ],
)
def test_malformed_resources_are_refused(resources: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_email("invite", dict(CONTEXTS["invite"], resources=resources))


@pytest.mark.parametrize("name", ["checkin", "followup"])
def test_checkin_and_followup_invite_sharing_a_resource(name: str) -> None:
    rendered = render_email(name, CONTEXTS[name])
    assert "https://coffee.example.org/r/tok-feedback/share" in rendered.text
    assert 'href="https://coffee.example.org/r/tok-feedback/share"' in rendered.html
    context = {k: v for k, v in CONTEXTS[name].items() if k != "share_url"}
    with pytest.raises(ValueError, match="share_url"):
        render_email(name, context)
