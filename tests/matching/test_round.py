"""Behaviour of a monthly round as a participant or organizer would notice it."""

from __future__ import annotations

import pytest

from matching import MatchWeights, PastGroup, Person, RoundMatcher, Topic, match_round

MONDAY_NOON = ((0, 720, 780),)
TUESDAY_NOON = ((1, 720, 780),)


def people_named(n: int, **kwargs) -> list[Person]:
    return [Person(key=f"p{i}@h.org", name=f"Person {i}", role=kwargs.get("role", "nurse"),
                   availability=kwargs.get("availability", ()), avoid=kwargs.get("avoid", {})
                   .get(i, frozenset()), priority=i in kwargs.get("priority", ()))
            for i in range(n)]


def placed_keys(result) -> list[str]:
    return sorted(k for g in result.groups for k in g.members)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_fewer_than_three_people_nobody_is_grouped_and_everyone_is_told(n: int) -> None:
    result = match_round(people_named(n), month="2026-05")
    assert result.groups == []
    assert sorted(result.unplaced) == sorted(p.key for p in people_named(n))
    assert any("at least 3" in w for w in result.warnings)


@pytest.mark.parametrize(("n", "sizes"), [(3, [3]), (4, [4]), (5, [5]), (6, [3, 3]),
                                          (7, [3, 4]), (9, [3, 3, 3]), (13, [3, 3, 3, 4])])
def test_everyone_is_placed_with_preferred_sizes(n: int, sizes: list[int]) -> None:
    result = match_round(people_named(n), month="2026-05")
    assert result.unplaced == []
    assert placed_keys(result) == sorted(p.key for p in people_named(n))
    assert sorted(len(g.members) for g in result.groups) == sizes
    if n == 5:
        assert any("one group of 5" in w for w in result.warnings)


def test_groups_of_exactly_four_leave_the_remainder_unplaced_but_never_priority_people() -> None:
    people = people_named(9, priority=set(range(8)))
    result = match_round(people, month="2026-05", min_size=4, max_size=4)
    assert result.unplaced == ["p8@h.org"]
    assert [len(g.members) for g in result.groups] == [4, 4]
    assert any("left unplaced" in w for w in result.warnings)


def test_do_not_match_lists_are_respected_in_both_directions() -> None:
    avoid = {0: frozenset({"p1@h.org", "p2@h.org", "p3@h.org"}), 5: frozenset({"p4@h.org"}),
             6: frozenset({"ghost@h.org"})}
    result = match_round(people_named(8, avoid=avoid), month="2026-05")
    together = {frozenset((a, b)) for g in result.groups for a in g.members for b in g.members}
    for a, b in [(0, 1), (0, 2), (0, 3), (4, 5)]:
        assert frozenset((f"p{a}@h.org", f"p{b}@h.org")) not in together
    assert result.stats.avoid_violations == []
    assert any("ghost@h.org" in w and "ignored" in w for w in result.warnings)


def test_unavoidable_do_not_match_is_reported() -> None:
    result = match_round(people_named(3, avoid={0: frozenset({"p1@h.org"})}), month="2026-05")
    assert result.stats.avoid_violations == [("p0@h.org", "p1@h.org")]
    assert any("do-not-match" in w for w in result.warnings)


def test_twelve_people_as_triads_get_repeat_free_rounds() -> None:
    people = people_named(12)
    history: list[PastGroup] = []
    for month in ("2026-01", "2026-02", "2026-03"):
        result = match_round(people, history=history, month=month, min_size=3, max_size=3,
                             weights=MatchWeights.equal())
        assert result.stats.repeats == []
        history += [PastGroup(month, g.members) for g in result.groups]


def test_twelve_people_in_3_to_4_switch_to_triads_rather_than_repeat() -> None:
    people = people_named(12)
    first = match_round(people, month="2026-01", weights=MatchWeights.equal())
    assert sorted(len(g.members) for g in first.groups) == [4, 4, 4]
    history = [PastGroup("2026-01", g.members) for g in first.groups]
    second = match_round(people, history=history, month="2026-02", weights=MatchWeights.equal())
    assert second.stats.repeats == []
    assert sorted(len(g.members) for g in second.groups) == [3, 3, 3, 3]


def test_unavoidable_repeats_reuse_the_oldest_pairs_and_are_reported() -> None:
    people = people_named(4)
    keys = [p.key for p in people]
    history = [PastGroup("2026-01", (keys[0], keys[1])), PastGroup("2026-01", (keys[2], keys[3])),
               PastGroup("2026-02", (keys[0], keys[2])), PastGroup("2026-02", (keys[1], keys[3])),
               PastGroup("2026-03", (keys[0], keys[3])), PastGroup("2026-03", (keys[1], keys[2]))]
    result = match_round(people, history=history, month="2026-04", min_size=2, max_size=2)
    assert sorted(result.stats.repeats) == [(keys[0], keys[1], "2026-01"),
                                            (keys[2], keys[3], "2026-01")]
    assert any("met before" in w for w in result.warnings)


def test_history_members_not_in_cohort_are_ignored_with_a_warning() -> None:
    history = [PastGroup("2026-01", ("p0@h.org", "left@h.org", "p1@h.org"))]
    result = match_round(people_named(6), history=history, month="2026-02")
    assert result.stats.repeats == []
    assert any("history member" in w for w in result.warnings)


def test_groups_share_a_meeting_time() -> None:
    people = [Person(key=f"m{i}", name=f"M{i}", role="nurse", availability=MONDAY_NOON)
              for i in range(4)]
    people += [Person(key=f"t{i}", name=f"T{i}", role="nurse", availability=TUESDAY_NOON)
               for i in range(4)]
    result = match_round(people, month="2026-05")
    assert result.stats.groups_without_common_window == 0
    assert all(g.has_common_window for g in result.groups)
    assert sorted(tuple(sorted(g.members)) for g in result.groups) == [
        ("m0", "m1", "m2", "m3"), ("t0", "t1", "t2", "t3")]


def test_each_group_mixes_seniors_and_trainees() -> None:
    people = [Person(key=f"a{i}", name=f"A{i}", role="attending") for i in range(3)]
    people += [Person(key=f"r{i}", name=f"R{i}", role="resident") for i in range(3)]
    people += [Person(key=f"n{i}", name=f"N{i}", role="nurse") for i in range(6)]
    result = match_round(people, month="2026-05")
    assert result.stats.senior_trainee_mix_share == 1.0
    for g in result.groups:
        assert any(k.startswith("a") for k in g.members)
        assert any(k.startswith("r") for k in g.members)


def test_shared_interests_bring_people_together_and_the_reason_says_so() -> None:
    sepsis = ("sepsis", "quality improvement")
    wellness = ("physician wellness", "burnout")
    people = [Person(key=f"s{i}", name=f"S{i}", role="nurse", interests=sepsis)
              for i in range(4)]
    people += [Person(key=f"w{i}", name=f"W{i}", role="nurse", interests=wellness)
               for i in range(4)]
    topics = [Topic("sep", "Sepsis care", "Early recognition of sepsis", ("a", "b", "c", "d"),
                    ("sepsis",)),
              Topic("well", "Staying well", "Physician wellness and burnout", ("x", "y", "z"),
                    ("wellness", "burnout"))]
    result = match_round(people, month="2026-05", topics=topics)
    by_first = {g.members[0][0]: g for g in result.groups}
    assert sorted(by_first) == ["s", "w"]
    assert by_first["s"].topic.key == "sep"
    assert by_first["w"].topic.key == "well"
    assert by_first["s"].starters == ("a", "b", "c")
    assert "You all listed quality improvement and sepsis" in by_first["s"].reason
    assert result.stats.mean_interest_similarity > 0.9


def test_topics_had_in_the_last_six_rounds_are_not_given_again() -> None:
    people = people_named(4)
    keys = tuple(p.key for p in people)
    topics = [Topic(f"t{k}", f"Topic {k}", "", ("a", "b", "c")) for k in range(3)]
    history = [PastGroup("2026-01", keys[:2], "t0"), PastGroup("2026-02", keys[2:], "t1")]
    result = match_round(people, history=history, month="2026-03", min_size=4, max_size=4,
                         topics=topics)
    assert result.groups[0].topic.key == "t2"


def test_same_input_and_seed_give_the_same_groups() -> None:
    people = [Person(key=f"p{i}", name=f"P{i}", role=("attending", "resident", "nurse")[i % 3],
                     interests=(("sepsis", "wellness", "teaching", "research")[i % 4],))
              for i in range(30)]
    first = RoundMatcher(random_state=3).match(people, month="2026-05")
    second = RoundMatcher(random_state=3).match(people, month="2026-05")
    assert [g.members for g in first.groups] == [g.members for g in second.groups]
    assert [g.reason for g in first.groups] == [g.reason for g in second.groups]


def test_bad_calls_raise_clear_errors() -> None:
    people = people_named(4)
    with pytest.raises(ValueError, match="duplicate participant keys: p0@h.org"):
        match_round([*people, people[0]], month="2026-05")
    with pytest.raises(TypeError, match="Person objects"):
        match_round([{"email": "x"}], month="2026-05")
    with pytest.raises(ValueError, match="YYYY-MM"):
        match_round(people, month="May")
    with pytest.raises(ValueError, match="min_size"):
        match_round(people, month="2026-05", min_size=5, max_size=4)
    with pytest.raises(TypeError, match="PastGroup"):
        match_round(people, month="2026-05", history=[("2026-01", ("a", "b"))])


def test_stats_as_dict_is_plain() -> None:
    result = match_round(people_named(7), month="2026-05")
    stats = result.stats.as_dict()
    assert stats["n_people"] == 7
    assert stats["group_sizes"] == {"3": 1, "4": 1}
    assert stats["repeats"] == []


def test_large_cohorts_are_split_into_blocks_and_still_follow_the_rules() -> None:
    people = [Person(key=f"p{i}", name=f"P{i}", role=("attending", "resident", "nurse")[i % 3],
                     interests=(("sepsis", "wellness", "teaching")[i % 3],),
                     availability=(((i % 2), 720, 780),),
                     avoid=frozenset({f"p{i + 1}"}) if i % 5 == 0 else frozenset())
              for i in range(61)]
    result = RoundMatcher(block_size=20, time_limit=0.5).match(people, month="2026-05")
    assert placed_keys(result) == sorted(p.key for p in people)
    assert all(3 <= len(g.members) <= 4 for g in result.groups)
    assert result.stats.avoid_violations == []
    # 31 Monday and 30 Tuesday people: a block boundary may leave one group without a time.
    assert result.stats.groups_without_common_window <= 1


def test_split_counts_keep_every_block_feasible() -> None:
    from matching._blocks import feasible_group_counts, split_counts

    for n, blocks in [(10_001, 9), (61, 4), (1200, 2)]:
        groups = feasible_group_counts(n, 3, 4)[0]
        plan = split_counts(n, groups, blocks, 3, 4)
        assert sum(p for p, _ in plan) == n and sum(g for _, g in plan) == groups
        assert all(3 * g <= p <= 4 * g for p, g in plan)
