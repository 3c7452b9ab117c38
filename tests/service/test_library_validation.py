"""What a shared resource may contain: links, plain text and tags (no database needed)."""

from __future__ import annotations

import pytest

from service.library.validation import (
    MAX_TITLE,
    MAX_WHY,
    PLAIN_TEXT_ONLY,
    check_resource,
    clean_text,
    normalize_url,
    parse_tags,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.nejm.org/doi/full/10.1056/NEJMp1", "https://www.nejm.org/doi/full/10.1056/NEJMp1"),
        ("  HTTPS://Example.ORG  ", "https://example.org/"),
        ("http://example.org:80/a", "http://example.org/a"),
        ("https://example.org:443/a?b=1", "https://example.org/a?b=1"),
        ("https://example.org:8443/a", "https://example.org:8443/a"),
        ("https://example.org/page#section-2", "https://example.org/page"),
        ("example.org/guide", "https://example.org/guide"),
        ("www.example.org", "https://www.example.org/"),
        ("https://bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://example.org/a%20b?q=x%26y", "https://example.org/a%20b?q=x%26y"),
        ("https://[2001:db8::1]/x", "https://[2001:db8::1]/x"),
        ("http://intranet/policies", "http://intranet/policies"),
    ],
)
def test_links_are_normalised_so_the_same_page_is_recognised(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the link"),
        ("   ", "Enter the link"),
        ("javascript:alert(1)", "http:// or https://"),
        ("JavaScript:alert(document.cookie)", "http:// or https://"),
        ("data:text/html,<script>alert(1)</script>", "http:// or https://"),
        ("vbscript:msgbox", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("ftp://example.org/file", "http:// or https://"),
        ("mailto:someone@example.org", "http:// or https://"),
        ("//example.org/x", "http:// or https://"),
        ("java\tscript:alert(1)", "spaces"),
        ("https://exa mple.org", "spaces"),
        ("https://example.org/\x00", "spaces"),
        ("https://", "no website name"),
        ("https:example.org", "no website name"),
        ("https://user:secret@example.org/", "user name or password"),
        ("https://example.org@evil.example/", "user name or password"),
        ("https://exa<mple.org/", "not valid"),
        ("https://example.org:99999/", "not a valid web address"),
        ("https://" + "a" * 2000 + ".org", "at most 2000"),
    ],
)
def test_anything_but_a_plain_web_link_is_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_url(raw)


def test_text_is_one_line_of_plain_text() -> None:
    assert clean_text("  Sleep\n after\tnights  ", limit=50, required=True, what="a title") == (
        "Sleep after nights"
    )
    # A lone "<" is ordinary text (it is escaped when shown).
    assert clean_text("Risk < 5% & falling", limit=50, required=True, what="x") == (
        "Risk < 5% & falling"
    )
    assert clean_text("I <3 this", limit=50, required=True, what="x") == "I <3 this"
    assert clean_text("", limit=50, required=False, what="x") == ""


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "Nice <b>bold</b> read",
        "<img src=x onerror=alert(1)>",
        "end</a>",
        "<!-- hidden -->",
        "<?php echo 1 ?>",
    ],
)
def test_html_is_refused_in_text(raw: str) -> None:
    with pytest.raises(ValueError, match="plain text only"):
        clean_text(raw, limit=300, required=True, what="x")


@pytest.mark.parametrize(
    "raw",
    ["a\x00b", "bell\x07", "esc\x1b[31m", "\u202eevil", "\u2066x", "\x85", "zero\u200bwidth",
     "\ufeffbom", "soft\u00adhyphen"],
)
def test_control_and_bidi_characters_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        clean_text(raw, limit=300, required=True, what="x")


def test_emoji_sequences_with_joiners_are_fine() -> None:
    text = "For every \U0001f469\u200d\u2695\ufe0f on nights"
    assert clean_text(text, limit=300, required=True, what="x") == text
    devanagari = "\u0915\u094d\u200d\u0937"  # a half-form needs the joiner
    assert clean_text(devanagari, limit=300, required=True, what="x") == devanagari


def test_text_and_tags_are_stored_in_nfc() -> None:
    assert clean_text("Cafe\u0301", limit=50, required=True, what="x") == "Caf\u00e9"
    assert parse_tags("cafe\u0301") == ("caf\u00e9",)


def test_length_limits_and_required_fields() -> None:
    with pytest.raises(ValueError, match=f"at most {MAX_TITLE} characters \\(this has 201\\)"):
        clean_text("x" * 201, limit=MAX_TITLE, required=True, what="a title")
    assert len(clean_text("x" * MAX_WHY, limit=MAX_WHY, required=True, what="x")) == MAX_WHY
    with pytest.raises(ValueError, match="Enter a title"):
        clean_text(" \n ", limit=MAX_TITLE, required=True, what="a title")


def test_tags_are_lowercased_deduplicated_and_trimmed() -> None:
    assert parse_tags("Sleep, night  shifts; #Wellbeing, sleep,, ") == (
        "sleep",
        "night shifts",
        "wellbeing",
    )
    assert parse_tags(["quality improvement", "LGBTQ+ health", "QI; c++"]) == (
        "quality improvement",
        "lgbtq+ health",
        "qi",
        "c++",
    )
    assert parse_tags("") == ()
    assert parse_tags("étude, ½-day") == ("étude", "½-day")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("a, b, c, d, e, f", "at most 5 tags \\(you gave 6\\)"),
        (", ".join(f"tag{i}" for i in range(40)), "at most 5 tags"),
        ("x" * 41, "at most 40 characters"),
        ('say "hi"', "letters, digits"),
        ("back\\slash", "letters, digits"),
        ("<b>bold</b>", "plain text only"),
        ("ok, \x00bad", "control characters"),
        ("(parens)", "letters, digits"),
    ],
)
def test_tag_spam_and_odd_tags_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tags(raw)


def test_check_resource_reports_every_bad_field_at_once() -> None:
    draft, errors = check_resource(
        url="javascript:alert(1)", title="<b>x</b>", why="", tags="a,b,c,d,e,f"
    )
    assert draft is None
    assert set(errors) == {"url", "title", "why", "tags"}
    assert errors["title"] == PLAIN_TEXT_ONLY
    assert errors["why"] == "Enter one line on why it helped."


def test_check_resource_returns_a_clean_draft() -> None:
    draft, errors = check_resource(
        url="Example.org/Sleep", title=" Sleep  guide ", why="Short\nand kind.", tags="Sleep"
    )
    assert errors == {}
    assert draft is not None
    assert (draft.url, draft.title, draft.why, draft.tags) == (
        "https://example.org/Sleep",
        "Sleep guide",
        "Short and kind.",
        ("sleep",),
    )
    draft, errors = check_resource(
        url="https://a.org", title="t", why="", tags="", require_why=False
    )
    assert errors == {} and draft is not None and draft.why == ""
