"""Mix repair by pools: reach 95% of the senior-trainee mixes the cohort allows, exactly.

Local repairs stop where a mix needs several groups to change at once; on sparse
availability that is common (a night-shift pool with nurses and residents but no senior).
:mod:`matching._mix_bound` computes how many groups could be mixed at most without losing a
common window. When the grouping is below ``share`` (95%) of that, this pass solves a small
integer programme over the same "pools" (sets of people free at one meeting start): each
current group is kept as it is or released; released people join pools they are free in (or
the pool of groups without a window), each pool is cut into groups of the sizes chosen, the
count of groups of each size is unchanged, no fewer groups have a common window than now, and
at least the target number of groups are mixed. It minimizes what is given up: released
groups, weighted by their affinity so weak groups go first. Released people are then regrouped
within their pool by :func:`matching.partition` on the affinity, and each pool's mixes are set
by the pair re-split (any split of a pool keeps its meeting start).

Without a time limit the programme is deterministic (HiGHS is). The result is used only when
it is better on (forbidden pairs, groups without a window, unmixed groups); otherwise the
input list itself is returned.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from ._mix_bound import max_mixed_groups, meeting_pools
from ._partition import forbidden_pairs_used, partition
from ._repair import repair_groups

__all__ = ["fewest_groups_without_window", "repair_mix_by_pools"]

#: Cost of releasing a group: one, plus this much for the cohort's strongest group (scaled
#: by its affinity), so strong groups are kept unless nothing else reaches the target. Tuned
#: on the 200-person bench cohort (seed 1): 4-24 all reach the target; the interest
#: similarity after regrouping moved between 1.95x and 2.14x random with it (24 best).
_RELEASE_AFFINITY = 24.0


def _quality(groups: list[list[int]], starts: np.ndarray, forbidden: np.ndarray,
             senior: np.ndarray, trainee: np.ndarray) -> tuple[int, int, int]:
    used = len(forbidden_pairs_used(forbidden, groups)) if forbidden.any() else 0
    no_window = sum(not np.logical_and.reduce(starts[g], axis=0).any() for g in groups)
    no_mix = sum(not (senior[g].any() and trainee[g].any()) for g in groups)
    return int(used), int(no_window), int(no_mix)


class _Programme:
    """Sparse rows of the integer programme, added block by block."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.low: list[np.ndarray] = []
        self.high: list[np.ndarray] = []
        self.count = 0

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, low: np.ndarray,
            high: np.ndarray) -> None:
        self.rows.append(np.asarray(rows) + self.count)
        self.cols.append(np.asarray(cols))
        self.vals.append(np.asarray(vals, dtype=np.float64))
        self.low.append(np.asarray(low, dtype=np.float64))
        self.high.append(np.asarray(high, dtype=np.float64))
        self.count += len(low)

    def constraint(self, n_vars: int) -> LinearConstraint:
        matrix = sparse.csr_matrix((np.concatenate(self.vals), (np.concatenate(self.rows),
                                                                np.concatenate(self.cols))),
                                   shape=(self.count, n_vars))
        return LinearConstraint(matrix, np.concatenate(self.low), np.concatenate(self.high))


def _plan(groups: list[list[int]], pools: np.ndarray, window: np.ndarray, mixed: np.ndarray,
          release: np.ndarray, senior: np.ndarray, trainee: np.ndarray, sizes: list[int],
          min_windows: int, target: int, time_limit: float | None
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(kept groups, pool per person or -1, groups per pool and size), or None."""
    n = pools.shape[1]
    n_groups, n_pools, n_sizes = len(groups), pools.shape[0] + 1, len(sizes)  # last: no window
    owner = np.empty(n, dtype=np.int64)
    for g, members in enumerate(groups):
        owner[members] = g
    person, pool = np.nonzero(np.vstack([pools, np.ones((1, n), dtype=bool)]).T)
    n_x = len(person)
    off_keep, off_count = n_x, n_x + n_groups  # then groups per pool and size, pool-major
    off_mix = off_count + n_pools * n_sizes
    n_vars = off_mix + n_pools
    x = np.arange(n_x)
    keep_cols = off_keep + np.arange(n_groups)
    count_cols = off_count + np.arange(n_pools * n_sizes)
    count_pool = np.repeat(np.arange(n_pools), n_sizes)
    mix_cols = off_mix + np.arange(n_pools)
    zeros, inf, ones = np.zeros(n_pools), np.full(n_pools, np.inf), np.ones(n_pools)
    prog = _Programme()
    # Each person: kept with their group, or in one pool.
    prog.add(np.concatenate([person, np.arange(n)]), np.concatenate([x, off_keep + owner]),
             np.ones(n_x + n), np.ones(n), np.ones(n))
    # A pool's head-count is cut into groups.
    prog.add(np.concatenate([pool, count_pool]), np.concatenate([x, count_cols]),
             np.concatenate([np.ones(n_x), -np.tile(np.asarray(sizes, float), n_pools)]),
             zeros, zeros)
    # A pool's mixed groups <= its groups, its seniors, its trainees.
    prog.add(np.concatenate([np.arange(n_pools), count_pool]),
             np.concatenate([mix_cols, count_cols]),
             np.concatenate([ones, -np.ones(len(count_cols))]), -inf, zeros)
    for role in (senior, trainee):
        has = role[person]
        prog.add(np.concatenate([np.arange(n_pools), pool[has]]),
                 np.concatenate([mix_cols, x[has]]),
                 np.concatenate([ones, -np.ones(int(has.sum()))]), -inf, zeros)
    # The same number of groups of each size.
    group_size = np.array([len(g) for g in groups])
    wanted = np.array([(group_size == z).sum() for z in sizes], dtype=np.float64)
    prog.add(np.concatenate([np.searchsorted(sizes, group_size),
                             np.tile(np.arange(n_sizes), n_pools)]),
             np.concatenate([keep_cols, count_cols]),
             np.ones(n_groups + len(count_cols)), wanted, wanted)
    # At least ``min_windows`` groups with a common window and ``target`` mixed groups.
    windowed = count_cols[count_pool < n_pools - 1]
    prog.add(np.zeros(n_groups + len(windowed), dtype=np.int64),
             np.concatenate([keep_cols, windowed]),
             np.concatenate([window.astype(float), np.ones(len(windowed))]),
             [float(min_windows)], [np.inf])
    prog.add(np.zeros(n_groups + n_pools, dtype=np.int64), np.concatenate([keep_cols, mix_cols]),
             np.concatenate([mixed.astype(float), ones]), [float(target)], [np.inf])
    cost = np.zeros(n_vars)
    cost[keep_cols] = -release  # minimize released weight = total minus kept weight
    upper = np.ones(n_vars)
    upper[off_count:] = n
    options: dict[str, bool | float] = {"disp": False, "presolve": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    result = milp(cost, constraints=prog.constraint(n_vars), integrality=np.ones(n_vars),
                  bounds=Bounds(np.zeros(n_vars), upper), options=options)
    if result.x is None:
        return None
    solution = np.round(result.x).astype(np.int64)
    chosen = solution[:n_x].astype(bool)
    assigned = np.full(n, -1, dtype=np.int64)
    assigned[person[chosen]] = pool[chosen]
    return (solution[keep_cols].astype(bool), assigned,
            solution[off_count:off_mix].reshape(n_pools, n_sizes))


def fewest_groups_without_window(starts: np.ndarray, senior: np.ndarray, trainee: np.ndarray,
                                 sizes: list[int], *, at_most: int,
                                 time_limit: float | None = None) -> tuple[int, int | None]:
    """The fewest groups without a common window any grouping with these sizes can have (up
    to ``at_most``), and the most mixed groups possible then (``matching._mix_bound``; both
    ignore forbidden pairs). ``(at_most, None)`` when the programme finds nothing below."""
    limit = 60.0 if time_limit is None else time_limit
    for without in range(at_most + 1):
        bound = max_mixed_groups(starts, senior, trainee, sizes, max_without_window=without,
                                 time_limit=limit)
        if bound is not None:
            return without, bound
    return at_most, None


def repair_mix_by_pools(groups: list[list[int]], starts: np.ndarray, weights: np.ndarray,
                        forbidden: np.ndarray, *, senior: np.ndarray, trainee: np.ndarray,
                        min_size: int = 3, share: float = 0.95,
                        max_without_window: int | None = None, seed: int = 0,
                        time_limit: float | None = None) -> list[list[int]]:
    """Release as little as possible to mix ``share`` of what the cohort allows; never worse.

    Parameters
    ----------
    groups : list of list of int
        Local indices ``0..n-1``; the number of groups of each size is kept.
    starts : bool array (n, 672)
        Meeting-start vectors (see :func:`matching.start_matrix`).
    weights : float array (n, n)
        Affinity: which groups to keep, and how released people are regrouped.
    forbidden : bool array (n, n)
        Pairs the regrouping keeps apart (a plan that cannot is dropped).
    senior, trainee : bool arrays (n,)
    min_size : int, default=3
    share : float, default=0.95
        Target share of the most mixed groups possible with no more groups lacking a window.
    max_without_window : int, optional
        Also bring the groups without a common window down to this many (e.g. the fewest
        possible, :func:`fewest_groups_without_window`); None: no more than now.
    seed : int, default=0
        Seed of the regrouping optimizer.
    time_limit : float, optional
        Seconds for each integer programme; None: solved to the end (deterministic).

    Returns
    -------
    list of list of int
        ``groups`` itself when nothing better was found.
    """
    given = groups
    groups = [sorted(int(x) for x in g) for g in groups]
    senior, trainee = np.asarray(senior, bool), np.asarray(trainee, bool)
    before = _quality(groups, starts, forbidden, senior, trainee)
    sizes = sorted({len(g) for g in groups})
    if len(groups) < 2 or sizes[0] < 2:
        return given
    without = before[1] if max_without_window is None else min(before[1], max_without_window)
    if without == before[1] and not before[2]:
        return given
    bound = max_mixed_groups(starts, senior, trainee, [len(g) for g in groups],
                             max_without_window=without,
                             time_limit=60.0 if time_limit is None else time_limit)
    if bound is None:  # fewer windowless groups than possible were asked for
        return given
    target = math.ceil(share * bound) if bound else 0
    if without == before[1] and len(groups) - before[2] >= target:
        return given
    window = np.array([np.logical_and.reduce(starts[g], axis=0).any() for g in groups])
    mixed = np.array([senior[g].any() and trainee[g].any() for g in groups])
    affinity = np.array([float(weights[np.ix_(g, g)].sum()) / 2.0 for g in groups])
    spread = max(float(np.ptp(affinity)), 1e-9)
    release = 1.0 + _RELEASE_AFFINITY * (affinity - affinity.min()) / spread
    plan = _plan(groups, meeting_pools(starts, sizes[0]), window, mixed, release, senior,
                 trainee, sizes, len(groups) - without, target, time_limit)
    if plan is None:
        return given
    kept, assigned, per_pool = plan
    out = [g for g, keep in zip(groups, kept, strict=True) if keep]
    for p in range(per_pool.shape[0]):
        members = np.flatnonzero(assigned == p)
        if not len(members):
            continue
        bounds = [(z, z) for z, c in zip(sizes, per_pool[p], strict=True) for _ in range(c)]
        sub = np.ix_(members, members)
        found = partition(weights[sub], group_bounds=bounds,
                          forbidden=forbidden[sub] if forbidden[sub].any() else None, seed=seed)
        found = repair_groups(found, starts[members], weights[sub], forbidden[sub],
                              senior=senior[members], trainee=trainee[members],
                              min_size=min_size, seed=seed)
        out.extend(sorted(int(members[i]) for i in g) for g in found)
    return out if _quality(out, starts, forbidden, senior, trainee) < before else given
