"""The resource library for participants: sharing, "useful" votes, search and bad input."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.library import search as library_search
from service.library import service as library
from service.links import LinkSigner
from service.models import Organization, Resource, ResourceVote, Topic
from service.public.member import member_path, member_token
from tests.service.library_helpers import add_resource, library_path, share_fields
from tests.service.round_links_helpers import post_form
from tests.service.test_public_manage import active_participant


def _resources(db: Session) -> list[Resource]:
    db.expire_all()
    return list(db.scalars(select(Resource).order_by(Resource.id)))


def _post(client: TestClient, page: str, url: str, data: dict[str, str]) -> Response:
    """Open `page` (for the CSRF cookie), then post to `url` what its form would send."""
    assert client.get(page).status_code == 200
    return client.post(
        url, data={"csrf_token": client.cookies.get("cr_csrf"), **data}, follow_redirects=False
    )


def _error(page_text: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</p>', page_text, re.S)
    assert match, f"no error next to {field}"
    return re.sub(r"<[^>]+>", "", match.group(1))


# --- sharing -------------------------------------------------------------------------------


def test_a_shared_resource_is_listed_in_the_library(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    form = client.get(f"{base}/share")
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert 'name="csrf_token"' in form.text

    response = post_form(
        client,
        f"{base}/share",
        share_fields(url="HTTPS://Example.org/Sleep#top", tags_other="Sleep, #Night Shifts"),
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{base}?done=shared"
    page = client.get(response.headers["location"])
    assert "Thank you! Your link is in the library." in page.text
    assert "Sleep after night shifts" in page.text
    assert 'href="https://example.org/Sleep"' in page.text
    assert 'rel="nofollow noopener noreferrer ugc"' in page.text
    assert "You shared this" in page.text  # and no button to vote for it

    [stored] = _resources(db)
    assert stored.url == "https://example.org/Sleep"
    assert stored.tags == ["sleep", "night shifts"]
    assert stored.participant_id == person.id
    assert (stored.source, stored.membership_id) == ("participant", None)


def test_the_share_form_suggests_tags_from_the_topic_catalog(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    db.add(Topic(organization_id=org.id, key="sleep", title="Sleep", description="",
                 starters=[], tags=["Sleep hygiene", "Night shifts"]))
    db.commit()
    person = active_participant(db, org)
    base = library_path(links, org, person)
    page = client.get(f"{base}/share")
    assert 'value="sleep hygiene"' in page.text and 'value="night shifts"' in page.text
    response = post_form(client, f"{base}/share", {**share_fields(), "tags": ["night shifts"],
                                                   "tags_other": "naps"})
    assert response.status_code == 303
    assert _resources(db)[0].tags == ["night shifts", "naps"]


def test_a_javascript_link_is_refused_next_to_the_field_and_nothing_is_stored(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    response = post_form(client, f"{base}/share", share_fields(url="javascript:alert(1)"))
    assert response.status_code == 422
    assert "http:// or https://" in _error(response.text, "url")
    assert 'aria-invalid="true"' in response.text
    assert 'value="Sleep after night shifts"' in response.text  # what was typed stays
    assert '<a href="#url">' in response.text  # the summary leads to the field
    assert _resources(db) == []


def test_html_in_any_field_is_refused_and_echoed_inert(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    script = "<script>alert(1)</script>"
    response = post_form(
        client, f"{base}/share", share_fields(title=script, why=script, tags_other=script)
    )
    assert response.status_code == 422
    for field in ("title", "why", "tags"):
        assert "plain text only" in _error(response.text, field)
    assert script not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert _resources(db) == []


def test_text_that_only_looks_odd_is_kept_and_shown_escaped(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    response = post_form(
        client, f"{base}/share", share_fields(title="Risk < 5% & rising", why='I <3 "this"')
    )
    assert response.status_code == 303
    page = client.get(base).text
    assert "Risk &lt; 5% &amp; rising" in page
    assert "I &lt;3 &#34;this&#34;" in page


def test_over_long_fields_and_tag_spam_are_refused(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    response = post_form(
        client,
        f"{base}/share",
        share_fields(
            url="https://example.org/" + "a" * 2100,
            title="t" * 201,
            why="w" * 301,
            tags_other=", ".join(f"tag{i}" for i in range(30)),
        ),
    )
    assert response.status_code == 422
    assert "at most 2000" in _error(response.text, "url")
    assert "at most 200 characters" in _error(response.text, "title")
    assert "at most 300 characters" in _error(response.text, "why")
    assert "at most 5 tags" in _error(response.text, "tags")
    response = post_form(client, f"{base}/share", share_fields(title="", why=""))
    assert _error(response.text, "title") == "Error: Enter a title."
    assert _resources(db) == []


def test_a_topic_from_another_hospital_is_refused(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    other = Organization(slug="north", name="North", timezone="UTC")
    db.add(other)
    db.flush()
    foreign = Topic(organization_id=other.id, key="x", title="X", description="", starters=[])
    db.add(foreign)
    db.commit()
    person = active_participant(db, org)
    base = library_path(links, org, person)
    response = post_form(client, f"{base}/share", share_fields(topic=str(foreign.id)))
    assert response.status_code == 422
    assert "listed topics" in _error(response.text, "topic")
    assert _resources(db) == []


def test_the_same_link_shared_again_is_not_duplicated(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    first = active_participant(db, org)
    second = active_participant(db, org, email="bo@example.org", full_name="Bo Chen")
    add_resource(db, org, "https://example.org/guide", "The guide", participant=first)
    base = library_path(links, org, second)
    response = post_form(
        client, f"{base}/share", share_fields(url="https://EXAMPLE.org:443/guide#part-2")
    )
    assert response.headers["location"] == f"{base}?done=already"
    page = client.get(response.headers["location"]).text
    assert "already in the library" in page
    assert [r.title for r in _resources(db)] == ["The guide"]


def test_a_hidden_link_shared_again_stays_hidden_and_nothing_says_so(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    hidden = add_resource(db, org, "https://spam.example/pills", "Cheap pills")
    library.set_hidden(db, org, hidden, hidden=True, actor="lead@stmarys.example")
    db.commit()
    base = library_path(links, org, person)
    response = post_form(
        client, f"{base}/share", share_fields(url="https://spam.example/pills", title="Great")
    )
    # The same answer as for a brand-new link.
    assert response.headers["location"] == f"{base}?done=shared"
    page = client.get(response.headers["location"]).text
    assert "Cheap pills" not in page and "Great" not in page
    [stored] = _resources(db)
    assert stored.hidden_at is not None and stored.title == "Cheap pills"


def test_one_person_can_share_at_most_ten_links_a_day(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    before_yesterday = datetime.now(UTC) - timedelta(days=2)
    add_resource(db, org, "https://example.org/old", "Old", participant=person,
                 created_at=before_yesterday)  # does not count towards today's ten
    for i in range(library.MAX_SHARES_PER_DAY):
        add_resource(db, org, f"https://example.org/{i}", f"Link {i}", participant=person)
    base = library_path(links, org, person)
    response = post_form(client, f"{base}/share", share_fields())
    assert response.status_code == 422
    assert "come back tomorrow" in response.text
    assert 'value="Sleep after night shifts"' in response.text
    assert len(_resources(db)) == library.MAX_SHARES_PER_DAY + 1


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    base = library_path(links, org, person)
    client.get(f"{base}/share")
    assert client.post(f"{base}/share", data=share_fields()).status_code == 403
    resource = add_resource(db, org, "https://example.org/a", "A")
    assert client.post(f"{base}/{resource.id}/useful", data={}).status_code == 403
    assert _resources(db)[0].useful_count == 0


def test_an_invalid_or_retired_member_link_opens_nothing(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    add_resource(db, org, "https://example.org/a", "Secret-ish title")
    assert client.get(f"/o/{org.slug}/my/not-a-token/library").status_code == 400
    base = library_path(links, org, person)
    person.status, person.link_version = "left", person.link_version + 1
    db.commit()
    for url in (base, f"{base}/share"):
        page = client.get(url)
        assert page.status_code == 400
        assert "Secret-ish title" not in page.text
    assert post_form(client, f"/o/{org.slug}/join", {}).status_code == 422  # cookie for CSRF
    token = client.cookies.get("cr_csrf")
    refused = client.post(f"{base}/share", data={"csrf_token": token, **share_fields()})
    assert refused.status_code == 400
    assert _resources(db)[0].title == "Secret-ish title" and len(_resources(db)) == 1


# --- "useful" ------------------------------------------------------------------------------


def test_a_participant_can_mark_a_resource_useful_once(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    sharer = active_participant(db, org)
    reader = active_participant(db, org, email="bo@example.org", full_name="Bo Chen")
    resource = add_resource(db, org, "https://example.org/a", "A guide", participant=sharer)
    base = library_path(links, org, reader)
    url = f"{base}/{resource.id}/useful"
    first = _post(client, base, url, {"q": "guide", "sort": "useful"})
    assert first.status_code == 303
    anchor = f"#resource-{resource.id}"
    assert first.headers["location"] == f"{base}?q=guide&sort=useful&done=useful{anchor}"
    page = client.get(first.headers["location"].split("#")[0]).text
    assert "marked as useful" in page
    assert "1 found this useful" in page
    assert "✓ You found this useful" in page
    again = _post(client, base, url, {})
    assert again.headers["location"] == f"{base}?done=voted#resource-{resource.id}"
    db.expire_all()
    assert db.get(Resource, resource.id).useful_count == 1  # type: ignore[union-attr]
    votes = db.scalar(select(func.count()).select_from(ResourceVote))
    assert votes == 1


def test_your_own_link_is_not_yours_to_mark_useful(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    sharer = active_participant(db, org)
    resource = add_resource(db, org, "https://example.org/a", "A", participant=sharer)
    base = library_path(links, org, sharer)
    response = _post(client, base, f"{base}/{resource.id}/useful", {})
    assert response.headers["location"] == f"{base}?done=own#resource-{resource.id}"
    db.expire_all()
    assert db.get(Resource, resource.id).useful_count == 0  # type: ignore[union-attr]


def test_hidden_unknown_and_other_hospitals_resources_cannot_be_marked(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    reader = active_participant(db, org)
    other = Organization(slug="north", name="North", timezone="UTC")
    db.add(other)
    db.commit()
    foreign = add_resource(db, other, "https://example.org/f", "Foreign")
    hidden = add_resource(db, org, "https://example.org/h", "Hidden")
    library.set_hidden(db, org, hidden, hidden=True, actor="lead")
    db.commit()
    base = library_path(links, org, reader)
    for resource_id in (foreign.id, hidden.id, 999_999, 10**20):
        response = _post(client, base, f"{base}/{resource_id}/useful", {})
        assert response.status_code == 404
        assert response.headers["cache-control"] == "no-store"
    assert _post(client, base, f"{base}/abc/useful", {}).status_code == 422
    assert db.scalar(select(func.count()).select_from(ResourceVote)) == 0


# --- search, filters, order, pages ----------------------------------------------------------


def test_search_filters_order_and_pages(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    topic = Topic(organization_id=org.id, key="wellbeing", title="Wellbeing and burnout",
                  description="", starters=[], tags=["Burnout prevention"])
    db.add(topic)
    db.commit()
    reader = active_participant(db, org)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(23):
        add_resource(db, org, f"https://example.org/r{i}", f"Resource {i:02d}",
                     why="Ordinary read.", tags="reading", created_at=start + timedelta(days=i))
    add_resource(db, org, "https://example.org/burnout", "Recognising burnout",
                 why="Named what I felt (50% of us do).", tags="burnout prevention",
                 created_at=start, useful=5)
    add_resource(db, org, "https://example.org/chat", "From the chat", why="x",
                 topic_id=topic.id, created_at=start, useful=3)
    add_resource(db, org, "https://example.org/grants", "Grant writing 101",
                 why="Clear STEPS", tags="grant writing", created_at=start + timedelta(days=40))
    hidden = add_resource(db, org, "https://example.org/hidden", "Hidden burnout advert",
                          tags="burnout prevention", useful=50)
    library.set_hidden(db, org, hidden, hidden=True, actor="lead")
    db.commit()
    base = library_path(links, org, reader)

    def titles(query: str) -> list[str]:
        page = client.get(f"{base}?{query}")
        assert page.status_code == 200
        return re.findall(r'ugc">([^<]+)</a>', page.text)

    newest = titles("")
    assert newest[0] == "Grant writing 101" and len(newest) == library_search.PAGE_SIZE
    assert "Hidden burnout advert" not in newest
    second = titles("page=2")
    assert len(second) == 26 - library_search.PAGE_SIZE
    assert set(newest).isdisjoint(second)
    assert titles("sort=useful")[:2] == ["Recognising burnout", "From the chat"]
    assert titles("q=steps")== ["Grant writing 101"]  # case-insensitive, in "why"
    assert titles("q=burnout") == ["Recognising burnout"]
    assert titles("q=grant+101") == ["Grant writing 101"]  # every word must match
    assert titles("q=50%25") == ["Recognising burnout"]  # % is a character, not a wildcard
    assert titles("q=_") == []
    assert titles("tag=grant+writing") == ["Grant writing 101"]
    assert titles("tag=grant") == []  # tags match whole
    # A topic's resources: shared from its chats, or carrying one of its tags.
    assert sorted(titles(f"topic={topic.id}")) == ["From the chat", "Recognising burnout"]
    page = client.get(f"{base}?q=zzz")
    assert "Nothing matches your search" in page.text


def test_odd_query_strings_never_break_the_page(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    reader = active_participant(db, org)
    add_resource(db, org, "https://example.org/a", "A")
    base = library_path(links, org, reader)
    for query in ("page=abc", "page=-3", "page=99999999999", "sort=evil", "topic=abc",
                  "topic=99999", "topic=" + "9" * 30, "tag=" + "x" * 5000,
                  "q=" + "%27%22%3C" * 200, "done=<b>hi</b>"):
        page = client.get(f"{base}?{query}")
        assert page.status_code == 200, query
        assert "<b>hi</b>" not in page.text


def test_the_member_home_links_to_the_library(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    home = member_path(org, member_token(links, person))
    assert f'href="{home}/library"' in client.get(home).text
    assert "The library is empty so far" in client.get(f"{home}/library").text
