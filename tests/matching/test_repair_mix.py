"""Whole-cohort mix repairs: seat assignment, the pool programme and the mix bound."""

from __future__ import annotations

import numpy as np

from matching._mix_bound import max_mixed_groups, meeting_pools
from matching._repair3 import repair_groups_three_way
from matching._repair_mix import repair_mix_by_pools
from matching._repair_seats import repair_groups_by_seats

SLOT_W, SLOT_X, SLOT_Y, SLOT_Z = 5, 10, 20, 30


def four_cycle() -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray]:
    """Four groups meeting at W, X, Y, Z; group A (slot X) has no trainee.

    Trainee 4 (group B, free at X and Y) must join A; then B needs someone free at Y (8, from
    C, free at Y and Z), C someone free at Z (12, from D, free at Z and W) and D someone free
    at W (3, from A, free at X and W). No re-split of two or three groups keeps every window.
    """
    free = {0: [SLOT_X], 1: [SLOT_X], 2: [SLOT_X], 3: [SLOT_X, SLOT_W],
            4: [SLOT_X, SLOT_Y], 5: [SLOT_Y], 6: [SLOT_Y], 7: [SLOT_Y],
            8: [SLOT_Z, SLOT_Y], 9: [SLOT_Z], 10: [SLOT_Z], 11: [SLOT_Z],
            12: [SLOT_W, SLOT_Z], 13: [SLOT_W], 14: [SLOT_W], 15: [SLOT_W]}
    starts = np.zeros((16, 672), dtype=bool)
    for person, slots in free.items():
        starts[person, slots] = True
    senior = np.zeros(16, dtype=bool)
    senior[[0, 5, 9, 13]] = True
    trainee = np.zeros(16, dtype=bool)
    trainee[[4, 6, 10, 14]] = True
    groups = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]
    return groups, starts, senior, trainee


def window_and_mix(groups: list[list[int]], starts: np.ndarray, senior: np.ndarray,
                   trainee: np.ndarray) -> tuple[int, int]:
    windows = sum(bool(np.logical_and.reduce(starts[g], axis=0).any()) for g in groups)
    mixed = sum(bool(senior[g].any() and trainee[g].any()) for g in groups)
    return windows, mixed


def test_a_four_group_cycle_is_beyond_three_group_resplits_but_not_seats() -> None:
    groups, starts, senior, trainee = four_cycle()
    weights = np.zeros((16, 16))
    forbidden = np.zeros((16, 16), dtype=bool)
    assert window_and_mix(groups, starts, senior, trainee) == (4, 3)
    three = repair_groups_three_way(groups, starts, weights, forbidden, senior=senior,
                                    trainee=trainee)
    assert window_and_mix(three, starts, senior, trainee) == (4, 3)
    fixed = repair_groups_by_seats(groups, starts, weights, forbidden, senior=senior,
                                   trainee=trainee)
    assert window_and_mix(fixed, starts, senior, trainee) == (4, 4)
    assert sorted(len(g) for g in fixed) == [4, 4, 4, 4]
    assert sorted(x for g in fixed for x in g) == list(range(16))


def test_seats_never_group_forbidden_pairs_and_never_make_things_worse() -> None:
    groups, starts, senior, trainee = four_cycle()
    weights = np.zeros((16, 16))
    forbidden = np.zeros((16, 16), dtype=bool)
    forbidden[4, [0, 1, 2]] = forbidden[[0, 1, 2], 4] = True  # the only fix is now banned
    kept = repair_groups_by_seats(groups, starts, weights, forbidden, senior=senior,
                                  trainee=trainee)
    assert window_and_mix(kept, starts, senior, trainee) == (4, 3)
    assert not any(forbidden[a, b] for g in kept for a in g for b in g)


def test_seats_keep_windows_and_mixes_while_raising_affinity() -> None:
    rng = np.random.default_rng(0)
    groups, starts, senior, trainee = four_cycle()
    good = [[0, 1, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 3]]
    assert window_and_mix(good, starts, senior, trainee) == (4, 4)
    weights = rng.normal(size=(16, 16))
    weights = weights + weights.T
    forbidden = np.zeros((16, 16), dtype=bool)
    polished = repair_groups_by_seats(good, starts, weights, forbidden, senior=senior,
                                      trainee=trainee, rounds=10)

    def affinity(gs: list[list[int]]) -> float:
        return sum(float(weights[np.ix_(g, g)].sum()) / 2 for g in gs)

    assert window_and_mix(polished, starts, senior, trainee) == (4, 4)
    assert affinity(polished) >= affinity(good)


def two_pools() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seniors and nurses free only at X, trainees and nurses free only at Y."""
    starts = np.zeros((8, 672), dtype=bool)
    starts[[0, 1, 2, 3], SLOT_X] = True
    starts[[4, 5, 6, 7], SLOT_Y] = True
    senior = np.isin(np.arange(8), [0, 1])
    trainee = np.isin(np.arange(8), [4, 5])
    return starts, senior, trainee


def test_mix_bound_counts_only_groups_that_can_still_meet() -> None:
    starts, senior, trainee = two_pools()
    assert meeting_pools(starts, 3).sum(axis=1).tolist() == [4, 4]
    # Every group meeting: each is one whole pool, so none is mixed.
    assert max_mixed_groups(starts, senior, trainee, [4, 4], max_without_window=0) == 0
    assert max_mixed_groups(starts, senior, trainee, [4, 4], max_without_window=1) == 0
    # Giving up both windows lets both groups mix.
    assert max_mixed_groups(starts, senior, trainee, [4, 4], max_without_window=2) == 2


def test_mix_bound_reports_impossible_window_counts() -> None:
    starts, senior, trainee = two_pools()
    starts[3, SLOT_X] = False  # person 3 can make no start at all
    assert max_mixed_groups(starts, senior, trainee, [4, 4], max_without_window=0) is None


def test_pool_repair_reaches_the_mixes_the_windows_allow() -> None:
    groups, starts, senior, trainee = four_cycle()
    weights = np.zeros((16, 16))
    forbidden = np.zeros((16, 16), dtype=bool)
    assert max_mixed_groups(starts, senior, trainee, [4] * 4, max_without_window=0) == 4
    fixed = repair_mix_by_pools(groups, starts, weights, forbidden, senior=senior,
                                trainee=trainee)
    assert window_and_mix(fixed, starts, senior, trainee) == (4, 4)
    assert sorted(x for g in fixed for x in g) == list(range(16))


def test_pool_repair_leaves_groups_alone_when_nothing_better_exists() -> None:
    starts, senior, trainee = two_pools()
    groups = [[0, 1, 2, 3], [4, 5, 6, 7]]
    weights = np.zeros((8, 8))
    forbidden = np.zeros((8, 8), dtype=bool)
    assert repair_mix_by_pools(groups, starts, weights, forbidden, senior=senior,
                               trainee=trainee) is groups
