"""This month's groups as the first round of a jointly planned run of repeat-free rounds.

Used by the round matcher for small cohorts with history (where repeats bind): the planner
(:mod:`matching._plan`) searches several future rounds at once, so this month never uses up
pairs that a later month needs. Sizes: for a number of groups the sizes are as equal as the
bounds allow (with sizes 3-4 they are forced anyway).

Choosing the number of groups: with one choice the run is planned as far as the planner gets
(up to ``PLAN_ROUNDS``). With several, the run of the smallest groups (most groups) is planned
first; then, fewest groups first, the first choice whose run (this month in its sizes, later
months in the smallest groups) lasts as long is used. So max-size groups are preferred
except where smaller groups keep months repeat-free for longer (the 40-people-in-3-4 case:
quads for as long as triads can still follow).
"""

from __future__ import annotations

import time

import numpy as np

from ._partition import forbidden_pairs_used, partition
from ._plan import plan_rounds

__all__ = ["PLAN_ROUNDS", "planned_round"]

#: Rounds planned ahead at most (a year).
PLAN_ROUNDS = 12


def _equal_sizes(n: int, counts: list[int], min_size: int, max_size: int
                 ) -> dict[int, list[int]]:
    sizes_of = {}
    for count in counts:
        small, extra = divmod(n, count)
        if min_size <= small and small + (extra > 0) <= max_size:
            sizes_of[count] = [small + 1] * extra + [small] * (count - extra)
    return sizes_of


def planned_round(aff: np.ndarray, base: np.ndarray, forbidden: np.ndarray, counts: list[int],
                  *, min_size: int, max_size: int, seed: int, budget: float | None
                  ) -> tuple[list[list[int]], np.ndarray] | None:
    """This month's groups and the pairs later repairs must keep apart.

    Parameters
    ----------
    aff : float array (n, n)
        Pairwise affinity (only to see whether pairs differ at all).
    base : float array (n, n)
        The optimizer's weights (affinity minus history and do-not-match penalties).
    forbidden : bool array (n, n)
        Past and do-not-match pairs.
    counts : list of int
        Feasible numbers of groups, fewest first.
    min_size, max_size : int
    seed : int
    budget : float, optional
        Seconds for each planner and optimizer call; None: deterministic budgets.

    Returns
    -------
    (groups, keep_apart) or None
        ``keep_apart`` is ``forbidden`` plus the pairs of the plan's later rounds, so a
        repair that respects it keeps the rest of the run valid. Among groupings that keep
        the run valid the optimizer picks the highest affinity (skipped when all pairs are
        alike). None when the planner finds no repeat-free round.
    """
    n = base.shape[0]
    sizes_of = _equal_sizes(n, counts, min_size, max_size)
    if not sizes_of:
        return None
    choices = list(sizes_of)
    deadline = None if budget is None else time.perf_counter() + budget
    smallest = sizes_of[choices[-1]]
    plan = plan_rounds(forbidden, smallest, max_rounds=PLAN_ROUNDS, seed=seed,
                       deadline=deadline)
    for count in choices[:-1] if plan else []:
        bigger = plan_rounds(forbidden, sizes_of[count], later_sizes=smallest,
                             max_rounds=len(plan), seed=seed, deadline=deadline)
        if len(bigger) >= len(plan):
            plan = bigger
            break
    if not plan:
        return None
    keep_apart = forbidden.copy()
    for later in plan[1:]:
        for members in later:
            keep_apart[np.ix_(members, members)] = True
    np.fill_diagonal(keep_apart, False)
    if np.ptp(aff[~np.eye(n, dtype=bool)]) <= 1e-12:
        return plan[0], keep_apart
    sizes = [len(g) for g in plan[0]]
    best = partition(base, group_bounds=[(size, size) for size in sizes], forbidden=keep_apart,
                     time_limit=budget, seed=seed)
    return (plan[0] if forbidden_pairs_used(keep_apart, best) else best), keep_apart
