"""Whole-group repairs beyond pairs of groups: three-group re-splits and swap chains."""

from __future__ import annotations

import numpy as np

from matching._repair import repair_groups
from matching._repair3 import repair_groups_three_way
from matching._repair_chain import repair_groups_chain

SLOT_X, SLOT_Y, SLOT_Z = 10, 20, 30


def cyclic_cohort() -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray]:
    """Three groups of four where group A has no trainee and only a 3-cycle fixes it.

    A = 0-3 (senior + nurses, slot X; nurse 3 is also free at Z), B = 4-7 (trainee 4 free at
    X and Y, the rest at Y), C = 8-11 (slot Z; nurse 11 also free at Y). Trainee 4 must go to
    A, nurse 3 to C and nurse 11 to B: no re-split of two groups keeps both windows.
    """
    free = {0: [SLOT_X], 1: [SLOT_X], 2: [SLOT_X], 3: [SLOT_X, SLOT_Z],
            4: [SLOT_X, SLOT_Y], 5: [SLOT_Y], 6: [SLOT_Y], 7: [SLOT_Y],
            8: [SLOT_Z], 9: [SLOT_Z], 10: [SLOT_Z], 11: [SLOT_Z, SLOT_Y]}
    starts = np.zeros((12, 672), dtype=bool)
    for person, slots in free.items():
        starts[person, slots] = True
    senior = np.zeros(12, dtype=bool)
    senior[[0, 5, 8]] = True
    trainee = np.zeros(12, dtype=bool)
    trainee[[4, 6, 9]] = True
    return [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]], starts, senior, trainee


def window_and_mix(groups: list[list[int]], starts: np.ndarray, senior: np.ndarray,
                   trainee: np.ndarray) -> tuple[int, int]:
    windows = sum(bool(np.logical_and.reduce(starts[g], axis=0).any()) for g in groups)
    mixed = sum(bool(senior[g].any() and trainee[g].any()) for g in groups)
    return windows, mixed


def test_unmixed_group_is_fixed_by_a_three_group_resplit_the_pair_repair_misses() -> None:
    groups, starts, senior, trainee = cyclic_cohort()
    weights, forbidden = np.zeros((12, 12)), np.zeros((12, 12), dtype=bool)
    assert window_and_mix(groups, starts, senior, trainee) == (3, 2)
    pairwise = repair_groups(groups, starts, weights, forbidden, senior=senior, trainee=trainee)
    assert window_and_mix(pairwise, starts, senior, trainee) == (3, 2)

    fixed = repair_groups_three_way(groups, starts, weights, forbidden, senior=senior,
                                    trainee=trainee)

    assert window_and_mix(fixed, starts, senior, trainee) == (3, 3)
    assert sorted(x for g in fixed for x in g) == list(range(12))
    assert all(3 <= len(g) <= 4 for g in fixed)
    assert [0, 1, 2, 4] in fixed


def test_three_group_resplit_never_adds_a_forbidden_pair() -> None:
    groups, starts, senior, trainee = cyclic_cohort()
    forbidden = np.zeros((12, 12), dtype=bool)
    forbidden[4, 0] = forbidden[0, 4] = True  # the only fix puts trainee 4 with senior 0

    kept = repair_groups_three_way(groups, starts, np.zeros((12, 12)), forbidden,
                                   senior=senior, trainee=trainee)

    assert all(not forbidden[np.ix_(g, g)].any() for g in kept)
    assert window_and_mix(kept, starts, senior, trainee) == (3, 2)


def random_cohort(seed: int) -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray,
                                      np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 40
    starts = np.zeros((n, 672), dtype=bool)
    for person in range(n):
        starts[person, rng.choice(12, size=3, replace=False) * 8] = True
    senior, trainee = rng.random(n) < 0.3, rng.random(n) < 0.3
    trainee &= ~senior
    weights = rng.random((n, n))
    weights = weights + weights.T
    forbidden = rng.random((n, n)) < 0.05
    forbidden = forbidden | forbidden.T
    np.fill_diagonal(forbidden, False)
    groups = [list(range(k, k + 4)) for k in range(0, n, 4)]
    return groups, starts, weights, forbidden, senior, trainee


def test_repairs_never_lose_windows_or_mixes_nor_add_forbidden_pairs_and_are_seeded() -> None:
    for seed in range(3):
        groups, starts, weights, forbidden, senior, trainee = random_cohort(seed)
        before = window_and_mix(groups, starts, senior, trainee)
        forbidden_before = sum(int(forbidden[np.ix_(g, g)].sum()) for g in groups)
        for repair in (repair_groups_three_way, repair_groups_chain):
            out = repair(groups, starts, weights, forbidden, senior=senior, trainee=trainee,
                         seed=seed)
            again = repair(groups, starts, weights, forbidden, senior=senior, trainee=trainee,
                           seed=seed)
            assert out == again
            assert sorted(x for g in out for x in g) == list(range(40))
            assert all(3 <= len(g) <= 4 for g in out)
            windows, mixed = window_and_mix(out, starts, senior, trainee)
            assert (windows, mixed) >= before
            assert sum(int(forbidden[np.ix_(g, g)].sum()) for g in out) <= forbidden_before
