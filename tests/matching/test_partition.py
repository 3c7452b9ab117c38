"""Behaviour of the general grouping optimizer ``matching._partition``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from matching._partition import forbidden_pairs_used, partition, partition_score

MDGP_DIR = Path("/work/shared/benchmarks/mdgp/instances")


def random_weights(n: int, seed: int, *, low: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    upper = rng.uniform(low, 1.0, size=(n, n))
    return np.triu(upper, 1) + np.triu(upper, 1).T


def set_partitions(items: list[int]):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in set_partitions(rest):
        yield [[first], *smaller]
        for index in range(len(smaller)):
            yield [*smaller[:index], [first, *smaller[index]], *smaller[index + 1 :]]


def brute_force_best(weights: np.ndarray, low: int, high: int) -> float:
    n = weights.shape[0]
    return max(
        partition_score(weights, groups)
        for groups in set_partitions(list(range(n)))
        if all(low <= len(g) <= high for g in groups)
    )


def assert_is_partition(groups: list[list[int]], n: int) -> None:
    placed = sorted(i for g in groups for i in g)
    assert placed == list(range(n)), "every person must be placed exactly once"


def load_mdgp(path: Path) -> tuple[np.ndarray, list[tuple[int, int]]]:
    lines = path.read_text().split("\n")
    head = lines[0].split()
    n, group_count = int(head[0]), int(head[1])
    bounds = [(int(head[3 + 2 * g]), int(head[4 + 2 * g])) for g in range(group_count)]
    weights = np.zeros((n, n))
    for line in lines[1:]:
        if line.strip():
            i, j, d = line.split()
            weights[int(i), int(j)] = weights[int(j), int(i)] = float(d)
    return weights, bounds


# --- exact answers for tiny n ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "optimum"),
    [
        ("RanReal_n010_ds_01", 1437.807),
        ("RanReal_n012_ss_01", 956.430),
        ("RanReal_n012_ds_01", 1050.349),
        ("RanInt_n012_ds_01", 1059.0),
        ("Geo_n012_ds_01", 807.677),
    ],
)
def test_reaches_proven_optimum_on_small_mdgp_instances(name: str, optimum: float) -> None:
    path = MDGP_DIR / f"{name}.txt"
    if not path.exists():
        pytest.skip("shared MDGP instances not available")
    weights, bounds = load_mdgp(path)
    groups = partition(weights, group_bounds=bounds)
    assert [len(g) for g in groups] == [
        min(max(len(g), low), high) for g, (low, high) in zip(groups, bounds, strict=True)
    ]
    assert partition_score(weights, groups) == pytest.approx(optimum, abs=1e-3)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("n", "low", "high"), [(7, 3, 4), (9, 2, 3), (8, 3, 4)])
def test_tiny_instances_match_brute_force(seed: int, n: int, low: int, high: int) -> None:
    weights = random_weights(n, seed, low=-1.0)
    groups = partition(weights, min_size=low, max_size=high, seed=seed)
    assert_is_partition(groups, n)
    assert all(low <= len(g) <= high for g in groups)
    assert partition_score(weights, groups) == pytest.approx(brute_force_best(weights, low, high))


def test_negative_weights_prefer_more_smaller_groups() -> None:
    weights = -np.ones((24, 24))
    groups = partition(weights, min_size=3, max_size=4)
    assert sorted(len(g) for g in groups) == [3] * 8


def test_group_bounds_are_honoured_in_order() -> None:
    weights = random_weights(30, 5)
    bounds = [(2, 3), (10, 12), (4, 8), (6, 9)]
    groups = partition(weights, group_bounds=bounds, seed=1)
    assert len(groups) == len(bounds)
    assert_is_partition(groups, 30)
    for members, (low, high) in zip(groups, bounds, strict=True):
        assert low <= len(members) <= high


def test_heuristic_recovers_planted_cliques() -> None:
    # 16 people in four planted cliques of 4; the clique partition is the unique optimum.
    n = 16
    rng = np.random.default_rng(3)
    hidden = rng.permutation(n).reshape(4, 4)
    weights = rng.uniform(0.0, 0.2, size=(n, n))
    weights = (weights + weights.T) / 2
    for members in hidden:
        weights[np.ix_(members, members)] = 1.0
    groups = partition(weights)
    assert sorted(map(sorted, groups)) == sorted(sorted(m.tolist()) for m in hidden)


# --- forbidden pairs -------------------------------------------------------------------------


def planted_forbidden(n: int, sizes: list[int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights that reward forbidden pairs, and a forbidden matrix a known partition avoids."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    label = np.empty(n, dtype=int)
    start = 0
    for g, size in enumerate(sizes):
        label[order[start : start + size]] = g
        start += size
    different = label[:, None] != label[None, :]
    forbidden = different & (rng.random((n, n)) < 0.5)
    forbidden = np.triu(forbidden, 1)
    forbidden = forbidden | forbidden.T
    weights = random_weights(n, seed) + 5.0 * forbidden
    return weights, forbidden


@pytest.mark.parametrize("n", [12, 20, 33])
def test_forbidden_pairs_are_avoided_when_possible(n: int) -> None:
    sizes = [4] * (n // 4) if n % 4 == 0 else [3] * (n // 3)
    weights, forbidden = planted_forbidden(n, sizes, seed=n)
    groups = partition(weights, forbidden=forbidden, seed=0)
    assert_is_partition(groups, n)
    assert forbidden_pairs_used(forbidden, groups) == []


def test_fewest_forbidden_pairs_when_unavoidable() -> None:
    # Everyone forbidden with everyone: any partition of 6 into 3s uses 6 pairs, of 6 into a
    # 3 + 3 with max_size 6 allowed still 6, while sizes 1..6 let singletons use none.
    weights = np.ones((6, 6))
    forbidden = ~np.eye(6, dtype=bool)
    groups = partition(weights, min_size=3, max_size=6, forbidden=forbidden)
    assert len(forbidden_pairs_used(forbidden, groups)) == 6
    groups = partition(weights, min_size=1, max_size=6, forbidden=forbidden)
    assert forbidden_pairs_used(forbidden, groups) == []


def test_forbidden_beats_any_weight_in_the_heuristic_regime() -> None:
    n = 40
    weights = random_weights(n, 9)
    forbidden = np.zeros((n, n), dtype=bool)
    forbidden[0, 1] = forbidden[1, 0] = True
    weights[0, 1] = weights[1, 0] = 1e6
    groups = partition(weights, forbidden=forbidden, seed=2)
    assert forbidden_pairs_used(forbidden, groups) == []


# --- hard rules as properties ----------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=22),
    low=st.integers(min_value=1, max_value=4),
    extra=st.integers(min_value=0, max_value=2),
    seed=st.integers(min_value=0, max_value=2**31),
)
def test_every_person_once_and_sizes_in_bounds(n: int, low: int, extra: int, seed: int) -> None:
    high = low + extra
    weights = random_weights(n, seed % 1000, low=-0.5)
    if n and -(-n // high) > n // low:
        with pytest.raises(ValueError, match="no partition"):
            partition(weights, min_size=low, max_size=high)
        return
    groups = partition(weights, min_size=low, max_size=high, seed=seed)
    assert_is_partition(groups, n)
    assert all(low <= len(g) <= high for g in groups)
    assert partition(weights, min_size=low, max_size=high, seed=seed) == groups


@settings(max_examples=6, deadline=None)
@given(
    group_sizes=st.lists(st.integers(min_value=3, max_value=4), min_size=4, max_size=8),
    seed=st.integers(min_value=0, max_value=1000),
)
@example(group_sizes=[4, 4, 4, 4], seed=184)  # one tabu run ended needing a forbidden pair
def test_planted_forbidden_free_partition_is_found(group_sizes: list[int], seed: int) -> None:
    n = sum(group_sizes)
    weights, forbidden = planted_forbidden(n, group_sizes, seed)
    bounds = [(3, 4)] * len(group_sizes)
    groups = partition(weights, group_bounds=bounds, forbidden=forbidden, seed=seed)
    assert_is_partition(groups, n)
    assert all(3 <= len(g) <= 4 for g in groups)
    assert forbidden_pairs_used(forbidden, groups) == []


def test_same_seed_same_answer_with_two_processes() -> None:
    weights = random_weights(48, 11)
    first = partition(weights, seed=4)
    assert partition(weights, seed=4) == first
    assert_is_partition(first, 48)


def test_time_limited_run_returns_a_valid_partition() -> None:
    weights = random_weights(60, 12)
    groups = partition(weights, time_limit=1.5, seed=1)
    assert_is_partition(groups, 60)
    assert all(3 <= len(g) <= 4 for g in groups)


# --- scores and reporting --------------------------------------------------------------------


def test_partition_score_sums_within_group_pairs() -> None:
    weights = np.arange(16, dtype=float).reshape(4, 4)
    weights = weights + weights.T
    assert partition_score(weights, [[0, 1], [2, 3]]) == weights[0, 1] + weights[2, 3]
    assert partition_score(weights, [[0, 1, 2, 3]]) == np.triu(weights, 1).sum()


def test_forbidden_pairs_used_lists_sorted_pairs() -> None:
    forbidden = np.zeros((5, 5), dtype=bool)
    forbidden[3, 1] = forbidden[1, 3] = True
    forbidden[0, 4] = forbidden[4, 0] = True
    assert forbidden_pairs_used(forbidden, [[4, 0, 2], [3, 1]]) == [(0, 4), (1, 3)]
    assert forbidden_pairs_used(forbidden, [[0, 1], [2, 3, 4]]) == []


def test_scores_reject_people_placed_twice() -> None:
    with pytest.raises(ValueError, match="more than one"):
        partition_score(np.zeros((3, 3)), [[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="out of range"):
        partition_score(np.zeros((3, 3)), [[0, 5]])


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weights": np.zeros((5, 5))}, "5 people"),
        ({"weights": np.zeros((3, 4))}, "square"),
        ({"weights": np.array([[0.0, 1.0], [2.0, 0.0]]), "min_size": 1}, "symmetric"),
        ({"weights": np.full((6, 6), np.nan)}, "finite"),
        ({"weights": np.zeros((6, 6)), "group_bounds": [(3, 3), (4, 4)]}, "n = 6"),
        ({"weights": np.zeros((6, 6)), "group_bounds": [(3, 2), (3, 4)]}, r"group_bounds\[0\]"),
        ({"weights": np.zeros((6, 6)), "group_bounds": []}, "at least one"),
        ({"weights": np.zeros((6, 6)), "min_size": 0}, "min_size"),
        ({"weights": np.zeros((6, 6)), "min_size": 4, "max_size": 3}, "min_size"),
        ({"weights": np.zeros((6, 6)), "forbidden": np.zeros((5, 5), bool)}, "shape"),
        ({"weights": np.zeros((6, 6)), "time_limit": 0}, "time_limit"),
        ({"weights": np.zeros((6, 6)), "seed": -1}, "seed"),
    ],
)
def test_bad_input_raises_value_error_naming_the_problem(kwargs: dict, message: str) -> None:
    weights = kwargs.pop("weights")
    with pytest.raises(ValueError, match=message):
        partition(weights, **kwargs)


def test_asymmetric_forbidden_is_rejected() -> None:
    forbidden = np.zeros((6, 6), dtype=bool)
    forbidden[0, 1] = True
    with pytest.raises(ValueError, match="symmetric"):
        partition(np.zeros((6, 6)), forbidden=forbidden)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"forbidden": np.full((6, 6), 0.5)},
        {"seed": 1.5},
        {"min_size": 3.0},
        {"time_limit": "1"},
    ],
)
def test_wrong_types_raise_type_error(kwargs: dict) -> None:
    with pytest.raises(TypeError):
        partition(np.zeros((6, 6)), **kwargs)


def test_non_numeric_weights_raise_type_error() -> None:
    with pytest.raises(TypeError, match="numeric"):
        partition([["a", "b"], ["c", "d"]])
