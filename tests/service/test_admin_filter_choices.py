"""The participant table's department and site lists: one grouped query, always current."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.admin.participant_table import filter_choices
from service.models import Organization
from tests.service.test_admin_participants import BASE, add_person, signed_in


def _options(html: str, label: str) -> list[str]:
    block = html.split(f'<option value="">All {label}</option>', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)"', block)


def test_lists_are_distinct_sorted_and_skip_blank_and_deleted(
    db: Session, org: Organization
) -> None:
    add_person(db, org, "a@stmarys.example", "A", department="Surgery", site="South")
    add_person(db, org, "b@stmarys.example", "B", department="Cardiology", site="North")
    add_person(db, org, "c@stmarys.example", "C", department="Surgery", site="North")
    add_person(db, org, "d@stmarys.example", "D", department="", site="")
    gone = add_person(db, org, "e@stmarys.example", "E", department="Zoology", site="Annex")
    gone.status = "deleted"
    db.flush()

    choices = filter_choices(db, org)

    assert choices.departments == ["Cardiology", "Surgery"]
    assert choices.sites == ["North", "South"]
    assert choices.everyone == 4


def test_an_edit_shows_in_the_lists_and_the_count_at_once(
    client: TestClient, db: Session, org: Organization
) -> None:
    person = add_person(db, org, "a@stmarys.example", "Amy", department="ICU", site="North")
    add_person(db, org, "b@stmarys.example", "Bo", department="ER", site="North")
    db.commit()
    signed_in(client, db, org)
    first = client.get(BASE).text
    assert _options(first, "departments") == ["ER", "ICU"]
    assert "of 2 participants" in first

    person.department, person.site = "Oncology", "East"
    add_person(db, org, "c@stmarys.example", "Cy", department="Radiology", site="West")
    db.commit()
    second = client.get(BASE).text
    assert _options(second, "departments") == ["ER", "Oncology", "Radiology"]
    assert _options(second, "sites") == ["East", "North", "West"]
    assert "of 3 participants" in second
    # With a filter the count is the filtered one; the lists stay complete.
    filtered = client.get(BASE, params={"site": "North"}).text
    assert "of 1 participant matching" in filtered
    assert _options(filtered, "sites") == ["East", "North", "West"]
