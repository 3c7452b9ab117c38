"""Size planning and decomposition of large cohorts into compatible blocks.

A dense N x N affinity matrix does not fit at 20,000 people, so cohorts above ``block_size``
are ordered by recursive bisection along the main axis of a low-rank embedding (interests plus
coarse availability) and cut into consecutive blocks. People in one block are similar in
interests and meeting times; people in different blocks never meet, which at this scale costs
little, since each person only needs 2-3 good partners out of a thousand.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bisection_order", "feasible_group_counts", "split_counts"]


def feasible_group_counts(n: int, min_size: int, max_size: int) -> list[int]:
    """Numbers of groups ``G`` with ``G * min_size <= n <= G * max_size``, ascending."""
    if n <= 0:
        return []
    low = math.ceil(n / max_size)
    high = n // min_size
    return list(range(low, high + 1)) if low <= high else []


def bisection_order(embedding: np.ndarray, leaf_size: int) -> np.ndarray:
    """Order rows so that rows close in ``embedding`` are close in the order.

    Recursively splits at the median of the projection on the leading principal axis until
    pieces have at most ``leaf_size`` rows; deterministic (ties broken by row index).
    """
    n = embedding.shape[0]
    order: list[np.ndarray] = []
    stack = [np.arange(n)]
    while stack:
        idx = stack.pop()
        if len(idx) <= leaf_size:
            order.append(idx)
            continue
        sub = embedding[idx].astype(np.float64)
        sub = sub - sub.mean(axis=0)
        cov = sub.T @ sub
        _, vectors = np.linalg.eigh(cov)
        axis = vectors[:, -1]
        axis = axis * (1.0 if axis[np.argmax(np.abs(axis))] >= 0 else -1.0)
        proj = sub @ axis
        ranked = idx[np.lexsort((idx, proj))]
        half = len(ranked) // 2
        # Push the second half first so the first half is emitted first (stack order).
        stack.append(ranked[half:])
        stack.append(ranked[:half])
    return np.concatenate(order) if order else np.zeros(0, dtype=np.int64)


def split_counts(n: int, n_groups: int, n_blocks: int, min_size: int,
                 max_size: int) -> list[tuple[int, int]]:
    """Split ``n`` people in ``n_groups`` groups into ``n_blocks`` blocks of ``(people, groups)``.

    Groups are spread evenly over blocks, and the people so that every block stays feasible
    (``groups * min_size <= people <= groups * max_size``).
    """
    base, extra = divmod(n_groups, n_blocks)
    groups = [base + (1 if b < extra else 0) for b in range(n_blocks)]
    people = [g * min_size for g in groups]
    left = n - sum(people)
    for b in range(n_blocks):
        add = min(left, groups[b] * (max_size - min_size))
        people[b] += add
        left -= add
    if left:
        raise ValueError(f"cannot split {n} people into {n_groups} groups of "
                         f"{min_size}-{max_size}")
    # Even out people across blocks while keeping each block feasible.
    target = n / n_blocks
    for b in range(n_blocks - 1, 0, -1):
        for a in range(b):
            while (people[a] > target + 1 and people[b] < groups[b] * max_size
                   and people[a] > groups[a] * min_size):
                people[a] -= 1
                people[b] += 1
    return list(zip(people, groups, strict=True))
