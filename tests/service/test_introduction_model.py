"""The kept introduction model after profile edits: a few changed rows are refreshed at once,
many changes (or an old model) refit the whole organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from service.db import utcnow
from service.introductions import candidates
from service.models import IntroductionRequest, Organization, Participant
from tests.service.introduction_helpers import NOW, hospital, person

METHODS_NEED = "Someone who can teach research methods, ideally in oncology"


@pytest.fixture
def h(db: Session, org: Organization) -> Any:
    """The introductions test hospital plus 200 colleagues, last edited days ago: one edit is
    then 0.5% of the rows, well under the 5% that triggers a full refit."""
    found = hospital(db, org)
    for number in range(200):
        person(db, org, f"colleague{number}@stmarys.example", f"Colleague {number}",
               specialty="Cardiology", can_teach=["echocardiography"])
    db.flush()
    db.execute(update(Participant).values(updated_at=utcnow() - timedelta(days=2)))
    # The newest edit: the rows edited within seconds of it are read again with the next
    # edit (commits can come late), so it should not be everyone.
    db.execute(update(Participant).where(Participant.email == "colleague0@stmarys.example")
               .values(updated_at=utcnow() - timedelta(days=1)))
    db.commit()
    # Each test's database is new (ids may repeat on SQLite): start without a kept model.
    candidates.fitted_rankers.clear()
    return found


def _ranked(db: Session, h: Any, need: str, **fields: str) -> list[int]:
    request = IntroductionRequest(organization_id=h.org.id, requester_id=h.requester.id,
                                  need=need, **fields)
    found = candidates.rank_candidates(db, request, h.requester, now=NOW, limit=None)
    return [c.key for c in found]


def test_an_edited_profile_is_found_for_its_new_skill_right_after_the_edit(
    db: Session, h: Any
) -> None:
    assert _ranked(db, h, METHODS_NEED, skill="research methods")[0] == h.omar.id
    assert h.uma.id not in _ranked(db, h, METHODS_NEED, skill="research methods")
    h.uma.can_teach = ["research methods"]
    h.uma.specialty = "Oncology"
    db.commit()
    assert _ranked(db, h, METHODS_NEED, skill="research methods")[0] == h.uma.id
    h.gina.can_teach = ["zither"]
    db.commit()
    assert h.gina.id not in _ranked(db, h, "grant writing", skill="grant writing")
    # Both edits were refreshed into the kept model, not refitted: a word nobody had before
    # the full fit is not searchable yet.
    ranker = candidates.fitted_rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ >= 2  # edits within seconds of the newest are read again
    assert "zither" not in ranker.vocabulary_
    # A newcomer and a deleted participant are refreshed the same way.
    newcomer = person(db, h.org, "nell@stmarys.example", "Nell New",
                      can_teach=["research methods"], specialty="Oncology")
    h.uma.status = "deleted"
    db.commit()
    assert _ranked(db, h, METHODS_NEED, skill="research methods")[0] == newcomer.id
    ranker = candidates.fitted_rankers.get(db, h.org.id)
    assert h.uma.id not in ranker.index_ and ranker.n_refreshed_ >= 4


def test_more_than_5_percent_of_rows_changed_refits_the_whole_organization(
    db: Session, h: Any
) -> None:
    _ranked(db, h, METHODS_NEED)
    fitted = candidates.fitted_rankers.get(db, h.org.id)
    rows = len(fitted.keys_)
    h.gina.can_teach = ["zither"]
    db.commit()
    assert _ranked(db, h, "zither") == []  # refreshed: an unseen word waits for a refit
    assert candidates.fitted_rankers.get(db, h.org.id).n_refreshed_ >= 1
    # Edit colleagues until more than 5% of the rows changed since the full fit.
    colleagues = db.query(Participant).filter(Participant.email.like("colleague%")).all()
    for colleague in colleagues[: int(0.05 * rows)]:
        colleague.can_teach = ["bedside teaching"]
    db.commit()
    ranker = candidates.fitted_rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and ranker is not fitted
    assert _ranked(db, h, "zither") == [h.gina.id]


def test_an_hour_old_model_is_refitted_on_the_next_edit(db: Session, h: Any) -> None:
    now = [1000.0]
    rankers = candidates.FittedRankers(clock=lambda: now[0])
    rankers.get(db, h.org.id)
    h.gina.can_teach = ["zither"]
    db.commit()
    assert rankers.get(db, h.org.id).n_refreshed_ >= 1
    now[0] += 3600
    h.omar.can_teach = ["harpsichord"]
    db.commit()
    ranker = rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and {"zither", "harpsichord"} <= set(ranker.vocabulary_)


def test_a_participant_deleted_outright_is_gone_after_a_full_refit(
    db: Session, h: Any
) -> None:
    assert h.omar.id in _ranked(db, h, "grant writing")
    db.delete(h.omar)
    db.commit()
    assert h.omar.id not in _ranked(db, h, "grant writing")
    assert candidates.fitted_rankers.get(db, h.org.id).n_refreshed_ == 0
