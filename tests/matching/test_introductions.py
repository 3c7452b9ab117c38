"""The introduction ranker: who fits a need, in which order, and what it refuses."""

from __future__ import annotations

import random

import pytest
from sklearn.exceptions import NotFittedError

from matching.introductions import (
    IntroductionProfile,
    IntroductionQuery,
    IntroductionRanker,
    tokenize,
)

PROFILES = [
    IntroductionProfile("teacher", can_teach=("grant writing",), specialty="Oncology"),
    IntroductionProfile("fan", interests=("grant writing", "running"), specialty="Oncology"),
    IntroductionProfile("anesthesia", specialty="Anesthesiology", can_teach=("informatics",),
                        department="Department of Anesthesiology", site="North Hospital"),
    IntroductionProfile("informatics", specialty="Clinical Informatics",
                        can_teach=("Epic build",), site="Main Campus"),
    IntroductionProfile("skin", specialty="Dermatology", can_teach=("ukulele",)),
]


def _keys(query: IntroductionQuery, **kwargs: object) -> list[object]:
    ranker = IntroductionRanker().fit(PROFILES)
    return [c.key for c in ranker.rank(query, limit=None, **kwargs)]  # type: ignore[arg-type]


def test_someone_who_can_teach_it_ranks_above_someone_merely_interested() -> None:
    ranked = IntroductionRanker().fit(PROFILES).rank(
        IntroductionQuery("someone who can teach grant writing", skill="grant writing"),
        limit=None,
    )
    assert [c.key for c in ranked] == ["teacher", "fan"]
    assert ranked[0].skill_match and not ranked[1].skill_match
    assert ranked[0].score > ranked[1].score > 0


def test_an_anesthesiologist_who_moved_into_informatics() -> None:
    query = IntroductionQuery("an anesthesiologist who moved into informatics")
    assert _keys(query)[:2] == ["anesthesia", "informatics"]
    # Named as a specialty, it also matches the department: the explicit boost applies.
    [best] = IntroductionRanker().fit(PROFILES).rank(
        IntroductionQuery("informatics", specialty="anesthesiologist"), limit=1
    )
    assert best.key == "anesthesia" and best.specialty_match


def test_people_with_nothing_in_common_with_the_need_are_never_returned() -> None:
    assert _keys(IntroductionQuery("someone who restores harpsichords")) == []
    assert "skin" not in _keys(IntroductionQuery("grant writing"))
    # A matching site alone does not make someone relevant.
    assert _keys(IntroductionQuery("harpsichords", site="Main Campus")) == []


def test_site_and_met_before_reorder_equally_relevant_colleagues_without_excluding() -> None:
    twins = [
        IntroductionProfile(1, can_teach=("ultrasound",), site="Main Campus"),
        IntroductionProfile(2, can_teach=("ultrasound",), site="North Hospital"),
    ]
    ranker = IntroductionRanker().fit(twins)
    query = IntroductionQuery("point of care ultrasound", skill="ultrasound")
    assert [c.key for c in ranker.rank(query)] == [1, 2]  # tie: fitting order
    north = IntroductionQuery("ultrasound", skill="ultrasound", site="north  HOSPITAL")
    assert [c.key for c in ranker.rank(north)] == [2, 1]
    assert [c.key for c in ranker.rank(query, met=[1])] == [2, 1]
    ranked = ranker.rank(north, met=[2])
    assert [(c.key, c.met_before, c.site_match) for c in ranked] == [(1, False, False),
                                                                       (2, True, True)]


def test_a_strong_fit_already_met_still_beats_a_weak_fit_never_met() -> None:
    ranker = IntroductionRanker().fit(PROFILES)
    query = IntroductionQuery("someone who can teach grant writing", skill="grant writing")
    assert [c.key for c in ranker.rank(query, met=["teacher"], limit=None)] == ["teacher", "fan"]


def test_excluded_keys_are_never_returned_and_unknown_keys_are_ignored() -> None:
    query = IntroductionQuery("grant writing", skill="grant writing")
    assert _keys(query, exclude=["teacher", "nobody"]) == ["fan"]


def test_the_ranking_is_deterministic_and_ties_follow_the_fitting_order() -> None:
    clones = [IntroductionProfile(k, can_teach=("grant writing",)) for k in (5, 3, 9, 1)]
    ranker = IntroductionRanker().fit(clones)
    query = IntroductionQuery("grant writing")
    first = ranker.rank(query, limit=None)
    assert [c.key for c in first] == [5, 3, 9, 1]
    assert ranker.rank(query, limit=None) == first
    shuffled = clones[:]
    random.Random(1).shuffle(shuffled)
    again = IntroductionRanker().fit(shuffled).rank(query, limit=None)
    assert [c.key for c in again] == [p.key for p in shuffled]
    assert {c.score for c in again} == {c.score for c in first}


def test_limit_and_empty_organizations() -> None:
    ranker = IntroductionRanker().fit(PROFILES)
    query = IntroductionQuery("grant writing")
    assert len(ranker.rank(query, limit=1)) == 1
    assert ranker.rank(query, limit=0) == []
    assert IntroductionRanker().fit([]).rank(query) == []


def test_profiles_accept_lists_and_reject_wrong_types() -> None:
    profile = IntroductionProfile(1, can_teach=["a", "b"], interests="music")  # type: ignore[arg-type]
    assert profile.can_teach == ("a", "b") and profile.interests == ("music",)
    with pytest.raises(TypeError, match="can_teach"):
        IntroductionProfile(1, can_teach=[1])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="specialty"):
        IntroductionProfile(1, specialty=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must hold strings"):
        IntroductionRanker().fit([IntroductionProfile(1, can_teach=(1,))])  # type: ignore[arg-type]


def test_bad_input_fails_with_a_message_naming_the_problem() -> None:
    with pytest.raises(NotFittedError):
        IntroductionRanker().rank(IntroductionQuery("x"))
    with pytest.raises(ValueError, match="unique"):
        IntroductionRanker().fit([IntroductionProfile(1), IntroductionProfile(1)])
    with pytest.raises(TypeError, match="IntroductionProfile"):
        IntroductionRanker().fit([{"key": 1}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="met_penalty"):
        IntroductionRanker(met_penalty=-1).fit(PROFILES)
    with pytest.raises(ValueError, match="need, a skill or a specialty"):
        IntroductionQuery("  ", site="Main Campus")
    with pytest.raises(TypeError, match="need"):
        IntroductionQuery(None)  # type: ignore[arg-type]
    ranker = IntroductionRanker().fit(PROFILES)
    with pytest.raises(ValueError, match="limit"):
        ranker.rank(IntroductionQuery("x"), limit=-1)
    with pytest.raises(TypeError, match="IntroductionQuery"):
        ranker.rank("grant writing")  # type: ignore[arg-type]


def test_the_tokenizer_folds_case_stop_words_and_a_few_suffixes() -> None:
    assert tokenize("Pediatrician") == tokenize("pediatrics") == ("pediatric",)
    assert tokenize("Cardiologists") == tokenize("CARDIOLOGY")
    assert tokenize("someone who can teach the residents") == ("resident",)
    assert tokenize("sepsis status analysis") == ("sepsis", "status", "analysis")


def test_profiles_without_any_words_give_no_candidates_rather_than_an_error() -> None:
    ranker = IntroductionRanker().fit([IntroductionProfile(1), IntroductionProfile(2, site="X")])
    assert ranker.rank(IntroductionQuery("grant writing", site="X")) == []


def test_the_text_similarity_is_scikit_learns_sublinear_tf_idf_cosine() -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    teach = [("grant writing", "statistics"), ("grant review",), ("ultrasound", "writing"),
             ("statistics for clinicians",), ("ukulele",)]
    profiles = [IntroductionProfile(i, can_teach=t) for i, t in enumerate(teach)]
    need = "help writing my first grant, and some statistics"
    ours = IntroductionRanker(min_relevance=0).fit(profiles).rank(
        IntroductionQuery(need), limit=None
    )

    def words(doc: tuple[str, ...] | str) -> list[str]:
        return [w for text in ([doc] if isinstance(doc, str) else doc) for w in tokenize(text)]

    vectorizer = TfidfVectorizer(analyzer=words, sublinear_tf=True)
    matrix = vectorizer.fit_transform(teach)
    expected = (matrix @ vectorizer.transform([need]).T).toarray().ravel()
    got = np.zeros(len(teach))
    for candidate in ours:
        got[candidate.key] = candidate.relevance  # type: ignore[index]
    np.testing.assert_allclose(got, expected, atol=1e-12)
