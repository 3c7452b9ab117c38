"""Internal search engines behind ``partition``: split tables, pair search, size targets."""

from __future__ import annotations

import numpy as np
import pytest

from matching._opt_pairs import pair_search, split_table
from matching._opt_tabu import SearchBudget, greedy_start, labels_score, target_sizes
from matching._opt_worker import uses_pair_search


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
