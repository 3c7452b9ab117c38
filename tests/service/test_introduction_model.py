"""The kept introduction model after profile edits: a few changed rows are refreshed at once,
many changes (or an old model) refit the whole organization in the background while searches
go on with the refreshed model; web workers fit their organizations when they start."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from matching.introductions import IntroductionRanker
from service.config import Settings
from service.db import utcnow
from service.introductions import candidates, fitted
from service.introductions.fitted import FittedRankers, fit_in_process
from service.main import create_app
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


def test_more_than_5_percent_of_rows_changed_refits_the_whole_organization_in_the_background(
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
    edited = colleagues[: int(0.05 * rows)]
    for colleague in edited:
        colleague.can_teach = ["research methods"]
    db.commit()
    # The search that finds the refit due is answered at once, with every edit refreshed...
    serving = candidates.fitted_rankers.get(db, h.org.id)
    assert serving.n_refreshed_ > 0.05 * rows
    assert edited[0].id in _ranked(db, h, METHODS_NEED, skill="research methods")
    # ...while the whole organization is refitted in a thread of its own.
    assert candidates.fitted_rankers.wait(timeout=180)
    ranker = candidates.fitted_rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and ranker is not fitted
    assert _ranked(db, h, "zither") == [h.gina.id]


def test_an_organization_changed_beyond_a_quarter_is_refitted_before_the_search(
    db: Session, h: Any
) -> None:
    _ranked(db, h, METHODS_NEED)
    colleagues = db.query(Participant).filter(Participant.email.like("colleague%")).all()
    for colleague in colleagues[:60]:  # an import rewrote more than a quarter of the rows
        colleague.can_teach = ["zither"]
    db.commit()
    assert colleagues[0].id in _ranked(db, h, "zither")
    assert candidates.fitted_rankers.get(db, h.org.id).n_refreshed_ == 0


def test_without_background_refits_the_search_that_finds_one_due_refits(
    db: Session, h: Any
) -> None:
    rankers = FittedRankers(background=False, max_changed_share=0.0)
    rankers.get(db, h.org.id)
    h.gina.can_teach = ["zither"]
    db.commit()
    ranker = rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and "zither" in ranker.vocabulary_


def test_an_hour_old_model_is_refitted_on_the_next_edit(db: Session, h: Any) -> None:
    now = [1000.0]
    rankers = FittedRankers(clock=lambda: now[0])
    rankers.get(db, h.org.id)
    h.gina.can_teach = ["zither"]
    db.commit()
    assert rankers.get(db, h.org.id).n_refreshed_ >= 1
    now[0] += 3600
    h.omar.can_teach = ["harpsichord"]
    db.commit()
    assert rankers.get(db, h.org.id).n_refreshed_ >= 2  # served refreshed meanwhile
    assert rankers.wait(timeout=180)
    ranker = rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and {"zither", "harpsichord"} <= set(ranker.vocabulary_)


def test_a_participant_deleted_outright_is_never_offered_and_gone_after_the_refit(
    db: Session, h: Any
) -> None:
    assert h.omar.id in _ranked(db, h, "grant writing")
    omar = h.omar.id
    db.delete(h.omar)
    db.commit()
    assert omar not in _ranked(db, h, "grant writing")  # who may be asked is read fresh
    assert candidates.fitted_rankers.wait(timeout=180)
    ranker = candidates.fitted_rankers.get(db, h.org.id)
    assert ranker.n_refreshed_ == 0 and omar not in ranker.index_


def test_warm_fits_the_biggest_organizations_so_the_first_search_fits_nothing(
    db: Session, h: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    rankers = FittedRankers()
    assert rankers.warm(engine) >= 1
    fits: list[int] = []
    real_fit = IntroductionRanker.fit
    monkeypatch.setattr(IntroductionRanker, "fit",
                        lambda self, profiles: fits.append(1) or real_fit(self, profiles))
    first = rankers.get(db, h.org.id)
    assert fits == [] and h.omar.id in first.index_


def test_a_search_during_the_first_fit_waits_for_it_instead_of_fitting_again(
    db: Session, h: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.get_bind()
    assert isinstance(engine, Engine)
    rankers = FittedRankers()
    fits: list[int] = []
    real_fit = IntroductionRanker.fit

    def slow_fit(self: IntroductionRanker, profiles: Any) -> IntroductionRanker:
        fits.append(1)
        time.sleep(0.5)  # long enough for the search below to arrive mid-fit
        return real_fit(self, profiles)

    monkeypatch.setattr(IntroductionRanker, "fit", slow_fit)
    warmed: list[int] = []
    warming = threading.Thread(target=lambda: warmed.append(rankers.warm(engine, limit=1)))
    warming.start()
    time.sleep(0.2)
    ranker = rankers.get(db, h.org.id)  # the biggest organization, fitting right now
    warming.join()
    assert warmed == [1] and len(fits) == 1 and h.omar.id in ranker.index_


def test_a_web_worker_fits_the_rankers_when_it_starts(
    db: Session, h: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(settings.model_copy(update={"introductions_warm_up": True}))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        fits: list[int] = []
        real_fit = IntroductionRanker.fit
        monkeypatch.setattr(IntroductionRanker, "fit",
                            lambda self, profiles: fits.append(1) or real_fit(self, profiles))
        assert h.omar.id in _ranked(db, h, "grant writing")
        assert fits == []


def test_a_failed_refit_is_reported_and_the_kept_model_goes_on_serving(
    db: Session, h: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(RuntimeError, match="the refit process failed: OperationalError"):
        fit_in_process(f"sqlite:///{tmp_path}/missing/folder/coffee.db", h.org.id)
    now = [1000.0]
    rankers = FittedRankers(clock=lambda: now[0])
    kept = rankers.get(db, h.org.id)
    now[0] += 3600
    h.gina.can_teach = ["research methods"]
    db.commit()
    real_fit = fitted.fit_in_process

    def broken(url: str, org_id: int) -> Any:
        return real_fit(f"sqlite:///{tmp_path}/missing/folder/coffee.db", org_id)

    monkeypatch.setattr(fitted, "fit_in_process", broken)  # the database went away
    serving = rankers.get(db, h.org.id)
    assert rankers.wait(timeout=180)
    assert "refitting organization" in caplog.text
    assert serving.n_refreshed_ > kept.n_refreshed_
    assert rankers.get(db, h.org.id) is serving  # still the refreshed model, still searchable
