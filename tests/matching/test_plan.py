"""The multi-round planner: repeat-free runs of rounds, for the matcher's small cohorts."""

from __future__ import annotations

import time
from itertools import combinations

import numpy as np
import pytest

from matching import MatchWeights, PastGroup, Person, match_round
from matching._plan import max_plan_rounds, plan_rounds


def pairs_of(groups: list[list[int]]) -> set[tuple[int, int]]:
    return {pair for g in groups for pair in combinations(sorted(g), 2)}


def assert_valid_plan(plan: list[list[list[int]]], n: int, sizes: list[int],
                      blocked: np.ndarray, later_sizes: list[int] | None = None) -> None:
    seen: set[tuple[int, int]] = set()
    for r, groups in enumerate(plan):
        expected = sizes if r == 0 or later_sizes is None else later_sizes
        assert sorted(len(g) for g in groups) == sorted(expected)
        assert sorted(x for g in groups for x in g) == list(range(n))
        pairs = pairs_of(groups)
        assert not pairs & seen, f"a pair meets twice by round {r}"
        assert not any(blocked[i, j] for i, j in pairs)
        seen |= pairs


def test_thirty_two_people_in_fours_get_seven_planned_rounds() -> None:
    blocked = np.zeros((32, 32), dtype=bool)
    plan = plan_rounds(blocked, [4] * 8, max_rounds=7, seed=0)
    assert len(plan) == 7
    assert_valid_plan(plan, 32, [4] * 8, blocked)


def test_twelve_people_in_triads_reach_the_proven_maximum_of_four() -> None:
    blocked = np.zeros((12, 12), dtype=bool)
    plan = plan_rounds(blocked, [3] * 4, max_rounds=5, max_steps=3000, seed=1)
    assert len(plan) == 4  # a fifth round is impossible (social golfer 4-3: 4 weeks)
    assert_valid_plan(plan, 12, [3] * 4, blocked)


def test_history_and_do_not_match_pairs_are_never_planned() -> None:
    rng = np.random.default_rng(3)
    blocked = np.zeros((20, 20), dtype=bool)
    for i, j in rng.choice(20, size=(25, 2)):
        if i != j:
            blocked[i, j] = blocked[j, i] = True
    plan = plan_rounds(blocked, [4] * 5, max_rounds=3, seed=0)
    assert len(plan) >= 1
    assert_valid_plan(plan, 20, [4] * 5, blocked)


def test_first_round_can_use_other_sizes_than_later_rounds() -> None:
    blocked = np.zeros((12, 12), dtype=bool)
    plan = plan_rounds(blocked, [4, 4, 4], later_sizes=[3, 3, 3, 3], max_rounds=3, seed=0)
    assert len(plan) == 3
    assert_valid_plan(plan, 12, [4, 4, 4], blocked, later_sizes=[3, 3, 3, 3])


def test_same_seed_same_plan_and_impossible_input_gives_nothing() -> None:
    blocked = np.zeros((16, 16), dtype=bool)
    first = plan_rounds(blocked, [4] * 4, max_rounds=4, seed=7)
    assert first == plan_rounds(blocked, [4] * 4, max_rounds=4, seed=7)
    everyone_met = ~np.eye(16, dtype=bool)
    assert max_plan_rounds(everyone_met, [4] * 4) == 0
    assert plan_rounds(everyone_met, [4] * 4, max_rounds=4) == []
    assert plan_rounds(blocked, [4, 4, 4], max_rounds=2) == []  # sizes do not add up to n


def test_deadline_stops_the_search_early() -> None:
    blocked = np.zeros((32, 32), dtype=bool)
    started = time.perf_counter()
    plan = plan_rounds(blocked, [4] * 8, max_rounds=10, max_steps=10**7, seed=0,
                       deadline=started + 0.5)
    assert time.perf_counter() - started < 5.0
    assert_valid_plan(plan, 32, [4] * 8, blocked)


def consecutive_clean_rounds(n: int, size: int, rounds: int, *, avoid: dict[int, int] | None
                             = None) -> tuple[int, list]:
    avoid = avoid or {}
    people = [Person(key=f"p{i}", name=f"P{i}", role="other",
                     avoid=frozenset({f"p{avoid[i]}"} if i in avoid else set()))
              for i in range(n)]
    history: list[PastGroup] = []
    results = []
    for r in range(rounds):
        month = f"2031-{r + 1:02d}"
        result = match_round(people, history=history, month=month, min_size=size,
                             max_size=size, weights=MatchWeights.equal(), random_state=0)
        results.append(result)
        if result.stats.repeats:
            return r, results
        history += [PastGroup(month, g.members) for g in result.groups]
    return rounds, results


@pytest.mark.timeout(120)
def test_thirty_two_people_in_fours_stay_repeat_free_for_seven_months() -> None:
    # The greedy month-by-month optimizer reached 6; planning rounds jointly keeps going.
    clean, results = consecutive_clean_rounds(32, 4, 7)
    assert clean == 7
    assert all(sorted(r.stats.group_sizes.items()) == [(4, 8)] for r in results)


def test_planned_months_never_group_do_not_match_pairs() -> None:
    avoid = {0: 1, 2: 3, 4: 5, 6: 7}
    clean, results = consecutive_clean_rounds(16, 4, 3, avoid=avoid)
    assert clean == 3
    for result in results:
        for group in result.groups:
            members = set(group.members)
            assert not any(f"p{a}" in members and f"p{b}" in members
                           for a, b in avoid.items())
        assert result.stats.avoid_violations == []
