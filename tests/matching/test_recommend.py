"""TF-IDF ranking of library resources against a chat topic."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from matching import ResourceRanker, rank_resources

LIBRARY = [
    "Excel pivot tables for rota planning. Saved me hours. excel; rota",
    "Sleep after night shifts: a practical guide. Finally slept in the day. sleep; night shifts",
    "Burnout self-assessment for clinicians. Helped me name what I felt. burnout; wellbeing",
    "Writing your first grant. Clear steps for a first NIH grant. grant writing; research",
    "Mindfulness in ten minutes between patients. Short and realistic. wellbeing; meditation",
]
WELLBEING = "Wellbeing and burnout. How do you recover after a hard week? burnout prevention"


def test_the_resources_about_the_topic_come_first() -> None:
    ranked = rank_resources(WELLBEING, LIBRARY, limit=2)
    assert ranked[0] == 2  # burnout and wellbeing
    assert set(ranked) == {2, 4}


def test_an_unrelated_topic_gets_nothing_rather_than_a_random_link() -> None:
    assert rank_resources("Point-of-care ultrasound in the ED", LIBRARY) == []


def test_limit_caps_the_number_of_results() -> None:
    assert len(rank_resources("wellbeing burnout grant night sleep", LIBRARY, limit=3)) == 3
    assert rank_resources(WELLBEING, LIBRARY, limit=1) == [2]
    assert rank_resources(WELLBEING, LIBRARY, limit=0) == []


def test_ties_keep_the_order_of_the_documents() -> None:
    # The service orders documents by "most useful, then newest" so that wins ties.
    documents = ["Coffee chats guide alpha", "Coffee chats guide bravo"]
    assert rank_resources("coffee chats", documents) == [0, 1]
    assert rank_resources("coffee chats", list(reversed(documents))) == [0, 1]


def test_fit_once_rank_many_topics() -> None:
    ranker = ResourceRanker().fit(LIBRARY)
    ranked = ranker.rank_many([WELLBEING, "Grant writing and research funding", ""], limit=2)
    assert ranked[0][0] == 2
    assert ranked[1] == [3]
    assert ranked[2] == []  # an empty query matches nothing
    assert ranker.n_documents_ == len(LIBRARY)
    scores = ranker.scores([WELLBEING])
    assert scores.shape == (1, len(LIBRARY))
    assert np.all((scores >= 0) & (scores <= 1 + 1e-9))


def test_min_score_is_a_floor() -> None:
    loose = ResourceRanker(min_score=0.0).fit(LIBRARY).rank("practical wellbeing", limit=5)
    strict = ResourceRanker(min_score=0.9).fit(LIBRARY).rank("practical wellbeing", limit=5)
    assert len(loose) >= 2
    assert strict == []


def test_accents_and_case_do_not_matter() -> None:
    assert rank_resources("RÉSUMÉ writing", ["resume writing for residents", "knitting"]) == [0]


def test_documents_without_any_usable_word_never_match() -> None:
    assert rank_resources("the", ["the and of", "", "!!!"]) == []
    assert rank_resources("anything", []) == []
    ranker = ResourceRanker().fit(["of the", ""])
    assert ranker.vectorizer_ is None
    assert ranker.scores(["x", "y"]).shape == (2, 2)


def test_it_is_a_scikit_learn_style_estimator() -> None:
    ranker = ResourceRanker(min_score=0.2)
    assert ranker.get_params()["min_score"] == 0.2
    assert "min_score=0.2" in repr(ranker)
    with pytest.raises(NotFittedError):
        ranker.rank("anything")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_score": -0.1}, "min_score"),
        ({"min_score": 1.5}, "min_score"),
        ({"min_score": True}, "min_score"),
        ({"ngram_range": (2, 1)}, "ngram_range"),
        ({"ngram_range": (0, 1)}, "ngram_range"),
    ],
)
def test_bad_parameters_are_reported_at_fit(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ResourceRanker(**kwargs).fit(LIBRARY)  # type: ignore[arg-type]


def test_bad_inputs_are_reported_clearly() -> None:
    ranker = ResourceRanker().fit(LIBRARY)
    with pytest.raises(TypeError, match="documents must be a sequence of strings"):
        ResourceRanker().fit("one long string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"documents\[1\] must be a string"):
        ResourceRanker().fit(["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="query must be a string"):
        ranker.rank(["a list"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        ranker.rank("wellbeing", limit=-1)
    with pytest.raises(ValueError, match="limit"):
        ranker.rank("wellbeing", limit=1.5)  # type: ignore[arg-type]
