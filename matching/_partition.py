"""General grouping optimizer: partition people to maximize within-group pairwise weight.

This is the maximally diverse grouping problem (MDGP) with size bounds. Tiny instances
(``n <= 13``) are solved exactly by a subset DP (``_opt_exact``). Larger ones use a tabu search
on the group-sum matrix (``_opt_tabu``), or, for many small groups (>= 150 groups of at most 6),
an iterated local search that re-splits pairs of neighbouring groups exactly (``_opt_pairs``).
Two independent seeds run on two processes and the best is kept (``_opt_runner``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from matching._opt_exact import MAX_EXACT_N, exact_free_count, exact_with_bounds
from matching._opt_runner import plan_group_counts, run_search

__all__ = ["forbidden_pairs_used", "partition", "partition_score"]

#: Searches from further seeds while a result still uses a forbidden pair, for n up to
#: MAX_RESTART_N (each costs well under a second there).
FORBIDDEN_RESTARTS = 8
MAX_RESTART_N = 64

#: Share of the budget spent choosing the number of groups when the caller leaves it open.
PILOT_SHARE = 0.2


def partition(
    weights: np.ndarray,
    *,
    group_bounds: Sequence[tuple[int, int]] | None = None,
    min_size: int = 3,
    max_size: int = 4,
    forbidden: np.ndarray | None = None,
    time_limit: float | None = None,
    seed: int = 0,
) -> list[list[int]]:
    """Partition ``0..n-1`` into groups maximizing the total within-group weight.

    Parameters
    ----------
    weights : array of shape (n, n)
        Symmetric, finite pairwise weights; the diagonal is ignored.
    group_bounds : sequence of (low, high), optional
        Exactly ``len(group_bounds)`` groups, group ``g`` with ``low <= size <= high``, returned
        in this order. When given, ``min_size`` and ``max_size`` are ignored.
    min_size, max_size : int
        Size bounds used when ``group_bounds`` is None; the number of groups is then chosen by
        the optimizer (only the objective decides, not a preference for large groups).
    forbidden : bool array of shape (n, n), optional
        Symmetric; ``True`` pairs are kept apart. This is a lexicographic rule: the result first
        uses as few forbidden pairs as the search can find (zero whenever it finds a partition
        avoiding them all; exact for ``n <= 13``), then maximizes weight.
    time_limit : float, optional
        Wall-clock budget in seconds. ``None`` uses an iteration budget that scales with ``n``
        (roughly ``min(2 + n / 50, 30)`` seconds of work) and is fully deterministic.
        With a time limit the search stops at the limit (or earlier once it stagnates), so the
        result is deterministic only on a best-effort basis: it depends on machine speed.
    seed : int
        Non-negative seed; the two search processes use seeds derived from it.

    Returns
    -------
    list of list of int
        The groups (each sorted ascending). Without ``group_bounds`` the groups are ordered by
        their smallest member.

    Raises
    ------
    ValueError
        Bad matrices (not square, not symmetric, NaN/inf, wrong ``forbidden`` shape), bad
        bounds, or no partition of ``n`` people satisfying the bounds (e.g. n = 5 with sizes
        3-4).
    TypeError
        Non-numeric weights, non-boolean ``forbidden``, non-integer sizes or seed.
    """
    started = time.time()
    matrix = _validated_weights(weights)
    n = matrix.shape[0]
    banned = _validated_forbidden(forbidden, n)
    seed = _validated_seed(seed)
    if time_limit is not None:
        if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float)):
            raise TypeError(f"time_limit must be a number of seconds or None, got {time_limit!r}")
        if not math.isfinite(time_limit) or time_limit <= 0:
            raise ValueError(f"time_limit must be a positive finite number, got {time_limit!r}")
    if group_bounds is not None:
        bounds = _validated_group_bounds(group_bounds, n)
        sizes_low = np.array([low for low, _ in bounds], dtype=np.int64)
        sizes_high = np.array([high for _, high in bounds], dtype=np.int64)
    else:
        min_size, max_size = _validated_sizes(min_size, max_size, n)
    combined = _lexicographic_weights(matrix, banned, group_bounds, max_size)
    if n == 0:
        return [[] for _ in range(len(group_bounds))] if group_bounds is not None else []
    if n <= MAX_EXACT_N:
        if group_bounds is not None:
            return [sorted(g) for g in exact_with_bounds(combined, bounds)]
        return _ordered(exact_free_count(combined, min_size, max_size))
    deadline = None if time_limit is None else started + time_limit
    if group_bounds is not None:
        labels = _fewest_forbidden(
            lambda s: run_search(combined, sizes_low, sizes_high, seed=s, deadline=deadline),
            combined, banned, seed, deadline,
        )
        return [sorted(np.flatnonzero(labels == g).tolist()) for g in range(len(bounds))]
    counts = plan_group_counts(
        matrix, min_size, max_size, has_forbidden=banned is not None and bool(banned.any())
    )
    count = counts[0]
    if len(counts) > 1:
        count = _pilot_group_count(combined, counts, min_size, max_size, seed, started, deadline)
    low = np.full(count, min_size, dtype=np.int64)
    high = np.full(count, max_size, dtype=np.int64)
    best_labels = _fewest_forbidden(
        lambda s: run_search(
            combined, low, high, seed=s, deadline=deadline, work_share=1.0 - PILOT_SHARE
        ),
        combined, banned, seed, deadline,
    )
    groups = [np.flatnonzero(best_labels == g).tolist() for g in range(int(best_labels.max()) + 1)]
    return _ordered(groups)


def _fewest_forbidden(
    search: Callable[[int], np.ndarray],
    combined: np.ndarray,
    banned: np.ndarray | None,
    seed: int,
    deadline: float | None,
) -> np.ndarray:
    """The search's labels; while they still hold a forbidden pair, more searches from other
    seeds (small ``n`` only, where each costs a fraction of a second), best kept.

    Dense forbidden matrices can leave a single tabu run in a basin that needs one forbidden
    pair, although a partition without any exists (hypothesis found one at n = 16).
    """
    labels = search(seed)
    if banned is None or combined.shape[0] > MAX_RESTART_N:
        return labels
    best, best_key = labels, _forbidden_key(combined, banned, labels)
    for k in range(1, FORBIDDEN_RESTARTS + 1):
        if best_key[0] == 0 or (deadline is not None and time.time() > deadline - 1.0):
            break
        labels = search(int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))
        key = _forbidden_key(combined, banned, labels)
        if key < best_key:
            best, best_key = labels, key
    return best


def _forbidden_key(
    combined: np.ndarray, banned: np.ndarray, labels: np.ndarray
) -> tuple[int, float]:
    """(forbidden pairs used, -value): smaller is better."""
    same = labels[:, None] == labels[None, :]
    return int(np.triu(banned & same, 1).sum()), -_labels_value(combined, labels)


def _pilot_group_count(
    combined: np.ndarray,
    counts: list[int],
    min_size: int,
    max_size: int,
    seed: int,
    started: float,
    deadline: float | None,
) -> int:
    """Pick the number of groups by short single-process searches (PILOT_SHARE of the work)."""
    best_count, best_value = counts[0], -np.inf
    for index, count in enumerate(counts):
        share = None
        if deadline is not None:
            share = started + (deadline - started) * PILOT_SHARE * (index + 1) / len(counts)
        low = np.full(count, min_size, dtype=np.int64)
        high = np.full(count, max_size, dtype=np.int64)
        labels = run_search(
            combined,
            low,
            high,
            seed=seed,
            deadline=share,
            work_share=PILOT_SHARE / len(counts),
            parallel=False,
        )
        value = _labels_value(combined, labels)
        if value > best_value:
            best_count, best_value = count, value
    return best_count


def partition_score(weights: np.ndarray, groups: Iterable[Iterable[int]]) -> float:
    """Total within-group weight: sum over groups of ``weights[i, j]`` for ``i < j`` in a group."""
    matrix = _validated_weights(weights)
    total = 0.0
    for members in _validated_groups(groups, matrix.shape[0]):
        index = np.asarray(members, dtype=np.int64)
        total += float(np.triu(matrix[np.ix_(index, index)], 1).sum())
    return total


def forbidden_pairs_used(
    forbidden: np.ndarray, groups: Iterable[Iterable[int]]
) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, placed in the same group although ``forbidden[i, j]``."""
    banned = np.asarray(forbidden)
    if banned.ndim != 2 or banned.shape[0] != banned.shape[1]:
        raise ValueError(f"forbidden must be a square matrix, got shape {banned.shape}")
    banned = banned.astype(bool)
    used: list[tuple[int, int]] = []
    for members in _validated_groups(groups, banned.shape[0]):
        ordered = sorted(members)
        for a, i in enumerate(ordered):
            for j in ordered[a + 1 :]:
                if banned[i, j] or banned[j, i]:
                    used.append((i, j))
    return sorted(used)


def _ordered(groups: Iterable[Iterable[int]]) -> list[list[int]]:
    result = [sorted(int(i) for i in g) for g in groups]
    return sorted(result, key=lambda g: g[0] if g else -1)


def _labels_value(combined: np.ndarray, labels: np.ndarray) -> float:
    same = labels[:, None] == labels[None, :]
    return float(np.triu(np.where(same, combined, 0.0), 1).sum())


def _lexicographic_weights(
    matrix: np.ndarray,
    banned: np.ndarray | None,
    group_bounds: Sequence[tuple[int, int]] | None,
    max_size: int,
) -> np.ndarray:
    """Weights with a zero diagonal, forbidden pairs pushed down by a dominant penalty.

    The penalty exceeds the largest possible difference in total weight between any two
    partitions (at most ``n * (largest group - 1) * max|w|``), so one forbidden pair fewer always
    wins, while every real weight keeps its exact value.
    """
    combined = matrix.copy()
    np.fill_diagonal(combined, 0.0)
    if banned is None or not banned.any():
        return combined
    n = matrix.shape[0]
    largest = max(high for _, high in group_bounds) if group_bounds is not None else max_size
    magnitude = float(np.abs(combined).max())
    penalty = n * max(largest - 1, 1) * magnitude + 1.0
    combined[banned] -= penalty
    np.fill_diagonal(combined, 0.0)
    return combined


def _validated_weights(weights: object) -> np.ndarray:
    try:
        matrix = np.array(weights, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"weights must be a numeric (n, n) array: {error}") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"weights must be a square (n, n) matrix, got shape {matrix.shape}")
    off_diagonal = ~np.eye(matrix.shape[0], dtype=bool)
    if not np.isfinite(matrix[off_diagonal]).all():
        raise ValueError("weights must be finite: found NaN or infinity off the diagonal")
    scale = float(np.abs(matrix[off_diagonal]).max()) if matrix.shape[0] > 1 else 0.0
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-9 * max(scale, 1.0), equal_nan=True):
        raise ValueError("weights must be symmetric (weights[i, j] == weights[j, i])")
    matrix = (matrix + matrix.T) / 2.0
    np.fill_diagonal(matrix, 0.0)
    return matrix


def _validated_forbidden(forbidden: object, n: int) -> np.ndarray | None:
    if forbidden is None:
        return None
    banned = np.asarray(forbidden)
    if banned.dtype != bool:
        is_binary = np.issubdtype(banned.dtype, np.integer) and np.isin(banned, (0, 1)).all()
        if not is_binary:
            raise TypeError(f"forbidden must be a boolean (n, n) array, got dtype {banned.dtype}")
        banned = banned.astype(bool)
    if banned.shape != (n, n):
        raise ValueError(f"forbidden must have shape ({n}, {n}) like weights, got {banned.shape}")
    if not np.array_equal(banned, banned.T):
        raise ValueError("forbidden must be symmetric; pass forbidden | forbidden.T")
    banned = banned.copy()
    np.fill_diagonal(banned, False)
    return banned


def _validated_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a non-negative integer, got {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be non-negative, got {seed}")
    return int(seed)


def _as_size(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _validated_sizes(min_size: object, max_size: object, n: int) -> tuple[int, int]:
    low, high = _as_size(min_size, "min_size"), _as_size(max_size, "max_size")
    if low < 1 or high < low:
        raise ValueError(f"need 1 <= min_size <= max_size, got min_size={low}, max_size={high}")
    if n and math.ceil(n / high) > n // low:
        raise ValueError(
            f"no partition of {n} people into groups of {low}-{high} exists "
            f"(e.g. 5 people cannot form groups of 3-4)"
        )
    return low, high


def _validated_group_bounds(group_bounds: object, n: int) -> list[tuple[int, int]]:
    try:
        pairs = [tuple(pair) for pair in group_bounds]  # type: ignore[union-attr]
    except TypeError:
        raise TypeError("group_bounds must be a sequence of (low, high) pairs") from None
    if not pairs:
        raise ValueError("group_bounds must contain at least one (low, high) pair")
    bounds: list[tuple[int, int]] = []
    for index, pair in enumerate(pairs):
        if len(pair) != 2:
            raise ValueError(f"group_bounds[{index}] must be a (low, high) pair, got {pair!r}")
        low = _as_size(pair[0], f"group_bounds[{index}] low")
        high = _as_size(pair[1], f"group_bounds[{index}] high")
        if low < 1 or high < low:
            raise ValueError(f"group_bounds[{index}] needs 1 <= low <= high, got ({low}, {high})")
        bounds.append((low, high))
    total_low = sum(low for low, _ in bounds)
    total_high = sum(high for _, high in bounds)
    if not total_low <= n <= total_high:
        raise ValueError(
            f"group_bounds admit between {total_low} and {total_high} people, but n = {n}"
        )
    return bounds


def _validated_groups(groups: Iterable[Iterable[int]], n: int) -> list[list[int]]:
    seen: set[int] = set()
    result: list[list[int]] = []
    for members in groups:
        current = []
        for raw in members:
            index = _as_size(raw, "group member")
            if not 0 <= index < n:
                raise ValueError(f"group member {index} is out of range 0..{n - 1}")
            if index in seen:
                raise ValueError(f"person {index} appears in more than one place")
            seen.add(index)
            current.append(index)
        result.append(current)
    return result
