"""Exact grouping for tiny instances by a layered subset dynamic programme.

Every subset ``S`` of the ``n`` people gets its within-group value ``v[S]``; the DP adds one
group per layer, ``f_{g+1}[A | S] = max f_g[A] + v[S]`` over disjoint ``A, S`` whose size fits the
layer's bounds. All ``3**n`` disjoint pairs ``(A, S)`` are enumerated once as arrays, so each
layer is a handful of vectorized NumPy operations (about 1.6 million pairs at ``n = 13``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

#: Largest ``n`` solved exactly; ``3**13`` pairs keep memory below ~40 MB and time well under 1 s.
MAX_EXACT_N = 13


@lru_cache(maxsize=4)
def _disjoint_pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """All ordered pairs of disjoint bitmasks ``(A, S)`` over ``n`` bits, via base-3 digits."""
    codes = np.arange(3**n, dtype=np.int64)
    first = np.zeros(codes.size, dtype=np.int64)
    second = np.zeros(codes.size, dtype=np.int64)
    for bit in range(n):
        digit = codes % 3
        codes //= 3
        first |= (digit == 1).astype(np.int64) << bit
        second |= (digit == 2).astype(np.int64) << bit
    first.setflags(write=False)
    second.setflags(write=False)
    return first, second


def _subset_values(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Within-subset pair sums and sizes for every bitmask."""
    n = weights.shape[0]
    masks = np.arange(1 << n, dtype=np.int64)
    members = ((masks[:, None] >> np.arange(n)) & 1).astype(np.float64)
    off_diagonal = weights - np.diag(np.diag(weights))
    values = 0.5 * np.einsum("si,si->s", members @ off_diagonal, members)
    return values, members.sum(axis=1).astype(np.int64)


def _layered_dp(
    weights: np.ndarray,
    layer_bounds: Sequence[tuple[int, int]],
    *,
    canonical: bool,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run one DP layer per entry of ``layer_bounds``; return per-layer values and choices.

    With ``canonical`` the new group must contain the lowest person not yet placed, which makes
    interchangeable groups unordered (each set partition is generated exactly once).
    """
    n = weights.shape[0]
    full_size = 1 << n
    values, sizes = _subset_values(weights)
    first, second = _disjoint_pairs(n)
    if canonical:
        lowest_free = ~first & (first + 1)
        keep = (lowest_free & second) != 0
        first, second = first[keep], second[keep]
    second_sizes = sizes[second]
    current = np.full(full_size, -np.inf)
    current[0] = 0.0
    layer_values: list[np.ndarray] = []
    layer_choices: list[np.ndarray] = []
    for low, high in layer_bounds:
        fits = (second_sizes >= low) & (second_sizes <= high)
        base = current[first[fits]]
        reachable = base > -np.inf
        pair_first = first[fits][reachable]
        pair_second = second[fits][reachable]
        candidate = base[reachable] + values[pair_second]
        target = pair_first | pair_second
        following = np.full(full_size, -np.inf)
        np.maximum.at(following, target, candidate)
        winners = candidate == following[target]
        choice = np.zeros(full_size, dtype=np.int64)
        choice[target[winners]] = pair_second[winners]
        layer_values.append(following)
        layer_choices.append(choice)
        current = following
    return layer_values, layer_choices


def _unwind(choices: Sequence[np.ndarray], n: int) -> list[list[int]]:
    mask = (1 << n) - 1
    groups: list[list[int]] = []
    for choice in reversed(choices):
        chosen = int(choice[mask])
        groups.append([i for i in range(n) if chosen >> i & 1])
        mask ^= chosen
    if mask:
        raise RuntimeError("exact DP reconstruction left people unplaced")
    groups.reverse()
    return groups


def exact_with_bounds(weights: np.ndarray, bounds: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Optimal partition with exactly ``len(bounds)`` groups, group ``g`` sized ``bounds[g]``."""
    n = weights.shape[0]
    if n == 0:
        return [[] for _ in bounds]
    layer_values, choices = _layered_dp(weights, bounds, canonical=False)
    if not np.isfinite(layer_values[-1][(1 << n) - 1]):
        raise RuntimeError("exact DP found no feasible partition")
    return _unwind(choices, n)


def exact_free_count(weights: np.ndarray, min_size: int, max_size: int) -> list[list[int]]:
    """Optimal partition into any number of groups sized ``min_size..max_size``."""
    n = weights.shape[0]
    if n == 0:
        return []
    max_groups = n // min_size
    layer_values, choices = _layered_dp(
        weights, [(min_size, max_size)] * max_groups, canonical=True
    )
    full = (1 << n) - 1
    totals = np.array([layer[full] for layer in layer_values])
    if not np.isfinite(totals).any():
        raise RuntimeError("exact DP found no feasible partition")
    group_count = int(np.argmax(totals)) + 1
    return _unwind(choices[:group_count], n)
