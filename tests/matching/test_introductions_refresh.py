"""Refreshing a fitted introduction ranker with a few changed profiles instead of refitting."""

from __future__ import annotations

import random

import pytest

from matching.datasets import make_hospital_cohort
from matching.introductions import IntroductionProfile, IntroductionQuery, IntroductionRanker

PROFILES = [
    IntroductionProfile("teacher", can_teach=("grant writing",), specialty="Oncology"),
    IntroductionProfile("fan", interests=("grant writing", "running"), specialty="Oncology"),
    IntroductionProfile("skin", specialty="Dermatology", can_teach=("ukulele",)),
    IntroductionProfile("heart", specialty="Cardiology", can_teach=("echocardiography",),
                        site="North Hospital"),
]
GRANT = IntroductionQuery("someone who can teach grant writing", skill="grant writing")


def _keys(ranker: IntroductionRanker, query: IntroductionQuery) -> list[object]:
    return [c.key for c in ranker.rank(query, limit=None)]


def test_an_edited_profile_is_found_for_its_new_skill_and_no_longer_for_its_old_one() -> None:
    fitted = IntroductionRanker().fit(PROFILES)
    edited = IntroductionProfile("skin", specialty="Oncology", can_teach=("grant writing",),
                                 site="North Hospital")
    refreshed = fitted.refreshed([edited])
    ranked = refreshed.rank(GRANT, limit=None)
    # Same text as "teacher": equal scores, and the fitting order (kept) breaks the tie.
    assert [c.key for c in ranked] == ["teacher", "skin", "fan"]
    assert ranked[1].skill_match and ranked[1].score == pytest.approx(ranked[0].score)
    assert _keys(refreshed, IntroductionQuery("ukulele")) == []
    at_north = IntroductionQuery(GRANT.need, skill=GRANT.skill, site="North hospital")
    assert _keys(refreshed, at_north)[0] == "skin"  # the new site counts too
    # The fitted ranker is untouched: searches running on it elsewhere see no half-update.
    assert _keys(fitted, IntroductionQuery("ukulele")) == ["skin"]
    assert _keys(fitted, GRANT) == ["teacher", "fan"]
    assert (fitted.n_refreshed_, refreshed.n_refreshed_) == (0, 1)


def test_new_people_come_last_in_the_tie_order_and_removed_people_disappear() -> None:
    fitted = IntroductionRanker().fit(PROFILES)
    newcomer = IntroductionProfile("new", can_teach=("grant writing",), specialty="Oncology",
                                   site="Riverside Clinic")
    refreshed = fitted.refreshed([newcomer], remove=["teacher", "never fitted"])
    assert _keys(refreshed, GRANT) == ["new", "fan"]
    assert refreshed.keys_ == ["fan", "skin", "heart", "new"]
    assert refreshed.rank(IntroductionQuery("grant writing", site="Riverside clinic"),
                          limit=1)[0].site_match
    assert refreshed.n_refreshed_ == 2  # the unknown key to remove does not count


def test_words_the_fitted_vocabulary_never_saw_wait_for_the_next_full_fit() -> None:
    fitted = IntroductionRanker().fit(PROFILES)
    edited = IntroductionProfile("heart", can_teach=("harpsichord restoration",))
    assert _keys(fitted.refreshed([edited]), IntroductionQuery("harpsichord")) == []
    refit = IntroductionRanker().fit([edited if p.key == "heart" else p for p in PROFILES])
    assert _keys(refit, IntroductionQuery("harpsichord")) == ["heart"]


def test_refreshing_checks_its_input() -> None:
    fitted = IntroductionRanker().fit(PROFILES)
    with pytest.raises(ValueError, match="unique"):
        fitted.refreshed([IntroductionProfile("x"), IntroductionProfile("x")])
    with pytest.raises(ValueError, match="both refreshed and removed"):
        fitted.refreshed([IntroductionProfile("fan")], remove=["fan"])
    with pytest.raises(TypeError, match="IntroductionProfile"):
        fitted.refreshed(["fan"])  # type: ignore[list-item]
    with pytest.raises(Exception, match="not fitted"):
        IntroductionRanker().refreshed([])


def _cohort_profiles(n: int) -> list[IntroductionProfile]:
    def split(text: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in text.split(";") if x.strip())

    return [
        IntroductionProfile(i, split(r["can_teach"]), r["specialty"], r["department"],
                            r["site"], split(r["interests"]), r["goals"])
        for i, r in enumerate(make_hospital_cohort(n, random_state=3))
    ]


def test_with_5_percent_of_a_hospital_edited_the_refresh_ranks_like_a_full_refit() -> None:
    profiles = _cohort_profiles(2000)
    rng = random.Random(0)
    edited = list(profiles)
    changed = rng.sample(range(len(profiles)), len(profiles) // 20)
    for i in changed:  # someone takes up another person's skills, specialty and interests
        donor = profiles[rng.randrange(len(profiles))]
        edited[i] = IntroductionProfile(i, donor.can_teach, donor.specialty, donor.department,
                                        profiles[i].site, donor.interests, profiles[i].goals)
    refreshed = IntroductionRanker().fit(profiles).refreshed([edited[i] for i in changed])
    full = IntroductionRanker().fit(edited)
    skills = sorted({s for p in profiles for s in p.can_teach})
    specialties = sorted({p.specialty for p in profiles})
    same_best = same_top3 = 0
    worst = 0.0
    for _ in range(200):
        query = IntroductionQuery(
            f"someone who can teach {rng.choice(skills)} in {rng.choice(specialties)}",
            skill=rng.choice(skills) if rng.random() < 0.5 else "",
        )
        ours, theirs = refreshed.rank(query, limit=None), full.rank(query, limit=None)
        same_best += ours[0].key == theirs[0].key
        same_top3 += {c.key for c in ours[:3]} == {c.key for c in theirs[:3]}
        relevance = {c.key: c.relevance for c in theirs}
        worst = max([worst, *(abs(c.relevance - relevance[c.key]) for c in ours
                              if c.key in relevance)])
    assert same_best >= 196 and same_top3 >= 185
    assert worst < 0.03  # relevance runs from 0.05 to about 2
