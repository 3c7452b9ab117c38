"""How many groups can have a senior-trainee mix at most, given common windows.

A group has a common window exactly when all its members are free at one meeting start, so
any grouping in which at most ``w`` groups lack a window gives each other person a start
("pool") and cuts every pool into whole groups. However a pool is cut, a pool holding ``k``
groups, ``a`` seniors and ``t`` trainees has at most ``min(k, a, t)`` mixed groups (and any
cut reaching it exists). So the most mixed groups any grouping can have is the optimum of a
small integer programme over pool assignments, solved here with HiGHS
(:func:`scipy.optimize.milp`). Only maximal pools matter: moving a person from a start whose
free set is contained in another's changes nothing. Do-not-match and past pairs are ignored,
so the value is an upper bound for any grouping the matcher may return.

Used by ``bench/quality.py`` for an honest "mix where the cohort allows" share: a trainee who
shares no window with any senior cannot be in a mixed group that meets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["max_mixed_groups", "meeting_pools"]


def meeting_pools(starts: np.ndarray, min_size: int) -> np.ndarray:
    """Maximal sets of people free at one meeting start, with at least ``min_size`` people.

    Returns a bool array (pools, n); sets contained in another set are dropped.
    """
    starts = np.asarray(starts, dtype=bool)
    columns = starts.T[starts.sum(axis=0) >= min_size]
    if not len(columns):
        return np.zeros((0, starts.shape[0]), dtype=bool)
    unique = np.unique(columns, axis=0)
    counts = unique.astype(np.int32)
    inter = counts @ counts.T
    size = counts.sum(axis=1)
    contained = (inter == size[:, None]) & (size[None, :] > size[:, None])
    return unique[~contained.any(axis=1)]


def max_mixed_groups(starts: np.ndarray, senior: np.ndarray, trainee: np.ndarray,
                     sizes: Sequence[int], *, max_without_window: int,
                     time_limit: float = 60.0) -> int | None:
    """Upper bound (exact when solved) on mixed groups over all groupings with these sizes.

    Parameters
    ----------
    starts : bool array (n, slots)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    senior, trainee : bool arrays (n,)
    sizes : sequence of int
        Group sizes (summing to ``n``); groupings with the same multiset of sizes count.
    max_without_window : int
        Groupings may have at most this many groups without a common window.
    time_limit : float, default=60
        Seconds for HiGHS; if it stops early, its proven bound is returned (still an upper
        bound, possibly above the optimum).

    Returns
    -------
    int or None
        None when no grouping has at most ``max_without_window`` windowless groups.
    """
    starts = np.asarray(starts, dtype=bool)
    senior = np.asarray(senior, dtype=bool)
    trainee = np.asarray(trainee, dtype=bool)
    n = starts.shape[0]
    size_values = sorted(set(int(z) for z in sizes))
    if sum(sizes) != n or not size_values:
        raise ValueError("sizes must add up to the number of people")
    pools = np.vstack([meeting_pools(starts, size_values[0]), np.ones((1, n), dtype=bool)])
    n_pools, n_sizes = pools.shape[0], len(size_values)  # the last pool: no common window
    person, pool = np.nonzero(pools.T)
    n_x = len(person)
    off_count = n_x  # groups of each size per pool, pool-major
    off_mix = off_count + n_pools * n_sizes
    n_vars = off_mix + n_pools
    count_cols = off_count + np.arange(n_pools * n_sizes)
    count_pool = np.repeat(np.arange(n_pools), n_sizes)
    size_of = np.tile(np.asarray(size_values, dtype=np.float64), n_pools)
    mix_cols = off_mix + np.arange(n_pools)
    x = np.arange(n_x)
    rows, cols, vals, low, high = [], [], [], [], []

    def add(r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        offset = len(np.concatenate(low)) if low else 0
        rows.append(r + offset)
        cols.append(c)
        vals.append(np.asarray(v, dtype=np.float64))
        low.append(np.asarray(lo, dtype=np.float64))
        high.append(np.asarray(hi, dtype=np.float64))

    zeros, inf = np.zeros(n_pools), np.full(n_pools, np.inf)
    add(person, x, np.ones(n_x), np.ones(n), np.ones(n))  # everyone in exactly one pool
    add(np.concatenate([pool, count_pool]), np.concatenate([x, count_cols]),
        np.concatenate([np.ones(n_x), -size_of]), zeros, zeros)  # pools cut into groups
    add(np.concatenate([np.arange(n_pools), count_pool]), np.concatenate([mix_cols, count_cols]),
        np.concatenate([np.ones(n_pools), -np.ones(len(count_cols))]), -inf, zeros)
    for role in (senior, trainee):
        has = role[person]
        add(np.concatenate([np.arange(n_pools), pool[has]]), np.concatenate([mix_cols, x[has]]),
            np.concatenate([np.ones(n_pools), -np.ones(int(has.sum()))]), -inf, zeros)
    wanted = np.array([list(sizes).count(z) for z in size_values], dtype=np.float64)
    add(np.tile(np.arange(n_sizes), n_pools), count_cols, np.ones(len(count_cols)), wanted,
        wanted)  # the same number of groups of each size
    last = count_cols[count_pool == n_pools - 1]
    add(np.zeros(len(last), dtype=np.int64), last, np.ones(len(last)), np.zeros(1),
        np.array([float(max_without_window)]))
    matrix = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows),
                                                       np.concatenate(cols))),
                               shape=(len(np.concatenate(low)), n_vars))
    cost = np.zeros(n_vars)
    cost[mix_cols] = -1.0
    upper = np.ones(n_vars)
    upper[off_count:] = n
    result = milp(cost, constraints=LinearConstraint(matrix, np.concatenate(low),
                                                     np.concatenate(high)),
                  integrality=np.ones(n_vars), bounds=Bounds(np.zeros(n_vars), upper),
                  options={"disp": False, "time_limit": float(time_limit)})
    if result.status == 2:  # infeasible
        return None
    bound = getattr(result, "mip_dual_bound", None)
    if result.status == 0 and result.fun is not None:
        return int(round(-result.fun))
    if bound is not None and np.isfinite(bound):
        return int(np.floor(-bound + 1e-6))
    return None
