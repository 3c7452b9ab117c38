"""Topic choice and the human-readable reasons: fitting, fresh, spread out, and true."""

from __future__ import annotations

from matching import Person, Topic, explain_group
from matching._topics import GENERIC_STARTERS, choose_topics, starters_for

TOPICS = [
    Topic("qi", "Quality improvement", "Small tests of change on the ward", ("s1", "s2", "s3"),
          ("quality improvement", "patient safety")),
    Topic("edu", "Teaching on the wards", "Bedside teaching and feedback", ("e1", "e2", "e3"),
          ("medical education", "teaching")),
    Topic("well", "Staying well", "Burnout and wellness", ("w1",), ("wellness", "burnout")),
]


def test_topic_fits_the_groups_interests_and_skips_recent_ones() -> None:
    chosen, exhausted = choose_topics(
        ["quality improvement ; patient safety", "bedside teaching ; medical education"],
        [set(), set()], TOPICS)
    assert [t.key for t in chosen] == ["qi", "edu"]
    assert exhausted == 0
    chosen, _ = choose_topics(["quality improvement ; patient safety"], [{"qi"}], TOPICS)
    assert chosen[0].key != "qi"


def test_every_topic_recently_had_still_gives_a_topic_and_counts_it() -> None:
    chosen, exhausted = choose_topics(["wellness"], [{"qi", "edu", "well"}], TOPICS)
    assert chosen[0] is not None
    assert exhausted == 1


def test_topics_spread_when_groups_have_no_clear_fit() -> None:
    chosen, _ = choose_topics([""] * 6, [set()] * 6, TOPICS)
    assert len({t.key for t in chosen}) == 3


def test_no_catalog_means_no_topic_but_generic_starters() -> None:
    chosen, _ = choose_topics(["anything"], [set()], [])
    assert chosen == [None]
    assert starters_for(None) == GENERIC_STARTERS
    assert starters_for(TOPICS[2]) == ("w1", GENERIC_STARTERS[0], GENERIC_STARTERS[1])


def test_reason_names_shared_interest_and_teaching_match() -> None:
    patel = Person(key="patel", name="Asha Patel", role="attending", specialty="cardiology",
                   interests=("quality improvement",), can_teach=("grant writing",),
                   mentoring="offer")
    ben = Person(key="ben", name="Ben Ode", role="resident", interests=("Quality Improvement",),
                 wants_to_learn=("Grant writing",), mentoring="seek")
    cara = Person(key="cara", name="Cara Lin", role="nurse", interests=("quality improvement",),
                  wants_to_learn=("grant writing",))
    reason = explain_group([patel, ben, cara], has_common_window=True, is_new=True)
    assert reason == ("You all listed quality improvement; Dr. Asha Patel (attending, "
                      "cardiology) can teach grant writing, which two of you want to learn.")


def test_reason_uses_only_true_facts() -> None:
    a = Person(key="a", name="Ana", role="nurse", department="Nursing")
    b = Person(key="b", name="Bo", role="student", department="Surgery")
    c = Person(key="c", name="Cy", role="np_pa", department="Nursing", mentoring="offer")
    reason = explain_group([a, b, c], has_common_window=True, is_new=True)
    assert "listed" not in reason and "teach" not in reason and "looking for" not in reason
    assert "Nursing and Surgery" in reason
    bare = [Person(key=k, name=k.upper(), role="other") for k in "xyz"]
    assert explain_group(bare, has_common_window=False, is_new=True) == (
        "None of you have been in a group together before.")
    assert "common time" in explain_group(bare, has_common_window=True, is_new=True)
    assert "before" not in explain_group(bare, has_common_window=True, is_new=False)


def test_mentoring_and_partial_interest_overlap() -> None:
    m = Person(key="m", name="Dr. Mo Diaz", role="fellow", interests=("sepsis",),
               mentoring="both")
    s = Person(key="s", name="Sam", role="student", interests=("sepsis",), mentoring="seek")
    t = Person(key="t", name="Tia", role="nurse", interests=("wellness",))
    reason = explain_group([m, s, t], has_common_window=True, is_new=True)
    assert reason.startswith("Dr. Mo Diaz and Sam both listed sepsis; Dr. Mo Diaz (fellow) "
                             "offers mentoring and Sam is looking for a mentor.")
