"""Storing check-ins and follow-ups, when a group counts as met, and the round summary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.models import Feedback, MatchGroup, Membership, Round
from service.rounds.create import create_round
from service.rounds.feedback import (
    OUTCOMES,
    group_met,
    record_checkin,
    record_followup,
    round_feedback_summary,
)
from tests.service.round_fixtures import make_org
from tests.service.round_links_helpers import round_time


@dataclass
class Made:
    session: Session
    round: Round
    groups: list[tuple[MatchGroup, list[Membership]]]


@pytest.fixture
def made(app: FastAPI) -> Iterator[Made]:
    """A round of 7 people (a group of 4 and one of 3), without sending anything."""
    month, now = round_time(1)
    with app.state.sessionmaker() as session:
        org = make_org(session, people=7)
        run = create_round(
            session, app.state.settings, app.state.links, org, month, now=now, send=False
        )
        session.commit()
        groups = []
        for group in session.scalars(
            select(MatchGroup).where(MatchGroup.round_id == run.round.id).order_by(MatchGroup.id)
        ):
            members = session.scalars(
                select(Membership).where(Membership.group_id == group.id).order_by(Membership.id)
            ).all()
            groups.append((group, list(members)))
        groups.sort(key=lambda g: -len(g[1]))  # the group of 4 first
        yield Made(session, run.round, groups)


def test_a_checkin_is_stored_and_answering_again_replaces_it(made: Made) -> None:
    _, members = made.groups[0]
    first = record_checkin(made.session, members[0], met=True, rating=5, learned="  PICU tips  ")
    assert (first.met, first.rating, first.learned) == (True, 5, "PICU tips")
    again = record_checkin(made.session, members[0], met=False)
    made.session.commit()
    assert (again.met, again.rating, again.learned) == (False, None, "")
    assert made.session.scalar(select(func.count()).select_from(Feedback)) == 1


def test_checkin_and_followup_of_one_person_are_kept_apart(made: Made) -> None:
    _, members = made.groups[0]
    record_checkin(made.session, members[0], met=True, rating=4)
    record_followup(made.session, members[0], outcomes=["referral"], comment="Met the GI team")
    made.session.commit()
    kinds = made.session.scalars(select(Feedback.kind).order_by(Feedback.kind)).all()
    assert kinds == ["checkin", "followup"]


@pytest.mark.parametrize("rating", [0, 6, -1, True, 2.5, "3"])
def test_ratings_outside_one_to_five_are_refused(made: Made, rating: object) -> None:
    _, members = made.groups[0]
    with pytest.raises(InvalidInput) as caught:
        record_checkin(made.session, members[0], met=True, rating=rating)  # type: ignore[arg-type]
    assert "rating" in caught.value.fields


def test_bad_checkin_input_names_the_field(made: Made) -> None:
    _, members = made.groups[0]
    with pytest.raises(InvalidInput) as caught:
        record_checkin(made.session, members[0], met=True, learned="x" * 1001)
    assert "1000" in caught.value.fields["learned"]
    with pytest.raises(TypeError, match="met"):
        record_checkin(made.session, members[0], met="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="learned"):
        record_checkin(made.session, members[0], met=True, learned=None)  # type: ignore[arg-type]
    assert made.session.scalar(select(func.count()).select_from(Feedback)) == 0


def test_followup_outcomes_are_deduplicated_in_form_order(made: Made) -> None:
    _, members = made.groups[0]
    stored = record_followup(
        made.session, members[0], outcomes=["referral", "second_coffee", "referral"]
    )
    assert stored.outcomes == ["second_coffee", "referral"]
    assert list(OUTCOMES)[:3] == ["second_coffee", "question_answered", "referral"]


@pytest.mark.parametrize(
    ("outcomes", "message"),
    [
        ([], "at least one"),
        (["coffee"], "not one of the choices"),
        (["nothing_yet", "mentoring"], "not both"),
    ],
)
def test_bad_followup_outcomes_are_refused(made: Made, outcomes: list[str], message: str) -> None:
    _, members = made.groups[0]
    with pytest.raises(InvalidInput) as caught:
        record_followup(made.session, members[0], outcomes=outcomes)
    assert message in caught.value.fields["outcomes"]


def test_followup_outcomes_must_be_a_list(made: Made) -> None:
    _, members = made.groups[0]
    with pytest.raises(TypeError, match="outcomes"):
        record_followup(made.session, members[0], outcomes="referral")  # type: ignore[arg-type]


def test_a_group_met_when_two_members_who_stayed_say_so(made: Made) -> None:
    group, members = made.groups[1]  # the group of 3
    record_checkin(made.session, members[0], met=True)
    assert not group_met(made.session, group)
    # Someone who dropped out does not count, whatever they answered.
    members[1].status = "dropped"
    record_checkin(made.session, members[1], met=True)
    assert not group_met(made.session, group)
    record_checkin(made.session, members[2], met=False)
    assert not group_met(made.session, group)
    record_checkin(made.session, members[2], met=True)  # changed their answer
    assert group_met(made.session, group)


def test_round_summary_counts_what_the_dashboard_needs(made: Made) -> None:
    (big, four), (small, three) = made.groups
    record_checkin(made.session, four[0], met=True, rating=5, learned="Sepsis bundle tricks")
    record_checkin(made.session, four[1], met=True, rating=3)
    record_checkin(made.session, four[2], met=False)
    record_checkin(made.session, three[0], met=True, rating=4)
    record_followup(made.session, four[0], outcomes=["second_coffee", "referral"])
    record_followup(made.session, three[0], outcomes=["nothing_yet"])
    made.session.commit()
    summary = round_feedback_summary(made.session, made.round)
    assert summary["groups"] == 2 and summary["members"] == 7
    assert summary["groups_met"] == 1  # the group of 4; the group of 3 has one "yes"
    assert summary["groups_not_confirmed"] == 1 and summary["groups_without_answers"] == 0
    assert (summary["checkins"], summary["met_yes"], summary["met_no"]) == (4, 3, 1)
    assert summary["checkin_rate"] == round(4 / 7, 3)
    assert summary["rating_average"] == 4.0 and summary["ratings"] == 3
    assert summary["rating_distribution"] == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1}
    assert summary["learned_notes"] == 1
    assert summary["followups"] == 2 and summary["followups_with_outcome"] == 1
    assert summary["outcomes"]["referral"] == 1 and summary["outcomes"]["nothing_yet"] == 1
    assert set(summary["outcomes"]) == set(OUTCOMES)


def test_an_unanswered_round_summary_has_no_average(made: Made) -> None:
    summary = round_feedback_summary(made.session, made.round)
    assert summary["checkins"] == 0 and summary["rating_average"] is None
    assert summary["groups_without_answers"] == 2 and summary["groups_met"] == 0
