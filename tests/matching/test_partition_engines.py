"""Internal search engines behind ``partition``: split tables, pair search, size targets,
the searches for large groups (descent, crossover, memetic, one long tabu run)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from matching._opt_long_tabu import long_tabu_search
from matching._opt_memetic import batch_descent, crossover, memetic_search
from matching._opt_pairs import pair_search, split_table
from matching._opt_tabu import (
    SINGLE_PRECISION_MAX_WEIGHT,
    SearchBudget,
    greedy_start,
    labels_score,
    tabu_search,
    target_sizes,
)
from matching._opt_worker import (
    CHILD_ENGINE,
    LONG_RUNS_ONLY_N,
    MAIN_ENGINE,
    solve_one_seed,
    uses_pair_search,
)


@pytest.mark.parametrize(
    ("size_g", "size_h", "expected"),
    [(4, 4, 70), (4, 3, 70), (3, 3, 20)],
)
def test_split_tables_list_every_labelled_split_once(size_g, size_h, expected) -> None:
    sides, _, together = split_table(size_g, size_h, 3, 4)
    assert sides.shape == (expected, size_g + size_h)
    assert len({row.tobytes() for row in sides}) == expected
    assert sides[0].tolist() == [True] * size_g + [False] * size_h
    sizes = sides.sum(axis=1)
    assert np.all((sizes >= 3) & (sizes <= 4))
    m = size_g + size_h
    assert together.shape == (m * (m - 1) // 2, expected)


def product_like(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, 5))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    weights = vectors @ vectors.T
    np.fill_diagonal(weights, 0.0)
    return weights


def test_pair_search_keeps_sizes_and_beats_greedy() -> None:
    n, groups = 600, 150
    weights = product_like(n, 1)
    assert uses_pair_search(np.full(groups, 3), np.full(groups, 4))
    budget = SearchBudget(deadline=None, max_iterations=100, stall_iterations=100)
    labels, score = pair_search(weights, 3, 4, groups, np.random.default_rng(0), budget)
    sizes = np.bincount(labels, minlength=groups)
    assert sizes.sum() == n and sizes.min() >= 3 and sizes.max() <= 4
    assert score == pytest.approx(labels_score(weights, labels))
    start = greedy_start(
        weights,
        target_sizes(np.full(groups, 3), np.full(groups, 4), n, 1.0),
        np.random.default_rng(0),
    )
    assert score > labels_score(weights, start) * 1.2
    again, _ = pair_search(weights, 3, 4, groups, np.random.default_rng(0), budget)
    assert np.array_equal(labels, again), "same seed and iteration budget must repeat exactly"


def test_target_sizes_push_sizes_to_bounds_for_positive_weights() -> None:
    lower, upper = np.array([2, 2, 2]), np.array([6, 6, 6])
    sizes = target_sizes(lower, upper, 10, mean_weight=1.0)
    assert sorted(sizes.tolist()) == [2, 2, 6]
    balanced = target_sizes(lower, upper, 10, mean_weight=-1.0)
    assert sorted(balanced.tolist()) == [3, 3, 4]


def mdgp_like(n: int, seed: int) -> np.ndarray:
    """Random integer distances 0-100, like the MDGPLIB RanInt instances."""
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.integers(0, 101, size=(n, n)).astype(float), 1)
    return upper + upper.T


def test_batch_descent_reaches_a_swap_local_optimum_with_the_same_sizes() -> None:
    n, groups = 90, 6
    weights = mdgp_like(n, 2)
    start = greedy_start(weights, np.full(groups, 15), np.random.default_rng(0))
    labels = batch_descent(weights, start, deadline=None)
    assert np.array_equal(np.bincount(labels, minlength=groups), np.full(groups, 15))
    assert labels_score(weights, labels) > labels_score(weights, start)
    for i in range(n):
        for j in range(i + 1, n):
            if labels[i] != labels[j]:
                swapped = labels.copy()
                swapped[i], swapped[j] = labels[j], labels[i]
                assert labels_score(weights, swapped) <= labels_score(weights, labels) + 1e-6


def test_crossover_keeps_what_both_parents_share_and_the_first_parents_sizes() -> None:
    weights = mdgp_like(12, 3)
    first = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    # Same groups as ``first`` up to relabelling, except persons 3 and 4 traded places.
    second = np.array([2, 2, 2, 1, 2, 0, 0, 0, 1, 1, 1, 1])
    child = crossover(weights, first, second, 3, np.random.default_rng(0))
    assert np.array_equal(np.bincount(child, minlength=3), [4, 4, 4])
    shared = [0, 1, 2, 5, 6, 7, 8, 9, 10, 11]
    assert np.array_equal(child[shared], first[shared])


@pytest.mark.parametrize("search", [memetic_search, long_tabu_search])
def test_large_group_engines_respect_bounds_beat_greedy_and_repeat_for_a_seed(
    search: Callable[..., tuple[float, np.ndarray]],
) -> None:
    n = 120
    weights = mdgp_like(n, 4)
    lower = np.array([8, 10, 12, 9, 10, 11, 8, 10, 12, 9])
    upper = np.array([14, 13, 15, 12, 16, 13, 12, 14, 15, 13])
    sizes = target_sizes(lower, upper, n, mean_weight=50.0)

    def run() -> tuple[float, np.ndarray]:
        return search(weights, lower, upper, sizes, np.random.default_rng(5), None, 6000)

    score, labels = run()
    counts = np.bincount(labels, minlength=lower.size)
    assert np.all(counts >= lower) and np.all(counts <= upper)
    assert score == pytest.approx(labels_score(weights, labels))
    greedy = labels_score(weights, greedy_start(weights, sizes, np.random.default_rng(5)))
    assert score > greedy * 1.05
    again_score, again = run()
    assert again_score == score and np.array_equal(labels, again)


@pytest.mark.parametrize(
    ("n", "engine", "search"),
    [
        (120, MAIN_ENGINE, memetic_search),
        (120, CHILD_ENGINE, memetic_search),
        (150, MAIN_ENGINE, long_tabu_search),
        (150, CHILD_ENGINE, memetic_search),
        (LONG_RUNS_ONLY_N, MAIN_ENGINE, long_tabu_search),
        (LONG_RUNS_ONLY_N, CHILD_ENGINE, long_tabu_search),
    ],
)
def test_large_groups_use_memetic_up_to_the_full_neighbourhood_then_both_then_long_runs(
    n, engine, search
) -> None:
    weights = mdgp_like(n, 6)
    lower, upper = np.full(10, n // 10 - 2), np.full(10, n // 10 + 2)
    seed_words = (1, 2, 3, 4)
    score, labels = solve_one_seed(weights, lower, upper, seed_words, None, 500, engine)
    rng = np.random.default_rng(np.random.SeedSequence(seed_words))
    sizes = target_sizes(lower, upper, n, float(weights.sum() / (n * (n - 1))))
    expected_score, expected = search(weights, lower, upper, sizes, rng, None, 500)
    assert score == expected_score and np.array_equal(labels, expected)


def test_long_tabu_search_needs_a_budget() -> None:
    weights = mdgp_like(30, 7)
    bounds = np.full(3, 10)
    with pytest.raises(ValueError, match="budget"):
        long_tabu_search(weights, bounds, bounds, bounds, np.random.default_rng(0), None, None)


def test_single_precision_tabu_returns_exact_scores_and_keeps_double_for_large_weights() -> None:
    n = 150
    weights = mdgp_like(n, 8)
    lower, upper = np.full(10, 13), np.full(10, 17)
    start = greedy_start(weights, np.full(10, 15), np.random.default_rng(1))
    budget = SearchBudget(None, 400, 10**9)

    def run(matrix: np.ndarray, single: bool) -> tuple[np.ndarray, float, int]:
        rng = np.random.default_rng(2)
        return tabu_search(matrix, lower, upper, start, rng, budget, single_precision=single)

    labels, score, _ = run(weights, True)
    counts = np.bincount(labels, minlength=10)
    assert np.all(counts >= lower) and np.all(counts <= upper)
    assert score == labels_score(weights, labels) > labels_score(weights, start)
    # Weights like partition's forbidden-pair penalties would lose precision in float32.
    large = weights * (2 * SINGLE_PRECISION_MAX_WEIGHT / 100.0)
    single_labels, single_score, _ = run(large, True)
    double_labels, double_score, _ = run(large, False)
    assert single_score == double_score and np.array_equal(single_labels, double_labels)
